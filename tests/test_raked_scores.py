"""Raked county scores for the ranking (analysis.survey.raked_scores): R rake + svymean on the toy, an independent IPF and
least-squares computation with unscored answers, the county table with raked rows, and the 排名 page's notes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.weighting import parse_raking
from analysis.survey.raked_scores import (ranking_weight_notes, raked_county_score, raked_county_scores,
                                          with_raked_scores)
from analysis.survey.scoring import county_scores

FIXTURES = Path(__file__).parent / "fixtures"
POINTS = {"满意": 100.0, "比较满意": 80.0, "一般": 60.0, "不太满意": 40.0, "不满意": 0.0}
MARGINS_CN = {"城乡": {"城镇": 0.42, "农村": 0.58}, "性别": {"男": 0.5, "女": 0.5},
              "年龄段": {"18-39岁": 0.35, "40-59岁": 0.40, "60岁及以上": 0.25}}
COLUMNS = {"城乡": "urban_rural", "性别": "sex", "年龄段": "age_group"}
WAVES = ("2026年第2季度", "2026年第3季度")


def toy_frame(county: str = "玩具县", wave: str = WAVES[1]) -> pd.DataFrame:
    toy = pd.read_csv(FIXTURES / "groups_toy.csv")
    return pd.DataFrame({"respondent_id": toy["respondent_id"], "wave": wave, "county": county, "overall": toy["answer"],
                         "weight": toy["weight"], "urban_rural": toy["urban_rural"], "sex": toy["sex"],
                         "age_group": toy["age_group"]})


@pytest.fixture(scope="module")
def expected() -> dict[str, dict]:
    frame = pd.read_csv(FIXTURES / "groups_toy_expected_R.csv")
    return {row["what"]: row for row in frame.to_dict("records")}


@pytest.fixture(scope="module")
def city() -> pd.DataFrame:
    """玩具县 in two waves (the earlier with 15 不了解 answers and 40 fewer people), plus 邻县 with shuffled answers."""
    late = toy_frame()
    early = toy_frame(wave=WAVES[0]).iloc[40:].reset_index(drop=True)
    early.loc[early.index[::13], "overall"] = "不了解"
    other = toy_frame(county="邻县").assign(overall=lambda f: f["overall"].sample(frac=1, random_state=5).to_numpy())
    return pd.concat([early, late, other], ignore_index=True)


def independent_raked(frame: pd.DataFrame) -> tuple[float, float, float]:
    """Brute force: plain-pandas IPF to the margins, the weighted mean of the scored answers, and the calibration-aware SE
    as the raked weight times the residual of an ordinary least-squares fit of the influence/weight on all margin
    indicators (unscored respondents: influence 0, but they stay in the fit and the design's n)."""
    n = len(frame)
    w = frame["weight"].to_numpy(float).copy()
    for _ in range(500):
        for header, shares in MARGINS_CN.items():
            labels = frame[COLUMNS[header]].to_numpy()
            got = pd.Series(w).groupby(labels).sum()
            w = w * np.array([shares[v] * n / got[v] for v in labels])
    y = frame["overall"].map(POINTS).to_numpy(float)
    scored = ~np.isnan(y)
    total = w[scored].sum()
    mean = float(np.dot(w[scored], y[scored]) / total)
    z = np.where(scored, np.nan_to_num(y) - mean, 0.0) / total
    design = np.column_stack([np.ones(n)] + [(frame[COLUMNS[h]] == level).to_numpy(float)
                                             for h, s in MARGINS_CN.items() for level in list(s)[1:]])
    x = w * (z - design @ np.linalg.lstsq(design, z, rcond=None)[0])
    se = float(np.sqrt(n / (n - 1) * np.sum((x - x.mean()) ** 2)))
    n_eff = float(w[scored].sum() ** 2 / (w[scored] ** 2).sum())
    return mean, se, n_eff


def cfg(margins_for: tuple[str, ...] = ("玩具县",), enabled: bool = True):
    return parse_raking({"raking": {"enabled": enabled, "margins": {c: MARGINS_CN for c in margins_for}}})


def test_raked_county_score_equals_r_rake_and_svymean(expected) -> None:
    row = raked_county_score(toy_frame(), {COLUMNS[h]: s for h, s in MARGINS_CN.items()}, POINTS)
    assert row["score"] == pytest.approx(expected["raked_mean"]["a"], abs=1e-6)
    assert row["se"] == pytest.approx(expected["raked_mean"]["b"], abs=1e-6)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        (expected["raked_mean"]["a"] - 1.959964 * expected["raked_mean"]["b"],
         expected["raked_mean"]["a"] + 1.959964 * expected["raked_mean"]["b"]), abs=1e-5)
    assert row["n"] == 240 and row["converged"] and row["error"] == ""


