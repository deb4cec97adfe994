"""Ranking with uncertainty: margins, sentences, the command line's JSON and its errors."""

import json
import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.survey.ranking import (home_margin, kth_other, last_ranked_before, ranking_with_uncertainty, trend_until,
                                     with_change)
from tests.conftest import ROOT

POINTS = {"满意": 100, "比较满意": 80, "一般": 60, "不太满意": 40, "不满意": 0}
TABLE = pd.DataFrame({"county": list("ABCDEFG"), "score": [90.0, 88.0, 86.0, 85.5, 85.0, 84.0, 80.0],
                      "se": [1.0] * 7, "rank": [1, 2, 3, 4, 5, 6, 7]})


@pytest.mark.parametrize("home, k, expected", [
    ("E", 5, 85.0 - 84.0),   # others sorted: 90, 88, 86, 85.5, 84, 80 → 5th is 84
    ("E", 4, 85.0 - 85.5),   # 4th among others is 85.5: a deficit of 0.5
    ("F", 6, 84.0 - 80.0),
    ("A", 1, 90.0 - 88.0),
])
def test_home_margin(home, k, expected):
    assert home_margin(TABLE, home, k) == pytest.approx(expected)


def test_rank_probabilities_on_the_exact_example():
    """θ̂ = (80, 79, 75), se = (1, 1, 2): P(unit 1 first) = 0.754493 (bivariate normal, computed here with scipy)."""
    table = pd.DataFrame({"county": ["A", "B", "C"], "score": [80.0, 79.0, 75.0], "se": [1.0, 1.0, 2.0], "rank": [1, 2, 3]})
    out = ranking_with_uncertainty(table, (1, 2), draws=200_000, seed=7, coverage=0.95)
    exact = stats.multivariate_normal(mean=[-1, -5], cov=[[2, 1], [1, 5]]).cdf([0, 0])
    assert exact == pytest.approx(0.754493, abs=1e-6)
    tol = 4.5 * np.sqrt(exact * (1 - exact) / 200_000)
    assert out.loc[0, "p_rank_le_1"] == pytest.approx(exact, abs=tol)
    assert out["expected_rank"].to_numpy() == pytest.approx([1.252424, 1.797069, 2.950507], abs=1e-6)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def rank_json(tmp_path_factory):
    result = run_cli("rank", str(ROOT / "data" / "mock" / "responses.csv"), "--home", "云溪县", "--draws", "5000", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_json_shape(rank_json):
    assert rank_json["wave"] == "2026年第3季度" and rank_json["home"] == "云溪县"
    assert rank_json["targets"] == [5, 6] and rank_json["alpha"] == 0.05 and rank_json["draws"] == 5000
    assert [c["rank"] for c in rank_json["counties"]] == sorted(c["rank"] for c in rank_json["counties"])
    first = rank_json["counties"][0]
    assert set(first) == {"county", "source", "n", "n_excluded", "score", "se", "ci_low", "ci_high", "rank", "rank_cs_marginal",
                          "rank_cs_simultaneous", "p_rank_le", "insufficient"}
    assert rank_json["basis"] == "survey" and rank_json["compared_wave"] is None
    assert {c["source"] for c in rank_json["counties"]} == {"survey"}
    for c in rank_json["counties"]:
        lo, hi = c["rank_cs_marginal"]
        slo, shi = c["rank_cs_simultaneous"]
        assert slo <= lo <= c["rank"] <= hi <= shi
        assert c["p_rank_le"]["5"] <= c["p_rank_le"]["6"]
        assert c["ci_low"] == pytest.approx(c["score"] - 1.959964 * c["se"], abs=1e-9)
    home = rank_json["home_summary"]
    assert set(home) == {"county", "rank", "score", "p_rank_le", "margin"}
    assert sum(c["p_rank_le"]["6"] for c in rank_json["counties"]) == pytest.approx(6.0, abs=1e-9)


def test_cli_takes_its_defaults_from_the_settings_file(tmp_path):
    """Without --draws/--seed/--alpha the command uses [statistics] of the settings, as the dashboard does."""
    text = (ROOT / "settings.toml").read_text(encoding="utf-8")
    changed = re.sub(r"(?m)^coverage = 0\.95", "coverage = 0.9", re.sub(r"(?m)^draws = 20000", "draws = 3000", text))
    assert changed.count("\ndraws = 3000") == 1 and changed.count("\ncoverage = 0.9 ") + changed.count("\ncoverage = 0.9\n") == 1
    (tmp_path / "settings.toml").write_text(changed, encoding="utf-8")
    result = run_cli("--settings", str(tmp_path / "settings.toml"), "rank", str(ROOT / "data" / "mock" / "responses.csv"),
                     "--home", "云溪县", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["draws"] == 3000 and doc["alpha"] == pytest.approx(0.1)


def test_cli_counts_match_an_independent_count(rank_json):
    raw = pd.read_csv(ROOT / "data" / "mock" / "responses.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    latest = raw[(raw["测评批次"] == "2026年第3季度") & (raw["县区"] == "云溪县")]
    home = next(c for c in rank_json["counties"] if c["county"] == "云溪县")
    assert home["n"] == latest["总体满意度"].isin(list(POINTS)).sum()
    assert home["n_excluded"] == (~latest["总体满意度"].isin(list(POINTS))).sum()


def test_cli_reads_the_database_and_a_chosen_wave(mock_db):
    result = run_cli("rank", "--db", str(mock_db), "--wave", "2025年第2季度", "--home", "云溪县", "--draws", "2000", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["wave"] == "2025年第2季度"


def test_cli_text_output_is_chinese_table():
    result = run_cli("rank", str(ROOT / "data" / "mock" / "responses.csv"), "--home", "云溪县", "--draws", "2000")
    assert result.returncode == 0 and "第 6名★云溪县" in result.stdout.replace("第6名", "第 6名")


@pytest.mark.parametrize("args, message", [
    (["--home", "火星县"], "本县“火星县”不在该批次的县区中"),
    (["--home", "云溪县", "--wave", "2030年第1季度"], "没有测评批次“2030年第1季度”"),
    (["--home", "云溪县", "--draws", "0"], "--draws 0 太少，至少 1 次"),
    (["--home", "云溪县", "--alpha", "1"], "--alpha 1.0 应在 0 与 1 之间"),
    (["--home", "云溪县", "--alpha", "0"], "--alpha 0.0 应在 0 与 1 之间"),
])
def test_cli_errors_are_chinese_and_non_zero(args, message):
    result = run_cli("rank", str(ROOT / "data" / "mock" / "responses.csv"), *args)
    assert result.returncode != 0 and message in result.stderr and result.stdout == ""


def test_cli_bad_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes("受访者编号,测评批次,县区\n1,w,A\n".encode("utf-8"))
    result = run_cli("rank", str(bad), "--home", "A")
    assert result.returncode != 0 and "缺少必填列：总体满意度" in result.stderr


@pytest.mark.parametrize("counties", [1, 3, 5])
def test_a_wave_with_fewer_counties_than_the_targets(counties):
    """A partial upload (only some counties) still ranks: with k or fewer counties everyone is surely in the top k."""
    table = pd.DataFrame({"county": [f"县{i}" for i in range(counties)], "score": np.linspace(86, 80, counties),
                          "se": [0.8] * counties, "rank": range(1, counties + 1), "n": [400] * counties})
    ranked = ranking_with_uncertainty(table, (5, 6), draws=2000, seed=1, coverage=0.95)
    assert (ranked["p_rank_le_6"] == 1.0).all() and ranked["could_top_6"].all()
    assert np.allclose(ranked["p_rank_le_5"], 1.0) == (counties <= 5)


def test_home_trend_rows_from_ranked_waves():
    """Two waves by hand: the home's rank, the strive (5th) score, the city mean and the published rank line up by wave."""
    from analysis.survey.ranking import home_trend

    def ranked(scores, home_source="survey"):
        table = pd.DataFrame({"county": list("ABCDEFH"), "score": scores, "se": [1.0] * 7,
                              "source": ["published"] * 6 + [home_source], "n": [None] * 6 + [400], "n_excluded": 0,
                              "ci_low": np.nan, "ci_high": np.nan})
        return ranking_with_uncertainty(table.assign(ci_low=table["score"] - 2, ci_high=table["score"] + 2), (5, 6),
                                        draws=500, seed=1, coverage=0.95)

    waves = [("W1", "mixed", ranked([90, 89, 88, 87, 86, 85, 84.5])), ("W2", "mixed", ranked([90, 89, 88, 87, 86, 85, 85.5])),
             ("W3", "mixed", ranked([90, 89, 88, 87, 86, 85, 86.5], home_source="published"))]
    published = pd.DataFrame({"wave": ["W2"], "county": ["H"], "score": [85.4], "rank": [6]})
    trend = home_trend(waves, "H", 5, 6, published)
    assert trend["wave"].tolist() == ["W1", "W2"]  # W3 has no respondents for H: not a point of its trend
    assert trend["rank"].tolist() == [7, 6]
    assert trend["strive_score"].tolist() == [86.0, 86.0]
    assert trend["city_mean"].tolist() == pytest.approx([(90 + 89 + 88 + 87 + 86 + 85 + 84.5) / 7, (90 + 89 + 88 + 87 + 86 + 85 + 85.5) / 7])
    assert trend["published_rank"].tolist()[1] == 6 and pd.isna(trend["published_rank"].tolist()[0])


@pytest.mark.parametrize("ranked, wave, expected", [
    ({"W1": True, "W2": True, "W3": True}, "W3", "W2"),
    ({"W1": True, "W2": False, "W3": True}, "W3", "W1"),   # a wave that could not be ranked is skipped
    ({"W1": False, "W2": True}, "W2", None),
    ({"W1": True}, "W1", None),                            # the first wave has nothing to compare with
])
def test_last_ranked_before(ranked, wave, expected):
    assert last_ranked_before(ranked, list(ranked), wave) == expected


def test_change_is_against_the_earlier_full_ranking():
    # 7th → 5th is up 2; a county new to the ranking has no change; no earlier wave gives none at all.
    now = pd.DataFrame({"county": ["H", "A", "N"], "score": [86.0, 85.5, 80.0], "rank": [5, 6, 9]})
    before = pd.DataFrame({"county": ["H", "A"], "score": [84.5, 86.0], "rank": [7, 4]})
    table = with_change(now, before).set_index("county")
    assert table.loc["H", "rank_change"] == 2 and table.loc["H", "score_change"] == pytest.approx(1.5)
    assert table.loc["A", "rank_change"] == -2 and table.loc["A", "score_change"] == pytest.approx(-0.5)
    assert pd.isna(table.loc["N", "rank_change"]) and pd.isna(table.loc["N", "score_change"])
    first = with_change(now, None)
    assert first["rank_change"].isna().all() and first["score_change"].isna().all()


@pytest.mark.parametrize("k, county, margin", [
    (1, "A", 85.0 - 90.0),
    (2, "B", 85.0 - 88.0),   # B and C tie at 88: by name, so 总览, 分项指标 and the brief name the same county
    (3, "C", 85.0 - 88.0),
    (4, None, math.inf),     # fewer than 4 others: inside the top 4 whatever happens
])
def test_the_county_to_beat(k, county, margin):
    table = pd.DataFrame({"county": ["C", "H", "A", "B"], "score": [88.0, 85.0, 90.0, 88.0]})
    assert (kth_other(table, "H", k) or {}).get("county") == county
    assert home_margin(table, "H", k) == margin


def test_the_trend_stops_at_the_chosen_wave():
    # W3 has no row for the county (it was not ranked there): the trend up to W3 ends at W2; up to W1 is W1 alone.
    trend = pd.DataFrame({"wave": ["W1", "W2", "W4"], "rank": [6, 5, 4]})
    waves = ["W1", "W2", "W3", "W4"]
    assert trend_until(trend, waves, "W3")["wave"].tolist() == ["W1", "W2"]
    assert trend_until(trend, waves, "W1")["rank"].tolist() == [6]
    assert trend_until(trend, waves, "W4").equals(trend)
