"""`python -m analysis plan`: JSON of the forward model, the inverse plans reproduce through it, Chinese errors."""

import json

import pandas as pd
import pytest

from analysis.cli.main import main
from tests.conftest import ROOT

WAVE = "2026年第3季度"


def _run(capsys, *argv):
    code = main(["plan", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def county_db(tmp_path_factory, settings):
    from analysis.data import store
    from analysis.data.importing import build_mock_database

    path = tmp_path_factory.mktemp("county") / "county.db"
    build_mock_database(store.connect(path), settings, ROOT / "data" / "mock-county")
    return path


@pytest.fixture(scope="module")
def home_rows(settings):
    raw = pd.read_csv(ROOT / "data" / "mock" / "responses.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return raw[(raw["测评批次"] == WAVE) & (raw["县区"] == settings.home_county)]


def test_forward_json_and_moved_people(mock_db, settings, home_rows, capsys):
    code, out, _ = _run(capsys, "--db", str(mock_db), "--home", settings.home_county, "--wave", WAVE,
                        "--move", "有偿补课治理:城乡=农村:一般:满意:0.2", "--draws", "4000", "--json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc["p_rank_le"]) == {"5", "6"} and isinstance(doc["rank"], int)
    # Counted straight from the bundled CSV: 20% of the home county's rural respondents who answered 一般.
    eligible = ((home_rows["城乡"] == "农村") & (home_rows["有偿补课治理"] == "一般")).sum()
    assert doc["moved_people"] == pytest.approx(0.2 * eligible)
    assert doc["score"] > doc["current"]["score"]


def test_inverse_plans_reproduce_through_the_forward_command(mock_db, settings, capsys):
    base = ["--db", str(mock_db), "--home", settings.home_county, "--wave", WAVE, "--draws", "3000", "--seed", "9", "--json"]
    code, out, _ = _run(capsys, *base, "--target", "5", "--prob", "0.8")
    assert code == 0
    plans = json.loads(out)["plans"]
    assert {p["item"] for p in plans} == set(settings.items)
    reachable = [p for p in plans if p["people"]]
    assert reachable, "the bundled data should have at least one item that reaches P(前5) ≥ 80%"
    plan = reachable[0]
    assert plan["share"] == pytest.approx(plan["people"] / json.loads(out)["n_respondents"])
    moves = [a for m in plan["moves"] for a in ("--move", m)]
    code, out, _ = _run(capsys, *base, *moves)
    again = json.loads(out)
    assert again["score"] == pytest.approx(plan["score"], abs=1e-9)
    assert again["p_rank_le"]["5"] == pytest.approx(plan["p"], abs=1e-12) and again["p_rank_le"]["5"] >= 0.8
    assert again["moved_people"] == pytest.approx(plan["people"])
    # One respondent fewer (same share of each answer below 满意) does not reach the target.
    below = plan["people"] / plan["share_of_below_top"]
    fewer = [a for m in plan["moves"]
             for a in ("--move", m.rsplit(":", 1)[0] + f":{(plan['people'] - 1) / round(below)!r}")]
    code, out, _ = _run(capsys, *base, *fewer)
    assert json.loads(out)["p_rank_le"]["5"] < 0.8
    unreachable = [p for p in plans if p["people"] is None]
    assert all(p["share"] is None and p["moves"] == [] for p in unreachable)


@pytest.mark.parametrize("argv, message", [
    (["--move", "有偿补课治理:全部:一般:满意"], "格式不对"),
    (["--move", "补课:全部:一般:满意:0.2"], "分项“补课”不在设置的分项中"),
    (["--move", "有偿补课治理:全部:还行:满意:0.2"], "评价“还行”不是计分的答案"),
    (["--move", "有偿补课治理:全部:一般:满意:1.5"], "应在 0 到 1 之间"),
    (["--move", "有偿补课治理:全部:一般:满意:两成"], "不是数字"),
    (["--move", "有偿补课治理:省份=江苏:一般:满意:0.2"], "没有“省份”这一列"),
    (["--move", "有偿补课治理:城乡=郊区:一般:满意:0.2"], "没有“郊区”"),
    (["--target", "5"], "需要同时给出"),
    (["--target", "5", "--prob", "1.2"], "应在 0 与 1 之间"),
    (["--wave", "2030年第1季度"], "没有测评批次"),
])
def test_bad_input_exits_non_zero_in_chinese(mock_db, settings, capsys, argv, message):
    code, out, err = _run(capsys, "--db", str(mock_db), "--home", settings.home_county, "--draws", "500", *argv)
    assert code == 1 and out == ""
    assert message in err and err.startswith("错误：")


def test_unknown_home_county(mock_db, capsys):
    code, _, err = _run(capsys, "--db", str(mock_db), "--home", "云西县", "--draws", "500")
    assert code == 1 and "本县“云西县”" in err


@pytest.mark.parametrize("wave, trend", [
    ("2026年第2季度", True),    # mixed basis, projected one wave on: the others' trend comes from published scores
    ("2026年第3季度", False),   # forecast basis: simulated, so the rows must reach the simulation in the page's order
])
def test_the_county_scenario_matches_the_page(county_db, settings, capsys, monkeypatch, wave, trend):
    """Only the home county has respondents: the command line gives 目标推演's numbers exactly (same seed, same rows in
    the same order; survey scores alone would leave every other county without a trend)."""
    from analysis.data import store
    from analysis.survey.planner import Move
    from ui import data, planning
    from ui.caching import clear_views

    monkeypatch.setenv(store.DB_ENV, str(county_db))
    clear_views()
    code, out, err = _run(capsys, "--db", str(county_db), "--home", settings.home_county, "--wave", wave,
                          *(["--trend"] if trend else []), "--move", "课后服务:全部:一般:满意:0.2", "--json")
    assert code == 0, err
    cli = json.loads(out)
    page = planning.run(data.version(), wave, settings.home_county, (Move("课后服务", "一般", "满意", 0.2),), trend)
    for side, doc in ((page.planned, cli), (page.current, cli["current"]), (page.baseline, cli["baseline"])):
        assert doc["score"] == pytest.approx(side["score"], abs=1e-9) and doc["rank"] == side["rank"]
        for k in settings.targets:
            assert doc["p_rank_le"][str(k)] == pytest.approx(side[f"p_rank_le_{k}"], abs=1e-12)
    if trend:
        projected = planning.trend(data.version(), wave)
        others = projected[projected["county"] != settings.home_county]
        assert (others["waves"] >= 2).any() and (others["shift"] != 0).any()  # published counties are really projected
    clear_views()
