"""The 排名 page's tables and figures, each cached on the arguments it is drawn from (a rerun only reads them)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analysis.formatting import fmt_pct, fmt_rank, fmt_rank_set, fmt_score
from analysis.report.headline import rank_change_words
from analysis.report.ranking_charts import caterpillar_figure, funnel_figure, place_heatmap_figure
from analysis.report.wording import level_counties_sentence
from analysis.survey.basis import SOURCE_LABELS
from analysis.survey.raked_scores import ranking_weight_notes
from analysis.survey.ranking import last_ranked_before, with_change
from ui import data
from ui.caching import shared_view
from ui.widgets import figure_view


@shared_view(show_spinner=False, max_entries=16)
def ranked_with_change(version: str, wave: str) -> pd.DataFrame:
    """The wave's ranking with each county's score and rank change against the last ranked wave before it (the same
    comparison as 总览's and the brief's 较上期)."""
    waves = data.waves(version)
    # Whether a wave can be ranked needs only its basis, not its simulation.
    before = last_ranked_before({w: data.wave_basis(version, w)[0].ok for w in waves}, waves, wave)
    return with_change(data.wave_ranking(version, wave).table, data.wave_ranking(version, before).table if before else None)


@shared_view(show_spinner=False, max_entries=16)
def weight_notes(version: str, wave: str, home: str) -> list[str]:
    """Which counties were raked this wave, and the home county's design effect (issue 17)."""
    return ranking_weight_notes(data.raked_scores(version), data.scores(version), wave, home)


@shared_view(show_spinner=False, max_entries=16)
def league(version: str, wave: str, home: str) -> pd.DataFrame:
    """排名表 as shown and downloaded: rank, county (★ home), source, score with CI, sample, change, chances."""
    cfg, table = data.settings(), ranked_with_change(version, wave)
    published = table["source"] == "published"
    return pd.DataFrame({
        "名次": [fmt_rank(r) for r in table["rank"]],
        "县区": [f"★{c}" if c == home else c for c in table["county"]],
        "来源": [SOURCE_LABELS[s] + ("（样本不足）" if bad else "") for s, bad in zip(table["source"], table["insufficient"])],
        "得分": table["score"].round(2),
        "95%置信区间": [f"{fmt_score(lo)}–{fmt_score(hi)}" if pd.notna(lo) else "—" for lo, hi in zip(table["ci_low"], table["ci_high"])],
        "样本量": table["n"].where(~published, table["published_n"]).astype("Int64"),
        "未计分": table["n_excluded"].astype("Int64"),
        "较上期得分": table["score_change"].round(2),
        "较上期名次": [rank_change_words(v) for v in table["rank_change"]],
        "名次范围": [fmt_rank_set(lo, hi) for lo, hi in zip(table["cs_marginal_low"], table["cs_marginal_high"])],
        f"前{cfg.strive}名概率": [fmt_pct(p) for p in table[f"p_rank_le_{cfg.strive}"]],
        f"前{cfg.hold}名概率": [fmt_pct(p) for p in table[f"p_rank_le_{cfg.hold}"]],
    })


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


@shared_view(show_spinner=False, max_entries=16)
def caterpillar_takeaway(version: str, wave: str, home: str) -> str:
    """The sentence under the league chart: which counties are level with home by the pairwise test, not by overlap."""
    pairs = data.pairwise(version, wave, home)
    return level_counties_sentence(pairs.loc[pairs["verdict"] == "差异不显著", "county"].tolist(),
                                   bool((ranked_with_change(version, wave)["source"] == "published").any()))


@shared_view(show_spinner=False, max_entries=16)
def places_table(version: str, wave: str) -> pd.DataFrame:
    """名次概率 as downloaded: one row per county, one column per place."""
    return data.wave_ranking(version, wave).places.reset_index(names="县区")


@shared_view(show_spinner=False, max_entries=16)
def surveyed_count(version: str, wave: str) -> int:
    """How many counties the wave has respondents for (a funnel plot needs three)."""
    return len(data.surveyed_counties(data.wave_ranking(version, wave).table))
