"""A margin to the k-th county in respondents: a cushion rounded down, a deficit rounded up, with the weights' range.

One respondent of weight w moving 一般 ↔ 满意 moves the weighted score by w·(100 − 60)/Σw; at the average weight that
is step/n. Ties share the better rank, so a cushion of m points survives ⌊m/δ⌋ drops (the next one loses the place)
and a deficit of m needs ⌈m/δ⌉ gains (reaching a tie is enough). Weights differ, so the number also depends on who
changes: the range uses the 10th–90th percentile weights (heavier respondents move the score more).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.survey.scoring import satisfied_step

WEIGHT_QUANTILES = (0.10, 0.90)


@dataclass(frozen=True)
class MarginPeople:
    """Respondents a margin is worth: at the average weight, and over the middle 80% of weights."""

    cushion: bool      # True: the home county is inside the target (a cushion); False: a deficit
    average: int
    fewest: int        # if the respondents who change carry heavy weights
    most: int          # if they carry light weights


def _count(x: float, cushion: bool) -> int:
    # A hair of tolerance so that 10.000000000001 (float noise) is still 10 drops, and 3.0 gains stay 3.
    return int(math.floor(x + 1e-9)) if cushion else max(1, int(math.ceil(x - 1e-9)))


def margin_people(margin: float, weights: np.ndarray, points: dict[str, float]) -> MarginPeople | None:
    """How many respondents changing 一般 ↔ 满意 the margin is worth; None when it cannot be said."""
    w = np.asarray(weights, dtype=float)
    w = w[np.isfinite(w) & (w > 0)]
    step = satisfied_step(points)
    if not math.isfinite(margin) or step <= 0 or w.size == 0:
        return None
    cushion = margin >= 0
    total = w.sum()
    per = lambda weight: abs(margin) * total / (weight * step)  # noqa: E731  respondents of this weight
    light, heavy = np.quantile(w, WEIGHT_QUANTILES)
    return MarginPeople(cushion, _count(per(total / w.size), cushion), _count(per(heavy), cushion), _count(per(light), cushion))


def margin_sentence(margin: float, k: int, weights: np.ndarray, points: dict[str, float]) -> str:
    """A leader's reading of a margin, e.g. 距第5名差 0.40 分，需约 5 名受访者（按权重 4–7 名）由“一般”转为“满意”."""
    if not math.isfinite(margin):
        return f"县区不足 {k} 个，目标第{k}名必然达成"
    people = margin_people(margin, weights, points)
    if people is None:
        return f"距第{k}名 {margin:+.2f} 分"
    spread = "" if people.fewest == people.most else f"（视受访者权重为 {people.fewest}–{people.most} 名）"
    if people.cushion:
        return (f"高出第{k}名以外的最高分 {margin:.2f} 分：约 {people.average} 名受访者{spread}由“满意”降为“一般”仍可保住，"
                f"再多一名就会失去第{k}名")
    return f"距第{k}名差 {abs(margin):.2f} 分，需约 {people.average} 名受访者{spread}由“一般”转为“满意”"
