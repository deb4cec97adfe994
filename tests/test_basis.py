"""Ranking on the data a bureau holds: survey, mixed (same-wave published table) and forecast bases.

Expected values are computed here from the normal distribution by hand formulas or by a brute-force simulation
written independently of analysis.stats.rank_stats, never from the project's own output.
"""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.data import store
from analysis.data.importing import prepare_import
from analysis.data.mock import write_mock
from analysis.data.waves import sort_waves, wave_period
from analysis.stats.rank_stats import place_probabilities
from analysis.survey.basis import CLOSED, FORECAST, MIXED, SURVEY, Basis, basis_table, choose_basis, coverage_warnings, drift_sd
from analysis.survey.ranking import basis_and_table, basis_scores, home_rank_probabilities, ranking_with_uncertainty
from tests.conftest import ROOT
from tests.upload_support import survey_csv

def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, capture_output=True, text=True, timeout=180)


CITY = ("A", "B", "C", "D", "E", "F", "G", "H")
HOME = "H"


def survey_row(county, score, se, n=400, wave="2026年第3季度"):
    return {"wave": wave, "county": county, "n": n, "n_excluded": 5, "score": score, "se": se,
            "ci_low": score - 1.959964 * se, "ci_high": score + 1.959964 * se}


def published_rows(wave, scores):
    order = sorted(scores, key=scores.get, reverse=True)
    return [{"wave": wave, "county": c, "score": s, "rank": order.index(c) + 1} for c, s in scores.items()]


# The worked example: home 85.80 ± 0.91; the others' 5th highest score 86.10 and 6th 85.40.
OTHERS = {"A": 90.0, "B": 89.0, "C": 88.0, "D": 87.0, "E": 86.10, "F": 85.40, "G": 80.0}
SURVEY_ONLY_HOME = pd.DataFrame([survey_row(HOME, 85.80, 0.91)])
PUBLISHED = pd.DataFrame(published_rows("2026年第3季度", OTHERS) + published_rows("2026年第2季度", {**OTHERS, HOME: 85.0}))


def test_mixed_closed_form_matches_the_worked_example():
    """P(≤5) = 1 − Φ((86.10 − 85.80)/0.91) = 0.3708, P(≤6) = 1 − Φ((85.40 − 85.80)/0.91) = 0.6699."""
    basis, table = basis_and_table(SURVEY_ONLY_HOME, PUBLISHED, "2026年第3季度", CITY)
    assert basis.kind == MIXED and basis.published_counties == tuple("ABCDEFG")
    ranked = ranking_with_uncertainty(table, (5, 6), draws=50, seed=1, coverage=0.95)
    home = ranked.set_index("county").loc[HOME]
    assert home["p_rank_le_5"] == pytest.approx(0.3708, abs=5e-5)
    assert home["p_rank_le_6"] == pytest.approx(0.6699, abs=5e-5)
    assert home["p_rank_le_5"] == pytest.approx(1 - stats.norm.cdf((86.10 - 85.80) / 0.91), abs=1e-12)
    # Rank by point score: 85.80 is below 86.10 and above 85.40.
    assert home["rank"] == 6
    # Rank set: 1 + #{s_i > x} for x in [85.80 − 1.96·0.91, 85.80 + 1.96·0.91] = [84.02, 87.58]:
    # at 87.58 three scores (90, 89, 88) are above → 4th; at 84.02 six are above → 7th.
    assert (home["cs_marginal_low"], home["cs_marginal_high"]) == (4, 7)
    assert (home["cs_simultaneous_low"], home["cs_simultaneous_high"]) == (4, 7)
    # E (86.10) is 5th, or 6th when the home may pass it (87.58 > 86.10).
    assert tuple(ranked.set_index("county").loc["E", ["cs_marginal_low", "cs_marginal_high"]]) == (5, 6)
    assert set(ranked.loc[ranked["county"] != HOME, "source"]) == {"published"}


