"""The overview's trend charts, built in one place for the page and for the server's warm start."""

from __future__ import annotations

import plotly.graph_objects as go

from analysis.charts import rank_trend_figure, score_trend_figure
from analysis.headline import Headline, director_headline
from analysis.settings import Settings
from ui import data
from ui.widgets import cached_figure


def headline(version: str, wave: str, home: str) -> Headline:
    """The first screen's message for one wave and county, shared by 总览 and the Word brief so they say the same."""
    cfg = data.settings()
    result = data.wave_ranking(version, wave)
    trend = data.home_trend(version, home)
    waves = data.waves(version)
    previous = trend[trend["wave"].map(waves.index) < waves.index(wave)].tail(1)
    official = data.official_result(version, wave, home)
    return director_headline(result.table, home, cfg.hold, cfg.strive, cfg.points,
                             official_rank=official[0] if official else None, official_score=official[1] if official else None,
                             previous=previous.iloc[0].to_dict() if len(previous) else None,
                             fix_item=fix_first_item(version, wave, home))


def fix_first_item(version: str, wave: str, home: str) -> str | None:
    """The item 分项指标 says to fix first (the top of its fix-first list, whole county), so every page names the same one."""
    from ui import insights  # the item analysis loads only when the overview asks for it

    view = insights.item_view(version, wave, home, ())
    return None if view.fix is None or view.fix.empty else str(view.fix["item"].iloc[0])


def trend_figures(version: str, home: str, settings: Settings) -> tuple[go.Figure, go.Figure]:
    """Rank trend (with rank sets and the 保六/争五 lines) and score trend of one county, cached per data version."""
    trend = data.home_trend(version, home)
    ranks = cached_figure("rank_trend", (version, home, len(settings.counties), settings.hold, settings.strive),
                          lambda: rank_trend_figure(trend, len(settings.counties), settings.hold, settings.strive))
    scores = cached_figure("score_trend", (version, home), lambda: score_trend_figure(trend))
    return ranks, scores
