"""The shared sidebar: wave selector, home county, sign-in."""

from __future__ import annotations

import streamlit as st

from ui import auth, data, state
from ui.widgets import PageContext


def render(version: str) -> PageContext:
    """Draw the sidebar for the data at `version`, keep the chosen wave and home county in session state, and return
    what every page of this run shows (settings, version, wave, home)."""
    cfg = data.settings()
    waves = data.waves(version)
    with st.sidebar:
        # One element for the title and the goal (settings.toml's words, not a file's): the sidebar is in every run.
        st.markdown(f"### {cfg.city_name} 群众满意度\n:small[:gray[目标：保{cfg.hold}争{cfg.strive}"
                    f"（第{cfg.hold}名保底，力争第{cfg.strive}名）]]")
        if state.NEXT_WAVE in st.session_state:
            # A widget's key cannot change after the widget is drawn, so a page asks for the next run instead.
            st.session_state[state.WAVE] = st.session_state.pop(state.NEXT_WAVE)
        wave, home = state.resolve_selection(waves, cfg.counties, cfg.home_county,
                                             st.session_state.get(state.WAVE), st.session_state.get(state.HOME))
        if waves:
            st.session_state[state.WAVE] = wave
            st.selectbox("测评批次", waves, key=state.WAVE, help="默认显示最近一次测评")
        else:
            st.caption("尚无问卷数据")
        st.session_state[state.HOME] = home
        st.selectbox("本县", list(cfg.counties), key=state.HOME, help="在设置文件 settings.toml 中修改默认值")
        auth.login_box()
    return PageContext(cfg, home, version, wave, waves)