def test_mixed_probabilities_do_not_depend_on_draws_or_seed():
    _, table = basis_and_table(SURVEY_ONLY_HOME, PUBLISHED, "2026年第3季度", CITY)
    a = ranking_with_uncertainty(table, (5, 6), draws=10, seed=1, coverage=0.95)
    b = ranking_with_uncertainty(table, (5, 6), draws=99, seed=2, coverage=0.95)
    assert a["p_rank_le_5"].to_numpy() == pytest.approx(b["p_rank_le_5"].to_numpy(), abs=0)


def test_mixed_place_probabilities_are_exact_and_sum_to_one():
    _, table = basis_and_table(SURVEY_ONLY_HOME, PUBLISHED, "2026年第3季度", CITY)
    probs = place_probabilities(table["score"], table["se"])
    j = int(np.flatnonzero(table["county"] == HOME)[0])
    # P(place 6) = P(85.40 ≤ X < 86.10).
    expected = stats.norm.cdf(86.10, 85.80, 0.91) - stats.norm.cdf(85.40, 85.80, 0.91)
    assert probs[j, 5] == pytest.approx(expected, abs=1e-12)
    assert probs.sum(axis=1) == pytest.approx(np.ones(len(table)))
    assert probs.sum(axis=0) == pytest.approx(np.ones(len(table)))
    # E (86.10) is 5th unless the home passes it: P(E 5th) = P(X ≤ 86.10).
    e = int(np.flatnonzero(table["county"] == "E")[0])
    assert probs[e, 4] == pytest.approx(stats.norm.cdf(86.10, 85.80, 0.91), abs=1e-12)


def test_mixed_with_a_second_surveyed_county_is_simulated_jointly():
    """Home and G surveyed, others published: brute-force check with an independent simulation."""
    survey = pd.DataFrame([survey_row(HOME, 85.80, 0.91), survey_row("F", 85.60, 1.20)])
    others = {k: v for k, v in OTHERS.items() if k != "F"}
    published = pd.DataFrame(published_rows("2026年第3季度", others))
    basis, table = basis_and_table(survey, published, "2026年第3季度", CITY)
    assert basis.kind == MIXED and basis.survey_counties == ("F", HOME)
    draws = 200_000
    ranked = ranking_with_uncertainty(table, (5, 6), draws=draws, seed=11, coverage=0.95)
    rng = np.random.default_rng(99)
    x = rng.normal(85.80, 0.91, draws)
    f = rng.normal(85.60, 1.20, draws)
    fixed = np.array(list(others.values()))
    rank_home = 1 + (fixed[None, :] > x[:, None]).sum(axis=1) + (f > x)
    for k in (5, 6):
        expected = float(np.mean(rank_home <= k))
        tol = 4.5 * np.sqrt(2 * expected * (1 - expected) / draws)
        assert ranked.set_index("county").loc[HOME, f"p_rank_le_{k}"] == pytest.approx(expected, abs=tol)


def test_drift_sd_is_the_root_mean_squared_change():
    published = pd.DataFrame(
        published_rows("2026年第1季度", {"A": 80.0, "B": 70.0})
        + published_rows("2026年第2季度", {"A": 81.0, "B": 68.0})
        + published_rows("2025年第4季度", {"A": 79.0, "B": 70.5}))
    # Consecutive pairs in time order: 25Q4→26Q1: +1, −0.5; 26Q1→26Q2: +1, −2 → Σ Δ² = 1 + 0.25 + 1 + 4 = 6.25, M = 4.
    sd, pairs = drift_sd(published, ["2025年第4季度", "2026年第1季度", "2026年第2季度"])
    assert pairs == 4
    assert sd == pytest.approx(np.sqrt(6.25 / 4))


def test_forecast_uses_the_latest_earlier_wave_and_drift():
    published = pd.DataFrame(published_rows("2026年第1季度", {**{c: 80.0 + i for i, c in enumerate("ABCDEFG")}, HOME: 84.0})
                             + published_rows("2026年第2季度", {**{c: 81.0 + i for i, c in enumerate("ABCDEFG")}, HOME: 85.0}))
    basis = choose_basis("2026年第3季度", [HOME], CITY, published)
    assert basis.kind == FORECAST and basis.compared_wave == "2026年第2季度"
    assert basis.drift_sd == pytest.approx(1.0) and basis.drift_pairs == 8
    assert "对照 2026年第2季度 市级公布结果" in basis.sentence()
    table = basis_table(SURVEY_ONLY_HOME, published, basis)
    pub = table[table["source"] == "published"].set_index("county")
    assert pub.loc["A", "score"] == 81.0 and (pub["se"] == 1.0).all()


