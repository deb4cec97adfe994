"""AppTest smoke for 分项指标, 群体与乡镇 and 办学指标: each runs from app.py on the mock data, follows its filters,
titles every chart, and says what to do when the metrics files are missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis.data import store
from analysis.data.importing import build_mock_database, import_path
from analysis.settings import load_settings
from ui import state
from tests.conftest import download_menus, open_download_menus, page_text

ROOT = Path(__file__).resolve().parents[1]
HOME = "云溪县"
PAGES = ("app_pages/items.py", "app_pages/groups.py", "app_pages/metrics.py")


@pytest.fixture(scope="module")
def insight_db(tmp_path_factory) -> Path:
    """A database with every bundled mock file, built through the analysts' import path."""
    path = tmp_path_factory.mktemp("insights") / "app.db"
    build_mock_database(store.connect(path), load_settings(ROOT / "settings.toml"), ROOT / "data" / "mock")
    return path


@pytest.fixture(scope="module")
def survey_only_db(tmp_path_factory) -> Path:
    """A database with survey responses but no enrollment or class files."""
    path = tmp_path_factory.mktemp("survey_only") / "app.db"
    import_path(ROOT / "data" / "mock" / "responses.csv", "responses", load_settings(ROOT / "settings.toml"),
                store.connect(path), user="测试")
    return path


