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


def resolve_selection(waves: list[str], counties: tuple[str, ...], default_home: str,
                      wave: str | None, home: str | None) -> tuple[str | None, str]:
    """The wave and home county a run shows: the requested ones when they exist, else the latest wave and the
    bureau's own county. The sidebar and every page resolve through this one function."""
    chosen_wave = wave if wave in waves else (waves[-1] if waves else None)
    chosen_home = home if home in counties else default_home
    return chosen_wave, chosen_home