def test_forecast_probability_against_an_independent_simulation():
    """Others ~ N(s_last, σ_d²), home ~ N(x̂, se²): P(rank ≤ k) by brute force, tolerance from the draws."""
    last = {**OTHERS}
    prev = {c: s - 0.8 for c, s in last.items()}
    published = pd.DataFrame(published_rows("2026年第1季度", prev) + published_rows("2026年第2季度", last))
    basis, table = basis_and_table(SURVEY_ONLY_HOME, published, "2026年第3季度", CITY)
    assert basis.kind == FORECAST and basis.drift_sd == pytest.approx(0.8)
    draws = 200_000
    ranked = ranking_with_uncertainty(table, (5, 6), draws=draws, seed=3, coverage=0.95).set_index("county")
    rng = np.random.default_rng(2024)
    x = rng.normal(85.80, 0.91, draws)
    others = rng.normal(np.array(list(last.values())), 0.8, (draws, len(last)))
    rank_home = 1 + (others > x[:, None]).sum(axis=1)
    for k in (5, 6):
        expected = float(np.mean(rank_home <= k))
        tol = 4.5 * np.sqrt(2 * expected * (1 - expected) / draws)
        assert ranked.loc[HOME, f"p_rank_le_{k}"] == pytest.approx(expected, abs=tol)
    assert ranked.loc["A", "ci_low"] == pytest.approx(90.0 - 1.959964 * 0.8)


def test_forecast_with_one_published_wave_assumes_no_change():
    published = pd.DataFrame(published_rows("2026年第2季度", OTHERS))
    basis, table = basis_and_table(SURVEY_ONLY_HOME, published, "2026年第3季度", CITY)
    assert basis.kind == FORECAST and basis.drift_sd == 0 and basis.drift_pairs == 0
    assert "假设各县区得分不变" in basis.sentence()
    ranked = ranking_with_uncertainty(table, (5,), draws=10, seed=1, coverage=0.95).set_index("county")
    assert ranked.loc[HOME, "p_rank_le_5"] == pytest.approx(1 - stats.norm.cdf((86.10 - 85.80) / 0.91), abs=1e-12)


def test_no_basis_names_the_missing_counties():
    published = pd.DataFrame(published_rows("2026年第2季度", {"A": 90.0, "B": 89.0}))
    basis = choose_basis("2026年第3季度", [HOME], CITY, published)
    assert not basis.ok and basis.missing == tuple("CDEFG")
    assert "C、D、E、F、G" in basis.missing_sentence() and "上传" in basis.missing_sentence()


def test_a_later_published_wave_is_not_used_for_an_earlier_survey_wave():
    published = pd.DataFrame(published_rows("2026年第4季度", OTHERS))
    assert not choose_basis("2026年第3季度", [HOME], CITY, published).ok


def test_every_county_surveyed_is_the_survey_basis():
    assert choose_basis("2026年第3季度", CITY, CITY, PUBLISHED).kind == SURVEY


