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


def _headline(text: str):
    from analysis.report.headline import Headline

    return Headline(official=f"市级通报：{text}", estimate=f"本局调查推算：{text}", why_differ=text, conclusion=text,
                    chances=text, gaps=[text], action=text, change=text)


def _headline_box(text: str) -> str:
    from ui.overview import headline_markdown

    return headline_markdown(_headline(text))


def _menu_label(text: str) -> str:
    from ui.sidebar import choice_label

    return choice_label(text, text)


@pytest.mark.parametrize("shown", [_headline_box, _menu_label], ids=["总览 headline box", "sidebar menu label"])
def test_merged_markdown_keeps_file_text_inert(shown):
    """Elements merged into one Markdown string (issue 15) still escape every part that comes from a file."""
    text = shown(HOSTILE)
    assert "点此重新登录" in text and not ACTIVE.search(text), text


def test_headline_box_reads_in_order():
    """One element: the rank as a heading, the estimate, why the two differ (small, grey), then the conclusion."""
    from ui.overview import headline_markdown

    text = headline_markdown(_headline("X"))
    lines = text.split("\n")
    assert lines[0] == "#### 市级通报：X  " and lines[1] == "**本局调查推算：X**"
    assert ":small[:gray[X]]" in lines and lines.index(":small[:gray[X]]") < lines.index("**X**")
    assert lines[-2:] == ["- X", "- X"]
