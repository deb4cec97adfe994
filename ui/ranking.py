"""The 排名 page's figures, each cached on the arguments it is drawn from."""

from __future__ import annotations

import plotly.graph_objects as go

from analysis.report.ranking_charts import caterpillar_figure, funnel_figure, place_heatmap_figure
from ui import data
from ui.widgets import figure_view


@figure_view
def caterpillar(version: str, wave: str, home: str) -> go.Figure:
    """Every county's score with its 95% CI, best first; the 争五/保六 lines."""
    cfg = data.settings()
    return caterpillar_figure(data.wave_ranking(version, wave).table, home, cfg.strive, cfg.hold)


@figure_view
def place_heatmap(version: str, wave: str, home: str) -> go.Figure:
    """County × place probabilities."""
    return place_heatmap_figure(data.wave_ranking(version, wave).places, home)


@figure_view
def funnel(version: str, wave: str, home: str) -> go.Figure:
    """Surveyed counties against the city mean with Spiegelhalter's limits."""
    surveyed = data.surveyed_counties(data.wave_ranking(version, wave).table)
    limits = data.funnel(version, wave)
    return funnel_figure(surveyed, limits.curves, limits.target, home)
