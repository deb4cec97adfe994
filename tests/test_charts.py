"""Figure builders: the home county is highlighted, targets are drawn, uncertainty is on every rank and score."""

import numpy as np
import pandas as pd
import pytest

from analysis.report.ranking_charts import (caterpillar_figure, funnel_figure, place_heatmap_figure, rank_trend_figure,
                                            score_trend_figure)

TABLE = pd.DataFrame({"county": ["A", "B", "C", "D", "E", "F"], "score": [90.0, 88.0, 86.0, 85.0, 84.0, 80.0],
                      "ci_low": [88.0, 86.5, 84.0, 83.0, 82.0, 78.0], "ci_high": [92.0, 89.5, 88.0, 87.0, 86.0, 82.0],
                      "n": [400] * 6, "rank": [1, 2, 3, 4, 5, 6]})
TREND = pd.DataFrame({"wave": ["2025年第1季度", "2025年第2季度"], "rank": [7, 5], "cs_low": [4, 3], "cs_high": [9, 8],
                      "score": [84.0, 85.5], "ci_low": [82.0, 83.5], "ci_high": [86.0, 87.5], "city_mean": [85.0, 85.2],
                      "strive_score": [85.6, 85.8], "published_rank": [6, 5], "published_score": [84.5, 85.9]})


def test_caterpillar_has_target_lines_at_fifth_and_sixth_scores():
    fig = caterpillar_figure(TABLE, "D", strive=5, hold=6)
    lines = sorted(shape.y0 for shape in fig.layout.shapes)
    assert lines == [80.0, 84.0]
    assert list(fig.data[0].x) == ["A", "B", "C", "D", "E", "F"]


def test_rank_trend_has_rank_sets_band_and_published_rank():
    fig = rank_trend_figure(TREND, 11, hold=6, strive=5)
    estimate = fig.data[0]
    assert list(estimate.error_y.array) == [2, 3] and list(estimate.error_y.arrayminus) == [3, 2]
    assert list(fig.layout.yaxis.range) == [11.5, 0.5]  # rank 1 at the top
    band = [s for s in fig.layout.shapes if s.type == "rect"][0]
    assert (band.y0, band.y1) == (0.5, 6.5)
    assert list(fig.data[1].y) == [6, 5]
    assert list(fig.layout.xaxis.ticktext) == ["2025年<br>第1季度", "2025年<br>第2季度"]


@pytest.mark.parametrize("strive", [5, 3])
def test_score_trend_shows_ci_city_mean_and_the_strive_line(strive):
    fig = score_trend_figure(TREND, strive)
    assert [t.name for t in fig.data] == ["本县得分（调查估计）", f"第{strive}名得分", "全市平均", "市级公布得分"]
    assert f"第{strive}名" in fig.data[1].hovertemplate  # the target from the settings, not a fixed 5th


def test_heatmap_carries_the_probabilities():
    probs = pd.DataFrame([[0.7, 0.3], [0.3, 0.7]], index=["A", "B"], columns=["第1名", "第2名"])
    fig = place_heatmap_figure(probs, "B")
    assert np.allclose(fig.data[0].z, probs.to_numpy())
    assert list(fig.data[0].y) == ["A", "★B"]


def test_funnel_plots_precision():
    curves = pd.DataFrame({"precision": [1.0, 2.0], "lo95": [80, 82], "hi95": [90, 88], "lo998": [78, 81], "hi998": [92, 89]})
    points = TABLE.assign(se=[1.0, 0.5, 1.0, 1.0, 1.0, 2.0])
    fig = funnel_figure(points, curves, 85.0, "D")
    assert list(fig.data[-1].x) == pytest.approx([1.0, 2.0, 1.0, 1.0, 1.0, 0.5])


# --- readable at 1400 px and 390 px (issue 18) ---------------------------------------------------------------------

from analysis.report.ranking_charts import (MODEBAR_PX, rank_label_positions, short_wave_label, # noqa: E402
                                            spread_label_positions, wave_tick_labels)


