"""Cached planner computations for the 目标推演 page and the brief."""

from __future__ import annotations

import pandas as pd

from analysis.report.wording import scenario_row
from analysis.survey.planner import (Forward, ItemPlan, ItemRelation, Move, forward, group_options as plan_groups,
                                     inverse_table as build_inverse_table, item_to_overall, required_shift, solve_items,
                                     trend_projection)
from ui import data
from ui.caching import shared_view


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
    return pd.DataFrame([{"分项": "有偿补课治理", "群体": "农村", "从": "一般", "到": "满意", "比例%": 20.0},
                         {"分项": "课后服务", "群体": "学生家长", "从": "比较满意", "到": "满意", "比例%": 10.0}])
