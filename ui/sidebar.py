"""The shared sidebar: wave selector, home county, sign-in."""

from __future__ import annotations

import streamlit as st

from ui import auth, data, state
from ui.widgets import PageContext, plain


def choice_label(wave: str | None, home: str) -> str:
    """The sidebar menu's label: the wave and county every page shows (escaped: a wave's name comes from a file)."""
    return plain(f"{wave or '尚无问卷数据'} · {home}")


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
        st.session_state[state.HOME] = home
        # One closed menu whose label says what is shown, instead of two selectboxes in every run of every page: the
        # choosers are built only while it is open (issue 15: ~0.25 ms of each rerun). The values live in session
        # state, set above on every run, so they hold while the choosers are not drawn.
        with st.popover(choice_label(wave, home), icon=":material/tune:", key=state.CHOICE_MENU, on_change="rerun",
                        width="stretch", help="切换测评批次与本县") as menu:
            if menu.open:
                if waves:
                    st.selectbox("测评批次", waves, key=state.WAVE, help="默认显示最近一次测评")
                else:
                    st.caption("尚无问卷数据")
                st.selectbox("本县", list(cfg.counties), key=state.HOME, help="在设置文件 settings.toml 中修改默认值")
        auth.login_box()
    return PageContext(cfg, home, version, wave, waves)
