"""The overview's first screen and trend charts, built in one place for the page, the brief and the server's warm start."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.formatting import fmt_pct, fmt_rank, fmt_rank_set, fmt_score
from analysis.report.headline import Headline, chance_short, director_headline, rank_change_words
from analysis.report.ranking_charts import rank_trend_figure, score_trend_figure
from analysis.report.wording import probability_note, probability_sentence, probability_spread
from analysis.survey.basis import CLOSED
from analysis.survey.margins import margin_sentence
from analysis.survey.ranking import home_margin, probability_method, trend_before, trend_until, usable
from ui import data
from ui.caching import sent_section, shared_view
from ui.widgets import CARD_WIDTH, basis_note, figure_view, plain, plain_lines, takeaway


@shared_view(show_spinner=False, max_entries=16)
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

    first = insights.item_view(version, wave, home, ()).fix_first
    return None if first is None else str(first["item"])


@figure_view
def rank_trend(version: str, home: str, wave: str) -> go.Figure:
    """Rank trend of one county, with its rank sets and the 保六/争五 lines."""
    cfg = data.settings()
    return rank_trend_figure(trend_to(version, home, wave), len(cfg.counties), cfg.hold, cfg.strive)


@figure_view
def score_trend(version: str, home: str, wave: str) -> go.Figure:
    """Score trend of one county against the city mean."""
    return score_trend_figure(trend_to(version, home, wave), data.settings().strive)


@shared_view(show_spinner=False, max_entries=16)
def probability_range(version: str, wave: str, home: str, k: int) -> tuple[float, float] | None:
    """The 90% range P(rank ≤ k) would take over surveys like this one (parametric bootstrap); None without a SE."""
    table = data.wave_ranking(version, wave).table
    part = table[usable(table)].reset_index(drop=True)
    where = part.index[part["county"] == home]
    if where.empty:
        return None
    return probability_spread(part["score"].to_numpy(float), part["se"].to_numpy(float), int(where[0]), k)


@shared_view(show_spinner=False, max_entries=16)
def method_lines(version: str, wave: str, home: str) -> list[str]:
    """方法说明（分析员）: the CI and rank set, how the chances were computed, the margins to the neighbours in points and
    满意率 percentage points, and each chance's sampling range (cached: the expander's body is drawn on every rerun)."""
    cfg, result = data.settings(), data.wave_ranking(version, wave)
    row = data.county_row(version, wave, home)
    p_strive, p_hold = float(row[f"p_rank_le_{cfg.strive}"]), float(row[f"p_rank_le_{cfg.hold}"])
    weights = data.scored_weights(version, wave, home)
    return [
        f"得分 95%置信区间 {fmt_score(row['ci_low'])}–{fmt_score(row['ci_high'])}；名次的95%置信集 "
        f"{fmt_rank_set(row['cs_marginal_low'], row['cs_marginal_high'])}"
        + ("（只有本县有抽样误差：本县 95%置信区间内每个得分对应的名次）。" if result.basis.method == CLOSED
           else "（Mogstad、Romano、Shaikh、Wilhelm 2023 的逐步检验）。"),
        f"保{cfg.hold}概率 {fmt_pct(p_hold)}，争{cfg.strive}概率 {fmt_pct(p_strive)}：{probability_method(result.basis, cfg.draws)}"
        f"（种子 {cfg.seed}）。页面按“成”表述，因为小数位没有意义。",
        *(f"对照第{k}名：{margin_sentence(home_margin(result.table, home, k), k, weights, cfg.points)}。"
          for k in (cfg.strive, cfg.hold)),
        probability_note(cfg.draws, p_hold, result.basis.method),
        *(probability_sentence(p, k, label, probability_range(version, wave, home, k), result.basis.method)
          for p, k, label in ((p_hold, cfg.hold, f"保{cfg.hold}"), (p_strive, cfg.strive, f"争{cfg.strive}"))),
        "满意率百分点的换算：一名受访者由“一般”改为“满意”，得分变化 (满意分 − 一般分)/n，满意率变化 1/n；"
        "所以差 g 分约合 g/(满意分 − 一般分) 的受访者、即 2.5·g 个百分点（默认计分 100/60）。",
    ]


@shared_view(show_spinner=False, max_entries=16)
def trend_points(version: str, wave: str, home: str) -> tuple[dict | None, dict, dict]:
    """The home county's rows of the trend: the wave before `wave` (None for the first), and the first wave and `wave`'s
    own (the trend as of `wave`)."""
    until = trend_to(version, home, wave)
    return trend_before(until, data.waves(version), wave), until.iloc[0].to_dict(), until.iloc[-1].to_dict()


@shared_view(show_spinner=False, max_entries=16)
def trend_to(version: str, home: str, wave: str) -> pd.DataFrame:
    """The home county's trend up to the chosen wave: the charts, their sentences, the table and the brief."""
    return trend_until(data.home_trend(version, home), data.waves(version), wave)


