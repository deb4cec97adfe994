"""Every page on the county scenario: the bureau's own respondents plus the city's published table (issue: partial data)."""

import pytest
from streamlit.testing.v1 import AppTest

from analysis.data import store
from analysis.data.importing import build_mock_database
from analysis.report.headline import rank_change_words
from tests.conftest import ROOT, SURVEY_PAGES, page_text, run_page
from tests.upload_support import city_wave_csv, mock_db_with
from ui import state
from ui.caching import clear_views



@pytest.fixture(scope="module")
def county_db(tmp_path_factory, settings):
    path = tmp_path_factory.mktemp("county") / "app.db"
    build_mock_database(store.connect(path), settings, ROOT / "data" / "mock-county")
    return path


@pytest.fixture
def county_app(county_db, monkeypatch):
    monkeypatch.setenv(store.DB_ENV, str(county_db))
    clear_views()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("wave, sentence", [
    ("2026年第3季度", "对照 2026年第2季度 市级公布结果"),
    ("2026年第2季度", "采用2026年第2季度市级公布得分"),
])
@pytest.mark.parametrize("page", SURVEY_PAGES)
def test_every_page_runs_on_the_county_scenario(county_app, page, wave, sentence):
    county_app.session_state[state.WAVE] = wave
    county_app.switch_page(page).run()
    assert not county_app.exception, county_app.exception
    text = page_text(county_app) + "\n".join(str(e.value) for e in county_app.info)
    if page in ("app_pages/overview.py", "app_pages/ranking.py"):
        assert sentence in text.replace("\\", "")


def test_the_ranking_table_names_the_source_of_each_score(county_app):
    county_app.session_state[state.WAVE] = "2026年第2季度"
    county_app.switch_page("app_pages/ranking.py").run()
    league = county_app.dataframe[0].value
    assert set(league["来源"]) == {"问卷推算", "市级公布"}
    assert (league.loc[league["来源"] == "市级公布", "95%置信区间"] == "—").all()


def league_on(app, wave: str):
    """The 排名 page's league for one wave, by county (★ stripped)."""
    app.session_state[state.WAVE] = wave
    app.switch_page("app_pages/ranking.py").run()
    assert not app.exception, app.exception
    league = app.dataframe[0].value
    return league.assign(县区=league["县区"].str.lstrip("★")).set_index("县区")


def test_the_change_since_last_wave_is_the_change_of_the_ranks_shown(county_app):
    """Only the home county has respondents here: the change must come from the full rankings (survey and published
    counties), not from a ranking of the surveyed counties alone, where home is always first and never moves."""
    before, now = league_on(county_app, "2026年第1季度"), league_on(county_app, "2026年第2季度")
    for county in now.index:
        moved = int(before.loc[county, "名次"].strip("第名")) - int(now.loc[county, "名次"].strip("第名"))
        assert now.loc[county, "较上期名次"] == rank_change_words(moved), county
        assert now.loc[county, "较上期得分"] == pytest.approx(now.loc[county, "得分"] - before.loc[county, "得分"], abs=0.011)
    assert (now["较上期名次"] != "持平").any()  # the ranks do move between these waves


def test_a_wave_that_cannot_be_ranked_says_what_to_upload(tmp_path, settings, monkeypatch):
    """Only the home county's respondents and no published table: no rank, the missing counties named."""
    path = tmp_path / "app.db"
    from analysis.data.importing import import_path

    import_path(ROOT / "data" / "mock-county" / "responses.csv", "responses", settings, store.connect(path), user="测试")
    monkeypatch.setenv(store.DB_ENV, str(path))
    clear_views()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    warning = "\n".join(w.value for w in at.warning).replace("\\", "")
    assert "缺少 临江区、东湖区" in warning and "无法在全市范围内排名" in warning
    assert not at.metric  # no rank card, no probability


