"""Groups (群体与乡镇): the home county by township, urban/rural, respondent type, child's stage, sex and age.

Scores are survey-weighted like the county score. The test of a group against
the rest of the county compares the distribution of the scored answers
(unweighted counts) in three categories — the best answer, the second best, and
the rest pooled (一般及以下), so the thin 不满意 cells do not void the
approximation: chi-square on the 2 × 3 table, or, when expected counts are still
small, Fisher's exact test on the two best answers against the rest. The
p-values are Holm-adjusted across every tested group on the page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.contract import CHILD_STAGES, RESPONDENT_TYPES, URBAN_RURAL
from analysis.scoring import answer_points
from analysis.stats import grouped_score_table, holm_adjust

GROUP_DIMENSIONS: dict[str, str] = {
    "township": "乡镇（街道）", "urban_rural": "城乡", "respondent_type": "受访者类型",
    "child_stage": "子女学段", "sex": "性别", "age_group": "年龄段",
}
MISSING_GROUP = "未填写"
LOW_CATEGORY = "一般及以下"
ALPHA = 0.05
# Cochran's rule for the chi-square approximation: no expected count below 1 and at most 20% below 5.
MIN_EXPECTED, SMALL_EXPECTED, SMALL_SHARE = 1.0, 5.0, 0.2
GROUP_ORDER = {"urban_rural": URBAN_RURAL, "respondent_type": RESPONDENT_TYPES, "child_stage": CHILD_STAGES, "sex": ("男", "女")}


def group_long(responses: pd.DataFrame, dimensions: tuple[str, ...], points: dict[str, float],
               column: str = "overall") -> pd.DataFrame:
    """One row per respondent × dimension: dimension, group (missing → 未填写), answer, points and weight."""
    present = [d for d in dimensions if d in responses.columns]
    weight = responses["weight"].astype("float64").fillna(1.0) if "weight" in responses.columns else 1.0
    wide = responses[present].astype("str").assign(_answer=responses[column], _weight=weight)
    long = wide.melt(id_vars=["_answer", "_weight"], value_vars=present, var_name="dimension", value_name="group")
    return pd.DataFrame({
        "dimension": long["dimension"].astype("str"),
        "group": long["group"].fillna(MISSING_GROUP).astype("str"),
        "answer": long["_answer"],
        "points": answer_points(long["_answer"], points),
        "weight": long["_weight"],
    })


def group_scores(responses: pd.DataFrame, dimensions: tuple[str, ...], points: dict[str, float], min_n: int,
                 column: str = "overall") -> pd.DataFrame:
    """Per dimension and group: n, 不了解 share, weighted score, SE, 95% CI, gap to the county, small-sample flag."""
    long = group_long(responses, dimensions, points, column)
    if long.empty:
        return pd.DataFrame(columns=["dimension", "group", "n", "score", "se", "ci_low", "ci_high", "n_eff", "n_excluded",
                                     "unknown_share", "county_score", "gap_county", "small", "note"])
    table = grouped_score_table(long, ["dimension", "group"], value="points", weight="weight")
    scored = long.loc[long["points"].notna()]
    county = float(np.average(scored["points"], weights=scored["weight"])) if len(scored) and scored["weight"].sum() > 0 else np.nan
    # Every respondent appears once per dimension, so the county score is the same whichever dimension sums it.
    answered = table["n"] + table["n_excluded"]
    small = table["n"] < min_n
    return table.assign(
        unknown_share=(table["n_excluded"] / answered.where(answered > 0)).astype("float64"),
        county_score=county,
        gap_county=table["score"] - county,
        small=small,
        note=pd.array(np.where(small, f"样本不足{min_n}份，仅供参考，不作检验", ""), dtype="str"),
    )


def answer_categories(points: dict[str, float]) -> dict[str, str]:
    """Scored answer → test category: the two best answers keep their label, the others pool as 一般及以下."""
    ordered = sorted(points, key=points.get, reverse=True)
    return {answer: (answer if k < 2 else LOW_CATEGORY) for k, answer in enumerate(ordered)}


def answer_counts(responses: pd.DataFrame, dimensions: tuple[str, ...], points: dict[str, float],
                  column: str = "overall") -> pd.DataFrame:
    """Counts per dimension and group of each test category (best answer, second best, 一般及以下)."""
    categories = answer_categories(points)
    long = group_long(responses, dimensions, points, column)
    long = long.assign(category=long["answer"].map(categories)).dropna(subset=["category"])
    counts = pd.crosstab([long["dimension"], long["group"]], long["category"])
    return counts.reindex(columns=list(dict.fromkeys(categories.values())), fill_value=0)


def group_vs_rest_tests(counts: pd.DataFrame, totals: pd.Series, testable: pd.Series) -> pd.DataFrame:
    """Chi-square (or Fisher for small tables) of each group's answers against the rest of the county.

    `counts` is groups × answer categories with the two best first, `totals` the
    county's count per category, and `testable` marks groups to test (others get
    NaN: too small, or no rest of the county to compare with).
    """
    g = counts.to_numpy(dtype="float64")
    t = totals.reindex(counts.columns).fillna(0).to_numpy(dtype="float64")
    keep = t > 0  # answers nobody gave carry no information and would divide by zero
    g, t = g[:, keep], t[keep]
    rest = t[None, :] - g
    n_g, n_r, n = g.sum(axis=1), rest.sum(axis=1), t.sum()
    ok = testable.reindex(counts.index).fillna(False).to_numpy(dtype=bool) & (n_g > 0) & (n_r > 0) & (keep.sum() >= 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        exp_g = n_g[:, None] * t[None, :] / n
        exp_r = n_r[:, None] * t[None, :] / n
        stat = (((g - exp_g) ** 2 / exp_g).sum(axis=1) + ((rest - exp_r) ** 2 / exp_r).sum(axis=1))
    expected = np.concatenate([exp_g, exp_r], axis=1)
    small = (expected < MIN_EXPECTED).any(axis=1) | ((expected < SMALL_EXPECTED).mean(axis=1) > SMALL_SHARE)
    dof = int(keep.sum()) - 1
    p_chi = sps.chi2.sf(stat, dof) if dof > 0 else np.full(len(g), np.nan)

    satisfied = np.arange(len(counts.columns))[keep] < 2
    sat_g, sat_r = g[:, satisfied].sum(axis=1), rest[:, satisfied].sum(axis=1)
    use_fisher = ok & small
    # Only the few small tables reach Fisher; the loop is over groups, not respondents.
    p_fisher = np.full(len(g), np.nan)
    for i in np.flatnonzero(use_fisher):
        table = [[sat_g[i], n_g[i] - sat_g[i]], [sat_r[i], n_r[i] - sat_r[i]]]
        p_fisher[i] = sps.fisher_exact(np.asarray(table, dtype=np.int64)).pvalue
    p = np.where(ok, np.where(small, p_fisher, p_chi), np.nan)
    test = np.select([~ok, small], ["未检验", "Fisher精确检验"], default="卡方检验")
    return pd.DataFrame({
        "test": pd.array(test, dtype="str"),
        "statistic": np.where(ok & ~small, stat, np.nan),
        "dof": np.where(ok & ~small, dof, np.nan),
        "p": p,
    }, index=counts.index)


def group_table(responses: pd.DataFrame, dimensions: tuple[str, ...], points: dict[str, float], min_n: int,
                previous: pd.DataFrame | None = None, column: str = "overall") -> pd.DataFrame:
    """Scores per group with change since the previous wave and Holm-adjusted tests against the rest of the county."""
    scores = group_scores(responses, dimensions, points, min_n, column)
    counts = answer_counts(responses, dimensions, points, column)
    totals = responses[column].map(answer_categories(points)).value_counts().reindex(counts.columns, fill_value=0)
    keys = pd.MultiIndex.from_frame(scores[["dimension", "group"]])
    testable = pd.Series(~scores["small"].to_numpy(dtype=bool), index=keys)
    tests = group_vs_rest_tests(counts.reindex(keys, fill_value=0), totals, testable).reset_index(drop=True)
    p_holm = holm_adjust(tests["p"])
    gap = scores["gap_county"].to_numpy(dtype="float64", na_value=np.nan)
    verdict = np.select([np.isnan(p_holm), (p_holm < ALPHA) & (gap < 0), (p_holm < ALPHA) & (gap > 0)],
                        ["未检验", "显著偏低", "显著偏高"], default="差异不显著")
    table = pd.concat([scores.reset_index(drop=True), tests], axis=1).assign(
        p_holm=p_holm, verdict=pd.array(verdict, dtype="str"))
    table = with_change(table, previous)
    return order_groups(table)


def with_change(table: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Add the previous wave's score and the change (NaN when the group was not there)."""
    if previous is None or previous.empty:
        return table.assign(score_prev=np.nan, score_change=np.nan)
    prev = previous[["dimension", "group", "score"]].rename(columns={"score": "score_prev"})
    merged = table.merge(prev, on=["dimension", "group"], how="left")
    return merged.assign(score_change=merged["score"] - merged["score_prev"])


def order_groups(table: pd.DataFrame) -> pd.DataFrame:
    """Dimensions in the page's order; townships by score (best first); other groups in their natural order."""
    dim_order = {d: k for k, d in enumerate(GROUP_DIMENSIONS)}
    natural = {(d, g): k for d, groups in GROUP_ORDER.items() for k, g in enumerate(groups)}
    keys = pd.Series(list(zip(table["dimension"], table["group"])), index=table.index)
    rank_in_dim = keys.map(natural).astype("float64")
    by_score = -table["score"].astype("float64")
    sort_key = np.where(table["dimension"] == "township", by_score, rank_in_dim.fillna(len(natural)))
    ordered = table.assign(_d=table["dimension"].map(dim_order).fillna(len(dim_order)), _k=sort_key, _g=table["group"])
    return ordered.sort_values(["_d", "_k", "_g"]).drop(columns=["_d", "_k", "_g"]).reset_index(drop=True)
