"""AppTest smoke: each of the core pages runs from app.py without an exception and shows the home county and its rank."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, download_menus, open_download_menus, page_text
from ui import state


@pytest.fixture
def app(app_db):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_overview_shows_rank_and_targets(app):
    text = page_text(app)
    assert "云溪县" in text
    text = text.replace("\\", "")
    # The official rank first, the survey estimate beside it, one conclusion with the fix-first item.
    assert "市级通报：第5名（85.36 分）" in text and "本局调查推算：第6名（85.80 分）" in text
    assert "推算名次" in text and "第6名" in text and "保6把握" in text and "冲5把握" in text
    assert "保6把握约八成" in text and "首先要抓的是“" in text
    assert "距第5名北塘区差" in text and "领先第7名白河县" in text
    assert "名次的95%置信集" in text  # in the analysts' method note


def test_an_earlier_wave_shows_the_trend_as_of_that_wave(app):
    """Choosing 2026年第2季度: the trend's sentences end at that wave (its score), never quoting the later 第3季度."""
    app.session_state[state.WAVE] = "2026年第2季度"
    app.run()
    assert not app.exception, app.exception
    takeaways = [c.value for c in app.caption if ":material/lightbulb:" in c.value]
    trend_lines = [t for t in takeaways if "竖线越长" in t or "本县得分由" in t]
    assert len(trend_lines) == 2 and all("2026年第3季度" not in t.replace("\\", "") for t in trend_lines)
    assert "到2026年第2季度的" in trend_lines[0].replace("\\", "")


def test_overview_trend_table_opens_with_its_downloads(app):
    assert not app.dataframe  # closed: neither the table nor its Excel export is built
    app.session_state["overview_trend_table_open"] = True
    app.run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert list(table.columns[:3]) == ["测评批次", "名次", "名次置信集下限"] and len(table) == 6
    assert table["名次"].iloc[-1] == 6
    assert not app.get("download_button") and download_menus(app) == [state.download_menu("trend")]
    open_download_menus(app)  # the table's 下载 menu: its two buttons only once opened
    assert not app.exception, app.exception
    assert [b.label for b in app.get("download_button")] == ["下载 CSV", "下载 Excel"]


@pytest.mark.parametrize("page, expected", [
    ("app_pages/ranking.py", ["★云溪县", "第6名", "95%置信区间", "前5名概率", "每一行是一个县区落在各名次的可能性", "名次范围"]),
    ("app_pages/data_admin.py", ["数据管理", "操作日志"]),
])
def test_page_runs(app, page, expected):
    app.switch_page(page)
    app.run()
    assert not app.exception, app.exception
    text = page_text(app).replace("\\", "")
    for snippet in expected:
        assert snippet in text, snippet


@pytest.mark.parametrize("tab, expected", [
    ("名次可能性", ["每一行是一个县区落在各名次的可能性", "保6把握"]),
    ("名次范围", ["所有县区同时成立的范围", "可能进入前5名", "单独（marginal）置信集"]),
    ("与各县区比较", ["校正后p值", "本县减对方", "Holm 法校正"]),
    ("与全市平均比较", ["过度离散 τ²"]),
    ("换一种计分规则", ["满意率 名次", "不同计分规则下本县名次最多相差"]),
])
def test_ranking_tabs_run_only_when_open(app, tab, expected):
    app.switch_page("app_pages/ranking.py")
    app.run()
    if tab != "名次可能性":  # the first tab is open by default; the others run only once chosen
        assert not [snippet for snippet in expected if snippet in page_text(app)]
    app.session_state[state.RANKING_TAB] = tab
    app.run()
    assert not app.exception, app.exception
    text = page_text(app).replace("\\", "")
    for snippet in expected:
        assert snippet in text, snippet