def headline_markdown(head: Headline) -> str:
    """The boxed message as one Markdown element (a run sends each element as a message of its own, issue 15): the
    rank the city published or, without one, the estimate; the estimate under it; why the two differ, small and
    grey as a caption; the conclusion and its points. Every part is escaped: county and wave names come from files."""
    rank = "  \n".join(filter(None, [f"#### {plain(head.official or head.estimate)}",
                                     head.official and f"**{plain(head.estimate)}**"]))
    return "\n\n".join(filter(None, [
        rank,
        head.why_differ and f":small[:gray[{plain(head.why_differ)}]]",
        "\n".join([f"**{plain(head.conclusion)}**", *(f"- {plain(g)}" for g in head.gaps),
                   *([f"- {plain(head.change)}"] if head.change else [])]),
    ]))


@sent_section(max_entries=16)
def first_screen(version: str, wave: str, home: str) -> None:
    """The first screen: sample, the official rank before the estimate, one conclusion, the cards and the method note."""
    cfg, result = data.settings(), data.wave_ranking(version, wave)
    row = data.county_row(version, wave, home)
    prev = trend_points(version, wave, home)[0]
    p_strive, p_hold = row[f"p_rank_le_{cfg.strive}"], row[f"p_rank_le_{cfg.hold}"]
    total = len(result.table)
    head = headline(version, wave, home)
    st.caption(plain(f"{wave} · {cfg.city_name}共 {total} 个县区 · 本县样本 {int(row['n']) + int(row['n_excluded'])} 份，"
                     f"计分 {int(row['n'])} 份（{int(row['n_excluded'])} 份“不了解/说不清”不计分）"))
    with st.container(border=True):
        st.markdown(headline_markdown(head))
    basis_note(result)
    if row["insufficient"]:
        st.warning("本县本期计分答案少于 2 份，无法估计抽样误差，不计算名次概率。请补充样本后再看。")
    # A horizontal container wraps: four cards in a row on a desktop, a 2×2 grid on a phone.
    with st.container(horizontal=True, gap="small"):
        prev_score = prev["score"] if prev else None
        change = None if prev_score is None else round(float(row["score"]) - float(prev_score), 2)
        st.metric("满意度得分", fmt_score(row["score"]), border=True, width=CARD_WIDTH,
                  delta=None if change is None else f"{change:+.2f} 分",
                  delta_color="off" if change == 0 else "normal", delta_arrow="off" if change == 0 else "auto",
                  help="本局调查加权平均分；箭头为较上期变化，下方为95%置信区间")
        moved = None if not prev else int(prev["rank"]) - int(row["rank"])
        st.metric("推算名次", fmt_rank(row["rank"]), border=True, width=CARD_WIDTH,
                  delta=None if moved is None else rank_change_words(moved),
                  delta_color="off" if not moved else ("normal" if moved > 0 else "inverse"),
                  delta_arrow="off" if not moved else ("up" if moved > 0 else "down"),
                  help=f"按本局调查推算的全市名次（共 {total} 个县区）；市级通报名次见上方")
        st.metric(f"保{cfg.hold}把握", chance_short(p_hold), border=True, width=CARD_WIDTH,
                  help=f"{fmt_pct(p_hold, 0)}：本县真实名次在第{cfg.hold}名及以内的可能性；{probability_method(result.basis, cfg.draws)}")
        st.metric(f"冲{cfg.strive}把握", chance_short(p_strive), border=True, width=CARD_WIDTH,
                  help=f"{fmt_pct(p_strive, 0)}：本县真实名次在第{cfg.strive}名及以内的可能性")
    with st.expander("方法说明（分析员）", icon=":material/science:"):
        st.markdown("\n".join(plain_lines(method_lines(version, wave, home))))


@sent_section(max_entries=16)
def trend_charts(version: str, wave: str, home: str) -> None:
    """The rank and score trend charts side by side, each with its one-line reading."""
    _prev, first, last = trend_points(version, wave, home)
    left, right = st.columns(2)
    with left:
        st.plotly_chart(rank_trend(version, home, wave), width="stretch")
        takeaway(f"从{first['wave']}的{fmt_rank(first['rank'])}到{last['wave']}的{fmt_rank(last['rank'])}；竖线越长，名次越不确定。")
    with right:
        st.plotly_chart(score_trend(version, home, wave), width="stretch")
        takeaway(f"本县得分由 {fmt_score(first['score'])} 变为 {fmt_score(last['score'])}，全市平均 {fmt_score(last['city_mean'])}。")