@pytest.mark.parametrize("ranks, published, expected", [
    # 7 → 5 with published 6, 5: the first label would meet the rising line (top right) and the diamond one place up
    # (top left), so it goes below; the last goes left (the margin holds the 争/保 names) and up, off the falling line.
    ([7, 5], [6, 5], ["bottom right", "top left"]),
    ([6, 6, 6], None, ["top right", "top right", "top left"]),  # flat line: nothing in the corners
    ([5, 7, 5], None, ["top right", "bottom right", "top left"]),  # a dip: both segments rise from the middle point
    ([7, 5, 7], None, ["top left", "top right", "bottom left"]),  # a peak: above it; the first wave has room on its left
    ([6], [5], ["bottom right"]),  # a single wave with the published diamond just above
])
def test_rank_labels_avoid_the_line_and_the_published_diamond(ranks, published, expected):
    assert rank_label_positions(ranks, published) == expected


def test_rank_trend_uses_those_positions():
    fig = rank_trend_figure(TREND, 11, hold=6, strive=5)
    assert list(fig.data[0].textposition) == ["bottom right", "top left"]
    assert list(fig.data[0].text) == ["第7名", "第5名"]


def eight_waves() -> pd.DataFrame:
    waves = [f"{y}年第{q}季度" for y in (2025, 2026) for q in (1, 2, 3, 4)]
    return pd.DataFrame({"wave": waves, "rank": [7, 6, 6, 5, 6, 5, 6, 6], "cs_low": [4] * 8, "cs_high": [9] * 8,
                         "score": [85.0] * 8, "ci_low": [84.0] * 8, "ci_high": [86.0] * 8, "city_mean": [85.0] * 8})


def test_many_waves_get_short_tick_labels_and_rank_numbers():
    fig = rank_trend_figure(eight_waves(), 11, hold=6, strive=5)
    assert list(fig.layout.xaxis.ticktext) == ["25Q1", "25Q2", "25Q3", "25Q4", "26Q1", "26Q2", "26Q3", "26Q4"]
    assert list(fig.data[0].text) == ["7", "6", "6", "5", "6", "5", "6", "6"]
    assert list(score_trend_figure(eight_waves(), 5).layout.xaxis.ticktext)[0] == "25Q1"


@pytest.mark.parametrize("label, short", [("2025年第2季度", "25Q2"), ("2026年三季度", "26Q3"), ("2026Q4", "26Q4"),
                                          ("2026年上半年", "26H1"), ("2026年下半年", "26H2"), ("2026年度", "26年"),
                                          ("专项<测评>", "专项&lt;测评&gt;")])
def test_short_wave_label(label, short):
    assert short_wave_label(label) == short


def test_four_waves_keep_two_line_labels():
    assert wave_tick_labels(pd.Series(["2025年第1季度"] * 4)) == ["2025年<br>第1季度"] * 4


@pytest.mark.parametrize("builder", [lambda: rank_trend_figure(TREND, 11, 6, 5), lambda: score_trend_figure(TREND, 5),
                                     lambda: caterpillar_figure(TABLE, "D", strive=5, hold=6)])
def test_title_starts_below_the_mode_bar(builder):
    fig = builder()
    title = fig.layout.title
    assert title.yref == "container" and title.yanchor == "top"
    assert (1 - title.y) * fig.layout.height >= MODEBAR_PX  # the title's top edge, in pixels from the chart's top
    assert fig.layout.margin.t >= MODEBAR_PX + 60


def test_close_labels_are_spread_and_far_ones_stay_on_top():
    x, y = [0.0, 100.0, 50.0, 51.0], [0.0, 0.0, 10.0, 10.0]
    positions = spread_label_positions(x, y, [4, 4, 4, 4])
    assert positions[0] == positions[1] == "top center"
    assert positions[2] != positions[3]


def test_funnel_labels_of_neighbours_do_not_share_a_position():
    curves = pd.DataFrame({"precision": [0.4, 2.2], "lo95": [80, 82], "hi95": [90, 88], "lo998": [78, 81], "hi998": [92, 89]})
    points = TABLE.assign(se=[1.0, 0.99, 0.5, 1.0, 2.0, 2.5], score=[85.0, 85.1, 86.0, 84.0, 83.0, 87.0])
    fig = funnel_figure(points, curves, 85.0, "D")
    assert fig.data[-1].textposition[0] != fig.data[-1].textposition[1]  # A and B sit almost on one point