def test_brief_and_workbook_name_the_basis(county_db, monkeypatch):
    """The Word brief and the Excel workbook say what the rank rests on (here: a forecast against 2026年第2季度)."""
    import io

    import pandas as pd
    from docx import Document

    from ui import data, reporting

    monkeypatch.setenv(store.DB_ENV, str(county_db))
    clear_views()
    version = data.version()
    docx, _ = reporting.brief(version, "2026年第3季度", "云溪县", ())
    text = "\n".join(p.text for p in Document(io.BytesIO(docx)).paragraphs)
    assert "对照 2026年第2季度 市级公布结果" in text and "这是预测，不是正式名次" in text
    # The 整改 section from the bundled work orders, ledger and 约谈名单 (issue: from score to action).
    assert "整改工作进展" in text and "受理民意诉求工单" in text and "问题台账共" in text
    sheets = pd.read_excel(io.BytesIO(reporting.workbook(version, "2026年第3季度", "云溪县")), sheet_name=None)
    assert sheets["名次依据"].loc[0, "依据"] == "本县问卷＋往期市级公布结果（预测）"
    assert set(sheets["排名表"]["source"]) == {"survey", "published"}


def degenerate_answers(settings) -> dict[str, list[str]]:
    """临江区 has one scored answer (+1 不了解), 东湖区 30 identical answers, the rest a mix."""
    mix = ["满意", "比较满意", "一般", "不太满意", "不满意"]
    special = {"临江区": ["满意", "不了解"], "东湖区": ["满意"] * 30}
    return {c: special.get(c, [mix[(i + k) % 5] for i in range(40)]) for k, c in enumerate(settings.counties)}


@pytest.fixture(scope="module")
def degenerate_db(tmp_path_factory, settings):
    data = city_wave_csv("2026年第4季度", degenerate_answers(settings), encoding="gbk")
    return mock_db_with(tmp_path_factory.mktemp("degenerate") / "app.db", settings, data, "退化批次.csv")


@pytest.mark.parametrize("page", SURVEY_PAGES)
def test_pages_survive_a_county_with_one_answer_and_one_with_identical_answers(degenerate_db, page, monkeypatch):
    at = run_page(degenerate_db, page, monkeypatch, wave="2026年第4季度")
    assert not at.exception, at.exception
    if page == "app_pages/ranking.py":
        league = at.dataframe[0].value.set_index("县区")
        assert league.loc["临江区", "来源"] == "问卷推算（样本不足）" and league.loc["临江区", "前5名概率"] == "—"
        assert league.loc["东湖区", "95%置信区间"] == "100.00–100.00"


def test_cli_ranks_a_wave_with_degenerate_counties(degenerate_db):
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "analysis", "rank", "--db", str(degenerate_db), "--home", "云溪县",
                           "--wave", "2026年第4季度", "--json", "--draws", "2000"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    lone = next(c for c in doc["counties"] if c["county"] == "临江区")
    assert lone["insufficient"] and lone["p_rank_le"]["5"] is None and lone["se"] is None
    same = next(c for c in doc["counties"] if c["county"] == "东湖区")
    assert same["se"] == 0 and same["score"] == 100


def test_a_forecast_wave_still_names_the_item_to_fix_first(county_app):
    """Nothing is published for the latest wave yet: the item comparison uses the published wave the ranking starts
    from, so the first screen still says what to fix first, and 分项指标 says where the others' item scores come from."""
    county_app.session_state[state.WAVE] = "2026年第3季度"
    county_app.switch_page("app_pages/overview.py").run()
    assert not county_app.exception, county_app.exception
    assert "首先要抓的是“" in page_text(county_app).replace("\\", "")
    county_app.switch_page("app_pages/items.py").run()
    text = (page_text(county_app) + "\n".join(str(e.value) for e in county_app.info)).replace("\\", "")
    assert "2026年第3季度市级结果尚未公布" in text and "取自2026年第2季度市级公布结果" in text