def test_identical_answers_are_a_point_mass_and_one_answer_is_left_out():
    """SE 0 (n ≥ 2, all answers the same) is a known value; a county with one scored answer has no SE."""
    rows = [survey_row(c, s, 1.0) for c, s in OTHERS.items()]
    rows.append(survey_row(HOME, 85.80, 0.0, n=40))
    rows.append(survey_row("X", 99.0, float("nan"), n=1))
    table = pd.DataFrame(rows)
    ranked = ranking_with_uncertainty(table, (5, 6), draws=20_000, seed=5, coverage=0.95).set_index("county")
    assert np.isnan(ranked.loc["X", "p_rank_le_5"]) and ranked.loc["X", "rank"] == 1
    # With the home fixed at 85.80 and others N(s, 1): P(home ≤ 5) = P(at most 4 others above 85.80), independent.
    p_above = 1 - stats.norm.cdf(85.80, list(OTHERS.values()), 1.0)
    dist = np.array([1.0])
    for p in p_above:  # Poisson-binomial distribution of how many others beat the home
        dist = np.convolve(dist, [1 - p, p])
    tol = 4.5 * np.sqrt(0.25 / 20_000)
    assert ranked.loc[HOME, "p_rank_le_5"] == pytest.approx(dist[:5].sum(), abs=tol)
    assert ranked.loc[HOME, "p_rank_le_6"] == pytest.approx(dist[:6].sum(), abs=tol)
    assert ranked["cs_marginal_low"].drop("X").notna().all()


def test_two_counties_with_identical_answers_rank_sets_do_not_crash():
    table = pd.DataFrame([survey_row("A", 90.0, 0.0), survey_row("B", 85.0, 0.0), survey_row("C", 87.0, 2.0)])
    # C's interval 87 ± 3.92 reaches past 90 and below 85, so A may be 2nd and B may be 2nd.
    ranked = ranking_with_uncertainty(table, (1, 2), draws=2_000, seed=5, coverage=0.95).set_index("county")
    assert (ranked.loc["A", "cs_marginal_low"], ranked.loc["A", "cs_marginal_high"]) == (1, 2)
    assert (ranked.loc["B", "cs_marginal_low"], ranked.loc["B", "cs_marginal_high"]) == (2, 3)
    assert ranked.loc["A", "p_rank_le_1"] == pytest.approx(stats.norm.cdf((90.0 - 87.0) / 2.0), abs=1e-12)


def test_home_rank_probabilities_agree_with_the_table():
    _, table = basis_and_table(SURVEY_ONLY_HOME, PUBLISHED, "2026年第3季度", CITY)
    probs = home_rank_probabilities(table, HOME, (5, 6), draws=10, seed=1)
    assert probs[5] == pytest.approx(0.3708, abs=5e-5)


@pytest.mark.parametrize("labels, ordered", [
    (["2026年第1季度", "2025年第4季度", "2025年第10季度"], ["2025年第4季度", "2026年第1季度", "2025年第10季度"]),
    (["2027年一季度", "2026年第四季度", "2026年三季度"], ["2026年三季度", "2026年第四季度", "2027年一季度"]),
    (["2026年下半年", "2026年上半年", "2026年度", "2025Q4"], ["2025Q4", "2026年上半年", "2026年下半年", "2026年度"]),
])
def test_waves_sort_by_time(labels, ordered):
    assert sort_waves(labels) == ordered


def test_wave_period_parses_chinese_numerals():
    assert wave_period("2026年第三季度") == (2026, 9) and wave_period("第三季度") is None


def test_coverage_warnings_name_the_missing_counties_and_what_the_ranking_uses():
    responses = pd.DataFrame({"wave": ["2026年第3季度"] * 2 + ["2026年第4季度"] * 2, "county": [HOME] * 4})
    published = pd.DataFrame(published_rows("2026年第3季度", OTHERS))
    third, fourth = coverage_warnings(responses, CITY, published)
    assert third == "2026年第3季度 只有 1 个县区的问卷，缺 A、B、C、D、E、F、G：名次将对照2026年第3季度市级公布结果计算。"
    assert "对照 2026年第3季度 市级公布结果预测" in fourth
    none = coverage_warnings(responses.iloc[:2], CITY, published.iloc[0:0])
    assert len(none) == 1 and "请上传市级测评结果" in none[0]
    assert coverage_warnings(pd.DataFrame({"wave": ["W"] * len(CITY), "county": list(CITY)}), CITY, published) == []


def test_import_preview_warns_about_a_one_county_wave(tmp_path, settings):
    """The analyst sees the warning before confirming; nothing is written by the preview."""
    engine = store.connect(tmp_path / "app.db")
    text = survey_csv(35, "2026年第4季度")
    plan = prepare_import(text.encode("gbk"), "本县.csv", "responses", settings, engine)
    assert plan.ok
    warning = next(w for w in plan.validation.warnings if w.startswith("2026年第4季度 只有 1 个县区的问卷"))
    assert "请上传市级测评结果" in warning
    assert store.data_version(engine) == 0


