"""目标推演: move shares of answers up, see the new score, rank and P(保六)/P(争五); solve the inverse question."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis import ranks
from analysis.scoring import answer_points, rank_within
from analysis.stats import grouped_score_table

@dataclass(frozen=True)
class Move:
    """A share of one group's answers to one item moved from one category to another (e.g. 农村 课后服务 一般→满意 10%)."""

    item: str
    from_answer: str
    to_answer: str
    share: float
    group_column: str = ""
    group_value: str = ""

    def label(self) -> str:
        """Chinese description of the move."""
        group = self.group_value if self.group_column else "全体受访者"
        return f"{group} 的 {self.item} {self.from_answer}→{self.to_answer} {self.share * 100:.0f}%"


def moves_to_json(moves: list[Move]) -> str:
    """Serialised scenario for the database."""
    return json.dumps([asdict(m) for m in moves], ensure_ascii=False)


def moves_from_json(text: str) -> list[Move]:
    """A scenario read back from the database."""
    return [Move(**m) for m in json.loads(text)]


@dataclass(frozen=True)
class ItemRelation:
    """Weighted least squares of overall points on item points: overall ≈ intercept + Σ β_i · item_i."""

    coefficients: pd.Series
    intercept: float
    r2: float
    n: int


def item_to_overall(responses: pd.DataFrame, items: tuple[str, ...], points: dict[str, float]) -> ItemRelation:
    """The item-to-overall relation estimated from respondents who scored the overall question and every item."""
    y = answer_points(responses["overall"], points)
    x = pd.DataFrame({i: answer_points(responses[i], points) for i in items}, index=responses.index)
    # Unscored items are filled with the item mean so respondents with one 不了解 still count.
    x = x.fillna(x.mean())
    keep = y.notna() & x.notna().all(axis=1)
    w = responses.loc[keep, "weight"].to_numpy(float)
    design = np.column_stack([np.ones(keep.sum()), x[keep].to_numpy(float)])
    sw = np.sqrt(w)[:, None]
    beta, *_ = np.linalg.lstsq(design * sw, y[keep].to_numpy(float) * sw[:, 0], rcond=None)
    fitted = design @ beta
    yk = y[keep].to_numpy(float)
    ybar = np.average(yk, weights=w)
    r2 = 1 - np.sum(w * (yk - fitted) ** 2) / np.sum(w * (yk - ybar) ** 2)
    return ItemRelation(pd.Series(beta[1:], index=list(items)), float(beta[0]), float(r2), int(keep.sum()))


def apply_moves(responses: pd.DataFrame, moves: list[Move], relation: ItemRelation, points: dict[str, float]) -> pd.DataFrame:
    """Respondent `points` after the moves, in expectation: each eligible respondent moves with probability `share`."""
    overall = answer_points(responses["overall"], points)
    shift = pd.Series(0.0, index=responses.index)
    for move in moves:
        eligible = responses[move.item] == move.from_answer
        if move.group_column:
            eligible &= responses[move.group_column] == move.group_value
        gain = points[move.to_answer] - points[move.from_answer]
        shift += eligible.fillna(False).astype(float) * move.share * gain * relation.coefficients.get(move.item, 0.0)
    # Points stay on the 0–100 scale; respondents with an unscored overall answer stay unscored.
    return responses.assign(points=(overall + shift).clip(0, 100))


def planned_home_row(responses: pd.DataFrame, moves: list[Move], relation: ItemRelation, points: dict[str, float]) -> pd.Series:
    """The home county's n, score, SE and CI after the moves."""
    moved = apply_moves(responses, moves, relation, points)
    return grouped_score_table(moved, ["county"], value="points", weight="weight").iloc[0]


def neighbour_trend(scores: pd.DataFrame, waves: list[str], wave: str, last: int = 3) -> pd.Series:
    """Each county's score change per wave over its last few waves (least-squares slope), 0 with one wave."""
    position = waves.index(wave)
    window = waves[max(0, position - last + 1): position + 1]
    part = scores[scores["wave"].isin(window)].assign(t=lambda f: f["wave"].map(window.index).astype(float))
    if len(window) < 2:
        return pd.Series(0.0, index=part["county"].unique())
    centred = part.assign(tc=part["t"] - part.groupby("county")["t"].transform("mean"),
                          sc=part["score"] - part.groupby("county")["score"].transform("mean"))
    sums = centred.assign(xy=centred["tc"] * centred["sc"], xx=centred["tc"] ** 2).groupby("county")[["xy", "xx"]].sum()
    return (sums["xy"] / sums["xx"]).fillna(0.0)


def scenario_table(table: pd.DataFrame, home: str, home_row: pd.Series, others_shift: pd.Series | None = None) -> pd.DataFrame:
    """The wave's county table with the home row replaced by the planned one (and others moved by their trend)."""
    planned = table.copy()
    mask = planned["county"] == home
    for column in ("score", "se", "ci_low", "ci_high"):
        planned.loc[mask, column] = float(home_row[column])
    if others_shift is not None:
        shift = planned["county"].map(others_shift).fillna(0.0).where(~mask, 0.0)
        planned = planned.assign(score=planned["score"] + shift, ci_low=planned["ci_low"] + shift, ci_high=planned["ci_high"] + shift)
    return planned.assign(rank=rank_within(planned, by=None)).sort_values(["rank", "county"]).reset_index(drop=True)


