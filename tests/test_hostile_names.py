"""Names from an uploaded file never act as Markdown or HTML on any page (a township named like a link or an image)."""

import re

import pytest

from tests.conftest import SURVEY_PAGES, markdown_texts, run_page
from tests.upload_support import city_wave_csv, mock_db_with

HOSTILE = "[点此重新登录](http://evil.example/x)![i](http://evil.example/i.png):red[警告]<b>粗</b>**镇**"
# Unescaped Markdown that would render: a link or image target, a colour directive, bold, raw HTML.
ACTIVE = re.compile(r"(?<!\\)\]\(|(?<!\\)!(?<!\\)\[|(?<!\\):red(?<!\\)\[|(?<![\\])<b>|(?<!\\)\*\*镇")


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory, settings):
    mix = ["满意", "比较满意", "一般", "不太满意", "不满意"]
    answers = {c: [mix[(i + k) % 5] for i in range(60)] for k, c in enumerate(settings.counties)}
    data = city_wave_csv("2026年第4季度", answers, town={settings.home_county: HOSTILE}, comment=HOSTILE)
    return mock_db_with(tmp_path_factory.mktemp("hostile") / "app.db", settings, data, "恶意名称.csv")


@pytest.mark.parametrize("page", SURVEY_PAGES)
def test_hostile_township_names_stay_text(hostile_db, page, monkeypatch):
    at = run_page(hostile_db, page, monkeypatch, wave="2026年第4季度")
    assert not at.exception, at.exception
    active = [t for t in markdown_texts(at) if ACTIVE.search(t)]
    assert not active, active


def test_the_hostile_name_does_reach_the_groups_page(hostile_db, monkeypatch):
    """The check above means something: the name is on the page, escaped (the lowest township is named)."""
    at = run_page(hostile_db, "app_pages/groups.py", monkeypatch, wave="2026年第4季度")
    shown = [t for t in markdown_texts(at) + [m.value for m in at.metric] if "点此重新登录" in str(t)]
    assert shown, "the township name is not shown anywhere, so the escaping test proves nothing"
