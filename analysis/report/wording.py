"""How sure the numbers are, in words a leader can repeat: rounded probabilities, their spread, changes with their test.

Rules (README “统计方法”):
- P(rank ≤ k) is read as: with the survey's sampling error, the chance that the county's true standing is within k-th
  (the flat-prior reading of N(score, SE²)); never as "in 100 repeated surveys about 81 times".
- It is said in tenths (约八成): its Monte Carlo error (√(p(1−p)/draws), 0.28 pp at 20,000 draws) is small, but the
  statistic itself moves a lot between surveys, so its 90% sampling range is given beside it.
- A rank change, a CI overlap or a planned rank is never shown without the test or the probability behind it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from analysis.formatting import fmt_pct, fmt_rank
from analysis.survey.basis import CLOSED, FORECAST, MIXED

CHINESE_TENTHS = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十")
SPREAD_LEVEL = 0.90
# An item's quadrant is called unstable when at least this share of resamples puts it elsewhere (两成以上).
UNSTABLE_QUADRANT_SHARE = 0.2


def chance_words(p: float) -> str:
    """A probability in tenths: 约八成; below 5% and above 95% said as such."""
    if p is None or not math.isfinite(p):
        return "无法计算"
    if p < 0.05:
        return "很小（不到5%）"
    if p > 0.95:
        return "很大（超过95%）"
    return f"约{CHINESE_TENTHS[int(math.floor(p * 10 + 0.5))]}成"


def monte_carlo_se(p: float, draws: int) -> float:
    """Standard error of a simulated proportion from `draws` independent draws."""
    return math.sqrt(max(p * (1.0 - p), 0.0) / draws)


def p_rank_le_quadrature(score: np.ndarray, se: np.ndarray, j: int, k: int, nodes: int = 64) -> np.ndarray:
    """P(unit j ranks ≤ k) under independent N(score, se²), exact up to quadrature; score may be (reps, units).

    P = E_x[P(fewer than k others above x)], x ~ N(score_j, se_j²): Gauss–Legendre in u = Φ((x − score_j)/se_j), split
    at every known (se 0) score so each piece is smooth; the count of others above x is a Poisson-binomial built one
    unit at a time.
    """
    score = np.atleast_2d(np.asarray(score, float))
    se = np.asarray(se, float)
    others = np.delete(np.arange(score.shape[1]), j)
    known = others[se[others] == 0]
    if se[j] > 0:
        cuts = np.sort(ndtr((score[:, known] - score[:, j, None]) / se[j]), axis=1)
        bounds = np.concatenate([np.zeros((score.shape[0], 1)), cuts, np.ones((score.shape[0], 1))], axis=1)
        t, wl = np.polynomial.legendre.leggauss(nodes)
        a, b = bounds[:, :-1, None], bounds[:, 1:, None]
        u = (a + (b - a) * (t + 1) / 2).reshape(score.shape[0], -1)
        weight = ((b - a) / 2 * wl).reshape(score.shape[0], -1)
        x = score[:, j, None] + se[j] * ndtri(np.clip(u, 1e-300, 1 - 1e-16))
    else:
        x, weight = score[:, j, None], np.ones((score.shape[0], 1))
    dist = np.zeros((*x.shape, others.size + 1))
    dist[..., 0] = 1.0
    for i in others:
        d = score[:, i, None] - x
        q = ndtr(d / se[i]) if se[i] > 0 else (d > 0).astype(float)
        q = q[..., None]
        dist[..., 1:] = dist[..., 1:] * (1 - q) + dist[..., :-1] * q
        dist[..., :1] = dist[..., :1] * (1 - q)
    return np.sum(dist[..., :k].sum(axis=-1) * weight, axis=1)


def probability_spread(score: np.ndarray, se: np.ndarray, j: int, k: int, reps: int = 2000, seed: int = 2026,
                       level: float = SPREAD_LEVEL) -> tuple[float, float]:
    """Central `level` range of P(rank ≤ k) over surveys like this one (parametric bootstrap of every county's score)."""
    score, se = np.asarray(score, float), np.asarray(se, float)
    rng = np.random.default_rng(seed)
    drawn = score + se * rng.standard_normal((reps, score.size))
    p = p_rank_le_quadrature(drawn, se, j, k)
    lo, hi = np.quantile(p, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


# What a chance takes into account, by chance method (analysis.survey.basis.Basis.method): a forecast also counts how
# much published scores move a wave.
UNCERTAINTY_WORDS = {FORECAST: "考虑到调查的抽样误差和各县区得分的期间波动"}


def probability_sentence(p: float, k: int, label: str, spread: tuple[float, float] | None = None,
                         method: str | None = None) -> str:
    """One plain-Chinese sentence for P(rank ≤ k): rounded, read as a statement about the true standing, with its range."""
    if p is None or not math.isfinite(p):
        return f"{label}概率无法计算（本县计分答案不足）。"
    if p >= 0.9:
        verdict = "把握很大"
    elif p >= 0.7:
        verdict = "把握较大，但仍有落出的可能"
    elif p >= 0.4:
        verdict = "能否做到难以预料"
    elif p >= 0.1:
        verdict = "可能性偏低，需要明显提升"
    else:
        verdict = "按目前数据很难达到"
    text = (f"{label}的把握{chance_words(p)}（{p * 100:.0f}%）：{UNCERTAINTY_WORDS.get(method, '考虑到调查的抽样误差')}，"
            f"本县真实名次在第{k}名及以内的"
            f"可能性{chance_words(p)}，{verdict}")
    if spread is not None:
        text += (f"。这个概率本身也随样本波动：换一批同样规模的受访者，它可能在 {spread[0] * 100:.0f}%–{spread[1] * 100:.0f}% 之间"
                 f"（{SPREAD_LEVEL * 100:.0f}%范围）")
    return text + "。"


def probability_note(draws: int, p: float | None = None, method: str | None = None) -> str:
    """The method note beside a probability (method: Basis.method): simulation, its Monte Carlo error, what it counts,
    independence."""
    if method == CLOSED:
        return ("只有本县有抽样误差（其他县区取市级公布得分），概率由正态分布直接算出，不是模拟；假设本县得分近似正态。"
                "百分数取整、文字按“成”表述，因为小数位没有意义。")
    mc = f"，模拟误差约 ±{monte_carlo_se(p, draws) * 100:.1f} 个百分点" if p is not None and math.isfinite(p) else ""
    counted = {FORECAST: "本县计抽样误差，其他县区取最近一期公布得分、加上期间波动",
               MIXED: "有问卷的县区计抽样误差，其他县区取同期市级公布得分（确定值）"}.get(method, "只计抽样误差")
    return (f"各县区得分按“估计值 ± 误差”的正态分布模拟 {draws:,} 次{mc}；{counted}，假设各县区相互独立。"
            "百分数取整、文字按“成”表述，因为小数位没有意义。")


def level_counties_sentence(level: list[str], published_shown: bool) -> str:
    """The sentence under the league chart: the counties the pairwise test cannot tell from home (not overlapping bars)."""
    return (("与本县的差距在抽样误差之内（经检验）：" + "、".join(level) if level else "每个县区与本县的差距都超出了抽样误差")
            + ("；空心菱形为市级公布得分。" if published_shown else "。"))


def stability_sentence(stability: pd.DataFrame, first_item: str, strive_name: str) -> str:
    """How stable 先改哪一项's order is under resampling: the first item's share of first places, and unstable quadrants."""
    top = stability.set_index("item")
    share = float(top.loc[first_item, "first_share"]) if first_item in top.index else float("nan")
    first = (f"“{first_item}”在 {fmt_pct(share, 0)} 的重抽样中仍排第一。" if math.isfinite(share)
             else f"“{first_item}”没有重抽样结果，无法判断它排第一是否稳定。")
    flips = (top.loc[top["quadrant_flip_share"] >= UNSTABLE_QUADRANT_SHARE, "quadrant_flip_share"]
             .sort_values(ascending=False, kind="stable"))
    quadrants = ("象限不稳定（两成以上重抽样落在别的象限）：" + "、".join(f"{i} {fmt_pct(v, 0)}" for i, v in flips.items()) + "。"
                 if len(flips) else "各分项的象限都较稳定。")
    return (f"排序的稳定性（对本县受访者重抽样 {int(top['reps'].iloc[0])} 次，{strive_name}得分按其抽样误差变动）："
            + first + quadrants)


def planned_rank_text(rank: int, p: float, k: int) -> str:
    """A planned rank never alone: 第4名（按估计值；进入前5名的把握约七成）."""
    return f"第{rank}名（按估计值；进入前{k}名的把握{chance_words(p)}）"


def scenario_row(name: str, labels: list[str], planned: dict, hold: int, strive: int) -> dict[str, str | float]:
    """One saved scenario for the comparison table: its moves, score, rank and the rounded 保/争 chances."""
    def chance(k: int) -> str:
        p = planned[f"p_rank_le_{k}"]
        return f"{chance_words(p)}（{p * 100:.0f}%）"
    return {"方案": name, "调整": "；".join(labels), "得分": round(planned["score"], 2),
            "名次（按估计值）": fmt_rank(planned["rank"]), f"保{hold}把握": chance(hold), f"争{strive}把握": chance(strive)}
