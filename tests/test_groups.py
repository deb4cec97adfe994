"""Tests for analysis.survey.groups on small hand-made frames; expected values are worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.survey.groups import GroupView, group_scores, group_table, with_change

POINTS = {"满意": 100.0, "比较满意": 80.0, "一般": 60.0, "不太满意": 40.0, "不满意": 0.0}


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
    # 甲镇 is a domain of the 5-respondent design (R svyby): points 100, 60 around 80, weights 1:
    # sqrt(5/4 × (20² + 20²)) / 2 = sqrt(1000) / 2.
    assert table.loc["甲镇", "se"] == pytest.approx(math.sqrt(1000) / 2)
    # Kish: n_eff = (1 + 1)² / (1 + 1) = 2, deff 1; 乙镇 alone has deff 1 too.
    assert table.loc["甲镇", "n_eff"] == pytest.approx(2.0) and table.loc["甲镇", "deff"] == pytest.approx(1.0)
    # A missing township is shown as 未填写, not dropped.
    assert table.loc["未填写", "score"] == pytest.approx(0.0)
    # n = 1 < 2: greyed with the reason.
    assert bool(table.loc["乙镇", "small"]) and "样本不足2份" in table.loc["乙镇", "note"]
    assert not bool(table.loc["甲镇", "small"]) and table.loc["甲镇", "note"] == ""


def test_group_table_two_groups_are_one_test() -> None:
    answers = ["满意"] * 20 + ["比较满意"] * 10 + ["一般"] * 10 + ["满意"] * 30 + ["比较满意"] * 40 + ["不满意"] * 30
    frame = pd.DataFrame({"urban_rural": ["城镇"] * 40 + ["农村"] * 100, "overall": answers, "weight": 1.0})
    table = group_table(frame, ("urban_rural",), POINTS, min_n=30).set_index("group")
    # Scores: 城镇 (2000 + 800 + 600) / 40 = 85; 农村 (3000 + 3200 + 0) / 100 = 62.
    assert table.loc["城镇", "score"] == pytest.approx(85.0)
    assert table.loc["农村", "score"] == pytest.approx(62.0)
    # Design-based t: Σ(y − 85)² = 20·225 + 10·25 + 10·625 = 11000; Σ(y − 62)² = 30·1444 + 40·324 + 30·3844 = 171600;
    # var = 140/139 · (11000/40² + 171600/100²); t = 23 / √var on 138 df.
    se = math.sqrt(140 / 139 * (11000 / 1600 + 171600 / 10000))
    assert table.loc["城镇", "se_diff"] == pytest.approx(se)
    p = 2 * sps.t.sf(23 / se, 138)
    assert table.loc["城镇", "p"] == pytest.approx(p) and table.loc["农村", "p"] == pytest.approx(p)
    # 城镇 against the rest and 农村 against the rest are one test: Holm counts it once.
    assert table.loc["城镇", "p_holm"] == pytest.approx(p) and table.loc["农村", "p_holm"] == pytest.approx(p)
    assert table.loc["城镇", "verdict"] == "显著偏高" and table.loc["农村", "verdict"] == "显著偏低"
    # Natural order: 城镇 before 农村.
    assert table.index.tolist() == ["城镇", "农村"]


def test_group_table_three_groups_are_three_tests() -> None:
    # A third answering group (even a small, untested one) makes "A against the rest" differ from "A against B".
    frame = pd.DataFrame({"sex": ["男"] * 40 + ["女"] * 40 + ["其他"] * 5,
                          "overall": (["满意"] * 30 + ["一般"] * 10) + (["满意"] * 20 + ["一般"] * 20) + ["不满意"] * 5,
                          "weight": 1.0})
    table = group_table(frame, ("sex",), POINTS, min_n=30).set_index("group")
    assert table.loc["其他", "verdict"] == "未检验" and np.isnan(table.loc["其他", "p_holm"])
    p_m, p_f = table.loc["男", "p"], table.loc["女", "p"]
    assert p_m != pytest.approx(p_f)
    # Holm over the two distinct tests.
    small, large = sorted([p_m, p_f])
    assert sorted(table.loc[["男", "女"], "p_holm"]) == pytest.approx(sorted([2 * small, max(2 * small, large)]))


def test_verdict_direction_and_p_come_from_one_test() -> None:
    # Issue 19 #6: a group whose answer mix differs (more 满意 and more 不满意) but whose weighted score equals the
    # rest's is not "显著偏低": the score difference is 0, so its t is 0 and p = 1.
    frame = pd.DataFrame({"age_group": ["50-59岁"] * 100 + ["30-39岁"] * 100,
                          "overall": ["满意"] * 60 + ["不满意"] * 40 + ["一般"] * 100, "weight": 1.0})
    table = group_table(frame, ("age_group",), POINTS, min_n=30).set_index("group")
    assert table.loc["50-59岁", "diff_rest"] == pytest.approx(0.0)
    assert table.loc["50-59岁", "p"] == pytest.approx(1.0) and table.loc["50-59岁", "verdict"] == "差异不显著"


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
    current = pd.DataFrame({"dimension": ["sex", "sex"], "group": ["男", "女"], "score": [85.0, 80.0], "se": [3.0, 2.0]})
    previous = pd.DataFrame({"dimension": ["sex"], "group": ["男"], "score": [82.5], "se": [4.0]})
    out = with_change(current, previous)
    assert out["score_change"].iloc[0] == pytest.approx(2.5)
    # Waves are independent samples: SE = √(3² + 4²) = 5; z = 0.5, two-sided p = 0.617075.
    assert out["se_change"].iloc[0] == pytest.approx(5.0)
    assert out["p_change"].iloc[0] == pytest.approx(0.6170750774519738)
    assert np.isnan(out["score_change"].iloc[1]) and np.isnan(out["se_change"].iloc[1])
    assert with_change(current, None)["score_change"].isna().all()


@pytest.mark.parametrize("weights, deff, widen", [
    ([1, 1, 1, 1], 1.0, False),              # equal weights lose nothing
    ([1, 1, 2, 2], 4 / 3.6, False),          # n_eff = (Σw)²/Σw² = 36/10: deff 1.11, not worth a sentence
    ([1, 1, 1, 5], 4 / (64 / 28), True),     # n_eff = 64/28 = 2.29: deff 1.75, the page says the intervals widen
    ([], float("nan"), False),
])
def test_design_effect_of_the_weights(weights, deff, widen):
    w = np.asarray(weights, dtype=float)
    n_eff = w.sum() ** 2 / (w ** 2).sum() if len(w) else 0.0
    view = GroupView(pd.DataFrame(), pd.DataFrame(), None, None, (), len(w), n_eff)
    assert view.deff == pytest.approx(deff, nan_ok=True) and view.weights_widen is widen
