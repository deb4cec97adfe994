"""The overview's trend charts, built in one place for the page and for the server's warm start."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from analysis.report.headline import Headline, director_headline
from analysis.report.ranking_charts import rank_trend_figure, score_trend_figure
from analysis.report.wording import probability_spread
from analysis.survey.ranking import trend_before, usable
from ui import data
from ui.widgets import figure_view


@st.cache_data(show_spinner=False, max_entries=16)
def headline(version: str, wave: str, home: str) -> Headline:
    """The first screen's message for one wave and county, shared by 总览 and the Word brief so they say the same."""
    cfg = data.settings()
    result = data.wave_ranking(version, wave)
    trend = data.home_trend(version, home)
    previous = trend_before(trend, data.waves(version), wave)
    official = data.official_result(version, wave, home)
    return director_headline(result.table, home, cfg.hold, cfg.strive, cfg.points,
                             official_rank=official[0] if official else None, official_score=official[1] if official else None,
                             previous=previous,
                             fix_item=fix_first_item(version, wave, home))


def fix_first_item(version: str, wave: str, home: str) -> str | None:
    """The item 分项指标 says to fix first (the top of its fix-first list, whole county), so every page names the same one."""
    from ui import insights  # the item analysis loads only when the overview asks for it

    view = insights.item_view(version, wave, home, ())
    # The same rule as 分项指标's headline: only an item with a positive expected gain is one to fix first.
    if view.fix is None or view.fix.empty or not (view.fix["expected_gain"] > 0).any():
        return None
    return str(view.fix["item"].iloc[0])


@figure_view
def rank_trend(version: str, home: str) -> go.Figure:
    """Rank trend of one county, with its rank sets and the 保六/争五 lines."""
    cfg = data.settings()
    return rank_trend_figure(data.home_trend(version, home), len(cfg.counties), cfg.hold, cfg.strive)


@figure_view
def score_trend(version: str, home: str) -> go.Figure:
    """Score trend of one county against the city mean."""
    return score_trend_figure(data.home_trend(version, home))


@st.cache_data(show_spinner=False, max_entries=16)
def probability_range(version: str, wave: str, home: str, k: int) -> tuple[float, float] | None:
    """The 90% range P(rank ≤ k) would take over surveys like this one (parametric bootstrap); None without a SE."""
    table = data.wave_ranking(version, wave).table
    part = table[usable(table)].reset_index(drop=True)
    where = part.index[part["county"] == home]
    if where.empty:
        return None
    return probability_spread(part["score"].to_numpy(float), part["se"].to_numpy(float), int(where[0]), k)
