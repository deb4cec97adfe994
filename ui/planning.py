"""Cached planner computations for the 目标推演 page and the brief."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.formatting import fmt_pct, fmt_rank
from analysis.planner import (ItemRelation, Move, evaluate, item_headroom, item_to_overall, neighbour_trend, planned_home_row,
                              required_shift, scenario_table)
from ui import data

GROUP_COLUMNS = ("urban_rural", "respondent_type", "child_stage", "township")


@st.cache_data(show_spinner=False, max_entries=16)
def relation(version: str, wave: str, home: str) -> ItemRelation:
    """Item-to-overall relation in the home county's current wave."""
    return item_to_overall(data.home_wave_responses(version, wave, home), data.settings().items, data.settings().points)


@st.cache_data(show_spinner=False, max_entries=16)
def group_options(version: str, wave: str, home: str) -> dict[str, tuple[str, str]]:
    """Label → (column, value) for every respondent group the planner can target."""
    frame = data.home_wave_responses(version, wave, home)
    options = {"全体受访者": ("", "")}
    for column in GROUP_COLUMNS:
        if column in frame.columns:
            for value in sorted(frame[column].dropna().unique()):
                options.setdefault(str(value), (column, str(value)))
    return options


def moves_from_editor(edited: pd.DataFrame, groups: dict[str, tuple[str, str]], points: dict[str, float]) -> list[Move]:
    """Complete rows of the editor as moves (incomplete rows are ignored until filled)."""
    moves = []
    for row in edited.dropna().itertuples(index=False):
        item, group, src, dst, pct = row
        if group in groups and src in points and dst in points and pct > 0:
            column, value = groups[group]
            moves.append(Move(item, src, dst, float(pct) / 100, column, value))
    return moves


def _tables(version: str, wave: str, home: str, with_trend: bool):
    table = data.wave_ranking(version, wave).table
    shift = neighbour_trend(data.scores(version), data.waves(version), wave) if with_trend else None
    return table, shift


@st.cache_data(show_spinner="正在推演…", max_entries=64)
def compare(version: str, wave: str, home: str, moves: tuple[Move, ...], with_trend: bool) -> tuple[dict, dict]:
    """Current and planned score, rank, P(rank ≤ k) of the home county."""
    cfg = data.settings()
    table, shift = _tables(version, wave, home, with_trend)
    current = evaluate(table, home, cfg.targets, cfg.draws, cfg.seed)
    home_row = planned_home_row(data.home_wave_responses(version, wave, home), list(moves), relation(version, wave, home), cfg.points)
    planned = evaluate(scenario_table(table, home, home_row, shift), home, cfg.targets, cfg.draws, cfg.seed)
    return current, planned


@st.cache_data(show_spinner=False, max_entries=16)
def compare_saved(version: str, wave: str, home: str, scenarios: tuple, with_trend: bool) -> pd.DataFrame:
    """One row per saved scenario: score, rank and probabilities after its moves."""
    cfg = data.settings()
    rows = []
    for name, moves in scenarios:
        _, planned = compare(version, wave, home, tuple(moves), with_trend)
        rows.append({"方案": name, "调整": "；".join(m.label() for m in moves), "得分": round(planned["score"], 2),
                     "名次": fmt_rank(planned["rank"]), f"保{cfg.hold}概率": fmt_pct(planned[f"p_rank_le_{cfg.hold}"]),
                     f"争{cfg.strive}概率": fmt_pct(planned[f"p_rank_le_{cfg.strive}"])})
    return pd.DataFrame(rows)


@st.cache_data(show_spinner="正在反推…", max_entries=32)
def inverse(version: str, wave: str, home: str, k: int, target_p: float) -> tuple[float, pd.DataFrame]:
    """Score rise needed for P(rank ≤ k) ≥ target_p, and each item's headroom."""
    cfg = data.settings()
    table = data.wave_ranking(version, wave).table
    needed = required_shift(table, home, k, target_p, cfg.draws, cfg.seed)
    rel = relation(version, wave, home)
    return needed, item_headroom(data.home_wave_responses(version, wave, home), cfg.items, cfg.points, rel)
