"""Figures of the 整改跟踪 page (pure functions of tables; labels in Chinese)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analysis.formatting import label_escape
from analysis.report.ranking_charts import HOME_COLOR, OTHER_COLOR, STRIVE_COLOR, base_layout, wave_tick_labels


def orders_by_month_figure(counts: pd.DataFrame) -> go.Figure:
    """Stacked bars of work orders per month, one colour per item (counts: month, item, orders)."""
    fig = go.Figure()
    for item, part in counts.groupby("item", sort=False):
        fig.add_bar(x=part["month"], y=part["orders"], name=label_escape(item))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="工单（件）")
    # A category axis orders months as the traces first meet them: a month that the first item lacks would land at the
    # end. Months are YYYY-MM text, so sorting the text is sorting by time.
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=sorted(counts["month"].astype(str).unique()))
    return base_layout(fig, "每月民意诉求工单（按分项）")


def item_trend_figure(scores: pd.DataFrame, item: str, closed: pd.DataFrame) -> go.Figure:
    """An item's score per wave with its 95% CI, and a marker on each wave in which a ledger problem was closed
    (closed: wave, label)."""
    fig = go.Figure()
    ticks = wave_tick_labels(scores["wave"])
    fig.add_scatter(x=scores["wave"], y=scores["score"], mode="lines+markers", name=label_escape(f"{item}得分"), line={"color": HOME_COLOR},
                    error_y={"type": "data", "symmetric": False, "array": scores["ci_high"] - scores["score"],
                             "arrayminus": scores["score"] - scores["ci_low"], "color": OTHER_COLOR})
    if not closed.empty:
        marks = closed.merge(scores[["wave", "score"]], on="wave")
        fig.add_scatter(x=marks["wave"], y=marks["score"], mode="markers", name="台账问题销号",
                        marker={"symbol": "star", "size": 16, "color": STRIVE_COLOR}, text=[label_escape(t) for t in marks["label"]],
                        hovertemplate="%{text}<extra></extra>")
    fig.update_xaxes(tickmode="array", tickvals=list(scores["wave"]), ticktext=ticks, tickangle=0)
    fig.update_yaxes(title="得分（分）")
    return base_layout(fig, label_escape(f"{item}：各期得分（95%置信区间）与台账销号"))


def coverage_figure(table: pd.DataFrame) -> go.Figure:
    """Township 家访 coverage (x, %) against its parents' satisfaction score (y), one labelled point per township."""
    fig = go.Figure()
    fig.add_scatter(x=table["coverage"] * 100, y=table["score"], mode="markers+text", text=[label_escape(t) for t in table["township"]],
                    textposition="top center", marker={"size": 11, "color": HOME_COLOR}, name="乡镇（街道）",
                    error_y={"type": "data", "array": table["score"] - table["ci_low"], "color": OTHER_COLOR})
    fig.update_xaxes(title="家访覆盖率（%）")
    fig.update_yaxes(title="家长满意度得分（分）")
    return base_layout(fig, "家访覆盖率与家长满意度（各乡镇）")