def test_raked_rows_match_an_independent_computation(city) -> None:
    raked = raked_county_scores(city, cfg(), POINTS)
    # Only the county with margins, once per wave; 邻县 has none.
    assert raked[["wave", "county"]].to_records(index=False).tolist() == [(WAVES[0], "玩具县"), (WAVES[1], "玩具县")]
    for row in raked.itertuples():
        frame = city[(city["county"] == row.county) & (city["wave"] == row.wave)].reset_index(drop=True)
        mean, se, n_eff = independent_raked(frame)
        assert row.score == pytest.approx(mean, abs=1e-8)
        assert row.se == pytest.approx(se, rel=1e-6)
        assert row.n_eff == pytest.approx(n_eff, rel=1e-8)
        assert row.n == int(frame["overall"].isin(list(POINTS)).sum())
    assert raked["n"].tolist() == [200 - len(range(0, 200, 13)), 240]


def test_county_table_takes_the_raked_rows_and_reranks(city) -> None:
    table = county_scores(city, POINTS)
    raked = raked_county_scores(city, cfg(), POINTS)
    out = with_raked_scores(table, raked)
    assert list(out.columns) == list(table.columns) and len(out) == len(table)
    keyed, before = out.set_index(["wave", "county"]), table.set_index(["wave", "county"])
    for row in raked.itertuples():
        for column in ("score", "se", "ci_low", "ci_high", "n_eff"):
            assert keyed.loc[(row.wave, row.county), column] == pytest.approx(getattr(row, column), abs=1e-12)
        # n and the unscored count are the respondents', unchanged by raking.
        assert keyed.loc[(row.wave, row.county), "n"] == before.loc[(row.wave, row.county), "n"]
        assert keyed.loc[(row.wave, row.county), "n_excluded"] == before.loc[(row.wave, row.county), "n_excluded"]
    pd.testing.assert_series_equal(keyed.loc[(WAVES[1], "邻县")], before.loc[(WAVES[1], "邻县")], check_names=False)
    # Ranks by hand: in the late wave, the higher of the two scores is first.
    late = keyed.loc[WAVES[1]]
    better = late["score"].idxmax()
    assert late.loc[better, "rank"] == 1 and late.drop(better)["rank"].iloc[0] == 2


def test_raking_off_or_without_margins_changes_nothing(city) -> None:
    table = county_scores(city, POINTS)
    for settings in (cfg(enabled=False), cfg(margins_for=("别的县",)), parse_raking({})):
        raked = raked_county_scores(city, settings, POINTS)
        assert raked.empty
        pd.testing.assert_frame_equal(with_raked_scores(table, raked), table)


