"""目标推演: move shares of answers up, see the new score, rank and P(保六)/P(争五); solve the inverse question.

One forward model serves the page, the brief, the inverse solver and the `plan` command:
  1. each eligible respondent (original answer FROM on ITEM, inside the group) moves with probability `share`;
     their overall points change by β_item · (points[TO] − points[FROM]) and stay on the 0–100 scale. The planned
     points are the exact expectation over these independent moves (the ceiling makes it differ from the linear sum);
  2. the home row of the wave's table is recomputed from the planned points (weighted score and SE);
  3. optionally every county, the home county included, is projected one wave ahead on its own trend, with the
     trend's sampling variance added to its SE;
  4. P(home rank ≤ k) comes from analysis.survey.ranking.home_rank_probabilities with the configured draws and seed.
The inverse solver bisects on the share through this same function, so its answer is reproducible by the forward one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis.stats.estimates import Z95, grouped_score_table
from analysis.survey.itemmodel import ItemRelation, answer_order, capped_full_gain, item_to_overall, one_step_up
from analysis.survey.ranking import home_rank_probabilities
from analysis.survey.scoring import SATISFIED, answer_points, rank_within

__all__ = ["ItemRelation", "item_to_overall"]  # re-exported: the page and the brief read the relation from here


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


def plan_text(moves: list[Move]) -> str:
    """A plan as one line: each move's description, joined by "；"."""
    return "；".join(m.label() for m in moves)


def moves_to_json(moves: list[Move]) -> str:
    """Serialised scenario for the database."""
    return json.dumps([asdict(m) for m in moves], ensure_ascii=False)


def moves_from_json(text: str) -> list[Move]:
    """A scenario read back from the database."""
    return [Move(**m) for m in json.loads(text)]


def eligible(responses: pd.DataFrame, move: Move) -> np.ndarray:
    """Respondents whose original answer and group make them eligible for the move."""
    mask = responses[move.item] == move.from_answer
    if move.group_column:
        mask &= responses[move.group_column] == move.group_value
    return mask.fillna(False).to_numpy(bool)


def moved_people(responses: pd.DataFrame, moves: list[Move]) -> float:
    """Expected number of respondents who change an answer (a respondent eligible twice on one item counts once)."""
    stay = np.ones(len(responses))
    for move in moves:
        stay *= np.where(eligible(responses, move), 1.0 - move.share, 1.0)
    return float(np.sum(1.0 - stay))


def _options(pattern: tuple[int, ...], moves: list[Move], gains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, total gains) of every outcome for a respondent eligible for the moves in `pattern`.

    Moves on different items are independent; on one item a respondent holds one answer, so the moves are tried in
    table order and the first that fires takes it (never two gains on one item). The outcomes of the items are
    combined as outer products (all combinations, as itertools.product would list them), not tuple by tuple: with a
    dozen items a pattern has thousands of combinations.
    """
    per_item: dict[str, list[tuple[float, float]]] = {}
    for m in pattern:
        per_item.setdefault(moves[m].item, []).append((moves[m].share, float(gains[m])))
    probs, totals = np.ones(1), np.zeros(1)
    for tries in per_item.values():
        outcomes, stay = [], 1.0
        for share, gain in tries:
            outcomes.append((stay * share, gain))
            stay *= 1.0 - share
        outcomes.append((stay, 0.0))
        p, g = np.array(outcomes).T
        probs, totals = np.multiply.outer(probs, p).ravel(), np.add.outer(totals, g).ravel()
    return probs, totals


def apply_moves(responses: pd.DataFrame, moves: list[Move], relation: ItemRelation, points: dict[str, float]) -> pd.DataFrame:
    """Respondent `points` after the moves: the exact expected overall points, each clipped to 0–100 before averaging."""
    overall = answer_points(responses["overall"], points).to_numpy(float)
    if not moves:
        return responses.assign(points=overall)
    gains = np.array([relation.coefficients.get(m.item, 0.0) * (points[m.to_answer] - points[m.from_answer]) for m in moves])
    flags = np.column_stack([eligible(responses, m) for m in moves])
    planned = overall.copy()
    codes = flags @ (1 << np.arange(len(moves), dtype=np.int64)) if len(moves) < 63 else None
    keys = codes if codes is not None else np.array([hash(tuple(r)) for r in flags])
    for key in np.unique(keys):
        rows = keys == key
        pattern = tuple(np.flatnonzero(flags[np.argmax(rows)]))
        if not pattern:
            continue
        probs, totals = _options(pattern, moves, gains)
        # Respondents of one pattern share the outcomes; their overall answers take a handful of values.
        levels, where = np.unique(overall[rows], return_inverse=True)
        planned[rows] = (np.clip(levels[:, None] + totals[None, :], 0.0, 100.0) @ probs)[where]
    # Respondents with an unscored overall answer stay unscored (NaN + anything is NaN).
    return responses.assign(points=planned)


def planned_home_row(responses: pd.DataFrame, moves: list[Move], relation: ItemRelation, points: dict[str, float]) -> pd.Series:
    """The home county's n, score, SE and CI after the moves."""
    moved = apply_moves(responses, moves, relation, points).assign(_one=0)
    return grouped_score_table(moved, ["_one"], value="points", weight="weight").iloc[0]


