"""The director's first screen: one plain conclusion, the city's official rank first, neighbours named, what to do.

Leadership text follows three rules: the official (published) rank comes before the survey estimate; chances are
said in tenths (约八成); gaps are in points and in 满意率 percentage points, never as respondents to convert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analysis.report.wording import chance_words
from analysis.stats.estimates import ALPHA, Z95, change_p
from analysis.survey.ranking import home_margin, kth_other
from analysis.survey.scoring import satisfied_step


def chance_short(p: float) -> str:
    """The chance for a small card: 约八成, 很大, 很小."""
    return chance_words(p).split("（")[0]


@dataclass(frozen=True)
class Neighbour:
    """The county holding the k-th place among the others, and the home's margin over it (negative: behind)."""

    k: int
    county: str
    margin: float


@dataclass(frozen=True)
class Headline:
    """Every line of the first screen, already worded."""

    official: str | None
    estimate: str
    why_differ: str | None
    conclusion: str
    chances: str
    gaps: list[str]
    action: str | None
    change: str | None


def neighbour(table: pd.DataFrame, home: str, k: int) -> Neighbour | None:
    """The county at the k-th highest score among the others and the home's margin over it."""
    other = kth_other(table, home, k)
    return None if other is None else Neighbour(k, other["county"], home_margin(table, home, k))


def rate_points(margin: float, points: dict[str, float]) -> float:
    """A score gap in 满意率 percentage points: the share of respondents moving 一般 → 满意 that closes it."""
    step = satisfied_step(points)
    return abs(margin) / step * 100 if step > 0 else float("nan")


def gap_line(n: Neighbour, points: dict[str, float]) -> str:
    """'距第5名北塘区差 0.14 分（约合满意率提高 0.4 个百分点）' or '领先第7名白河县 0.99 分（…）'.

    Behind: the neighbour holds the k-th place. Ahead: the home holds a place within k, so the neighbour is (k+1)-th.
    """
    pp = rate_points(n.margin, points)
    if n.margin < 0:
        return f"距第{n.k}名{n.county}差 {abs(n.margin):.2f} 分（约合满意率提高 {pp:.1f} 个百分点）"
    if n.margin == 0:
        return f"与{n.county}同分，并列第{n.k}名"
    return f"领先第{n.k + 1}名{n.county} {n.margin:.2f} 分（约合满意率 {pp:.1f} 个百分点）"


def rank_change_words(moved) -> str:
    """A rank change in words: 上升 2 位 / 下降 1 位 / 持平 (— when there is no earlier wave)."""
    if moved is None or pd.isna(moved):
        return "—"
    moved = int(moved)
    return "持平" if moved == 0 else f"{'上升' if moved > 0 else '下降'} {abs(moved)} 位"


def change_words(previous_rank: int | None, rank: int, diff: float, se_diff: float) -> str | None:
    """较上期: '上升 2 位' / '下降 1 位' / '与上期持平', with whether the score change is beyond sampling error."""
    if previous_rank is None:
        return None
    if previous_rank == rank:
        moved = "名次与上期持平"
    else:
        moved = f"名次较上期{'上升' if previous_rank > rank else '下降'} {abs(previous_rank - rank)} 位"
    p = change_p(diff, se_diff)
    if not math.isfinite(p):
        return moved
    sure = "超出抽样误差，是真实变化" if p < ALPHA else "在抽样误差之内，不能说明真有变化"
    return f"{moved}；得分{'上升' if diff > 0 else '下降'} {abs(diff):.2f} 分，{sure}"


def director_headline(table: pd.DataFrame, home: str, hold: int, strive: int, points: dict[str, float], *,
                      official_rank: int | None, official_score: float | None, previous: dict | None,
                      fix_item: str | None) -> Headline:
    """The first screen of 总览 for one wave, from the ranked table (every county) and the home's context."""
    row = table.loc[table["county"] == home].iloc[0]
    rank = int(row["rank"])
    p_hold, p_strive = row.get(f"p_rank_le_{hold}"), row.get(f"p_rank_le_{strive}")
    estimate = f"本局调查推算：第{rank}名（{row['score']:.2f} 分）"
    official = None if official_rank is None else f"市级通报：第{official_rank}名（{official_score:.2f} 分）"
    why = None
    if official_rank is not None and official_rank != rank:
        why = "两者样本不同：市级测评另行抽样，本局调查有约 ±{:.1f} 分的抽样误差，名次相差一两位属正常。".format(
            Z95 * float(row["se"]) if pd.notna(row["se"]) else 0.0)
    standing = official_rank if official_rank is not None else rank
    if standing <= strive:
        state = f"目前处在争{strive}线内"
    elif standing <= hold:
        state = f"目前保住第{hold}、离第{strive}还差一步"
    else:
        state = f"目前在保{hold}线外，须加力追赶"
    chances = f"保{hold}把握{chance_words(p_hold)}，冲{strive}把握{chance_words(p_strive)}"
    conclusion = f"{state}；{chances}。" + (f"首先要抓的是“{fix_item}”。" if fix_item else "")
    gaps = [gap_line(n, points) for k in dict.fromkeys((strive, hold)) if (n := neighbour(table, home, k)) is not None]
    change = None
    if previous:
        se_diff = math.sqrt(float(row["se"]) ** 2 + float(previous["se"]) ** 2) if pd.notna(row["se"]) else float("nan")
        change = change_words(previous["rank"], rank, float(row["score"]) - float(previous["score"]), se_diff)
    return Headline(official, estimate, why, conclusion, chances, gaps, f"先改：{fix_item}" if fix_item else None, change)
