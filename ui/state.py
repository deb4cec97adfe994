"""Session-state keys, in one place."""

WAVE = "selected_wave"
NEXT_WAVE = "wave_to_select_next_run"  # set by an import; the sidebar applies it before drawing its selectbox
HOME = "home_county"
USER = "user_name"
ROLE = "user_role"
PLAN = "pending_import_plan"
UPLOAD_ROUND = "upload_round"  # bumped by each successful import: a new uploader key empties the uploader
SCENARIO = "planner_scenario"
RANKING_TAB = "ranking_section_tab"

ROLE_ANALYST = "analyst"
ROLE_LEADER = "leader"
ROLE_LABELS = {ROLE_ANALYST: "分析员", ROLE_LEADER: "局领导"}