# ---- trend -------------------------------------------------------------------------------------------------------


def trend_projection(scores: pd.DataFrame, waves: list[str], wave: str, last: int = 3) -> pd.DataFrame:
    """Per county: the least-squares slope over its last few waves and the projection one wave ahead.

    The projection ŷ = y_now + b is a fixed linear combination Σ c_t y_t of the window's scores (b = Σ (t − t̄) y_t /
    Σ (t − t̄)²), and the waves are independent samples, so Var(ŷ) = Σ c_t² se_t². `extra_var` is what the projection
    adds to the current wave's own variance; counties with fewer than two waves in the window are not projected.
    """
    position = waves.index(wave)
    window = waves[max(0, position - last + 1): position + 1]
    rows = []
    for county, part in scores[scores["wave"].isin(window)].groupby("county", sort=True):
        part = part[np.isfinite(part["score"].astype(float)) & np.isfinite(part["se"].astype(float))]
        if len(part) < 2 or wave not in set(part["wave"]):
            rows.append({"county": county, "slope": 0.0, "slope_se": np.nan, "shift": 0.0, "extra_var": 0.0, "waves": len(part)})
            continue
        t = part["wave"].map(window.index).to_numpy(float)
        y, se = part["score"].to_numpy(float), part["se"].to_numpy(float)
        tc = t - t.mean()
        a = tc / np.sum(tc**2)  # slope weights
        now = (part["wave"] == wave).to_numpy(float)
        c = now + a
        rows.append({"county": county, "slope": float(a @ y), "slope_se": float(np.sqrt(np.sum(a**2 * se**2))),
                     "shift": float(a @ y), "extra_var": float(np.sum(c**2 * se**2) - np.sum(now * se**2)), "waves": len(part)})
    return pd.DataFrame(rows, columns=["county", "slope", "slope_se", "shift", "extra_var", "waves"])


def project(table: pd.DataFrame, trend: pd.DataFrame | None) -> pd.DataFrame:
    """Every county moved one wave ahead on its trend (home included), its SE widened by the projection's variance."""
    if trend is None:
        return table
    t = trend.set_index("county")
    shift = table["county"].map(t["shift"]).fillna(0.0).to_numpy(float)
    extra = table["county"].map(t["extra_var"]).fillna(0.0).to_numpy(float)
    se = np.sqrt(table["se"].to_numpy(float) ** 2 + extra)
    score = table["score"].to_numpy(float) + shift
    out = table.assign(score=score, se=se, ci_low=score - Z95 * se, ci_high=score + Z95 * se)
    return out.assign(rank=rank_within(out, by=None))


# ---- forward evaluation -----------------------------------------------------------------------------------------


def scenario_table(table: pd.DataFrame, home: str, home_row: pd.Series) -> pd.DataFrame:
    """The wave's county table with the home row replaced by the planned one (row order kept: common random numbers)."""
    planned = table.copy()
    mask = planned["county"] == home
    for column in ("score", "se", "ci_low", "ci_high"):
        planned.loc[mask, column] = float(home_row[column])
    return planned.assign(rank=rank_within(planned, by=None))


