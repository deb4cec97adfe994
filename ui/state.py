"""Session-state keys, in one place."""

PAGES = "navigation_pages"  # app.py's st.Page objects, built on a session's first run
PAGE_CONTEXT = "page_context_this_run"  # app.py reads the data version and the sidebar resolves wave and home once a run
WAVE = "selected_wave"
NEXT_WAVE = "wave_to_select_next_run"  # set by an import; the sidebar applies it before drawing its menu
HOME = "home_county"
CHOICE_MENU = "sidebar_choice_menu_open"  # the sidebar menu holding the 测评批次 and 本县 selectboxes
USER = "user_name"
ROLE = "user_role"
PLAN = "pending_import_plan"
UPLOAD_ROUND = "upload_round"  # bumped by each successful import: a new uploader key empties the uploader
SCENARIO = "planner_scenario"
PLANNER_RELATION_OPEN = "planner_relation_open"  # 目标推演's 推演依据 expander: its table runs only while open
PLANNER_TAB = "planner_section_tab"  # 目标推演's 反推 / 保存与比较方案 tabs
PLANNER_EDIT_OPEN = "planner_edit_open"  # 目标推演's 修改方案 expander: the plan editor is drawn only while open
PLAN_ROWS = "planner_plan_rows"  # the plan's rows as last edited (kept while the editor is closed, and across pages)
PLAN_MOVES = "planner_plan_moves"  # (rows, groups, points, moves): the moves last read from those very objects
PLAN_BASE = "planner_plan_base"  # the rows the open editor started from (constant while open, so its edits stay)
RANKING_TAB = "ranking_section_tab"

# 分项指标, 群体与乡镇, 办学指标: filters, tabs and selectors.
ITEMS_TOWNSHIPS = "items_township_filter"
ITEMS_TOPIC = "items_comment_topic"
GROUPS_TOWNSHIPS = "groups_township_filter"
GROUPS_MEASURE = "groups_measure"
METRICS_TOWNSHIPS = "metrics_township_filter"
METRICS_YEAR = "metrics_year"
METRICS_TAB = "metrics_section_tab"
ITEMS_TAB = "items_section_tab"
GROUPS_TAB = "groups_section_tab"
METRICS_INDICATOR = "metrics_preschool_indicator"
METRICS_MEASURE = "metrics_link_measure"
# Their detail expanders: the table and downloads run only while open.
ITEMS_ALL_COMMENTS = "items_all_comments_open"
METRICS_PRESCHOOL_DETAIL = "metrics_preschool_detail_open"
METRICS_COMPULSORY_DETAIL = "metrics_compulsory_detail_open"
METRICS_TOWNSHIP_DETAIL = "metrics_township_detail_open"
METRICS_DISTRIBUTION_DETAIL = "metrics_distribution_detail_open"
# 总览
BRIEF_READY = "brief_ready_for"
TREND_TABLE_OPEN = "overview_trend_table_open"
# 数据管理
UPLOAD_FLASH = "data_admin_flash"  # the last import's summary, shown once after the page reloads
UPLOAD_FLASH_ERROR = "data_admin_flash_error"  # why the last confirmed import was refused
MANAGE_IMPORT_OPEN = "data_admin_manage_open"  # the delete-or-restore expander: its widgets run only while it is open
PURGE_OPEN = "data_admin_purge_open"  # the purge expander, likewise
UPLOAD_FLASH_DONE = "data_admin_flash_done"  # (kind, waves) of the last import: says where to look next
UPLOAD_DIGESTS = "data_admin_upload_digest"  # upload file_id → SHA-256
TEMPLATE_KIND = "data_admin_template_kind"  # which blank template the two download buttons give
BACKUP_OPEN = "data_admin_backup_open"  # the backup expander: its button is drawn only while it is open
TEMPLATES_OPEN = "data_admin_templates_open"  # the blank-template expander, likewise
UPLOAD_SHEETS = "data_admin_sheet_names"  # (SHA-256, sheet names) of the current workbook
# 整改跟踪
ACTION_FLASH = "action_flash"
ACTION_FLASH_ERROR = "action_flash_error"
ACTION_CLUSTER_OPEN = "action_cluster_open"  # 民意诉求's 从工单聚集新建 expander: its picker is drawn only while open
# Sign-in
ACCOUNT_FINGERPRINT = "user_account_fingerprint"  # the account's hash and role at sign-in: a change signs the session out
SIGNED_OUT = "user_signed_out_reason"


def download_menu(table_key: str) -> str:
    """The key of a table's 下载 menu (a lazy popover: its two buttons are drawn only while it is open)."""
    return f"download_menu_{table_key}"


ROLE_ANALYST = "analyst"
ROLE_LEADER = "leader"
ROLE_LABELS = {ROLE_ANALYST: "分析员", ROLE_LEADER: "局领导"}


def resolve_selection(waves: list[str], counties: tuple[str, ...], default_home: str,
                      wave: str | None, home: str | None) -> tuple[str | None, str]:
    """The wave and home county a run shows: the requested ones when they exist, else the latest wave and the
    bureau's own county. The sidebar resolves through this one function, once a run, for every page."""
    chosen_wave = wave if wave in waves else (waves[-1] if waves else None)
    chosen_home = home if home in counties else default_home
    return chosen_wave, chosen_home