def test_quadrant_names_are_fit_for_a_meeting_and_red_lines_are_marked():
    from analysis.stats.drivers import importance_performance
    from analysis.report.insight_charts import ipa_figure

    table = importance_performance(pd.DataFrame({"item": ["办学条件", "校园安全", "大班额治理", "教育公平"],
                                                 "rescaled": [0.4, 0.3, 0.2, 0.1], "score": [80.0, 90.0, 76.7, 92.0]}))
    fig = ipa_figure(table)
    spec = fig.to_json()
    assert "低优先" not in spec and "过度投入" not in spec
    assert [a.text for a in fig.layout.annotations if a.text.startswith("<b>")] == \
        ["<b>重点攻坚</b>", "<b>优势巩固</b>", "<b>持续改进</b>", "<b>保持稳定</b>"]
    red = next(t for t in fig.data if t.name.startswith("政策底线"))
    assert list(red.text) == ["大班额治理"]


def test_township_names_from_a_file_are_escaped_in_chart_labels():
    """Plotly renders <b>, <a href> and <br> in labels: a township named like markup shows as text."""
    import pandas as pd

    from analysis.report.insight_charts import township_rate_figure, township_score_figure

    table = pd.DataFrame({"group": ['<a href="http://evil.example">点我</a>', "城关镇"], "n": [40, 50], "score": [80.0, 85.0],
                          "ci_low": [78.0, 83.0], "ci_high": [82.0, 87.0], "se": [1.0, 1.0]})
    labels = list(township_score_figure(table, 84.0, 30, "各乡镇").data[0].y)
    assert labels[0] == '&lt;a href=&quot;http://evil.example&quot;&gt;点我&lt;/a&gt;（n=40）' and "<a" not in "".join(labels)
    rates = pd.DataFrame({"township": ["<b>粗</b>镇", "城关镇"], "rate": [0.9, 0.8], "is_total": [False, False]})
    assert list(township_rate_figure(rates, "rate", "覆盖率", 0.85).data[0].x)[0] == "&lt;b&gt;粗&lt;/b&gt;镇"


def test_county_names_are_escaped_in_ranking_charts():
    """Counties come from the settings file and are validated on import, but a name like markup still shows as text."""
    name, shown = '<a href="http://evil.example">县</a>', "&lt;a href=&quot;http://evil.example&quot;&gt;县&lt;/a&gt;"
    table = TABLE.assign(county=[name, "B", "C", "D", "E", "F"], se=1.0)
    caterpillar = caterpillar_figure(table, name, strive=5, hold=6)
    assert caterpillar.data[0].x[0] == shown and caterpillar.layout.xaxis.categoryarray[0] == shown
    probs = pd.DataFrame([[1.0]], index=[name], columns=["第1名"])
    assert list(place_heatmap_figure(probs, name).data[0].y) == ["★" + shown]
    curves = pd.DataFrame({"precision": [1.0], "lo95": [80], "hi95": [90], "lo998": [78], "hi998": [92]})
    assert funnel_figure(table, curves, 85.0, name).data[-1].text[0] == shown


def test_work_order_months_run_in_time_order_whatever_item_comes_first():
    from analysis.report.action_charts import orders_by_month_figure

    # The first item has no orders in 2026-03; plotly alone would put that month after 2026-04.
    counts = pd.DataFrame({"month": ["2026-02", "2026-04", "2026-03", "2026-04"], "item": ["甲", "甲", "乙", "乙"],
                           "orders": [1, 2, 3, 4]})
    fig = orders_by_month_figure(counts)
    assert list(fig.layout.xaxis.categoryarray) == ["2026-02", "2026-03", "2026-04"]
    assert fig.layout.xaxis.categoryorder == "array"


def test_a_township_rate_that_cannot_be_computed_is_muted_not_judged():
    import pandas as pd

    from analysis.report.insight_charts import MUTED_COLOR, township_rate_figure

    rates = pd.DataFrame({"township": ["甲镇", "乙镇", "丙镇"], "rate": [0.9, 0.8, float("nan")]})
    bar = township_rate_figure(rates, "rate", "普惠覆盖率", 0.85).data[0]
    by_town = dict(zip(bar.x, zip(bar.text, bar.marker.color)))
    assert by_town["丙镇"] == ("—", MUTED_COLOR)             # as the table's —, neither red nor blue
    assert by_town["乙镇"][0] == "80.0%" and by_town["乙镇"][1] != by_town["甲镇"][1]  # 80% < 85%: missed, red


