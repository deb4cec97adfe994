"""The 排名 page's tables, figures and drawn sections, each cached on the arguments it is drawn from (a rerun only reads
or replays them)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.formatting import fmt_pct, fmt_rank, fmt_rank_set, fmt_score
from analysis.report.headline import chance_short, rank_change_words
from analysis.report.ranking_charts import caterpillar_figure, funnel_figure, place_heatmap_figure
from analysis.report.wording import level_counties_sentence
from analysis.survey.basis import SOURCE_LABELS
from analysis.survey.raked_scores import ranking_weight_notes
from analysis.survey.ranking import last_ranked_before, probability_method, with_change
from ui import data
from ui.caching import sent_section, shared_view
from ui.widgets import basis_note, figure_view, method_note, plain, show_table, takeaway


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


@sent_section(max_entries=16)
def league_section(version: str, wave: str, home: str) -> None:
    """What the ranking rests on and the league table (its downloads are drawn after it, outside the replay)."""
    cfg = data.settings()
    st.caption(plain(f"{wave} · 红色/★为本县"))
    basis_note(data.wave_ranking(version, wave))
    # Issue 17: which counties were raked to population margins, and what the weights cost the home county in precision.
    for weight_note in weight_notes(version, wave, home):
        st.caption(plain(weight_note))
    st.subheader("排名表")
    # Key columns first, so a phone shows rank, county, score and the two chances without scrolling sideways.
    show_table(league(version, wave, home), width="stretch", height="content",
               column_order=["名次", "县区", "得分", f"前{cfg.strive}名概率", f"前{cfg.hold}名概率", "较上期名次", "来源",
                             "95%置信区间", "名次范围", "样本量", "未计分", "较上期得分"],
               column_config={"得分": st.column_config.NumberColumn(format="%.2f"),
                              "较上期得分": st.column_config.NumberColumn(format="%+.2f")})


@sent_section(max_entries=16)
def caterpillar_section(version: str, wave: str, home: str) -> None:
    """Scores with their intervals, the reading and the method note."""
    cfg = data.settings()
    st.plotly_chart(caterpillar(version, wave, home), width="stretch")
    # Which neighbours the home county cannot be told apart from comes from the pairwise test, not from overlapping bars.
    takeaway(caterpillar_takeaway(version, wave, home))
    method_note([
        f"名次概率：{probability_method(data.wave_ranking(version, wave).basis, cfg.draws)}（种子 {cfg.seed}）。",
        "竖线为95%置信区间（调查加权均值 ± 1.96 × 线性化标准误）；“在抽样误差之内”依据两样本 z 检验，Holm 校正，5%水平。",
    ])


@sent_section(max_entries=16)
def places_section(version: str, wave: str, home: str) -> None:
    """Where each county may land (the place-probability heatmap) and the home county's two chances."""
    cfg, result = data.settings(), data.wave_ranking(version, wave)
    if home not in result.places.index:
        st.info("本县本期计分答案少于 2 份，没有名次概率。")
        return
    row = data.county_row(version, wave, home)
    hold, strive = row[f"p_rank_le_{cfg.hold}"], row[f"p_rank_le_{cfg.strive}"]
    st.plotly_chart(place_heatmap(version, wave, home), width="stretch")
    # The same two numbers the overview leads with, not the single most likely place (which can read as a contradiction).
    takeaway(f"每一行是一个县区落在各名次的可能性。本县保{cfg.hold}把握{chance_short(hold)}（{fmt_pct(hold, 0)}），"
             f"冲{cfg.strive}把握{chance_short(strive)}（{fmt_pct(strive, 0)}）。")
