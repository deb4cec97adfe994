"""Tests for analysis.groups on small hand-made frames; expected values are worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.groups import (
    LOW_CATEGORY,
    answer_categories,
    answer_counts,
    group_scores,
    group_table,
    group_vs_rest_tests,
    with_change,
)

POINTS = {"满意": 100.0, "比较满意": 80.0, "一般": 60.0, "不太满意": 40.0, "不满意": 0.0}
CATS = ["满意", "比较满意", LOW_CATEGORY]


def _small_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "township": ["甲镇", "甲镇", "甲镇", "乙镇", None],
        "overall": ["满意", "一般", "不了解", "比较满意", "不满意"],
        "weight": [1.0, 1.0, 1.0, 2.0, 1.0],
    })


def test_group_scores_hand_values() -> None:
    table = group_scores(_small_frame(), ("township",), POINTS, min_n=2).set_index("group")
    # County: (100 + 60 + 2 × 80 + 0) / (1 + 1 + 2 + 1) = 320 / 5 = 64.
    assert table["county_score"].iloc[0] == pytest.approx(64.0)
    assert table.loc["甲镇", "n"] == 2 and table.loc["甲镇", "score"] == pytest.approx(80.0)
    assert table.loc["甲镇", "unknown_share"] == pytest.approx(1 / 3)
    assert table.loc["甲镇", "gap_county"] == pytest.approx(16.0)
    # 甲镇 SE: points 100, 60 around 80, weights 1: sqrt(2/1 × (20² + 20²)) / 2 = 20.
    assert table.loc["甲镇", "se"] == pytest.approx(20.0)
    # A missing township is shown as 未填写, not dropped.
    assert table.loc["未填写", "score"] == pytest.approx(0.0)
    # n = 1 < 2: greyed with the reason.
    assert bool(table.loc["乙镇", "small"]) and "样本不足2份" in table.loc["乙镇", "note"]
    assert not bool(table.loc["甲镇", "small"]) and table.loc["甲镇", "note"] == ""


def test_answer_categories_follow_the_points() -> None:
    assert answer_categories(POINTS) == {"满意": "满意", "比较满意": "比较满意", "一般": LOW_CATEGORY,
                                         "不太满意": LOW_CATEGORY, "不满意": LOW_CATEGORY}
    # Another province's labels: the two best keep their names whatever they are called.
    jiangsu = {"不满意": 0.0, "基本满意": 60.0, "满意": 100.0, "比较满意": 80.0}
    assert answer_categories(jiangsu) == {"满意": "满意", "比较满意": "比较满意", "基本满意": LOW_CATEGORY, "不满意": LOW_CATEGORY}


def test_answer_counts() -> None:
    counts = answer_counts(_small_frame(), ("township",), POINTS)
    assert list(counts.columns) == CATS
    assert counts.loc[("township", "甲镇")].tolist() == [1, 0, 1]  # 不了解 is not counted
    assert counts.loc[("township", "未填写")].tolist() == [0, 0, 1]


def test_chi_square_against_the_rest() -> None:
    counts = pd.DataFrame([[20, 10, 10]], index=["城镇"], columns=CATS)
    totals = pd.Series([50, 50, 40], index=CATS)
    row = group_vs_rest_tests(counts, totals, pd.Series([True], index=["城镇"])).iloc[0]
    # Rest = (30, 40, 30); N = 140. Expected group: 40 × (50, 50, 40) / 140 = (14.286, 14.286, 11.429),
    # rest: (35.714, 35.714, 28.571). Σ(O − E)²/E = 2.2857 + 1.2857 + 0.17857 + 0.91429 + 0.51429 + 0.071429 = 5.25.
    # df = 2, so p = exp(−5.25 / 2) = 0.0724398.
    assert row["test"] == "卡方检验"
    assert row["statistic"] == pytest.approx(5.25)
    assert row["dof"] == 2
    assert row["p"] == pytest.approx(math.exp(-2.625))


def test_fisher_for_small_tables() -> None:
    counts = pd.DataFrame([[3, 1, 0]], index=["乙镇"], columns=CATS)
    totals = pd.Series([5, 5, 10], index=CATS)
    row = group_vs_rest_tests(counts, totals, pd.Series([True], index=["乙镇"])).iloc[0]
    # Expected group counts 4 × (5, 5, 10) / 20 = (1, 1, 2): too small for chi-square.
    # Fisher on [[4, 0], [6, 10]] (best two answers vs the rest): hypergeometric N = 20, 4 drawn, 10 "satisfied".
    # P(X = 0) = P(X = 4) = C(10,4)/C(20,4) = 210/4845; both tails: 420/4845 = 0.0866873.
    assert row["test"] == "Fisher精确检验"
    assert row["p"] == pytest.approx(420 / 4845)
    assert np.isnan(row["statistic"])


def test_untestable_groups_get_no_p_value() -> None:
    counts = pd.DataFrame([[20, 10, 10], [50, 50, 40]], index=["小", "全部"], columns=CATS)
    totals = pd.Series([50, 50, 40], index=CATS)
    tests = group_vs_rest_tests(counts, totals, pd.Series([False, True], index=["小", "全部"]))
    # "小" is flagged too small; "全部" is the whole county, so it has no rest to compare with.
    assert tests["test"].tolist() == ["未检验", "未检验"]
    assert tests["p"].isna().all()


def test_group_table_holm_across_groups() -> None:
    answers = ["满意"] * 20 + ["比较满意"] * 10 + ["一般"] * 10 + ["满意"] * 30 + ["比较满意"] * 40 + ["不满意"] * 30
    frame = pd.DataFrame({"urban_rural": ["城镇"] * 40 + ["农村"] * 100, "overall": answers, "weight": 1.0})
    table = group_table(frame, ("urban_rural",), POINTS, min_n=30).set_index("group")
    # Each group against the other is the 2 × 3 table above: p = exp(−2.625) = 0.0724398; Holm over 2 tests doubles it.
    assert table.loc["城镇", "p"] == pytest.approx(math.exp(-2.625))
    assert table.loc["城镇", "p_holm"] == pytest.approx(2 * math.exp(-2.625))
    assert table.loc["农村", "p_holm"] == pytest.approx(2 * math.exp(-2.625))
    assert set(table["verdict"]) == {"差异不显著"}
    # Natural order: 城镇 before 农村.
    assert table.index.tolist() == ["城镇", "农村"]
    # Scores: 城镇 (2000 + 800 + 600) / 40 = 85; 农村 (3000 + 3200 + 0) / 100 = 62.
    assert table.loc["城镇", "score"] == pytest.approx(85.0)
    assert table.loc["农村", "score"] == pytest.approx(62.0)


def test_group_table_on_an_item_and_significance() -> None:
    frame = pd.DataFrame({"sex": ["男"] * 50 + ["女"] * 50, "overall": ["满意"] * 100,
                          "大班额治理": ["满意"] * 45 + ["一般"] * 5 + ["一般"] * 40 + ["满意"] * 10, "weight": 1.0})
    table = group_table(frame, ("sex",), POINTS, min_n=30, column="大班额治理").set_index("group")
    # 男 96 vs 女 68 points on the item; the 2 × 2 difference is overwhelming.
    assert table.loc["男", "score"] == pytest.approx(96.0)
    assert table.loc["女", "score"] == pytest.approx(68.0)
    assert table.loc["女", "verdict"] == "显著偏低"
    assert table.loc["男", "verdict"] == "显著偏高"


def test_with_change() -> None:
    current = pd.DataFrame({"dimension": ["sex", "sex"], "group": ["男", "女"], "score": [85.0, 80.0]})
    previous = pd.DataFrame({"dimension": ["sex"], "group": ["男"], "score": [82.5]})
    out = with_change(current, previous)
    assert out["score_change"].iloc[0] == pytest.approx(2.5)
    assert np.isnan(out["score_change"].iloc[1])
    assert with_change(current, None)["score_change"].isna().all()