@pytest.mark.parametrize("hold", [6, 4])
def test_the_rank_trend_names_the_hold_place_from_the_settings(hold):
    assert f"保{hold}目标区" in rank_trend_figure(TREND, 11, hold, 3).layout.title.text


# --- titles on a 390-px phone: plotly never wraps them ------------------------------------------------------------

from analysis.report.ranking_charts import (SUBTITLE_UNITS, TITLE_UNITS, base_layout, chart_title,  # noqa: E402
                                            wrapped_lines)


@pytest.mark.parametrize("text, units, lines", [
    ("得分走势", 21, ["得分走势"]),
    ("云溪县全县义务教育毛入学率与适龄残疾儿童入学率逐年变化", 21, ["云溪县全县义务教育毛入学率与适龄残疾儿童入", "学率逐年变化"]),
    ("普惠性幼儿园覆盖率（%）", 10, ["普惠性幼儿园覆盖率（%）"]),  # closing marks overhang rather than start a line
    ("各期得分（95%置信区间）", 6, ["各期得分（", "95%置信区间）"]),
    ("A&amp;B县区", 2, ["A&amp;", "B县", "区"]),  # an entity is one character and never split
], ids=["short", "long", "closing marks", "number kept whole", "entity"])
def test_wrapped_lines(text, units, lines):
    assert wrapped_lines(text, units) == lines


@pytest.mark.parametrize("title, head, note", [
    ("得分走势（竖线为95%置信区间）", "得分走势", "竖线为95%置信区间"),
    ("漏斗图：落在控制限外的县区才是真正偏离全市平均", "漏斗图", "落在控制限外的县区才是真正偏离全市平均"),
    ("有偿补课治理：各期得分", "有偿补课治理：各期得分", None),  # short: the colon stays in the headline
    ("班额分布（按学段）", "班额分布", "按学段"),
], ids=["trailing note", "long title split at the colon", "short title kept", "short note"])
def test_chart_title_sets_the_note_under_the_headline(title, head, note):
    text, extra = chart_title(title)
    parts = text.split("<br>")
    assert parts[0] == head
    if note is None:
        assert len(parts) == 1 and extra == 0
    else:
        assert note in parts[1] and "font-size:12px" in parts[1] and extra > 0


def test_every_title_line_fits_a_phone():
    long = f"名次走势（绿色区域为保6目标区，竖线为名次范围，菱形为市级公布名次，{'很长的说明' * 6}）"
    text, _ = chart_title(long)
    head, *notes = text.split("<br>")
    assert len(wrapped_lines(head, TITLE_UNITS)) == 1
    assert all(len(wrapped_lines(n.split(">", 1)[1].rsplit("<", 1)[0], SUBTITLE_UNITS)) == 1 for n in notes)
    assert len(notes) >= 3


def test_a_wrapped_title_adds_height_so_the_plot_keeps_its_size():
    import plotly.graph_objects as go

    def plot_px(fig):
        return fig.layout.height - fig.layout.margin.t - fig.layout.margin.b

    short, long = base_layout(go.Figure(), "得分走势"), base_layout(go.Figure(), "得分走势（竖线为95%置信区间）")
    assert long.layout.height > short.layout.height and plot_px(long) == plot_px(short)
    assert (1 - long.layout.title.y) * long.layout.height == pytest.approx(MODEBAR_PX + 4)  # still below the mode bar


@pytest.mark.parametrize("labels, rows", [
    (["学前教育毛入园率", "普惠性幼儿园覆盖率", "公办园在园幼儿占比"], 3),  # too long side by side on a phone: stacked
    (["义务教育毛入学率", "适龄残疾儿童入学率"], 2),
    (["入园率", "覆盖率"], 1),
], ids=["three long", "two long", "two short"])
def test_rate_trend_stacks_panels_whose_names_would_collide_on_a_phone(labels, rows):
    from analysis.report.insight_charts import rate_trend_figure

    totals = pd.DataFrame({"year": ["2024-2025学年", "2025-2026学年"], **{f"r{k}": [0.8, 0.9] for k in range(len(labels))}})
    fig = rate_trend_figure(totals, {f"r{k}": (label, 0.85) for k, label in enumerate(labels)}, "逐年变化")
    tops = {round(fig.layout[f"yaxis{k + 1 if k else ''}"].domain[1], 3) for k in range(len(labels))}
    assert len(tops) == rows
    assert all("目标≥85%" in a.text for a in fig.layout.annotations)
