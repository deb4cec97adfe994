"""The scoring rule: answers → points → survey-weighted county score per wave → rank."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats.estimates import Z95, grouped_score_table

LINEAR_POINTS = {"满意": 100.0, "比较满意": 75.0, "一般": 50.0, "不太满意": 25.0, "不满意": 0.0}
SATISFIED = ("满意", "比较满意")  # 满意率 = the weighted share of these among scored answers, everywhere it is shown
SATISFIED_RATE_POINTS = {a: (100.0 if a in SATISFIED else 0.0) for a in LINEAR_POINTS}


def satisfied_step(points: dict[str, float]) -> float:
    """Points one respondent gains moving 一般 → 满意: the unit behind '约合满意率 x 个百分点' and '约 n 人'."""
    return points.get("满意", 100.0) - points.get("一般", 60.0)
SCORE_COLUMNS = ["wave", "county", "n", "n_excluded", "score", "se", "ci_low", "ci_high", "n_eff", "rank"]


def answer_points(answers: pd.Series, points: dict[str, float]) -> pd.Series:
    """Points per answer; excluded, empty or unknown answers are NaN (not scored)."""
    return answers.map(points).astype("float64")


def with_points(responses: pd.DataFrame, points: dict[str, float], column: str = "overall") -> pd.DataFrame:
    """Responses with a `points` column scored from one answer column."""
    return responses.assign(points=answer_points(responses[column], points))


def rank_within(table: pd.DataFrame, value: str = "score", by: str | None = "wave") -> pd.Series:
    """Rank 1 = highest value; ties share the better rank."""
    grouped = table.groupby(by)[value] if by else table[value]
    return grouped.rank(method="min", ascending=False).astype("Int64")


def county_scores(responses: pd.DataFrame, points: dict[str, float], column: str = "overall") -> pd.DataFrame:
    """Per wave and county: n, n_excluded, score, se, 95% CI, Kish n_eff and rank."""
    if responses.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    table = grouped_score_table(with_points(responses, points, column), ["wave", "county"], value="points", weight="weight")
    table = table.assign(rank=rank_within(table))
    return table[SCORE_COLUMNS].sort_values(["wave", "rank", "county"]).reset_index(drop=True)


def scores_from_counts(counts: pd.DataFrame, points: dict[str, float], keys: list[str], column: str) -> pd.DataFrame:
    """Per group of `keys`: n, n_excluded, weighted score, SE, 95% CI, n_eff and Σ weight, from per-answer sums.

    Points are constant within an answer, so Σw·y and Σw²(y − ȳ)² follow exactly from the per-answer counts and
    weight sums (n, w_sum, w2_sum); the database aggregates millions of rows into a few hundred.
    """
    y = answer_points(counts[column], points)
    scored = counts.assign(y=y, scored=y.notna())
    part = scored[scored["scored"]].assign(wy=lambda f: f["w_sum"] * f["y"])
    sums = part.groupby(keys).agg(n=("n", "sum"), w=("w_sum", "sum"), w2=("w2_sum", "sum"), wy=("wy", "sum"))
    part = part.join(sums["wy"].div(sums["w"]).rename("ybar"), on=keys)
    spread = part.assign(s=part["w2_sum"] * (part["y"] - part["ybar"]) ** 2).groupby(keys)["s"].sum()
    excluded = scored[~scored["scored"]].groupby(keys)["n"].sum()
    table = sums.assign(score=sums["wy"] / sums["w"], spread=spread,
                        n_excluded=excluded.reindex(sums.index).fillna(0).astype(int))
    se = np.sqrt(table["n"] / (table["n"] - 1) * table["spread"]) / table["w"]
    table = table.assign(se=se.where(table["n"] > 1), n_eff=table["w"] ** 2 / table["w2"]).reset_index()
    return table.assign(ci_low=table["score"] - Z95 * table["se"], ci_high=table["score"] + Z95 * table["se"],
                        n=table["n"].astype(int), weight_total=table["w"])


def county_scores_from_counts(counts: pd.DataFrame, points: dict[str, float], column: str = "overall") -> pd.DataFrame:
    """The same table as county_scores, from per-wave, per-county answer counts and weight sums."""
    if counts.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    table = scores_from_counts(counts, points, ["wave", "county"], column)
    table = table.assign(rank=rank_within(table))
    return table[SCORE_COLUMNS].sort_values(["wave", "rank", "county"]).reset_index(drop=True)


def robustness_table(responses: pd.DataFrame, points: dict[str, float], scorer=None) -> pd.DataFrame:
    """Ranks of one wave's counties under the configured points, linear 100/75/50/25/0 and 满意率.

    `scorer` is county_scores for respondent rows (default) or county_scores_from_counts for answer counts.
    """
    scorer = scorer or county_scores
    rules = {"configured": points, "linear": LINEAR_POINTS, "satisfied_rate": SATISFIED_RATE_POINTS}
    columns = {}
    for key, rule in rules.items():
        table = scorer(responses, rule).set_index("county")
        columns[f"score_{key}"] = table["score"]
        columns[f"rank_{key}"] = table["rank"]
    out = pd.DataFrame(columns).reset_index()
    spread = out[[f"rank_{k}" for k in rules]].astype("float64")
    return out.assign(rank_spread=(spread.max(axis=1) - spread.min(axis=1)).astype(int)).sort_values("rank_configured").reset_index(drop=True)


def item_points_frame(responses: pd.DataFrame, items: tuple[str, ...], points: dict[str, float]) -> pd.DataFrame:
    """Respondent-level points for the overall answer and every item (NaN where not scored)."""
    scored = {c: answer_points(responses[c], points) for c in ("overall", *items) if c in responses.columns}
    return pd.DataFrame(scored, index=responses.index)

