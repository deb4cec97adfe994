"""Tests for analysis.items on small hand-made frames; expected values are worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.items import (
    benchmark_county,
    city_mean_gap,
    fix_first,
    item_benchmarks,
    item_drivers,
    item_scores,
    strive_gap,
)

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


def test_fix_first_orders_by_importance_times_shortfall() -> None:
    bench = pd.DataFrame({"item": ["甲", "乙", "丙"], "score": [80.0, 70.0, 90.0], "strive_score": [82.0, 75.0, 89.0]})
    drivers = pd.DataFrame({"item": ["甲", "乙", "丙"], "rescaled": [0.5, 0.3, 0.2], "corr": [0.6, 0.5, 0.4],
                            "rank_weight": [1, 2, 3]})
    table = fix_first(bench, drivers)
    # Gains: 甲 0.5 × 2 = 1.0; 乙 0.3 × 5 = 1.5; 丙 is ahead (−1 → 0) so 0.
    assert table["item"].tolist() == ["乙", "甲", "丙"]
    np.testing.assert_allclose(table["expected_gain"], [1.5, 1.0, 0.0])
    np.testing.assert_allclose(table["shortfall"], [5.0, 2.0, 0.0])
    np.testing.assert_allclose(table["cumulative_gain"], [1.5, 2.5, 2.5])
    assert table["priority"].tolist() == [1, 2, 3]
    # Means: importance 1/3, score 80. 乙 0.3 < 1/3 and 70 < 80 → 低优先; 甲 important, 80 ≥ mean → 继续保持; 丙 → 过度投入.
    assert dict(zip(table["item"], table["quadrant"])) == {"乙": "低优先", "甲": "继续保持", "丙": "过度投入"}


def test_item_scores_from_database_counts_equal_respondent_level(tmp_path):
    """The 分项指标 page scores other counties from per-answer sums; they must equal item_scores on the rows."""
    from analysis import store
    from analysis.contract import responses_kind
    from analysis.importing import build_mock_database
    from analysis.items import item_scores_from_counts
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
