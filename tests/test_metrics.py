"""Tests for analysis.survey.school_metrics on small hand-made frames; expected values are worked out by hand in the comments."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.settings import Thresholds
from analysis.survey.school_metrics import (TOTAL_LABEL, class_flags, class_size_distribution, class_summary,
                                            compulsory_rates, latest_year, missed_targets, preschool_rates,
                                            school_class_summary, short_townships, size_labels,
                                            township_class_summary, township_link,)

TH = Thresholds()


def test_preschool_rates_and_total_is_a_ratio_of_sums() -> None:
    frame = pd.DataFrame({"year": ["2025-2026学年"] * 2, "township": ["甲镇", "乙镇"], "population_3_5": [100, 50],
                          "enrolled": [90, 50], "enrolled_public": [40, 30], "enrolled_inclusive_private": [30, 15]})
    rates = preschool_rates(frame, TH).set_index("township")
    # 甲镇: 90/100 = 0.9; (40 + 30)/90 = 0.7778; 40/90 = 0.4444.
    assert rates.loc["甲镇", ["gross_enrollment", "inclusive_coverage", "public_share"]].tolist() == pytest.approx([0.9, 70 / 90, 40 / 90])
    # Total: 140/150 = 0.9333; 115/140 = 0.8214; 70/140 = 0.5 (not the mean of the township rates).
    assert rates.loc[TOTAL_LABEL, ["gross_enrollment", "inclusive_coverage", "public_share"]].tolist() == pytest.approx([140 / 150, 115 / 140, 0.5])
    assert bool(rates.loc[TOTAL_LABEL, "is_total"]) and not bool(rates.loc["甲镇", "is_total"])
    # Targets 85% / 80% / 50%: 甲镇 meets only the first; the total meets all three (0.5 ≥ 0.5).
    assert rates.loc["甲镇", ["gross_enrollment_ok", "inclusive_coverage_ok", "public_share_ok"]].tolist() == [True, False, False]
    assert rates.loc[TOTAL_LABEL, ["gross_enrollment_ok", "inclusive_coverage_ok", "public_share_ok"]].tolist() == [True, True, True]
    # The total comes after the townships.
    assert rates.index[-1] == TOTAL_LABEL


def test_a_rate_without_children_is_not_judged() -> None:
    """乙镇 has no 3–5-year-olds and no enrolment recorded: its rates are NaN, neither 达标 nor 未达标, and neither the
    township list nor the county sentence counts it as missing (the table shows —)."""
    frame = pd.DataFrame({"year": ["2025-2026学年"] * 2, "township": ["甲镇", "乙镇"], "population_3_5": [100, 0],
                          "enrolled": [90, 0], "enrolled_public": [40, 0], "enrolled_inclusive_private": [30, 0]})
    rates = preschool_rates(frame, TH).set_index("township")
    assert rates.loc["乙镇", ["gross_enrollment_ok", "inclusive_coverage_ok", "public_share_ok"]].isna().all()
    rows = rates.reset_index().loc[lambda f: ~f["is_total"].astype(bool)]  # the page lists townships only
    assert short_townships(rows, "inclusive_coverage") == ["甲镇"]  # 70/90 < 80%; 乙镇 not counted
    assert short_townships(rows, "gross_enrollment") == []
    series = {"gross_enrollment": ("毛入园率", 0.85), "inclusive_coverage": ("普惠覆盖率", 0.8), "public_share": ("公办占比", 0.5)}
    assert missed_targets(rates.loc["甲镇"], series) == (["普惠覆盖率", "公办占比"], [])
    assert missed_targets(rates.loc["乙镇"], series) == ([], ["毛入园率", "普惠覆盖率", "公办占比"])


def test_compulsory_rates_handle_zero_denominators() -> None:
    frame = pd.DataFrame({"year": ["2025-2026学年"] * 2, "township": ["甲镇", "乙镇"], "population": [1000, 500],
                          "enrolled": [1120, 465], "disabled_children": [10, 0], "disabled_enrolled": [9, 0]})
    rates = compulsory_rates(frame, label="所选乡镇合计").set_index("township")
    assert rates.loc["甲镇", "gross_enrollment"] == pytest.approx(1.12)  # county-town schools can exceed 100%
    assert rates.loc["甲镇", "disabled_enrollment"] == pytest.approx(0.9)
    assert math.isnan(rates.loc["乙镇", "disabled_enrollment"])  # no disabled children: no rate, not 0%
    assert rates.loc["所选乡镇合计", "gross_enrollment"] == pytest.approx(1585 / 1500)


def _classes() -> pd.DataFrame:
    return pd.DataFrame({
        "year": ["2025-2026学年"] * 8,
        "school": ["一小", "一小", "一小", "一小", "一中", "一中", "一中", "二小"],
        "township": ["甲镇"] * 7 + ["乙镇"],
        "stage": ["小学"] * 4 + ["初中"] * 3 + ["小学"],
        "grade": ["一年级", "一年级", "二年级", "三年级", "七年级", "七年级", "八年级", "一年级"],
        "class_name": ["1班", "2班", "1班", "1班", "1班", "2班", "1班", "1班"],
        "students": [45, 46, 56, 66, 50, 65, 70, 30],
    })


def test_class_flags_bands_and_initial_grade_caps() -> None:
    flags = class_flags(_classes(), TH)
    # 56 and 65 are 大班额 (56–65); 66 and 70 are 超大班额 (≥ 66); 55 or fewer are normal.
    assert flags["band"].tolist() == ["正常", "正常", "大班额", "超大班额", "正常", "大班额", "超大班额", "正常"]
    # Initial grades only: 一年级 over 45 (46 yes, 45 no), 七年级 over 50 (65 yes, 50 no); other grades never.
    assert flags["over_cap"].tolist() == [False, True, False, False, False, True, False, False]
    assert flags["initial"].sum() == 5


def test_class_summary_counts_and_shares() -> None:
    summary = class_summary(class_flags(_classes(), TH), ["year"], TH).iloc[0]
    assert summary["classes"] == 8
    assert summary["large"] == 2 and summary["very_large"] == 2
    # 大班额 share counts every class of 56 or more: 4/8.
    assert summary["large_share"] == pytest.approx(0.5)
    assert summary["very_large_share"] == pytest.approx(0.25)
    assert summary["initial_over_cap"] == 2 and summary["initial_over_cap_share"] == pytest.approx(2 / 5)
    assert summary["mean_size"] == pytest.approx((45 + 46 + 56 + 66 + 50 + 65 + 70 + 30) / 8)
    assert summary["max_size"] == 70
    assert not bool(summary["meets_target"])


def test_township_summary_has_a_total_row() -> None:
    table = township_class_summary(class_flags(_classes(), TH), TH).set_index("township")
    assert table.loc["乙镇", "classes"] == 1 and bool(table.loc["乙镇", "meets_target"])
    assert table.loc[TOTAL_LABEL, "classes"] == 8 and bool(table.loc[TOTAL_LABEL, "is_total"])


def test_schools_worst_first() -> None:
    schools = school_class_summary(class_flags(_classes(), TH), TH)
    # 一小 and 一中 each have one 超大班额; 一中 has the larger 大班额 share (2/3 vs 2/4); 二小 has none.
    assert schools["school"].tolist() == ["一中", "一小", "二小"]
    assert schools["stage"].tolist() == ["初中", "小学", "小学"]


@pytest.mark.parametrize("large, very, bins, bands", [
    # The national lines (国发〔2016〕40号): the histogram the page always had.
    (56, 66, (0, 30, 35, 40, 45, 50, 55, 65, 1000),
     ("30人及以下", "31–35人", "36–40人", "41–45人", "46–50人", "51–55人", "56–65人（大班额）", "66人及以上（超大班额）")),
    # A stricter local line: the bands of five stop below it, and every name follows the settings.
    (46, 56, (0, 30, 35, 40, 45, 55, 1000),
     ("30人及以下", "31–35人", "36–40人", "41–45人", "46–55人（大班额）", "56人及以上（超大班额）")),
])
def test_size_labels_follow_the_settings(large, very, bins, bands) -> None:
    labels = size_labels(Thresholds(large_class_min=large, very_large_class_min=very))
    assert (labels.bins, labels.bands) == (bins, bands)
    assert (labels.large, labels.very_large, labels.large_share) == (
        f"大班额（{large}–{very - 1}人）", f"超大班额（{very}人及以上）", f"大班额占比（{large}人及以上）")
    assert labels.large_share_pct == f"大班额占比（{large}人及以上，%）"


def test_class_size_distribution() -> None:
    dist = class_size_distribution(class_flags(_classes(), TH), size_labels(TH))
    primary = dist[dist["stage"] == "小学"].set_index("size_band")
    # Primary classes 45, 46, 56, 66, 30: one each in 41–45, 46–50, 56–65, ≥66 and ≤30.
    assert primary["classes"].sum() == 5
    assert primary.loc["41–45人", "classes"] == 1 and primary.loc["46–50人", "classes"] == 1
    assert primary.loc["30人及以下", "classes"] == 1 and primary.loc["51–55人", "classes"] == 0
    assert primary.loc["66人及以上（超大班额）", "share"] == pytest.approx(0.2)


def test_latest_year() -> None:
    assert latest_year(pd.Series(["2024-2025学年", "2025-2026学年", "2023-2024学年", None])) == "2025-2026学年"
    assert latest_year(pd.Series([], dtype="str")) is None


def test_township_link_joins_scores_and_metrics() -> None:
    scores = pd.DataFrame({"group": ["甲镇", "乙镇", "丙镇"], "n": [40, 20, 35], "score": [80.0, 85.0, 88.0], "small": [False, True, False]})
    classes = pd.DataFrame({"township": ["甲镇", "乙镇", TOTAL_LABEL], "large_share": [0.2, 0.0, 0.1], "classes": [10, 5, 15],
                            "is_total": [False, False, True]})
    preschool = pd.DataFrame({"township": ["甲镇", TOTAL_LABEL], "inclusive_coverage": [0.7, 0.8], "is_total": [False, True]})
    link = township_link(scores, classes, preschool).set_index("township")
    assert link.index.tolist() == ["甲镇", "乙镇", "丙镇"]  # totals never become points
    assert link.loc["甲镇", "large_share"] == pytest.approx(0.2)
    assert math.isnan(link.loc["丙镇", "large_share"]) and math.isnan(link.loc["乙镇", "inclusive_coverage"])