def evaluate(table: pd.DataFrame, home: str, targets: tuple[int, ...], draws: int, seed: int) -> dict:
    """Score, SE, rank and P(rank ≤ k) of the home county in a (planned, projected) table, as on the 排名 page."""
    ranked = table.assign(rank=rank_within(table, by=None))
    row = ranked.loc[ranked["county"] == home].iloc[0]
    probs = home_rank_probabilities(ranked, home, tuple(targets), draws, seed)
    return {"score": float(row["score"]), "se": float(row["se"]), "rank": int(row["rank"]),
            **{f"p_rank_le_{k}": float(probs[k]) for k in targets}}


@dataclass(frozen=True)
class Forward:
    """One forward run: what the page, the brief and the command line show."""

    current: dict   # this wave as ranked (no trend, no plan)
    baseline: dict  # with the trend when asked (else the same as current), no plan
    planned: dict   # trend (when asked) and plan
    moved_people: float

    @property
    def trend_effect(self) -> dict:
        """What the trend alone changes (baseline − current)."""
        return _diff(self.baseline, self.current)

    @property
    def plan_effect(self) -> dict:
        """What the plan alone changes on top of the baseline (planned − baseline)."""
        return _diff(self.planned, self.baseline)


def _diff(a: dict, b: dict) -> dict:
    return {k: a[k] - b[k] for k in a if k != "se"}


def forward(table: pd.DataFrame, responses: pd.DataFrame, home: str, moves: list[Move], relation: ItemRelation,
            points: dict[str, float], targets: tuple[int, ...], draws: int, seed: int,
            trend: pd.DataFrame | None = None) -> Forward:
    """Current, trend-only and planned results of the home county through the one forward model."""
    current = evaluate(table, home, targets, draws, seed)
    baseline = evaluate(project(table, trend), home, targets, draws, seed) if trend is not None else current
    planned_row = planned_home_row(responses, moves, relation, points)
    planned = evaluate(project(scenario_table(table, home, planned_row), trend), home, targets, draws, seed)
    return Forward(current, baseline, planned, moved_people(responses, moves))


# ---- inverse ----------------------------------------------------------------------------------------------------


def one_step_moves(responses: pd.DataFrame, item: str, points: dict[str, float], share: float) -> list[Move]:
    """The same share of every answer below the top on `item`, in the whole county, moved one step up."""
    counts = responses[item].value_counts()
    return [Move(item, a, up, float(share)) for a, up in one_step_up(points).items() if counts.get(a, 0) > 0]


def satisfied_rate_change(responses: pd.DataFrame, moves: list[Move], points: dict[str, float], item: str) -> float:
    """Change of the item's 满意率 (满意 + 比较满意 among scored answers, weighted), in percentage points."""
    top_two = set(SATISFIED)
    w = responses["weight"].astype("float64").fillna(1.0)
    total = float(w[answer_points(responses[item], points).notna()].sum())
    gained = sum(float(w[eligible(responses, m)].sum()) * m.share * ((m.to_answer in top_two) - (m.from_answer in top_two))
                 for m in moves if m.item == item)
    return 100.0 * gained / total if total > 0 else float("nan")


@dataclass(frozen=True)
class ItemPlan:
    """The smallest one-step-up plan on one item that reaches the target (people None when it cannot)."""

    item: str
    people: int | None          # respondents moved (this sample)
    share: float | None         # people / all the county's respondents in the wave
    share_below: float | None   # the share of each below-top answer moved (the moves' SHARE)
    n_all: int
    n_below: int
    score: float | None
    p: float | None
    satisfied_pp: float | None  # the item's 满意率 change, percentage points
    moves: tuple[Move, ...]


