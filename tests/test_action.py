"""整改跟踪 statistics (analysis/survey/action.py) against values worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis.data.waves import wave_span
from analysis.settings import ActionRules
from analysis.stats.estimates import spearman
from analysis.survey import action

AS_OF = dt.date(2026, 3, 31)
KEYWORDS = {"课业负担": ("作业", "考试"), "师德师风": ("老师",), "有偿补课治理": ("补课", "有偿")}


@pytest.mark.parametrize("text, item", [
    ("老师有偿补课", "有偿补课治理"),   # 师德师风 1 hit, 有偿补课治理 2 hits
    ("老师布置作业太多", "课业负担"),   # 1 hit each: the item listed first in the settings wins
    ("作业作业，老师", "课业负担"),     # occurrences count: 2 against 1
    ("食堂饭菜凉", "其他"),
    (None, "其他"),
])
def test_work_order_goes_to_the_item_its_words_name_most(text, item):
    assert action.classify_orders(pd.Series([text]), KEYWORDS).iloc[0] == item


def orders_frame() -> pd.DataFrame:
    # 4 closed (follow-ups 满意, 基本满意, 不满意, 未回访), one 办理中 from 2026-01-01 (89 days open on 3-31), one
    # 待办理 from 2026-03-20 (11 days): 办结率 4/6, 回访满意率 2/3 (未回访 not counted), 1 overdue at 15 days.
    return pd.DataFrame({
        "order_id": list("ABCDEF"),
        "received": ["2026-01-05", "2026-01-06", "2026-02-01", "2026-02-02", "2026-01-01", "2026-03-20"],
        "status": ["已办结"] * 4 + ["办理中", "待办理"],
        "follow_up": ["满意", "基本满意", "不满意", "未回访", None, None],
        "township": ["甲", "甲", "甲", "乙", "乙", "乙"],
    })


def test_closure_and_follow_up_rates_by_hand():
    row = action.order_summary(orders_frame(), [], AS_OF, 15).iloc[0]
    assert (row["orders"], row["closed"], row["followed"], row["satisfied"], row["overdue"]) == (6, 4, 3, 2, 1)
    assert row["closure_rate"] == pytest.approx(4 / 6)
    assert row["follow_up_rate"] == pytest.approx(2 / 3)


def test_rates_per_township_and_nobody_asked_gives_no_rate():
    table = action.order_summary(orders_frame(), ["township"], AS_OF, 15).set_index("township")
    assert table.loc["甲", "closure_rate"] == 1.0 and table.loc["甲", "follow_up_rate"] == pytest.approx(2 / 3)
    assert table.loc["乙", "closure_rate"] == pytest.approx(1 / 3)
    assert np.isnan(table.loc["乙", "follow_up_rate"])  # only 未回访 and open orders: no denominator
    assert table.loc["乙", "overdue"] == 1


def ledger_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "ledger_id": ["L1", "L2", "L3", "L4"],
        "state": ["已销号", "整改中", "未整改", "已销号"],
        "deadline": ["2026-02-01", "2026-03-01", "2026-05-01", "2026-01-01"],
        "township": ["甲", "乙", "乙", "甲"],
        "school": [None, "乙小学", None, None],
    })


def test_ledger_closure_rate_and_overdue_by_hand():
    # Closed problems are never overdue; L2 is 30 days past 2026-03-01 on 2026-03-31; L3's deadline is still ahead.
    assert action.ledger_summary(ledger_frame(), AS_OF) == {"problems": 4, "closed": 2, "closure_rate": 0.5, "overdue": 1}
    status = action.ledger_status(ledger_frame(), AS_OF)
    assert status["overdue"].tolist() == [False, True, False, False]
    assert status["days_overdue"].iloc[1] == 30


@pytest.mark.parametrize("label, span", [
    ("2026年第3季度", (dt.date(2026, 7, 1), dt.date(2026, 9, 30))),
    ("2026年上半年", (dt.date(2026, 1, 1), dt.date(2026, 6, 30))),
    ("2026年下半年", (dt.date(2026, 7, 1), dt.date(2026, 12, 31))),
    ("2026年度", (dt.date(2026, 1, 1), dt.date(2026, 12, 31))),
    ("2025年第4季度", (dt.date(2025, 10, 1), dt.date(2025, 12, 31))),
    ("2024Q1", (dt.date(2024, 1, 1), dt.date(2024, 3, 31))),
    ("摸底测评", None),
])
def test_wave_spans(label, span):
    assert wave_span(label) == span


SCORES = pd.DataFrame({"wave": ["2025年第3季度", "2025年第4季度", "2026年第1季度"], "score": [80.0, 82.0, 85.0],
                       "se": [1.2, 1.0, 1.6]})


@pytest.mark.parametrize("closed_on, before, after", [
    ("2025-11-15", "2025年第3季度", "2026年第1季度"),  # inside Q4: Q4 is neither before nor after
    ("2025-12-31", "2025年第3季度", "2026年第1季度"),
])
def test_change_around_a_closure_by_hand(closed_on, before, after):
    # change = 85 − 80 = 5; SE = √(1.2² + 1.6²) = 2.0; CI = 5 ± 1.959964·2 = (1.080072, 8.919928);
    # z = 2.5, p = 2·(1 − Φ(2.5)) = 0.0124193.
    result = action.before_after(SCORES, closed_on)
    assert (result["before_wave"], result["after_wave"]) == (before, after)
    assert result["change"] == pytest.approx(5.0) and result["se"] == pytest.approx(2.0)
    assert result["ci_low"] == pytest.approx(1.080072, abs=1e-6) and result["ci_high"] == pytest.approx(8.919928, abs=1e-6)
    assert result["p"] == pytest.approx(0.0124193, abs=1e-7)


def test_no_change_without_a_wave_on_each_side():
    assert action.before_after(SCORES, "2025-09-30") is None   # Q3 ends that day: nothing before it
    assert action.before_after(SCORES, "2026-02-01") is None   # nothing after Q1


def test_item_wave_scores_match_the_weighted_mean_by_hand():
    # Wave A: 满意(100, w 1), 一般(60, w 3) → (100 + 180)/4 = 70; 不了解 not scored.
    responses = pd.DataFrame({"wave": ["2026年第1季度"] * 3, "办学条件": ["满意", "一般", "不了解"], "weight": [1.0, 3.0, 1.0]})
    table = action.item_wave_scores(responses, "办学条件", {"满意": 100, "一般": 60})
    assert table["score"].iloc[0] == pytest.approx(70.0) and table["n"].iloc[0] == 2


def test_coverage_pools_pupils_not_school_rates():
    visits = pd.DataFrame({"township": ["甲", "甲", "乙"], "school": ["s1", "s2", "s3"], "enrolled": [100, 300, 50],
                           "visited": [80, 150, 50]})
    table = action.coverage_by(visits, ["township"]).set_index("township")
    assert table.loc["甲", "coverage"] == pytest.approx(230 / 400)  # not (0.8 + 0.5) / 2
    assert table.loc["乙", "coverage"] == 1.0


def spike_orders() -> pd.DataFrame:
    # Months 01–03 then 04: X 1,2,0 → 5 (mean 1, 5 > 2·1); Y 2,2,2 → 4 (4 is not > 2·2); Z none → 3 (≥ 3, no
    # earlier orders); W none → 2 (below the minimum of 3).
    counts = {"X": [1, 2, 0, 5], "Y": [2, 2, 2, 4], "Z": [0, 0, 0, 3], "W": [0, 0, 0, 2]}
    months = ["2026-01", "2026-02", "2026-03", "2026-04"]
    rows = [{"township": unit, "month": m, "school": None} for unit, ns in counts.items() for m, n in zip(months, ns)
            for _ in range(n)]
    return pd.DataFrame(rows)


def test_spikes_by_hand():
    spikes = action.order_spikes(spike_orders(), "township", "2026-04", ActionRules()).set_index("township")
    assert sorted(spikes.index) == ["X", "Z"]
    assert spikes.loc["X", "orders"] == 5 and spikes.loc["X", "average"] == 1.0 and spikes.loc["X", "ratio"] == 5.0
    assert spikes.loc["Z", "average"] == 0.0


def township_scores() -> pd.DataFrame:
    # County 80 in the latest wave. T1 75 ± 2: limit 80 − 1.959964·2 = 76.08 → below; T2 77 ± 2 → not; T3 60 with
    # only 10 answers → not named. T1 fell 80 → 78 → 75 (two waves running); T2 80 → 78 → 77 too; T4 rose again.
    rows = [("w1", "全县", 80, 0.5, 900), ("w2", "全县", 80, 0.5, 900), ("w3", "全县", 80, 0.5, 900),
            ("w1", "T1", 80, 2, 100), ("w2", "T1", 78, 2, 100), ("w3", "T1", 75, 2, 100),
            ("w1", "T2", 80, 2, 100), ("w2", "T2", 78, 2, 100), ("w3", "T2", 77, 2, 100),
            ("w1", "T4", 80, 2, 100), ("w2", "T4", 78, 2, 100), ("w3", "T4", 79, 2, 100),
            ("w3", "T3", 60, 5, 10)]
    return pd.DataFrame(rows, columns=["wave", "township", "score", "se", "n"])


def test_funnel_rule_by_hand():
    below = action.below_county(township_scores(), "w3", ActionRules(), min_n=30)
    assert below["township"].tolist() == ["T1"]
    assert below["lo"].iloc[0] == pytest.approx(80 - 1.959964 * 2, abs=1e-5)


def test_falling_rule():
    assert action.falling(township_scores(), ["w1", "w2", "w3"], 2)["township"].tolist() == ["T1", "T2"]
    assert action.falling(township_scores(), ["w2", "w3"], 2).empty  # two waves cannot show two falls


def test_attention_list_gives_every_reason_in_one_line():
    orders = spike_orders().replace({"township": {"X": "T1"}})
    ledger = ledger_frame().replace({"township": {"乙": "T2"}})
    table = action.attention_list(township_scores(), ["w1", "w2", "w3"], ledger, orders, AS_OF, ActionRules(), 30)
    reasons = dict(zip(table["unit"], table["reasons"]))
    assert reasons["T1"] == ("w3得分 75.0，低于全县 80.0 的漏斗图95%下限 76.1；得分连续 2 期下降（80.0→78.0→75.0）；"
                             "2026-04 工单 5 件，是前 3 个月月均 1.0 件的 5.0 倍")
    assert reasons["T2"] == "得分连续 2 期下降（80.0→78.0→77.0）；1 项整改逾期（L2）"
    assert reasons["乙小学"] == "1 项整改逾期（L2）"
    assert reasons["Z"] == "2026-04 工单 3 件，是前 3 个月没有工单"
    assert set(reasons) == {"T1", "T2", "乙小学", "Z"}
    assert table["unit"].iloc[0] == "T1"  # most reasons first
    assert dict(zip(table["unit"], table["type"]))["乙小学"] == "学校"


def test_clusters_of_work_orders_and_the_ledger():
    orders = pd.DataFrame({"order_id": ["a", "b", "c", "d", "e", "f"], "item": ["课业负担"] * 3 + ["其他"] * 3,
                           "township": ["甲"] * 6})
    clusters = action.order_clusters(orders, pd.DataFrame(), 3)
    assert clusters[["item", "township", "orders", "order_ids", "in_ledger"]].values.tolist() == [["课业负担", "甲", 3, "a、b、c", False]]
    open_problem = pd.DataFrame({"item": ["课业负担"], "township": ["甲"], "state": ["整改中"]})
    assert action.order_clusters(orders, open_problem, 3)["in_ledger"].tolist() == [True]


def test_ledger_export_layout():
    frame = ledger_frame().assign(item="课业负担", problem="p", source="工单", order_ids=None, measure=None, owner="o",
                                  created="2026-01-01", closed=None)
    out = action.ledger_export(frame, AS_OF)
    assert list(out.columns[:3]) == ["序号", "台账编号", "分项"] and list(out.columns[-2:]) == ["是否逾期", "逾期天数"]
    assert out["是否逾期"].tolist() == ["否", "是", "否", "否"] and out["序号"].tolist() == [1, 2, 3, 4]


def test_mock_work_orders_follow_the_survey(settings):
    """Every mock order sorts back to the item its text was written for, and townships with more class-size orders
    per resident score lower on 大班额治理 (the item whose township differences the mock survey builds in)."""
    from analysis.data.mock import HOME_TOWNSHIPS, PETITION_TEXTS
    from analysis.survey.scoring import answer_points
    from tests.conftest import ROOT

    orders = pd.read_csv(ROOT / "data" / "mock" / "petitions.csv", dtype=str, encoding="utf-8-sig")
    items = action.classify_orders(orders["诉求内容"], settings.comment_keywords)
    intended = {text: item for item, texts in PETITION_TEXTS.items() for text in texts}
    assert (items == orders["诉求内容"].map(intended)).all()
    survey = pd.read_csv(ROOT / "data" / "mock" / "responses.csv", dtype=str, encoding="utf-8-sig")
    survey = survey[survey["县区"] == settings.home_county]
    score = survey.assign(p=answer_points(survey["大班额治理"], settings.points)).groupby("乡镇（街道）")["p"].mean()
    share = {town: s for town, _, s, _ in HOME_TOWNSHIPS}
    per_resident = orders[items == "大班额治理"].groupby("乡镇（街道）").size().reindex(score.index, fill_value=0) / score.index.map(share)
    assert spearman(per_resident, score)["rho"] < -0.5


def test_brief_paragraphs_summarise_orders_ledger_and_attention_list():
    """Hand-counted: 4 orders in 2026 Q3 (3 closed → 75%; 2 of 3 followed satisfied → 67%), 2 ledger items, 1 overdue."""
    import datetime as dt

    import pandas as pd

    from analysis.survey.action import brief_paragraphs

    orders = pd.DataFrame({
        "order_id": ["A", "B", "C", "D", "E"], "received": ["2026-07-02", "2026-08-10", "2026-09-30", "2026-09-01", "2026-05-01"],
        "item": ["有偿补课治理", "有偿补课治理", "课后服务", "有偿补课治理", "课后服务"],
        "status": ["已办结", "已办结", "已办结", "办理中", "已办结"], "closed": ["2026-07-05", "2026-08-12", "2026-10-01", None, "2026-05-02"],
        "follow_up": ["满意", "不满意", "基本满意", "未回访", "满意"]})
    ledger = pd.DataFrame({"ledger_id": ["T1", "T2"], "problem": ["城关镇补课", "东坝镇托管"], "owner": ["城关中学", "东坝小学"],
                           "deadline": ["2026-10-01", "2026-12-31"], "state": ["整改中", "已销号"]})
    attention = pd.DataFrame({"unit": ["城关镇"], "reasons": ["有逾期未销号的台账问题"]})
    text = brief_paragraphs(orders, ledger, attention, "2026年第3季度", dt.date(2026, 11, 29), 15)
    assert text[0] == ("本期（2026年07月至2026年09月）受理民意诉求工单 4 件，办结率 75%，回访满意率 67%；"
                       "反映最多的是有偿补课治理 3 件、课后服务 1 件。")
    # T1 is past its 2026-10-01 deadline by 59 days on 2026-11-29.
    assert text[1] == "问题台账共 2 项，已销号 1 项，销号率 50%，逾期未销号：城关镇补课（城关中学，逾期 59 天）。"
    assert text[2] == "建议在满意度推进会上约谈 1 个单位：城关镇（有逾期未销号的台账问题）。"
