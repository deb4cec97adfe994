"""The pages' views as pure functions (analysis, not ui): what each page draws for one wave, county and township choice.

Expected values are counted or worked out by hand in the comments.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from analysis.data.waves import previous_wave
from analysis.report.wording import scenario_row
from analysis.settings import Thresholds
from analysis.stats.weighting import RakingSettings
from analysis.survey.action import closure_marks, monthly_item_orders, visit_coverage_scores
from analysis.survey.basis import Basis
from analysis.survey.comments import comment_count, comment_view
from analysis.survey.groups import group_view, in_townships
from analysis.survey.items import comparison_items, item_scores, item_view, weakest
from analysis.survey.planner import ALL_RESPONDENTS, Move, group_options, moves_from_rows
from analysis.survey.ranking import trend_before
from analysis.survey.school_metrics import FILTERED_LABEL, TOTAL_LABEL, link_view, metrics_view

POINTS = {"满意": 100.0, "比较满意": 80.0, "一般": 60.0, "不太满意": 40.0, "不满意": 0.0}


@pytest.mark.parametrize(("waves", "wave", "expected"), [
    (["一", "二", "三"], "二", "一"),
    (["一", "二", "三"], "三", "二"),
    (["一", "二", "三"], "一", None),   # the first wave has none before it
    (["一", "二"], "不存在", None),      # an unknown wave is treated as the first
])
def test_previous_wave(waves, wave, expected) -> None:
    assert previous_wave(waves, wave) == expected


def test_trend_before_skips_waves_the_county_missed() -> None:
    trend = pd.DataFrame({"wave": ["W1", "W3"], "rank": [6, 5]})
    waves = ["W1", "W2", "W3", "W4"]
    assert trend_before(trend, waves, "W4") == {"wave": "W3", "rank": 5}
    assert trend_before(trend, waves, "W3") == {"wave": "W1", "rank": 6}  # W2 has no row: the row before is W1's
    assert trend_before(trend, waves, "W1") is None


def test_in_townships_keeps_the_chosen_rows_or_all() -> None:
    frame = pd.DataFrame({"township": ["甲镇", "乙镇", "甲镇", None], "x": [1, 2, 3, 4]})
    assert in_townships(frame, ())["x"].tolist() == [1, 2, 3, 4]
    assert in_townships(frame, ("甲镇",))["x"].tolist() == [1, 3]
    assert in_townships(frame.drop(columns="township"), ("甲镇",))["x"].tolist() == [1, 2, 3, 4]


def _county_items() -> pd.DataFrame:
    return pd.DataFrame({"county": ["本县", "甲县", "乙县"], "item": ["课后服务"] * 3, "score": [80.0, 85.0, 82.0]})


def _published() -> pd.DataFrame:
    return pd.DataFrame({"wave": ["W1", "W1", "W0"], "county": ["甲县", "乙县", "甲县"], "score": [86.0, 83.0, 84.0],
                         "课后服务": [88.0, 81.0, 70.0]})


def test_comparison_items_by_basis() -> None:
    counties = ("本县", "甲县", "乙县")
    survey = Basis("W1", "survey", counties)
    same, note = comparison_items(_county_items(), survey, _published(), "W1", "本县", ("课后服务",), counties)
    assert same.equals(_county_items()) and note is None
    mixed = Basis("W1", "mixed", ("本县",), ("甲县", "乙县"))
    table, note = comparison_items(_county_items(), mixed, _published(), "W1", "本县", ("课后服务",), counties)
    # The home county's own survey row, then the other counties' published W1 item scores (not W0's 70).
    by_county = table.set_index("county")["score"]
    assert by_county.to_dict() == {"本县": 80.0, "甲县": 88.0, "乙县": 81.0} and note
    # No published item scores: no comparison at all, and a note saying what to upload.
    bare = _published().drop(columns="课后服务")
    table, note = comparison_items(_county_items(), mixed, bare, "W1", "本县", ("课后服务",), counties)
    assert table.empty and note
    # A forecast wave (W2, nothing published yet) compares with the published wave its ranking starts from (W1).
    forecast = Basis("W2", "forecast", ("本县",), ("甲县", "乙县"), compared_wave="W1")
    table, note = comparison_items(_county_items(), forecast, _published(), "W2", "本县", ("课后服务",), counties)
    assert table.set_index("county")["score"].to_dict() == {"本县": 80.0, "甲县": 88.0, "乙县": 81.0}
    assert "W2市级结果尚未公布" in note and "取自W1市级公布结果" in note and "没有分项得分" not in note
    # A county whose latest published table is older (乙县 only in W0) is named, not dropped from the mean silently.
    older = _published().assign(wave=["W1", "W0", "W0"])
    table, note = comparison_items(_county_items(), forecast, older, "W2", "本县", ("课后服务",), counties)
    assert table.set_index("county")["score"].to_dict() == {"本县": 80.0, "甲县": 88.0}
    assert "W1市级公布结果中乙县没有分项得分，全市平均与对照只含其余 1 个县区。" in note


def _item_frame(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    answers = np.array(list(POINTS))
    base = rng.integers(0, 5, n)
    noisy = lambda: answers[np.clip(base + rng.integers(-1, 2, n), 0, 4)]  # noqa: E731
    return pd.DataFrame({"overall": answers[base], "甲项": noisy(), "乙项": noisy(), "weight": 1.0})


def test_item_view_benchmark_gap_and_counts(settings) -> None:
    cfg = dataclasses.replace(settings, items=("甲项", "乙项"), points=POINTS, strive=2)
    frame = _item_frame(300)
    frame.loc[:9, "overall"] = "不了解"  # 10 questionnaires not scored
    county_items = pd.concat([item_scores(_item_frame(100, seed), cfg.items, POINTS).assign(county=county)
                              for seed, county in enumerate(["本县", "甲县", "乙县", "丙县"])], ignore_index=True)
    overall = pd.Series({"本县": 75.0, "甲县": 90.0, "乙县": 80.0, "丙县": 70.0})
    view = item_view(frame, county_items, overall, "本县", cfg)
    # The 2nd-best of the other counties is 乙县 (90, 80, 70); the home county is 75 − 80 = −5 behind it.
    assert view.strive_county == "乙县" and view.overall_gap == pytest.approx(-5.0)
    assert view.n == 300 and view.n_scored == 290
    assert view.driver_error is None and set(view.fix["item"]) <= {"甲项", "乙项"}
    # Two scored respondents (the first 10 are not scored) cannot carry an item model: the page gets the reason.
    small = item_view(frame.head(12), county_items, overall, "本县", cfg)
    assert small.fix is None and small.drivers is None and small.driver_error


def test_weakest_orders_low_first_and_drops_small_townships() -> None:
    frame = pd.DataFrame({"township": ["甲镇"] * 3 + ["乙镇"] * 3 + ["丙镇"],
                          "overall": ["满意"] * 7,
                          "课后服务": ["满意", "满意", "一般", "不满意", "一般", "满意", "满意"],
                          "校园安全": ["满意"] * 7, "weight": 1.0})
    items, towns = weakest(frame, ("课后服务", "校园安全"), POINTS, min_n=2)
    # 课后服务 (100+100+60+0+60+100+100)/7 = 74.29 comes before 校园安全 100.
    assert items["item"].tolist() == ["课后服务", "校园安全"]
    assert items["score"].iloc[0] == pytest.approx(520 / 7)
    assert set(towns["township"]) == {"甲镇", "乙镇"}  # 丙镇 has 1 < 2 respondents


def test_comment_view_counts_writers_and_topics() -> None:
    frame = pd.DataFrame({"township": ["甲镇", "甲镇", "乙镇", "乙镇"],
                          "comment": ["课后服务时间太短", "  ", "食堂不好，课后服务也差", ""]})
    view = comment_view(frame, {"课后服务": ("课后服务",), "食堂": ("食堂",)})
    # Two respondents wrote something; both name 课后服务, one also 食堂.
    assert view.n_comments == 2 and comment_count(frame) == 2
    counts = view.counts.set_index(view.counts.columns[0])
    assert counts.loc["课后服务"].iloc[0] == 2 and counts.loc["食堂"].iloc[0] == 1
    assert comment_count(frame.drop(columns="comment")) == 0


def _two_waves() -> pd.DataFrame:
    return pd.DataFrame({
        "wave": ["W1"] * 4 + ["W2"] * 4,
        "township": ["甲镇", "甲镇", "乙镇", "乙镇"] * 2,
        "urban_rural": ["城镇", "城镇", "城镇", "农村"] * 2,
        "overall": ["满意", "一般", "满意", "不满意", "满意", "满意", "一般", "比较满意"],
        "weight": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0],
    })


def test_group_view_scope_change_and_kish_n() -> None:
    view = group_view(_two_waves(), "W2", "W1", (), POINTS, 1, "overall", {}, None)
    assert view.n == 4 and view.raking is None and view.raking_error is None and view.margins == ()
    # Kish: (1 + 1 + 2 + 1)² / (1 + 1 + 4 + 1) = 25 / 7.
    assert view.n_eff == pytest.approx(25 / 7)
    town = view.table[view.table["group"] == "甲镇"].iloc[0]
    # 甲镇: W2 (100 + 100)/2 = 100, W1 (100 + 60)/2 = 80 → change +20.
    assert town["score"] == pytest.approx(100.0) and town["score_change"] == pytest.approx(20.0)
    only = group_view(_two_waves(), "W2", None, ("乙镇",), POINTS, 1, "overall", {}, None)
    assert only.n == 2 and set(only.table.loc[only.table["dimension"] == "township", "group"]) == {"乙镇"}


def test_group_view_rakes_to_the_margins_or_reports_why_not() -> None:
    margins = {"城乡": {"城镇": 0.5, "农村": 0.5}}
    view = group_view(_two_waves(), "W2", None, (), POINTS, 1, "overall", margins, RakingSettings(enabled=True))
    assert view.margins == ("城乡",) and view.raking is not None
    # Raked to half and half of 4 respondents: 城镇 weights sum to 2, 农村 to 2.
    w, urban = view.raking.weights, _two_waves()["urban_rural"].iloc[4:].to_numpy() == "城镇"
    assert w[urban].sum() == pytest.approx(2.0) and w[~urban].sum() == pytest.approx(2.0)
    # One margin: 城镇's weights 1, 1, 2 are scaled by 2/4 and 农村's 1 by 2, so Kish is 4² / (0.25 + 0.25 + 1 + 4).
    assert view.raking.weights == pytest.approx([0.5, 0.5, 1.0, 2.0])
    assert view.n_eff == pytest.approx(16 / 5.5)
    broken = group_view(_two_waves(), "W2", None, (), POINTS, 1, "overall", margins, None, "设置项 raking 有误")
    assert broken.raking is None and broken.raking_error == "设置项 raking 有误"
    wrong = group_view(_two_waves(), "W2", None, (), POINTS, 1, "overall", {"城乡": {"城镇": 1.0}},
                       RakingSettings(enabled=True))
    assert wrong.raking is None and wrong.raking_error  # a level with respondents but no share cannot be raked


def _preschool() -> pd.DataFrame:
    return pd.DataFrame({"year": ["2024-2025学年", "2025-2026学年", "2025-2026学年"], "township": ["甲镇", "甲镇", "乙镇"],
                         "population_3_5": [100, 100, 50], "enrolled": [80, 90, 50], "enrolled_public": [40, 40, 30],
                         "enrolled_inclusive_private": [20, 30, 15]})


def _classes() -> pd.DataFrame:
    return pd.DataFrame({"year": ["2025-2026学年"] * 3, "school": ["一小", "一小", "二小"], "township": ["甲镇", "甲镇", "乙镇"],
                         "stage": ["小学"] * 3, "grade": ["三年级"] * 3, "class_name": ["1班", "2班", "1班"],
                         "students": [60, 40, 45]})


def test_metrics_view_labels_the_filtered_total() -> None:
    whole = metrics_view(_preschool(), pd.DataFrame(), _classes(), Thresholds(), ())
    assert TOTAL_LABEL in set(whole.preschool["township"]) and whole.compulsory.empty
    part = metrics_view(_preschool(), pd.DataFrame(), _classes(), Thresholds(), ("甲镇",))
    latest = part.preschool[part.preschool["year"] == "2025-2026学年"].set_index("township")
    # Only 甲镇 counts: the total row is named 所选乡镇合计 and equals 甲镇 (90/100).
    assert set(latest.index) == {"甲镇", FILTERED_LABEL}
    assert latest.loc[FILTERED_LABEL, "gross_enrollment"] == pytest.approx(0.9)
    assert len(part.flags) == 2
    # The year selector's choices: every school year in any table, oldest first (preschool has both, classes one).
    assert whole.years == ("2024-2025学年", "2025-2026学年")
    only_classes = metrics_view(pd.DataFrame(), pd.DataFrame(), _classes(), Thresholds(), ())
    assert only_classes.years == ("2025-2026学年",)


def test_link_view_pairs_the_latest_year() -> None:
    metrics = metrics_view(_preschool(), pd.DataFrame(), _classes(), Thresholds(), ())
    wave = pd.DataFrame({"township": ["甲镇", "甲镇", "乙镇"], "overall": ["满意", "一般", "满意"], "weight": 1.0})
    view = link_view(metrics, wave, (), POINTS, 1, "overall")
    assert view.year == "2025-2026学年"
    table = view.table.set_index("township")
    # 甲镇: score (100 + 60)/2 = 80, one of two classes has 56+ students; 普惠 (40 + 30)/90.
    assert table.loc["甲镇", "score"] == pytest.approx(80.0)
    assert table.loc["甲镇", "large_share"] == pytest.approx(0.5)
    assert table.loc["甲镇", "inclusive_coverage"] == pytest.approx(70 / 90)
    assert math.isnan(view.crowding["rho"])  # two townships are too few for a correlation


def test_group_options_and_moves_from_rows() -> None:
    frame = pd.DataFrame({"urban_rural": ["城镇", "农村", None], "township": ["甲镇", "乙镇", "甲镇"]})
    groups = group_options(frame)
    assert groups == {ALL_RESPONDENTS: ("", ""), "农村": ("urban_rural", "农村"), "城镇": ("urban_rural", "城镇"),
                      "乙镇": ("township", "乙镇"), "甲镇": ("township", "甲镇")}
    rows = pd.DataFrame([["课后服务", "农村", "一般", "满意", 20.0],
                         ["课后服务", "丁镇", "一般", "满意", 20.0],       # unknown group
                         ["课后服务", "全体受访者", "一般", "很好", 20.0],   # unknown answer
                         ["课后服务", "甲镇", "一般", "满意", 0.0],          # nothing moved
                         ["课后服务", None, "一般", "满意", 10.0],           # incomplete
                         ["课后服务", "农村", pd.NA, "满意", 10.0],          # incomplete (a row added in the editor)
                         ["课后服务", "农村", "一般", "满意", float("nan")]],  # no share yet
                        columns=["item", "group", "from", "to", "pct"])
    assert moves_from_rows(rows, groups, POINTS) == [Move("课后服务", "一般", "满意", 0.2, "urban_rural", "农村")]


def test_scenario_row_words() -> None:
    row = scenario_row("方案一", ["甲", "乙"], {"score": 85.456, "rank": 5, "p_rank_le_6": 0.81, "p_rank_le_5": 0.62},
                       hold=6, strive=5)
    assert row["调整"] == "甲；乙" and row["得分"] == 85.46 and row["名次（按估计值）"] == "第5名"
    assert row["保6把握"] == "约八成（81%）" and row["争5把握"] == "约六成（62%）"


def test_monthly_item_orders_counts_per_month_and_item() -> None:
    orders = pd.DataFrame({"month": ["2026-02", "2026-01", "2026-01", "2026-01"],
                           "item": ["课后服务", "大班额治理", "课后服务", "大班额治理"]})
    table = monthly_item_orders(orders)
    assert table.values.tolist() == [["2026-01", "大班额治理", 2], ["2026-01", "课后服务", 1], ["2026-02", "课后服务", 1]]


def test_closure_marks_place_each_closing_in_its_wave() -> None:
    closed = pd.DataFrame({"ledger_id": ["T1", "T2", "T3"], "closed": ["2026-02-10", "2026-08-01", "2030-01-01"]})
    marks = closure_marks(closed, ["2026年第1季度", "2026年第3季度"])
    # 2030 falls in no wave and is left out.
    assert marks.values.tolist() == [["2026年第1季度", "T1 销号 2026-02-10"], ["2026年第3季度", "T2 销号 2026-08-01"]]
    assert closure_marks(closed.iloc[0:0], ["2026年第1季度"]).empty


def test_visit_coverage_scores_pairs_parents_only() -> None:
    visits = pd.DataFrame({"township": ["甲镇", "甲镇", "乙镇"], "enrolled": [100, 300, 200], "visited": [50, 250, 20]})
    wave = pd.DataFrame({"township": ["甲镇", "甲镇", "乙镇"], "respondent_type": ["学生家长", "学生", "学生家长"],
                         "overall": ["满意", "不满意", "一般"], "weight": 1.0})
    towns = visit_coverage_scores(visits, wave, POINTS).set_index("township")
    # 甲镇: (50 + 250) / (100 + 300) = 0.75 coverage; its only parent answered 满意 (the student's 不满意 is not counted).
    assert towns.loc["甲镇", "coverage"] == pytest.approx(0.75) and towns.loc["甲镇", "score"] == pytest.approx(100.0)
    assert towns.loc["乙镇", "coverage"] == pytest.approx(0.1) and towns.loc["乙镇", "score"] == pytest.approx(60.0)
    assert "score" not in visit_coverage_scores(visits, None, POINTS).columns
