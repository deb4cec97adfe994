"""The overview's trend charts, built in one place for the page and for the server's warm start."""

from __future__ import annotations

import plotly.graph_objects as go

from analysis.charts import rank_trend_figure, score_trend_figure
from analysis.settings import Settings
from ui import data
from ui.widgets import cached_figure


def trend_figures(version: str, settings: Settings) -> tuple[go.Figure, go.Figure]:
    """Rank trend (with rank sets and the 保六/争五 lines) and score trend of the home county, cached per data version."""
    home = settings.home_county
    trend = data.home_trend(version, home)
    ranks = cached_figure("rank_trend", (version, home, len(settings.counties), settings.hold, settings.strive),
                          lambda: rank_trend_figure(trend, len(settings.counties), settings.hold, settings.strive))
    scores = cached_figure("score_trend", (version, home), lambda: score_trend_figure(trend))
    return ranks, scores