def evaluate(table: pd.DataFrame, home: str, targets: tuple[int, ...], draws: int, seed: int) -> dict:
    """Score, rank and P(rank ≤ k) of the home county in a (planned) table, from the same functions as the 排名 page."""
    probs = ranks.place_probabilities(table["score"].to_numpy(float), table["se"].to_numpy(float), draws=draws, seed=seed)
    j = int(np.flatnonzero(table["county"].to_numpy() == home)[0])
    row = table.iloc[j]
    return {"score": float(row["score"]), "rank": int(row["rank"]),
            **{f"p_rank_le_{k}": float(ranks.p_rank_le(probs, k)[j]) for k in targets}}


def p_rank_le_after_shift(table: pd.DataFrame, home: str, k: int, deltas: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """P(home rank ≤ k) if the home score rose by each delta (common random numbers, so it rises with delta)."""
    others = table[table["county"] != home]
    home_row = table[table["county"] == home].iloc[0]
    rng = np.random.default_rng(seed)
    other_draws = rng.normal(others["score"].to_numpy(float), others["se"].to_numpy(float), size=(draws, len(others)))
    home_noise = rng.normal(0.0, float(home_row["se"]), size=draws)
    home_draws = float(home_row["score"]) + np.asarray(deltas, float)[:, None] + home_noise[None, :]
    better = (other_draws[None, :, :] > home_draws[:, :, None]).sum(axis=2)
    return (better < k).mean(axis=1)


def required_shift(table: pd.DataFrame, home: str, k: int, target_p: float, draws: int, seed: int,
                   max_delta: float = 30.0, step: float = 0.01) -> float:
    """Smallest score rise (to `step` points) that makes P(rank ≤ k) ≥ target_p; inf when max_delta is not enough.

    Common random numbers make the probability non-decreasing in the rise, so bisection finds the first one.
    """
    def reaches(delta: float) -> bool:
        return bool(p_rank_le_after_shift(table, home, k, np.array([delta]), draws, seed)[0] >= target_p)

    if reaches(0.0):
        return 0.0
    if not reaches(max_delta):
        return float("inf")
    lo, hi = 0, int(round(max_delta / step))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if reaches(mid * step) else (mid, hi)
    return round(hi * step, 10)


def item_headroom(responses: pd.DataFrame, items: tuple[str, ...], points: dict[str, float], relation: ItemRelation) -> pd.DataFrame:
    """Per item: the overall-score gain if every respondent below 满意 moved up one category (share 100%)."""
    order = sorted(points, key=points.get)
    next_up = {a: order[i + 1] for i, a in enumerate(order[:-1])}
    weights = responses["weight"].to_numpy(float)
    overall_scored = answer_points(responses["overall"], points).notna().to_numpy()
    total = weights[overall_scored].sum()
    rows = []
    for item in items:
        current = answer_points(responses[item], points)
        up = responses[item].map(next_up).map(points)
        gain = (up - current).fillna(0.0).to_numpy(float)
        item_gain = float((weights * gain)[overall_scored].sum() / total)
        rows.append({"item": item, "beta": float(relation.coefficients[item]), "item_gain_full": item_gain,
                     "overall_gain_full": float(relation.coefficients[item]) * item_gain})
    return pd.DataFrame(rows)


def cheapest_plan(headroom: pd.DataFrame, needed: float) -> pd.DataFrame:
    """Shares per item (0–1, one category up) reaching `needed` points with the least total share moved.

    This is a fractional knapsack, so filling the items in order of gain per share moved is the exact optimum.
    """
    plan = headroom[headroom["overall_gain_full"] > 0].sort_values("overall_gain_full", ascending=False)
    remaining, shares = needed, []
    for gain in plan["overall_gain_full"]:
        share = min(1.0, max(remaining, 0.0) / gain)
        shares.append(share)
        remaining -= share * gain
    return plan.assign(share=shares).loc[lambda f: f["share"] > 0].reset_index(drop=True)


def single_item_shares(headroom: pd.DataFrame, needed: float) -> pd.DataFrame:
    """For each item alone: the share moving one category up that reaches `needed` points (NaN if it cannot)."""
    share = needed / headroom["overall_gain_full"].where(headroom["overall_gain_full"] > 0)
    return headroom.assign(share=share.where(share <= 1.0)).sort_values("share", na_position="last").reset_index(drop=True)


def inverse_sentence(needed: float, k: int, target_p: float, single: pd.DataFrame, combo: pd.DataFrame) -> str:
    """One Chinese sentence answering 'what does it take'."""
    if needed == 0:
        return f"按当前数据，进入前{k}名的概率已不低于 {target_p * 100:.0f}%，保持即可。"
    if not np.isfinite(needed):
        return f"即使本县得分再提高 30 分，进入前{k}名的概率也达不到 {target_p * 100:.0f}%：在现有样本量下目标不可及。"
    best = single.dropna(subset=["share"]).head(1)
    reachable = combo["overall_gain_full"].mul(combo["share"]).sum() >= needed - 1e-9 if len(combo) else False
    if not reachable:
        return (f"要使进入前{k}名的概率达到 {target_p * 100:.0f}%，总体得分需提高 {needed:.2f} 分，"
                "即使所有分项的受访者都上调一档也不够：在现有样本量下目标不可及。")
    text = f"要使进入前{k}名的概率达到 {target_p * 100:.0f}%，总体得分需提高约 {needed:.2f} 分"
    if len(best):
        text += f"；单靠一项，最省力的是“{best['item'].iloc[0]}”：{best['share'].iloc[0] * 100:.0f}% 的受访者评价上调一档"
    parts = "、".join(f"{r.item} {r.share * 100:.0f}%" for r in combo.itertuples())
    return text + f"；按重要性组合的最小方案：{parts}（各项受访者上调一档的比例）。"
