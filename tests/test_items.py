"""Tests for analysis.survey.items on small hand-made frames; expected values are worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.survey.items import (ItemView, benchmark_county, city_mean_gap, fix_first, fix_first_stability,
                                   item_benchmarks, item_drivers, item_scores, joint_gains, strive_gap,)

POINTS = {"满意": 100.0, "比较满意": 80.0, "一般": 60.0, "不太满意": 40.0, "不满意": 0.0}


def test_item_scores_weighted_mean_se_and_unknown_share() -> None:
    frame = pd.DataFrame({
        "overall": ["满意"] * 4,
        "甲": ["满意", "比较满意", "一般", "不了解"],
        "乙": ["一般", "一般", None, "说不清"],
        "weight": [1.0, 1.0, 2.0, 1.0],
    })
    table = item_scores(frame, ("甲", "乙"), POINTS)
    assert table["item"].tolist() == ["甲", "乙"]  # settings order, not alphabetical
    a = table.iloc[0]
    # Points 100, 80, 60 with weights 1, 1, 2: mean = (100 + 80 + 120) / 4 = 75.
    # SE = sqrt(n/(n-1) Σ(w(y-ȳ))²) / Σw = sqrt(1.5 × (25² + 5² + 30²)) / 4 = sqrt(2325) / 4.
    assert a["n"] == 3 and a["n_excluded"] == 1
    assert a["score"] == pytest.approx(75.0)
    assert a["se"] == pytest.approx(math.sqrt(2325) / 4)
    assert a["ci_low"] == pytest.approx(75.0 - 1.959964 * math.sqrt(2325) / 4)
    assert a["unknown_share"] == pytest.approx(0.25)
    assert a["weight_total"] == pytest.approx(4.0)
    b = table.iloc[1]
    # Two scored 一般 (60), one empty and one 说不清 are unscored: 2 of 4.
    assert b["n"] == 2 and b["score"] == pytest.approx(60.0) and b["se"] == pytest.approx(0.0)
    assert b["unknown_share"] == pytest.approx(0.5)


def test_item_scores_by_county() -> None:
    frame = pd.DataFrame({"county": ["甲县", "甲县", "乙县"], "overall": ["满意"] * 3,
                          "办学条件": ["满意", "一般", "不满意"], "weight": [1.0, 3.0, 1.0]})
    table = item_scores(frame, ("办学条件",), POINTS, by=("county",))
    # 甲县: (100 + 3 × 60) / 4 = 70; 乙县: 0.
    assert table.set_index("county")["score"].to_dict() == pytest.approx({"甲县": 70.0, "乙县": 0.0})


def test_benchmark_county_is_kth_best_among_the_others() -> None:
    overall = pd.DataFrame({"county": ["A", "B", "H", "C", "D"], "score": [90.0, 88.0, 87.0, 86.0, 80.0]})
    # Others ranked: A 90, B 88, C 86, D 80 → the 3rd is C, whatever the home's own place.
    assert benchmark_county(overall, "H", 3) == "C"
    assert benchmark_county(overall, "A", 1) == "B"
    assert benchmark_county(overall, "H", 5) is None


def _county_items() -> pd.DataFrame:
    return pd.DataFrame({"county": ["H", "A", "B"], "item": ["甲"] * 3, "score": [80.0, 90.0, 85.0],
                         "se": [2.0, 1.0, 3.0], "weight_total": [100.0, 80.0, 90.0]})


def test_city_mean_gap_whole_county() -> None:
    county = _county_items()
    home = county[county["county"] == "H"].drop(columns="county")
    gap = city_mean_gap(home, county, "H").iloc[0]
    # City mean (80 + 90 + 85) / 3 = 85; home minus it = −5.
    # Var = (1 − 1/3)² × 2² + (1² + 3²) / 3² = 16/9 + 10/9 = 26/9 = 2.8889.
    assert gap["city_mean"] == pytest.approx(85.0)
    assert gap["gap_city"] == pytest.approx(-5.0)
    assert gap["se_gap_city"] == pytest.approx(math.sqrt(26 / 9))
    assert gap["z_city"] == pytest.approx(-2.9417420)
    assert gap["p_city"] == pytest.approx(0.0032637, abs=1e-6)


def test_city_mean_gap_for_a_township_subset() -> None:
    county = _county_items()
    # A township holding half the county's weight: score 78, SE 3.
    home = pd.DataFrame({"item": ["甲"], "score": [78.0], "se": [3.0], "weight_total": [50.0]})
    gap = city_mean_gap(home, county, "H").iloc[0]
    # Var = 3² (1 − 2 × 0.5 / 3) + (2² + 1² + 3²) / 9 = 6 + 14/9 = 7.5556.
    assert gap["gap_city"] == pytest.approx(-7.0)
    assert gap["se_gap_city"] == pytest.approx(math.sqrt(6 + 14 / 9))
    assert gap["p_city"] == pytest.approx(0.0108771, abs=1e-6)


def test_strive_gap_independent_samples() -> None:
    county = _county_items()
    home = county[county["county"] == "H"].drop(columns="county")
    row = strive_gap(home, county, "B").iloc[0]
    # 80 − 85 = −5, SE = sqrt(2² + 3²) = sqrt(13), z = −1.38675, p = 0.165518.
    assert row["gap_strive"] == pytest.approx(-5.0)
    assert row["se_gap_strive"] == pytest.approx(math.sqrt(13))
    assert row["p_strive"] == pytest.approx(0.1655179, abs=1e-6)
    assert strive_gap(home, county, None)["gap_strive"].isna().all()


def test_item_benchmarks_holm_and_verdicts() -> None:
    county = pd.DataFrame({"county": ["H", "A", "B"] * 2, "item": ["甲"] * 3 + ["乙"] * 3,
                           "score": [80.0, 90.0, 85.0, 85.0, 85.0, 85.0], "se": [2.0, 1.0, 3.0, 1.0, 1.0, 1.0],
                           "weight_total": [100.0, 80.0, 90.0] * 2})
    home = county[county["county"] == "H"].drop(columns="county").reset_index(drop=True)
    table = item_benchmarks(home, county, "H", "B").set_index("item")
    # 甲: p vs city 0.0032637; 乙: difference 0, p = 1. Holm with m = 2: 甲 → 2 × 0.0032637.
    assert table.loc["甲", "p_city_holm"] == pytest.approx(2 * 0.0032637, abs=2e-6)
    assert table.loc["乙", "p_city_holm"] == pytest.approx(1.0)
    assert table.loc["甲", "verdict_city"] == "显著偏低"
    assert table.loc["乙", "verdict_city"] == "差异不显著"
    assert table.loc["甲", "verdict_strive"] == "差异不显著"  # p 0.1655 × 2
    assert (table["strive_county"] == "B").all()


def test_item_drivers_on_orthogonal_items() -> None:
    # Full factorial of two items at 100/60; overall = their average (100, 80, 80, 60), a third item constant.
    frame = pd.DataFrame({
        "甲": ["满意", "满意", "一般", "一般"],
        "乙": ["满意", "一般", "满意", "一般"],
        "丙": ["比较满意"] * 4,
        "overall": ["满意", "比较满意", "比较满意", "一般"],
        "weight": [1.0] * 4,
    })
    table = item_drivers(frame, ("甲", "乙", "丙"), POINTS)
    # 丙 never varies, so it is left out; 甲 and 乙 are uncorrelated, each r = 1/√2, R² = 1, ε = 0.5 each.
    assert table["item"].tolist() == ["甲", "乙"]
    np.testing.assert_allclose(table["corr"], [1 / math.sqrt(2)] * 2, atol=1e-12)
    np.testing.assert_allclose(table["raw_weight"], [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(table["rescaled"], [0.5, 0.5], atol=1e-12)
    assert table["rank_weight"].tolist() == [1, 1]


def _relation(**betas):
    return type("R", (), {"coefficients": pd.Series(betas)})()


FIX_FRAME = pd.DataFrame({"overall": ["一般", "比较满意", "满意", "一般"], "甲": ["一般", "比较满意", "一般", "满意"],
                          "乙": ["满意", "一般", "一般", "比较满意"], "weight": [1.0] * 4})


def test_fix_first_gains_through_the_planner_model_with_the_ceiling() -> None:
    bench = pd.DataFrame({"item": ["甲", "乙"], "score": [75.0, 75.0], "strive_score": [81.0, 77.25]})
    drivers = pd.DataFrame({"item": ["甲", "乙"], "rescaled": [0.4, 0.6], "corr": [0.5, 0.6], "rank_weight": [2, 1]})
    table = fix_first(bench, drivers, FIX_FRAME, ("甲", "乙"), POINTS, _relation(甲=0.5, 乙=1.0))
    # 甲: one step up for all below 满意 lifts the item (20 + 20 + 20 + 0)/4 = 15 points, so a 6-point gap needs
    # t = 0.4. With β 0.5 a step is +10 overall: rows 0 and 1 gain 10, row 2 is at 100 (capped), row 3 has no step:
    # full gain 20/4 = 5, gain 0.4 × 5 = 2.0 (β × gap would say 3.0).
    # 乙: gap 2.25, full item rise 15, t = 0.15; β 1: rows 1 and 3 gain 20, row 2 capped: 40/4 = 10 → 1.5.
    assert table["item"].tolist() == ["甲", "乙"]
    np.testing.assert_allclose(table["share_needed"], [0.4, 0.15])
    np.testing.assert_allclose(table["expected_gain"], [2.0, 1.5])
    # Both together, expected per row: 64; row 1 .51·80 + .34·90 + .09·100 + .06·min(110, 100) = 86.4; 100; 63.
    # Mean 78.35 against 75: +3.35, less than 2.0 + 1.5 because of the ceiling.
    np.testing.assert_allclose(joint_gains(table, FIX_FRAME, POINTS, _relation(甲=0.5, 乙=1.0)), [2.0, 3.35])
    assert table["priority"].tolist() == [1, 2]


def test_fix_first_ahead_items_gain_nothing_and_quadrants() -> None:
    bench = pd.DataFrame({"item": ["甲", "乙"], "score": [75.0, 75.0], "strive_score": [70.0, 90.0]})
    drivers = pd.DataFrame({"item": ["甲", "乙"], "rescaled": [0.7, 0.3], "corr": [0.5, 0.6], "rank_weight": [1, 2]})
    table = fix_first(bench, drivers, FIX_FRAME, ("甲", "乙"), POINTS, _relation(甲=0.5, 乙=1.0)).set_index("item")
    assert table.loc["甲", "expected_gain"] == 0.0 and table.loc["甲", "shortfall"] == 0.0
    # 乙's 15-point gap exceeds what one step up can give (15 is exactly the full rise): t = 1, gain = full 10.
    assert table.loc["乙", "share_needed"] == pytest.approx(1.0) and table.loc["乙", "expected_gain"] == pytest.approx(10.0)
    # Both scores equal their mean (75, ties count as high); importance mean 0.5: 甲 important, 乙 not.
    assert dict(table["quadrant"]) == {"甲": "优势巩固", "乙": "保持稳定"}


def test_fix_first_agrees_with_the_planner_forward_model(settings) -> None:
    from analysis.survey.planner import apply_moves, item_to_overall, one_step_moves
    from tests.conftest import ROOT

    raw = pd.read_csv(ROOT / "data" / "mock" / "responses.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    from analysis.data.contract import responses_kind
    kind = responses_kind(settings.items)
    frame = raw.rename(columns={c.header: c.name for c in kind.columns}).assign(weight=lambda f: f["weight"].astype(float))
    home = frame[(frame["wave"] == "2026年第3季度") & (frame["county"] == settings.home_county)].reset_index(drop=True)
    bench = item_scores(home, settings.items, settings.points).assign(strive_score=lambda t: t["score"] + 3.0)
    drivers = item_drivers(home, settings.items, settings.points)
    relation = item_to_overall(home, settings.items, settings.points)
    table = fix_first(bench, drivers, home, settings.items, settings.points, relation)
    first = table.iloc[0]
    # The planner's page, fed the same moves, moves the overall score by exactly the listed gain.
    pts = apply_moves(home, one_step_moves(home, first["item"], settings.points, first["share_needed"]), relation, settings.points)
    before = home.assign(p=home["overall"].map(settings.points)).dropna(subset=["p"])
    after = pts.dropna(subset=["points"])
    gain = np.average(after["points"], weights=after["weight"]) - np.average(before["p"], weights=before["weight"])
    assert first["expected_gain"] == pytest.approx(gain, abs=1e-9)
    # The item score rises by exactly the 3-point gap when the share is below 1.
    moved_item = item_scores(home.assign(**{first["item"]: home[first["item"]]}), (first["item"],), settings.points)
    assert first["share_needed"] < 1 and moved_item["score"].iloc[0] == pytest.approx(first["score"])
    assert drivers.attrs["n_used"] == relation.n and drivers.attrs["n_partial"] == relation.n_partial


def test_fix_first_stability_dominant_item_is_always_first() -> None:
    rng = np.random.default_rng(8)
    n = 300
    labels = np.array(["不满意", "不太满意", "一般", "比较满意", "满意"])
    a = rng.integers(1, 5, n)
    b = rng.integers(3, 5, n)  # 乙 scores high, 甲 low: the performance split is clear too
    overall = np.clip(a + (rng.random(n) < 0.2), 0, 4)
    frame = pd.DataFrame({"甲": labels[a], "乙": labels[b], "overall": labels[overall], "weight": rng.uniform(0.8, 1.2, n)})
    strive = pd.DataFrame({"item": ["甲", "乙"], "strive_score": [95.0, 95.0], "strive_se": [1.0, 1.0]})
    table = fix_first_stability(frame, ("甲", "乙"), POINTS, strive, reps=50, seed=1).set_index("item")
    assert table.loc["甲", "first_share"] == 1.0 and table.loc["乙", "first_share"] == 0.0
    assert (table["reps"] == 50).all()
    # 甲 carries the overall answer, 乙 is noise: importance far apart, so neither quadrant flips.
    assert (table["quadrant_flip_share"] == 0.0).all()


def test_item_scores_from_database_counts_equal_respondent_level(tmp_path):
    """The 分项指标 page scores other counties from per-answer sums; they must equal item_scores on the rows."""
    from analysis.data import store
    from analysis.data.contract import responses_kind
    from analysis.data.importing import build_mock_database
    from analysis.survey.items import item_scores_from_counts
    from analysis.settings import load_settings
    from tests.conftest import ROOT

    settings = load_settings(ROOT / "settings.toml")
    engine = store.connect(tmp_path / "app.db")
    build_mock_database(engine, settings, ROOT / "data" / "mock")
    kind = responses_kind(settings.items)
    wave = "2026年第3季度"
    rows = store.load_kind(engine, kind, where={"wave": wave})
    direct = item_scores(rows, settings.items, settings.points, by=("county",))
    counts = item_scores_from_counts(store.item_answer_counts(engine, kind, settings.items, wave), settings.items, settings.points)
    pd.testing.assert_frame_equal(counts, direct, check_dtype=False, atol=1e-9, rtol=0)


@pytest.mark.parametrize("gains, first", [
    ([0.5, 0.2, 0.0], "甲"),        # the top of the list, which is sorted by expected gain
    ([0.0, 0.0, 0.0], None),        # nothing gains: nothing to fix first (the page says every item keeps up)
    (None, None),                   # no fix list (no model): nothing named
])
def test_the_item_to_fix_first_is_named_once(gains, first):
    fix = None if gains is None else pd.DataFrame({"item": ["甲", "乙", "丙"], "expected_gain": gains})
    view = ItemView(pd.DataFrame(), None, fix, None, 0, None, float("nan"))
    assert (view.fix_first or {}).get("item") == first
    assert list(view.gains.get("item", [])) == ([i for i, g in zip("甲乙丙", gains) if g > 0] if gains else [])
