"""Figures of the 分项指标, 群体与乡镇 and 办学指标 pages, each cached on the arguments it is drawn from."""

from __future__ import annotations

import plotly.graph_objects as go

from analysis.formatting import label_escape
from analysis.report.insight_charts import (class_size_histogram, class_trend_figure, fix_first_figure,
                                            group_panels_figure, importance_figure, ipa_figure, item_benchmark_figure,
                                            link_figure, rate_trend_figure, topic_count_figure, township_rate_figure,
                                            township_score_figure)
from analysis.survey.groups import GROUP_DIMENSIONS
from ui import data, insights
from ui.widgets import figure_view

# 分项指标


@figure_view
def item_benchmark(version: str, wave: str, home: str, townships: tuple[str, ...]) -> go.Figure:
    """Each item against the city mean and the strive county."""
    return item_benchmark_figure(insights.item_view(version, wave, home, townships).benchmarks, data.settings().strive)


@figure_view
def item_importance(version: str, wave: str, home: str, townships: tuple[str, ...]) -> go.Figure:
    """Relative-weight importance of the items."""
    return importance_figure(insights.item_view(version, wave, home, townships).drivers)


@figure_view
def item_quadrants(version: str, wave: str, home: str, townships: tuple[str, ...]) -> go.Figure:
    """Importance–performance quadrants."""
    return ipa_figure(insights.item_view(version, wave, home, townships).fix)


@figure_view
def item_fix_first(version: str, wave: str, home: str, townships: tuple[str, ...]) -> go.Figure:
    """The fix-first list's expected gains."""
    return fix_first_figure(insights.item_view(version, wave, home, townships).gains, data.settings().strive)


@figure_view
def comment_topics(version: str, wave: str, home: str, townships: tuple[str, ...]) -> go.Figure:
    """Comments per topic."""
    return topic_count_figure(insights.comment_view(version, wave, home, townships).counts)


# 群体与乡镇


def measure_label(measure: str) -> str:
    """总体满意度 or the item's name."""
    return insights.OVERALL_LABEL if measure == "overall" else measure


@figure_view
def township_scores(version: str, wave: str, home: str, townships: tuple[str, ...], measure: str) -> go.Figure:
    """Scores by township with CIs; small townships greyed out."""
    table, min_n = insights.group_view(version, wave, home, townships, measure).table, data.settings().min_group_n
    return township_score_figure(table[table["dimension"] == "township"], float(table["county_score"].iloc[0]), min_n,
                                 f"各乡镇{measure_label(measure)}得分（横线为95%置信区间；红色低于全县，灰色样本不足{min_n}份）")


@figure_view
def group_panels(version: str, wave: str, home: str, townships: tuple[str, ...], measure: str) -> go.Figure:
    """Scores by respondent group, one panel per dimension."""
    table, min_n = insights.group_view(version, wave, home, townships, measure).table, data.settings().min_group_n
    labels = {d: label for d, label in GROUP_DIMENSIONS.items() if d != "township"}
    others, county_score = table[table["dimension"] != "township"], float(table["county_score"].iloc[0])
    return group_panels_figure(others, labels, county_score, min_n,
                               f"各人群{measure_label(measure)}得分（点为得分，横线为95%置信区间，虚线为全县得分）")


# 办学指标


@figure_view
def class_trend(version: str, townships: tuple[str, ...]) -> go.Figure:
    """The large-class share and counts by school year."""
    view = insights.metrics_view(version, townships)
    totals = view.townships[view.townships["is_total"]].sort_values("year")
    return class_trend_figure(totals, data.settings().thresholds.large_class_share_max, view.labels)


@figure_view
def large_class_share(version: str, townships: tuple[str, ...], year: str) -> go.Figure:
    """The large-class share by township in one school year."""
    towns, th = insights.metrics_view(version, townships).townships, data.settings().thresholds
    year_towns = towns[(towns["year"] == year) & ~towns["is_total"]]
    return township_rate_figure(year_towns, "large_share", "大班额占比", th.large_class_share_max, higher_is_better=False)


@figure_view
def class_sizes(version: str, townships: tuple[str, ...], year: str) -> go.Figure:
    """Histogram of class sizes in one school year."""
    flags, th = insights.metrics_view(version, townships).flags, data.settings().thresholds
    return class_size_histogram(flags[flags["year"] == year], {"小学": th.class_cap_primary, "初中": th.class_cap_junior},
                                th.large_class_min, th.very_large_class_min)


@figure_view
def preschool_trend(version: str, townships: tuple[str, ...]) -> go.Figure:
    """The three preschool rates by school year against their targets."""
    pre = insights.metrics_view(version, townships).preschool
    scope = insights.scope_label(insights.metrics_county(), townships)
    return rate_trend_figure(pre[pre["is_total"]].sort_values("year"), insights.preschool_series(),
                             f"{label_escape(scope)}学前教育三项指标逐年变化（虚线为目标）")


@figure_view
def preschool_by_township(version: str, townships: tuple[str, ...], year: str, column: str) -> go.Figure:
    """One preschool rate by township in one school year."""
    pre = insights.metrics_view(version, townships).preschool
    label, target = insights.preschool_series()[column]
    return township_rate_figure(pre[(pre["year"] == year) & ~pre["is_total"]], column, label, target)


@figure_view
def compulsory_trend(version: str, townships: tuple[str, ...]) -> go.Figure:
    """义务教育毛入学率 and 适龄残疾儿童入学率 by school year."""
    comp = insights.metrics_view(version, townships).compulsory
    scope = insights.scope_label(insights.metrics_county(), townships)
    return rate_trend_figure(comp[comp["is_total"]].sort_values("year"), insights.COMPULSORY_SERIES,
                             f"{label_escape(scope)}义务教育毛入学率与适龄残疾儿童入学率逐年变化")


@figure_view
def disabled_enrollment(version: str, townships: tuple[str, ...], year: str) -> go.Figure:
    """适龄残疾儿童入学率 by township in one school year."""
    comp = insights.metrics_view(version, townships).compulsory
    return township_rate_figure(comp[(comp["year"] == year) & ~comp["is_total"]], "disabled_enrollment", "适龄残疾儿童入学率",
                                None)


@figure_view
def satisfaction_link(version: str, wave: str, home: str, townships: tuple[str, ...], measure: str) -> go.Figure:
    """Township satisfaction against the latest year's 大班额 share and 普惠 coverage."""
    usable = insights.link_view(version, wave, home, townships, measure).table.dropna(subset=["score"])
    labels = insights.metrics_view(version, townships).labels
    return link_figure(usable, data.settings().min_group_n, measure_label(measure), labels)