def test_margins_that_do_not_fit_a_wave_keep_its_stored_row(city) -> None:
    # In the early wave nobody is 60岁及以上: that wave cannot be raked, the late wave is.
    odd = city[~((city["wave"] == WAVES[0]) & (city["age_group"] == "60岁及以上"))].reset_index(drop=True)
    raked = raked_county_scores(odd, cfg(), POINTS).set_index("wave")
    assert "“60岁及以上”没有受访者" in raked.loc[WAVES[0], "error"] and raked.loc[WAVES[1], "error"] == ""
    table = county_scores(odd, POINTS)
    out = with_raked_scores(table, raked.reset_index()).set_index(["wave", "county"])
    assert out.loc[(WAVES[0], "玩具县"), "score"] == table.set_index(["wave", "county"]).loc[(WAVES[0], "玩具县"), "score"]
    notes = ranking_weight_notes(raked.reset_index(), out.reset_index(), WAVES[0], "玩具县")
    assert any(n.startswith("玩具县未能按总体比例加权，仍用数据中的权重") for n in notes)


@pytest.mark.parametrize(("n", "n_eff", "says"), [
    (300, 240.0, "方差增大约 25%（设计效应 1.25）：300 份计分问卷相当于约 240 份等权问卷"),  # 300/240 = 1.25 > 1.2
    (300, 252.0, None),  # 300/252 = 1.19: no note
])
def test_design_effect_note(n, n_eff, says) -> None:
    scores = pd.DataFrame({"wave": [WAVES[1]], "county": ["玩具县"], "n": [n], "n_eff": [n_eff]})
    empty = raked_county_scores(pd.DataFrame(columns=["county", "wave"]), cfg(), POINTS)
    notes = ranking_weight_notes(empty, scores, WAVES[1], "玩具县")
    assert (notes == []) if says is None else (len(notes) == 1 and says in notes[0])


def test_notes_name_the_raked_counties(city) -> None:
    raked = raked_county_scores(city, cfg(), POINTS)
    notes = ranking_weight_notes(raked, with_raked_scores(county_scores(city, POINTS), raked), WAVES[1], "邻县")
    assert notes[0].startswith("已按总体比例迭代加权（raking）的县区：玩具县（")


# --- the 排名 page with raking switched on (AppTest) --------------------------------------------------------------

AGES = {"18-29岁": 0.2, "30-39岁": 0.25, "40-49岁": 0.25, "50-59岁": 0.15, "60岁及以上": 0.15}
PAGE_MARGINS = {"城乡": {"城镇": 0.45, "农村": 0.55}, "性别": {"男": 0.5, "女": 0.5}, "年龄段": AGES}


def test_ranking_page_uses_and_names_the_raked_county(tmp_path, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from analysis.data import store
    from analysis.data.importing import import_path
    from analysis.survey.raked_scores import margins_by_column
    from analysis.settings import load_settings
    from ui import data

    root = Path(__file__).resolve().parents[1]
    settings = load_settings(root / "settings.toml")
    db = tmp_path / "raked.db"  # its own database, so no other test's cached (unraked) scores are reused
    import_path(root / "data" / "mock" / "responses.csv", "responses", settings, store.connect(db), user="测试")
    monkeypatch.setenv(store.DB_ENV, str(db))
    raking = parse_raking({"raking": {"enabled": True, "margins": {settings.home_county: PAGE_MARGINS}}})
    monkeypatch.setattr(data, "raking_settings", lambda: raking)
    at = AppTest.from_file(str(root / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("app_pages/ranking.py")
    at.run()
    assert not at.exception, at.exception
    captions = "\n".join(c.value for c in at.caption).replace("\\", "")
    assert f"已按总体比例迭代加权（raking）的县区：{settings.home_county}（" in captions
    # The league table's home score is the home county's latest wave, raked directly (not through ui.data.scores).
    raw = data.home_responses(data.version(), settings.home_county)
    wave = data.waves(data.version())[-1]
    own = raw[raw["wave"] == wave].reset_index(drop=True)
    direct = raked_county_score(own, margins_by_column(PAGE_MARGINS), settings.points)
    league = at.dataframe[0].value
    home = league[league["县区"] == f"★{settings.home_county}"]
    assert float(home["得分"].iloc[0]) == pytest.approx(round(direct["score"], 2), abs=1e-9)
    unraked = county_scores(own, settings.points)["score"].iloc[0]
    assert abs(direct["score"] - unraked) > 0.005  # raking moved the score, so the check above can fail