def solve_item(table: pd.DataFrame, responses: pd.DataFrame, home: str, item: str, relation: ItemRelation,
               points: dict[str, float], k: int, target_p: float, draws: int, seed: int,
               trend: pd.DataFrame | None = None) -> ItemPlan:
    """Fewest respondents moved one step up on `item` (same share of each answer below the top) for P(rank ≤ k) ≥ target.

    Bisection on the number of people j, each trial through `forward`'s own code path with the same seed: the answer
    j reaches the target and j − 1 does not.
    """
    top = answer_order(points)[-1]
    scored = answer_points(responses[item], points).notna()
    n_below = int((scored & (responses[item] != top)).sum())
    n_all = len(responses)

    def run(j: int) -> tuple[dict, list[Move]]:
        moves = one_step_moves(responses, item, points, j / n_below) if j else []
        row = planned_home_row(responses, moves, relation, points)
        return evaluate(project(scenario_table(table, home, row), trend), home, (k,), draws, seed), moves

    def plan(j: int | None, result: dict | None, moves: list[Move]) -> ItemPlan:
        if j is None:
            return ItemPlan(item, None, None, None, n_all, n_below, None, None, None, ())
        return ItemPlan(item, j, j / n_all, j / n_below if n_below else 0.0, n_all, n_below, result["score"],
                        result[f"p_rank_le_{k}"], satisfied_rate_change(responses, moves, points, item), tuple(moves))

    start, moves = run(0)
    if start[f"p_rank_le_{k}"] >= target_p:
        return plan(0, start, [])
    if n_below == 0 or relation.coefficients.get(item, 0.0) <= 0:
        return plan(None, None, [])
    best, best_moves = run(n_below)
    if best[f"p_rank_le_{k}"] < target_p:
        return plan(None, None, [])
    lo, hi = 0, n_below
    while hi - lo > 1:
        mid = (lo + hi) // 2
        result, mid_moves = run(mid)
        if result[f"p_rank_le_{k}"] >= target_p:
            hi, best, best_moves = mid, result, mid_moves
        else:
            lo = mid
    return plan(hi, best, best_moves)


def solve_items(table: pd.DataFrame, responses: pd.DataFrame, home: str, items: tuple[str, ...], relation: ItemRelation,
                points: dict[str, float], k: int, target_p: float, draws: int, seed: int,
                trend: pd.DataFrame | None = None) -> list[ItemPlan]:
    """solve_item for every item, the least effort first (items that cannot reach the target last)."""
    plans = [solve_item(table, responses, home, i, relation, points, k, target_p, draws, seed, trend) for i in items]
    return sorted(plans, key=lambda p: (p.people is None, p.people if p.people is not None else 0, items.index(p.item)))


def required_shift(table: pd.DataFrame, home: str, k: int, target_p: float, draws: int, seed: int,
                   trend: pd.DataFrame | None = None, max_delta: float = 30.0, step: float = 0.01) -> float:
    """Smallest rise of the home score (to `step` points, SE unchanged) that makes P(rank ≤ k) ≥ target; inf if none.

    Each trial goes through `evaluate` on the (projected) table with the same seed, like every other planner number.
    """
    mask = (table["county"] == home).to_numpy()

    def reaches(delta: float) -> bool:
        raised = table.assign(score=table["score"].to_numpy(float) + np.where(mask, delta, 0.0))
        return evaluate(project(raised, trend), home, (k,), draws, seed)[f"p_rank_le_{k}"] >= target_p

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
    """Per item: β and the overall-score gain if every respondent below the top moved one step up (ceiling applied)."""
    return pd.DataFrame([{"item": i, "beta": float(relation.coefficients.get(i, 0.0)),
                          "overall_gain_full": capped_full_gain(responses, i, float(relation.coefficients.get(i, 0.0)), points)}
                         for i in items])


def move_argument(move: Move, group_labels: dict[str, str] | None = None) -> str:
    """The `plan --move` argument that reproduces a move: ITEM:GROUP:FROM:TO:SHARE (full float precision)."""
    group = "全部" if not move.group_column else f"{(group_labels or {}).get(move.group_column, move.group_column)}={move.group_value}"
    return f"{move.item}:{group}:{move.from_answer}:{move.to_answer}:{move.share!r}"


NO_PULL = "拉动不明显"  # an item whose coefficient is zero or negative: raising it is not expected to lift the overall score
NOT_ALONE = "单靠此项不够"


