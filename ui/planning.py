"""Cached planner computations for the 目标推演 page and the brief."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from analysis.formatting import escape_markdown, fmt_pct, fmt_rank, fmt_score, fmt_signed, pp_change
from analysis.report.headline import rank_change_words
from analysis.report.wording import chance_words, planned_rank_text, probability_note, scenario_row
from analysis.survey.planner import (Forward, ItemPlan, ItemRelation, Move, forward, group_options as plan_groups,
                                     inverse_table as build_inverse_table, item_to_overall, moves_from_rows, required_shift,
                                     solve_items, trend_projection)
from ui import data, state
from ui.caching import sent_section, shared_view
from ui.widgets import CARD_WIDTH, show_table, takeaway


@shared_view(show_spinner=False, max_entries=16)
def relation(version: str, wave: str, home: str) -> ItemRelation:
    """Item-to-overall relation in the home county's current wave (the same model as 分项指标's fix-first list)."""
    return item_to_overall(data.home_wave_responses(version, wave, home), data.settings().items, data.settings().points)


@shared_view(show_spinner=False, max_entries=16)
def group_options(version: str, wave: str, home: str) -> dict[str, tuple[str, str]]:
    """Label → (column, value) for every respondent group the planner can target."""
    return plan_groups(data.home_wave_responses(version, wave, home))


@shared_view(show_spinner=False, max_entries=16)
def trend(version: str, wave: str) -> pd.DataFrame:
    """Every county's slope over its last 3 waves and its projection one wave ahead (with the projection's variance).

    The scores are each wave's ranking table, so a county known only from the city's published table has a trend too.
    """
    return trend_projection(data.ranking_scores(version), data.waves(version), wave)


def _table(version: str, wave: str) -> pd.DataFrame:
    return data.wave_ranking(version, wave).table


@shared_view(show_spinner="正在推演…", max_entries=64)
def run(version: str, wave: str, home: str, moves: tuple[Move, ...], with_trend: bool) -> Forward:
    """Current, trend-only and planned results through the one forward model."""
    cfg = data.settings()
    return forward(_table(version, wave), data.home_wave_responses(version, wave, home), home, list(moves),
                   relation(version, wave, home), cfg.points, cfg.targets, cfg.draws, cfg.seed,
                   trend(version, wave) if with_trend else None)


def compare(version: str, wave: str, home: str, moves: tuple[Move, ...], with_trend: bool) -> tuple[dict, dict]:
    """Current and planned score, rank, P(rank ≤ k) of the home county (the brief reads this)."""
    result = run(version, wave, home, moves, with_trend)
    return result.current, result.planned


@shared_view(show_spinner=False, max_entries=16)
def compare_saved(version: str, wave: str, home: str, scenarios: tuple, with_trend: bool) -> pd.DataFrame:
    """One row per saved scenario: score, rank (with its probability) and the rounded probabilities after its moves."""
    cfg = data.settings()
    rows = [scenario_row(name, [m.label() for m in moves], run(version, wave, home, tuple(moves), with_trend).planned,
                         cfg.hold, cfg.strive) for name, moves in scenarios]
    return pd.DataFrame(rows)


@shared_view(show_spinner="正在反推（每一项都经同一推演模型验证）…", max_entries=32)
def inverse(version: str, wave: str, home: str, k: int, target_p: float, with_trend: bool) -> tuple[float, list[ItemPlan]]:
    """Score rise needed for P(rank ≤ k) ≥ target_p, and per item the fewest respondents moved one step up."""
    cfg = data.settings()
    table, projection = _table(version, wave), trend(version, wave) if with_trend else None
    needed = required_shift(table, home, k, target_p, cfg.draws, cfg.seed, projection)
    plans = solve_items(table, data.home_wave_responses(version, wave, home), home, cfg.items, relation(version, wave, home),
                        cfg.points, k, target_p, cfg.draws, cfg.seed, projection)
    return needed, plans


@shared_view(show_spinner=False, max_entries=32)
def inverse_table(version: str, wave: str, home: str, k: int, target_p: float, with_trend: bool) -> tuple[str, pd.DataFrame]:
    """The 反推 section as shown: its one-sentence answer and the per-item table (built once per choice, not per rerun)."""
    needed, plans = inverse(version, wave, home, k, target_p, with_trend)
    return build_inverse_table(needed, plans, relation(version, wave, home).coefficients, k, target_p)


@shared_view(show_spinner=False, max_entries=1)
def example_moves() -> pd.DataFrame:
    """The two example rows the plan editor starts with (the same frame every rerun, so its Arrow form is reused)."""
    rows = pd.DataFrame([{"分项": "有偿补课治理", "群体": "农村", "从": "一般", "到": "满意", "比例%": 20.0},
                         {"分项": "课后服务", "群体": "学生家长", "从": "比较满意", "到": "满意", "比例%": 10.0}])
    # Column names as plain Python strings: st.data_editor checks and walks them one by one on every rerun, and through
    # pandas' Arrow-backed string index each lookup cost ~30 µs (~0.3 ms of the planner's rerun, measured).
    rows.columns = pd.Index(list(rows.columns), dtype=object)
    return rows


# Streamlit hashes a dataclass argument through dataclasses.asdict(): a three-move plan cost 178 µs a call, the tuple
# of each move's fields 46 µs. A frozen Move is equal exactly when its fields are.
MOVE_HASH = {Move: dataclasses.astuple}


def current_moves(rows: pd.DataFrame, groups: dict, points: dict) -> tuple[Move, ...]:
    """The plan's complete moves, read from its rows again only when the rows, groups or points are other objects than
    on this session's last run (a closed editor's rows stay one object; reading them cost ~0.3 ms a rerun)."""
    held = st.session_state.get(state.PLAN_MOVES)
    if held is not None and held[0] is rows and held[1] is groups and held[2] is points:
        return held[3]
    moves = tuple(moves_from_rows(rows, groups, points))
    st.session_state[state.PLAN_MOVES] = (rows, groups, points, moves)
    return moves


@sent_section(max_entries=64, hash_funcs=MOVE_HASH)
def plan_outcome(version: str, wave: str, home: str, moves: tuple[Move, ...], with_trend: bool) -> None:
    """目标推演's answer for one plan: four cards (score, rank, both chances), the plan's effect in words, and notes."""
    cfg, method = data.settings(), data.wave_ranking(version, wave).basis.method
    result = run(version, wave, home, moves, with_trend)
    current, planned = result.current, result.planned
    hold_key, strive_key = f"p_rank_le_{cfg.hold}", f"p_rank_le_{cfg.strive}"
    moved = current["rank"] - planned["rank"]
    # A horizontal container wraps: four cards in a row on a desktop, a 2×2 grid on a phone (as on 总览). The chances in
    # words, once under each card, are in the sentence below the cards.
    with st.container(horizontal=True, gap="small"):
        st.metric("总体得分", fmt_score(planned["score"]), delta=f"{planned['score'] - current['score']:+.2f} 分", border=True,
                  width=CARD_WIDTH)
        st.metric("名次（按估计值）", fmt_rank(planned["rank"]), delta=rank_change_words(moved), border=True, width=CARD_WIDTH,
                  delta_color="off" if moved == 0 else "normal", delta_arrow="off" if moved == 0 else "auto",
                  help="按各县区得分的估计值排出的名次；真实名次有抽样误差，请同时看保、争两个概率。")
        st.metric(f"保{cfg.hold}概率", fmt_pct(planned[hold_key], 0), border=True, width=CARD_WIDTH,
                  delta=pp_change(planned[hold_key] - current[hold_key]),
                  help=probability_note(cfg.draws, planned[hold_key], method))
        st.metric(f"争{cfg.strive}概率", fmt_pct(planned[strive_key], 0), border=True, width=CARD_WIDTH,
                  delta=pp_change(planned[strive_key] - current[strive_key]),
                  help=probability_note(cfg.draws, planned[strive_key], method))

    def effect_text(effect: dict) -> str:
        """Score and P(争k) change of one part of the forecast."""
        return f"得分 {fmt_signed(effect['score'], unit=' 分')}，争{cfg.strive}概率 {pp_change(effect[strive_key]) or '—'}"

    def standing(side: dict) -> str:
        """Score, rank and both chances in words: the cards show the chances only as percentages."""
        return (f"{fmt_score(side['score'])} 分、{planned_rank_text(side['rank'], side[strive_key], cfg.strive)}，"
                f"保{cfg.hold}的把握{chance_words(side[hold_key])}")

    now, after = standing(current), standing(planned)
    if with_trend:
        takeaway(f"本期：{now}。其中趋势的影响（各县区含本县按近 3 期趋势外推一期）：{effect_text(result.trend_effect)}；"
                 f"方案的影响：{effect_text(result.plan_effect)}。合计：{after}。")
        st.caption("外推时每个县区的标准误都加上了趋势斜率的抽样误差（3 期斜率本身约有 ±0.6 分的误差），所以概率更分散；"
                   "只有 1 期数据的县区不外推。")
    else:
        takeaway(f"当前：{now}；按上表调整后：{after}。")
    if moves:
        n_all = len(data.home_wave_responses(version, wave, home))  # a shared view: no copy
        st.caption(f"（分析员参考）按上表调整，本期样本中预计约 {result.moved_people:.0f} 名受访者（共 {n_all} 份问卷）改变某一分项的评价。")
    else:
        st.caption("在上表中添加调整（例如“农村 的 课后服务 一般→满意 10%”），结果会立即更新。")


@sent_section(max_entries=32)
def inverse_result(version: str, wave: str, home: str, k: int, target_p: float, with_trend: bool) -> None:
    """The 反推 answer for one target: its sentence, the per-item table and how it was found (downloads are the page's)."""
    sentence, view = inverse_table(version, wave, home, k, target_p, with_trend)
    st.markdown(f"**{escape_markdown(sentence)}**")
    if with_trend:
        st.caption("反推同样假设各县区（含本县）按近 3 期趋势外推一期。")
    show_table(view, width="stretch")
    st.caption("每一项都单独计算：该分项答“满意”以下的受访者按同一比例各上调一档，所需最少人数由二分法求得，"
               "并经上方同一推演模型验证（同一随机数种子）：按此人数恰好达到目标，少一人就达不到。"
               "满意率 = 答“满意”或“比较满意”的比例。")