@pytest.mark.parametrize(("page", "tab_key", "tab", "other", "widget_key", "choice"), [
    ("app_pages/items.py", state.ITEMS_TAB, "群众意见建议", "各分项得分对比", state.ITEMS_TOPIC, None),
    ("app_pages/metrics.py", state.METRICS_TAB, "学前教育", "班额", state.METRICS_INDICATOR, "public_share"),
    ("app_pages/metrics.py", state.METRICS_TAB, "与满意度的关联", "班额", state.METRICS_MEASURE, "大班额治理"),
    ("app_pages/action.py", "action_tabs", "整改前后", "民意诉求", "action_item", None),
    ("app_pages/action.py", "action_tabs", "大家访", "民意诉求", "action_visit_year", None),
])
def test_a_choice_inside_a_tab_survives_a_tab_switch(app, page, tab_key, tab, other, widget_key, choice):
    """A widget not drawn in a run loses its value unless it persists (persist_state="page")."""
    app.session_state[tab_key] = tab
    app.switch_page(page).run()
    widget = next(w for w in [*app.selectbox, *app.radio] if w.key == widget_key)
    if choice is None:  # no format_func: pick by position, away from the default
        widget.select_index(0 if widget.index else len(widget.proto.options) - 1)
    else:
        assert widget.value != choice
        widget.set_value(choice)
    widget.run()
    assert not app.exception, app.exception
    chosen = next(w for w in [*app.selectbox, *app.radio] if w.key == widget_key).value
    for open_tab in (other, tab):
        app.session_state[tab_key] = open_tab
        app.run()
        assert not app.exception, app.exception
    assert next(w for w in [*app.selectbox, *app.radio] if w.key == widget_key).value == chosen


def _choice_menu(at):
    """The sidebar menu that holds the 测评批次 and 本县 selectboxes."""
    return next(b for b in at.sidebar.children.values() if getattr(b, "type", None) == "popover")


def test_choosing_another_home_county(app):
    """Closed, the sidebar menu names the wave and county shown and sends no selectbox; opened, it holds both."""
    assert _choice_menu(app).proto.popover.label == "2026年第3季度 · 云溪县"
    assert not [w for w in app.selectbox if w.key in (state.WAVE, state.HOME)]
    app.session_state[state.CHOICE_MENU] = True
    app.run()
    assert [w.key for w in app.selectbox if w.key in (state.WAVE, state.HOME)] == [state.WAVE, state.HOME]
    app.selectbox(key=state.HOME).set_value("临江区")
    app.run()
    assert _choice_menu(app).proto.popover.label == "2026年第3季度 · 临江区"
    assert not app.exception
    assert "临江区总览" in page_text(app)
    assert "本局调查推算：第1名" in page_text(app)


def test_choosing_an_earlier_wave(app_db):
    # AppTest loses sidebar widgets drawn outside the page script on a rerun, so the wave is set before the first run.
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["selected_wave"] = "2025年第2季度"
    at.run()
    assert not at.exception
    assert "2025年第2季度 · 青岚市共 11 个县区" in page_text(at)


def test_empty_database_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("SATISFACTION_DB", str(tmp_path / "empty.db"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("尚未上传问卷数据" in i.value for i in at.info)


@pytest.mark.parametrize("url", [
    "postgresql://bureau:s3cret-pw@127.0.0.1:{port}/satisfaction",
    "postgresql://bureau@127.0.0.1:{port}/satisfaction?password=s3cret-pw",  # no renderer hides a query password
    "postgresql://bureau:p@ss-s3cret-pw@127.0.0.1:{port}/satisfaction",      # an unescaped @ in the password
])
def test_unreachable_database_says_so_in_chinese_without_the_address(url, monkeypatch):
    """A database server that does not answer: one Chinese error, no traceback, and neither password nor address
    (visitors who have not signed in see it too)."""
    from analysis.data import store
    from tests.browser_support import free_port
    from ui.caching import clear_views

    monkeypatch.delenv(store.DB_ENV, raising=False)
    monkeypatch.setenv(store.DB_URL_ENV, url.format(port=free_port()))
    clear_views()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "无法连接数据库" in errors[0], errors
    shown = page_text(at) + " ".join(errors)
    assert "s3cret" not in shown and "127.0.0.1" not in shown and "bureau" not in shown
