"""Entry point: navigation with Chinese page titles and the shared sidebar."""

import streamlit as st

from analysis.data import store
from analysis.settings import SettingsError
from ui import auth, data, sidebar, state

st.set_page_config(page_title="群众满意度排名看板", page_icon=":material/leaderboard:", layout="wide")

# Built once per session: st.Page resolves and checks each file on disk, ~0.4 ms a run for all eight. Page objects
# carry a per-run flag (which page may run), so a session keeps its own; sessions never share them.
if state.PAGES not in st.session_state:
    st.session_state[state.PAGES] = PAGES = [
        st.Page("app_pages/overview.py", title="总览", icon=":material/dashboard:", default=True),
        st.Page("app_pages/ranking.py", title="排名", icon=":material/leaderboard:"),
        st.Page("app_pages/items.py", title="分项指标", icon=":material/checklist:"),
        st.Page("app_pages/groups.py", title="群体与乡镇", icon=":material/groups:"),
        st.Page("app_pages/metrics.py", title="办学指标", icon=":material/school:"),
        st.Page("app_pages/planner.py", title="目标推演", icon=":material/target:"),
        st.Page("app_pages/action.py", title="整改跟踪", icon=":material/task_alt:"),
        st.Page("app_pages/data_admin.py", title="数据管理", icon=":material/database:"),
    ]

try:
    data.settings()
except SettingsError as exc:
    st.error(f"设置文件有误，应用无法启动：{exc}")
    st.stop()

try:
    # Once a run: the sidebar and, through the page context it returns, the page see one version of the data.
    version = data.version()
except store.DatabaseUnavailable as exc:
    st.error(str(exc), icon=":material/database_off:")
    st.stop()

# With accounts configured, a visitor who has not signed in sees the sign-in form and nothing else (issue 12).
gated = not auth.may_read()
navigation = st.navigation(st.session_state[state.PAGES], position="hidden" if gated else "sidebar")
if gated:
    auth.sign_in_gate()  # stops the run
st.session_state[state.PAGE_CONTEXT] = sidebar.render(version)
try:
    navigation.run()
except Exception:
    # client.showErrorDetails = "none" keeps tracebacks (SQL, rows, paths) off the page; say in Chinese what happened.
    st.error("页面出错了，部分内容未能显示。错误详情已写入服务器日志，请联系管理员。", icon=":material/error:")
    raise