def open_page(page: str, db: Path, monkeypatch) -> AppTest:
    """Run app.py against `db` and switch to `page`."""
    monkeypatch.setenv(store.DB_ENV, str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def chart_titles(at: AppTest) -> list[str]:
    """The headline of every plotly chart on the page (its first line: the grey note under it is left out)."""
    return [json.loads(chart.proto.spec)["layout"].get("title", {}).get("text", "").split("<br>")[0]
            for chart in at.get("plotly_chart")]


@pytest.mark.parametrize(("page", "expected"), [
    ("app_pages/items.py", ["分项指标", "建议先改", "有偿补课治理", "与全市平均比较", "争5对照县"]),
    ("app_pages/groups.py", ["群体乡镇", "样本充足的乡镇中", "得分最低的乡镇", "样本不足30份"]),
    ("app_pages/metrics.py", ["办学指标", "大班额占比", "超大班额", "城关镇", "问题最重"]),
])
def test_page_runs_and_tells_its_story(page, expected, insight_db, monkeypatch) -> None:
    at = open_page(page, insight_db, monkeypatch)
    text = page_text(at)
    assert HOME in text
    for snippet in expected:
        assert snippet in text, snippet
    titles = chart_titles(at)
    assert titles and all(titles), titles
    assert not at.error


@pytest.mark.parametrize(("page", "tab", "expected"), [
    ("items", "哪些分项影响最大", ["相对权重占比", "相关系数排序", "对总体满意度影响最大"]),
    ("items", "先改哪一项", ["预计总体得分提升（分）", "与前面各项同时补齐（分）", "仍排第一"]),
    ("items", "群众意见建议", ["意见原文", "条意见；提到最多的是"]),
    ("metrics", "班额分布（乡镇与班级）", ["大班额占比超过", "个班，平均班额"]),
    ("metrics", "学前教育", ["学前教育毛入园率", "普惠覆盖率", "公办园占比"]),
    ("metrics", "义务教育与特殊教育", ["义务教育毛入学率", "适龄残疾儿童入学率"]),
    ("metrics", "与满意度的关联", ["Spearman", "最近学年 2025\\-2026学年", "个乡镇"]),
])
def test_tabs_run_only_when_open(page, tab, expected, insight_db, monkeypatch) -> None:
    at = open_page(f"app_pages/{page}.py", insight_db, monkeypatch)
    assert not [snippet for snippet in expected if snippet in page_text(at)]  # closed tabs do not run
    at.session_state[{"items": state.ITEMS_TAB, "metrics": state.METRICS_TAB}[page]] = tab
    at.run()
    assert not at.exception, at.exception
    text = page_text(at)
    for snippet in expected:
        assert snippet in text, snippet
    assert chart_titles(at) and all(chart_titles(at))


def test_choosing_a_comment_topic_shows_its_comments(insight_db, monkeypatch) -> None:
    at = open_page("app_pages/items.py", insight_db, monkeypatch)
    at.session_state[state.ITEMS_TAB] = "群众意见建议"
    at.run()
    box = at.selectbox(key=state.ITEMS_TOPIC)
    shown = {}
    for topic in box.options[:2]:
        at.selectbox(key=state.ITEMS_TOPIC).set_value(topic).run()
        assert not at.exception, at.exception
        shown[topic] = at.dataframe[0].value["意见原文"].tolist()
    assert len(shown) == 2 and all(shown.values())
    assert shown[box.options[0]] != shown[box.options[1]]


@pytest.mark.parametrize("indicator, title", [("inclusive_coverage", "普惠性幼儿园覆盖率"), ("public_share", "公办园在园幼儿占比")])
def test_preschool_rate_by_township_follows_the_choice(indicator, title, insight_db, monkeypatch) -> None:
    at = open_page("app_pages/metrics.py", insight_db, monkeypatch)
    at.session_state[state.METRICS_TAB] = "学前教育"
    at.run()
    at.radio(key=state.METRICS_INDICATOR).set_value(indicator).run()
    assert not at.exception, at.exception
    assert chart_titles(at)[1].startswith(f"各乡镇{title}"), chart_titles(at)


def test_items_follow_the_township_filter(insight_db, monkeypatch) -> None:
    at = open_page("app_pages/items.py", insight_db, monkeypatch)
    at.multiselect(key=state.ITEMS_TOWNSHIPS).set_value(["城关镇"])
    at.run()
    assert not at.exception, at.exception
    assert f"{HOME}·城关镇" in page_text(at)


@pytest.mark.parametrize(("tab", "chart_prefix", "tables"), [
    ("各乡镇（街道）得分", "各乡镇总体满意度得分", 0),
    ("不同人群的得分", "各人群总体满意度得分", 0),
    ("分组明细", None, 2),  # the groups and the Rao–Scott test per dimension
])
def test_groups_tabs_draw_one_section(tab, chart_prefix, tables, insight_db, monkeypatch) -> None:
    at = open_page("app_pages/groups.py", insight_db, monkeypatch)
    at.session_state[state.GROUPS_TAB] = tab
    at.run()
    assert not at.exception, at.exception
    titles = chart_titles(at)
    assert titles == ([chart_prefix] if chart_prefix else [])
    assert len(at.dataframe) == tables
    if tables:
        assert "Holm校正p值" in page_text(at) and "按调查设计作 t 检验" in page_text(at) and "Rao–Scott" in page_text(at)


def test_groups_on_an_item_and_a_township(insight_db, monkeypatch) -> None:
    at = open_page("app_pages/groups.py", insight_db, monkeypatch)
    at.selectbox(key=state.GROUPS_MEASURE).set_value("大班额治理")
    at.multiselect(key=state.GROUPS_TOWNSHIPS).set_value(["城关镇", "东坝镇"])
    at.run()
    assert not at.exception, at.exception
    text = page_text(at)
    assert "大班额治理" in text and f"{HOME}·城关镇、东坝镇" in text


def test_metrics_follow_year_and_township(insight_db, monkeypatch) -> None:
    at = open_page("app_pages/metrics.py", insight_db, monkeypatch)
    at.selectbox(key=state.METRICS_YEAR).set_value("2023-2024学年")
    at.multiselect(key=state.METRICS_TOWNSHIPS).set_value(["城关镇", "青龙乡"])
    at.session_state[state.METRICS_TAB] = "班额分布（乡镇与班级）"
    at.session_state[state.METRICS_TOWNSHIP_DETAIL] = True
    at.run()
    assert not at.exception, at.exception
    text = page_text(at)
    assert "所选乡镇合计" in text and "2023-2024学年" in text
    at.session_state[state.METRICS_TAB] = "与满意度的关联"
    at.run()
    assert not at.exception, at.exception
    # The few-points caveat: 青龙乡 (24 respondents) is drawn but left out of the correlation.
    assert "相关只用样本不少于 30 份的 1 个乡镇" in page_text(at)


def test_metrics_without_files_says_what_to_do(survey_only_db, monkeypatch) -> None:
    at = open_page("app_pages/metrics.py", survey_only_db, monkeypatch)
    assert any("尚未上传办学指标数据" in i.value for i in at.info)
    assert at.get("page_link"), "no link to 数据管理"


def test_pages_never_render_html() -> None:
    for page in PAGES:
        assert "unsafe_allow_html" not in (ROOT / page).read_text(encoding="utf-8"), page


@pytest.mark.parametrize(("page", "message"), [
    ("app_pages/items.py", "尚未上传问卷数据"),
    ("app_pages/groups.py", "尚未上传问卷数据"),
    ("app_pages/metrics.py", "尚未上传办学指标数据"),
])
def test_empty_database(page, message, tmp_path, monkeypatch) -> None:
    at = open_page(page, tmp_path / "empty.db", monkeypatch)
    assert any(message in i.value for i in at.info)


def test_metrics_stay_with_the_bureau_county_when_the_sidebar_shows_another(insight_db, monkeypatch) -> None:
    monkeypatch.setenv(store.DB_ENV, str(insight_db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["home_county"] = "临江区"
    at.run()
    at.switch_page("app_pages/metrics.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == f"{HOME} 办学指标"
    assert any("与侧栏所选的临江区无关" in i.value for i in at.info)


def test_panel_grid_domains_stay_inside_the_figure() -> None:
    from analysis.report.insight_charts import panel_grid

    fig, axes = panel_grid(2, 3, ["甲", "乙", "丙", "丁", "戊"], h_gap=0.12, v_gap=0.2, share_y=True)
    assert axes == [("x", "y"), ("x2", "y2"), ("x3", "y3"), ("x4", "y4"), ("x5", "y5"), ("x6", "y6")]
    layout = fig.layout
    for k in ("", "2", "3", "4", "5", "6"):
        for axis in (layout[f"xaxis{k}"], layout[f"yaxis{k}"]):
            low, high = axis.domain
            assert 0.0 <= low < high <= 1.0
    # Columns are (1 − 2 × 0.12) / 3 = 0.2533 wide; rows (1 − 0.2) / 2 = 0.4 high.
    assert layout.xaxis2.domain == pytest.approx((0.373333, 0.626667), abs=1e-6)
    assert layout.yaxis4.domain == pytest.approx((0.0, 0.4), abs=1e-6)
    assert layout.yaxis2.matches == "y"
    assert [a.text for a in layout.annotations] == ["甲", "乙", "丙", "丁", "戊"]


def test_detail_tables_open_with_their_downloads(insight_db, monkeypatch) -> None:
    at = open_page("app_pages/metrics.py", insight_db, monkeypatch)
    at.session_state[state.METRICS_TAB] = "班额分布（乡镇与班级）"
    at.run()
    closed = download_menus(at)
    at.session_state[state.METRICS_TOWNSHIP_DETAIL] = True
    at.session_state[state.METRICS_DISTRIBUTION_DETAIL] = True
    at.run()
    assert not at.exception, at.exception
    # Each opened table brings its 下载 menu, and each menu its CSV and Excel buttons.
    assert len(download_menus(at)) == len(closed) + 2
    open_download_menus(at)
    assert len(at.get("download_button")) == 2 * (len(closed) + 2)
    assert "全县合计" in page_text(at)
