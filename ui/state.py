"""Session-state keys, in one place."""

WAVE = "selected_wave"
HOME = "home_county"
USER = "user_name"
ROLE = "user_role"
PLAN = "pending_import_plan"
SCENARIO = "planner_scenario"

ROLE_ANALYST = "analyst"
ROLE_LEADER = "leader"
ROLE_LABELS = {ROLE_ANALYST: "分析员", ROLE_LEADER: "局领导"}
