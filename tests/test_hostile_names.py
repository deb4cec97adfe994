"""Names from an uploaded file never act as Markdown or HTML on any page (a township named like a link or an image)."""

import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis import store
from analysis.importing import build_mock_database, commit_import, prepare_import
from tests.conftest import ROOT
from tests.test_county_pages import PAGES
from ui import state

HOSTILE = "[点此重新登录](http://evil.example/x)![i](http://evil.example/i.png):red[警告]<b>粗</b>**镇**"
# Unescaped Markdown that would render: a link or image target, a colour directive, bold, raw HTML.
ACTIVE = re.compile(r"(?<!\\)\]\(|(?<!\\)!(?<!\\)\[|(?<!\\):red(?<!\\)\[|(?<![\\])<b>|(?<!\\)\*\*镇")


def hostile_wave(settings) -> bytes:
    answers = ["满意", "比较满意", "一般", "不太满意", "不满意"]
    lines = ["受访者编号,测评批次,县区,总体满意度,权重,乡镇（街道）,意见建议,办学条件"]
    for c, county in enumerate(settings.counties):
        town = HOSTILE if county == settings.home_county else "城关镇"
        lines += [f"H{c:02d}{i:03d},2026年第4季度,{county},{answers[(i + c) % 5]},1,\"{town}\",{HOSTILE},满意" for i in range(60)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory, settings):
    path = tmp_path_factory.mktemp("hostile") / "app.db"
    engine = store.connect(path)
    build_mock_database(engine, settings, ROOT / "data" / "mock")
    plan = prepare_import(hostile_wave(settings), "恶意名称.csv", "responses", settings, engine)
    assert plan.ok, plan.validation.errors
    commit_import(engine, plan, "测试")
    return path


def rendered_texts(at: AppTest) -> list[str]:
    """Every string the page hands to Streamlit's Markdown renderer."""
    texts = [e.value for kind in ("markdown", "caption", "title", "subheader", "header", "warning", "info", "success", "error")
             for e in getattr(at, kind)]
    return [str(t) for t in texts]


@pytest.mark.parametrize("page", PAGES)
def test_hostile_township_names_stay_text(hostile_db, page, monkeypatch):
    monkeypatch.setenv(store.DB_ENV, str(hostile_db))
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.session_state[state.WAVE] = "2026年第4季度"
    at.switch_page(page).run()
    assert not at.exception, at.exception
    active = [t for t in rendered_texts(at) if ACTIVE.search(t)]
    assert not active, active


def test_the_hostile_name_does_reach_the_groups_page(hostile_db, monkeypatch):
    """The check above means something: the name is on the page, escaped (the lowest township is named)."""
    monkeypatch.setenv(store.DB_ENV, str(hostile_db))
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.session_state[state.WAVE] = "2026年第4季度"
    at.switch_page("app_pages/groups.py").run()
    shown = [t for t in rendered_texts(at) + [m.value for m in at.metric] if "点此重新登录" in str(t)]
    assert shown, "the township name is not shown anywhere, so the escaping test proves nothing"