COUNTY_MOCK = ROOT / "data" / "mock-county"


def test_county_scenario_is_deterministic_and_is_what_a_bureau_holds(tmp_path, settings):
    write_mock(settings, tmp_path, seed=2026, scenario="county")
    for name in ("responses.csv", "published.csv"):
        assert (tmp_path / name).read_bytes() == (COUNTY_MOCK / name).read_bytes(), name
    responses = pd.read_csv(COUNTY_MOCK / "responses.csv", encoding="utf-8-sig", dtype=str)
    published = pd.read_csv(COUNTY_MOCK / "published.csv", encoding="utf-8-sig")
    assert set(responses["县区"]) == {settings.home_county}
    assert sort_waves(responses["测评批次"])[-1] not in set(published["测评批次"])
    assert {"样本量", *settings.items} <= set(published.columns)


@pytest.fixture(scope="module")
def county_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("county") / "county.db"
    done = run_cli("init-db", "--db", str(path), "--mock-dir", str(COUNTY_MOCK))
    assert done.returncode == 0, done.stderr
    return path


def rank_doc(db, wave, *extra):
    done = run_cli("rank", "--db", str(db), "--home", "云溪县", "--wave", wave, "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_cli_forecast_on_the_county_scenario(county_db):
    doc = rank_doc(county_db, "2026年第3季度", "--draws", "4000")
    assert doc["basis"] == "forecast" and doc["compared_wave"] == "2026年第2季度"
    published = pd.read_csv(COUNTY_MOCK / "published.csv", encoding="utf-8-sig")
    # σ_d from the CSV by hand: every county's change between consecutive published waves.
    wide = published.pivot(index="县区", columns="测评批次", values="得分")[sort_waves(published["测评批次"].unique())]
    changes = np.diff(wide.to_numpy(), axis=1)
    sigma = float(np.sqrt(np.mean(changes**2)))
    others = [c for c in doc["counties"] if c["county"] != "云溪县"]
    assert {c["source"] for c in others} == {"published"}
    assert all(c["se"] == pytest.approx(sigma, abs=1e-9) for c in others)
    latest = wide["2026年第2季度"]
    assert all(c["score"] == pytest.approx(latest[c["county"]]) for c in others)
    home = next(c for c in doc["counties"] if c["county"] == "云溪县")
    assert home["source"] == "survey" and home["p_rank_le"]["5"] is not None
    assert len(doc["counties"]) == 11


def test_cli_mixed_on_the_county_scenario(county_db):
    doc = rank_doc(county_db, "2026年第2季度", "--draws", "50")
    assert doc["basis"] == "mixed" and doc["compared_wave"] is None
    published = pd.read_csv(COUNTY_MOCK / "published.csv", encoding="utf-8-sig")
    same = published[(published["测评批次"] == "2026年第2季度") & (published["县区"] != "云溪县")]
    home = next(c for c in doc["counties"] if c["county"] == "云溪县")
    for k in (5, 6):
        s_k = same["得分"].sort_values(ascending=False).iloc[k - 1]
        assert home["p_rank_le"][str(k)] == pytest.approx(1 - stats.norm.cdf((s_k - home["score"]) / home["se"]), abs=1e-12)
    for c in doc["counties"]:
        if c["source"] == "published":
            assert c["se"] is None and c["ci_low"] is None and c["n"] is None and c["rank_cs_marginal"] is None
    assert doc["home_summary"]["rank"] == 1 + int((same["得分"] > home["score"]).sum())


def test_cli_refuses_a_wave_that_cannot_be_ranked(tmp_path):
    db = tmp_path / "only_home.db"
    responses = pd.read_csv(COUNTY_MOCK / "responses.csv", encoding="utf-8-sig", dtype=str)
    path = tmp_path / "本县.csv"
    responses.to_csv(path, index=False, encoding="gbk")
    assert run_cli("import", str(path), "--kind", "responses", "--db", str(db)).returncode == 0
    done = run_cli("rank", "--db", str(db), "--home", "云溪县", "--json")
    assert done.returncode == 1 and done.stdout == ""
    assert "缺少 临江区、东湖区" in done.stderr and "无法在全市范围内排名" in done.stderr


def test_basis_scores_stack_each_rankable_wave_on_its_own_basis():
    """What the trend extrapolates (page and `plan --trend`): the home's survey score and the others' published scores
    per wave; a wave nobody can rank (nothing published for the others yet) is left out."""
    survey = pd.DataFrame([survey_row(HOME, 83.0, 1.1, wave="2025年第4季度"), survey_row(HOME, 84.0, 1.0, wave="2026年第1季度"),
                           survey_row(HOME, 85.0, 0.9, wave="2026年第2季度"), survey_row(HOME, 85.8, 0.91)])
    published = pd.DataFrame(published_rows("2026年第1季度", {c: s - 0.5 for c, s in OTHERS.items()})
                             + published_rows("2026年第2季度", OTHERS))
    waves = ["2025年第4季度", "2026年第1季度", "2026年第2季度", "2026年第3季度"]
    stacked = basis_scores(survey, published, waves, CITY)
    assert list(stacked["wave"].unique()) == waves[1:]  # 2025年第4季度: nothing published at or before it
    q2 = stacked[stacked["wave"] == "2026年第2季度"].set_index("county")
    assert q2.loc[HOME, ["source", "score", "se"]].tolist() == ["survey", 85.0, 0.9]  # the home's own survey
    assert q2.loc["E", ["source", "score", "se"]].tolist() == ["published", 86.10, 0.0]  # published that wave: fixed
    q3 = stacked[stacked["wave"] == "2026年第3季度"].set_index("county")
    # Not published yet: the last published score with the between-wave drift as its error (every county moved 0.5).
    assert q3.loc["E", ["source", "score"]].tolist() == ["published", 86.10] and q3.loc["E", "se"] == pytest.approx(0.5)
    assert len(q2) == len(q3) == len(CITY)
    assert basis_scores(survey, published.iloc[0:0], waves, CITY).empty


@pytest.mark.parametrize("basis, method", [
    (Basis("w", SURVEY, ("A", "B")), SURVEY),
    (Basis("w", MIXED, ("H",), ("A", "B")), CLOSED),
    (Basis("w", MIXED, ("F", "H"), ("A", "B")), MIXED),  # two counties with an error: simulated, as ranked_wave does
    (Basis("w", FORECAST, ("H",), ("A", "B"), drift_sd=0.5, drift_pairs=4), FORECAST),
    (Basis("w", FORECAST, ("H",), ("A", "B")), CLOSED),  # fewer than two published waves: no drift, published fixed
    (Basis("w", None, ("H",), missing=("A",)), None),
], ids=["survey", "mixed, home only", "mixed, two surveyed", "forecast with drift", "forecast without drift", "unranked"])
def test_the_chance_method_follows_how_many_counties_carry_an_error(basis, method):
    assert basis.method == method


def test_every_method_text_agrees_on_a_mixed_wave_with_two_surveyed_counties():
    """The note, the sentence and the method line all say 'simulated' where ranked_wave simulates."""
    from analysis.report.wording import probability_note, probability_sentence
    from analysis.survey.ranking import probability_method

    survey = pd.DataFrame([survey_row(HOME, 85.80, 0.91), survey_row("F", 85.60, 1.20)])
    published = pd.DataFrame(published_rows("2026年第3季度", {k: v for k, v in OTHERS.items() if k != "F"}))
    basis, _ = basis_and_table(survey, published, "2026年第3季度", CITY)
    texts = [probability_method(basis, 20000), probability_note(20000, 0.8, basis.method),
             probability_sentence(0.8, 6, "保6", method=basis.method)]
    assert "模拟 20,000 次" in texts[0] and "模拟 20,000 次" in texts[1]
    assert not any("直接算出" in t or "精确计算" in t for t in texts)
