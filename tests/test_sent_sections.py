"""Sent sections (ui/caching.sent_section): drawn once per argument set and replayed on later runs, in every session;
so a section may only draw what its arguments decide. The rules are checked in the source of every section."""

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

SCRIPT = """
import streamlit as st
from ui.caching import sent_section

CALLS = st.session_state.setdefault("calls", [])

@sent_section(max_entries=4)
def section(version: str, wave: str) -> None:
    CALLS.append((version, wave))
    st.caption(f"{wave} 的说明")
    with st.container(border=True):
        st.metric("得分", version)
    left, right = st.columns(2)
    left.markdown("左")
    with right:
        st.markdown("右")

section(st.session_state.get("version", "v1"), "2026年第4季度")
st.write("之后")
"""


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def shown(at: AppTest) -> tuple:
    return ([c.value for c in at.caption], [m.value for m in at.metric], [m.value for m in at.markdown])


def test_a_section_is_drawn_once_and_replayed_with_its_elements_in_place():
    from ui.caching import clear_views

    clear_views()
    at = run(AppTest.from_string(SCRIPT, default_timeout=30))
    first = shown(at)
    assert first == (["2026年第4季度 的说明"], ["v1"], ["左", "右", "之后"])
    run(at)
    assert shown(at) == first  # replayed: the same elements, in the same containers and order
    assert at.session_state["calls"] == [("v1", "2026年第4季度")]  # the body did not run again


def test_new_arguments_draw_again_and_clear_views_forgets():
    from ui.caching import clear_views

    clear_views()
    at = run(AppTest.from_string(SCRIPT, default_timeout=30))
    at.session_state["version"] = "v2"
    run(at)
    assert [m.value for m in at.metric] == ["v2"]
    clear_views()
    run(at)
    assert at.session_state["calls"] == [("v1", "2026年第4季度"), ("v2", "2026年第4季度"), ("v2", "2026年第4季度")]


# What a replayed section must not do: its elements are sent unchanged to every session, whatever it clicks, whoever
# signed in, whatever the date.
WIDGETS = {"button", "download_button", "selectbox", "multiselect", "radio", "slider", "select_slider", "toggle",
           "checkbox", "text_input", "number_input", "date_input", "data_editor", "file_uploader", "form", "popover",
           "tabs", "chat_input", "segmented_control", "pills", "feedback", "text_area", "time_input", "color_picker",
           "stop", "rerun", "switch_page", "fragment", "toast"}
FORBIDDEN_ATTRIBUTES = WIDGETS | {"session_state", "today", "now", "query_params", "context"}  # st.…, date.today()
FORBIDDEN_NAMES = {"auth", "session_state", "detail_expander", "lazy_tabs", "download_table"}  # roles, keyed widgets


def sections() -> list[tuple[str, ast.FunctionDef]]:
    found = []
    for path in sorted((ROOT / "ui").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and getattr(d.func, "id", None) == "sent_section" for d in node.decorator_list):
                found.append((f"{path.name}:{node.name}", node))
    return found


def violations(node: ast.FunctionDef) -> list[str]:
    bad = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in FORBIDDEN_ATTRIBUTES:
            bad.append(sub.attr)
        elif isinstance(sub, ast.Name) and sub.id in FORBIDDEN_NAMES:
            bad.append(sub.id)
        elif isinstance(sub, ast.Call) and getattr(sub.func, "attr", None) == "expander" and sub.keywords and any(
                k.arg in {"key", "on_change"} for k in sub.keywords):
            bad.append("keyed expander")
    return bad


def test_the_pages_have_sent_sections():
    names = {name for name, _ in sections()}
    assert {"overview.py:first_screen", "ranking.py:league_section", "insight_sections.py:group_header"} <= names


@pytest.mark.parametrize("name,node", sections(), ids=[name for name, _ in sections()])
def test_a_section_draws_only_what_its_arguments_decide(name, node):
    assert not violations(node), f"{name} uses {violations(node)}: draw it outside the section"


def test_the_rule_check_catches_a_widget_and_a_role():
    source = ("@sent_section()\ndef s(v):\n    st.button('x')\n    if auth.can_change_data():\n        st.caption(v)\n"
              "    now = dt.date.today()\n")
    node = ast.parse(source).body[0]
    assert sorted(violations(node)) == ["auth", "button", "today"]
