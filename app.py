"""Entry point: navigation with Chinese page titles and the shared sidebar."""

import streamlit as st

from analysis.settings import SettingsError
from ui import data, sidebar

st.set_page_config(page_title="群众满意度排名看板", page_icon=":material/leaderboard:", layout="wide")

PAGES = [
    st.Page("app_pages/overview.py", title="总览", icon=":material/dashboard:", default=True),
    st.Page("app_pages/ranking.py", title="排名", icon=":material/leaderboard:"),
    st.Page("app_pages/items.py", title="分项指标", icon=":material/checklist:"),
    st.Page("app_pages/groups.py", title="群体与乡镇", icon=":material/groups:"),
    st.Page("app_pages/metrics.py", title="办学指标", icon=":material/school:"),
    st.Page("app_pages/planner.py", title="目标推演", icon=":material/target:"),
    st.Page("app_pages/data_admin.py", title="数据管理", icon=":material/database:"),
]

try:
    data.settings()
except SettingsError as exc:
    st.error(f"设置文件有误，应用无法启动：{exc}")
    st.stop()

navigation = st.navigation(PAGES)
sidebar.render()
navigation.run()