def pull_text(beta: float) -> str:
    """How an item pulls the overall score, in words: 拉动不明显 for a zero or negative coefficient, else ''."""
    return NO_PULL if not beta > 0 else ""


def plan_need_text(plan: ItemPlan, beta: float, value: str) -> str:
    """A cell of the 'what it takes' table: the value, or why there is none (never a negative gain or "做不到")."""
    if plan.people is not None:
        return value
    return pull_text(beta) or NOT_ALONE


def inverse_sentence(needed: float, k: int, target_p: float, plans: list[ItemPlan]) -> str:
    """One Chinese sentence answering 'what does it take', in points and 满意率 percentage points (not people)."""
    goal = f"进入前{k}名的概率达到 {target_p * 100:.0f}%"
    if needed == 0:
        return f"按当前数据，{goal}已经做到，保持即可。"
    if not np.isfinite(needed):
        return f"即使本县得分再提高 30 分，也无法使{goal}：在现有样本量下目标不可及。"
    text = f"要使{goal}，总体得分需提高约 {needed:.2f} 分"
    best = [p for p in plans if p.people]
    if not best:
        return text + "；单靠任何一个分项都做不到（该项全部受访者上调一档也不够），需要多项同时提升。"
    first = best[0]
    return (text + f"；单靠一项，最省力的是“{first.item}”：该项满意率提高约 {first.satisfied_pp:.1f} 个百分点"
            f"（答“满意”以下的受访者中约 {first.share_below * 100:.0f}% 评价上调一档），总体得分可达 {first.score:.2f} 分。")


PLAN_GROUP_COLUMNS = ("urban_rural", "respondent_type", "child_stage", "township")
ALL_RESPONDENTS = "全体受访者"


def group_options(responses: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Label → (column, value) for every respondent group a move can target (the first column naming a value wins)."""
    options = {ALL_RESPONDENTS: ("", "")}
    for column in PLAN_GROUP_COLUMNS:
        if column in responses.columns:
            for value in sorted(responses[column].dropna().unique()):
                options.setdefault(str(value), (column, str(value)))
    return options


def moves_from_rows(rows: pd.DataFrame, groups: dict[str, tuple[str, str]], points: dict[str, float]) -> list[Move]:
    """Complete rows (item, group label, from, to, percent) as moves; incomplete or unknown rows are left out."""
    moves = []
    # Plain lists rather than dropna().itertuples(): the planner reads its editor's rows on every rerun (~0.4 ms less).
    for row in zip(*(rows[column].tolist() for column in rows.columns)):
        if any(pd.isna(value) for value in row):
            continue
        item, group, src, dst, pct = row
        if group in groups and src in points and dst in points and pct > 0:
            column, value = groups[group]
            moves.append(Move(item, src, dst, float(pct) / 100, column, value))
    return moves


def inverse_table(needed: float, plans: list[ItemPlan], coefficients: pd.Series, k: int, target_p: float) -> tuple[str, pd.DataFrame]:
    """The 反推 answer in one sentence and its per-item table, as shown and downloaded."""

    def beta(item: str) -> float:
        return float(coefficients.get(item, 0.0))

    table = pd.DataFrame({
        "分项": [p.item for p in plans],
        "系数": [round(beta(p.item), 3) for p in plans],
        "该分项满意率需提高（百分点）": [plan_need_text(p, beta(p.item), f"{p.satisfied_pp:+.1f}" if p.people is not None else "")
                              for p in plans],
        "达到后总体得分": ["—" if p.score is None else f"{p.score:.2f}" for p in plans],
        f"达到后进入前{k}名概率": ["—" if p.p is None else f"{p.p * 100:.0f}%" for p in plans],
        "需上调一档的受访者占全部受访者": [plan_need_text(p, beta(p.item), f"{p.share * 100:.1f}%" if p.share is not None else "")
                              for p in plans],
        "（分析员）本期样本中的人数": ["—" if p.people is None else f"{p.people} / {p.n_all}" for p in plans],
    })
    return inverse_sentence(needed, k, target_p, plans), table
