"""Groups (群体与乡镇): the home county by township, urban/rural, respondent type, child's stage, sex and age.

Everything is design-based on ``svydesign(ids = ~1, weights = ~weight)`` over all
respondents passed in (see analysis.weighting): group scores and SEs are R
``svyby(~score, ~group, design, svymean, na.rm = TRUE)``; a group's verdict comes
from the design-based t-test of its score against the rest of the county (R
``svyttest``), Holm-adjusted over the distinct tests on the page (in a dimension
with two groups, "A against the rest" and "B against the rest" are one test);
whether the answer mix differs between the groups of a dimension is the
Rao–Scott F test (R ``svychisq``). Raked weights (with their margins) give
calibration-aware SEs. Unweighted data is the case of all weights 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from analysis.contract import CHILD_STAGES, RESPONDENT_TYPES, URBAN_RURAL
from analysis.scoring import answer_points
from analysis.stats import Z95, grouped_score_table, holm_adjust
from analysis.weighting import design_mean, domain_means, rao_scott

GROUP_DIMENSIONS: dict[str, str] = {
    "township": "乡镇（街道）", "urban_rural": "城乡", "respondent_type": "受访者类型",
    "child_stage": "子女学段", "sex": "性别", "age_group": "年龄段",
}
MISSING_GROUP = "未填写"
ALPHA = 0.05
GROUP_TEST = "设计t检验"  # design-based t-test of the group's score against the rest of the county
GROUP_ORDER = {"urban_rural": URBAN_RURAL, "respondent_type": RESPONDENT_TYPES, "child_stage": CHILD_STAGES, "sex": ("男", "女")}


def design_weights(responses: pd.DataFrame, weights: np.ndarray | None = None) -> np.ndarray:
    """The design's weights: the given (e.g. raked) ones, else the 权重 column with blanks as 1, else all 1."""
    if weights is not None:
        return np.asarray(weights, dtype="float64")
    if "weight" in responses.columns:
        return responses["weight"].astype("float64").fillna(1.0).to_numpy()
    return np.ones(len(responses))


def group_long(responses: pd.DataFrame, dimensions: tuple[str, ...], points: dict[str, float],
               column: str = "overall", weights: np.ndarray | None = None) -> pd.DataFrame:
    """One row per respondent × dimension: dimension, group (missing → 未填写), answer, points and weight."""
    present = [d for d in dimensions if d in responses.columns]
    wide = responses[present].astype("str").assign(_answer=responses[column], _weight=design_weights(responses, weights))
    long = wide.melt(id_vars=["_answer", "_weight"], value_vars=present, var_name="dimension", value_name="group")
    return pd.DataFrame({
        "dimension": long["dimension"].astype("str"),
        "group": long["group"].fillna(MISSING_GROUP).astype("str"),
        "answer": long["_answer"],
        "points": answer_points(long["_answer"], points),
        "weight": long["_weight"],
    })


def _groups(responses: pd.DataFrame, dimension: str) -> pd.Series:
    """A dimension's group labels with missing values as 未填写 (as group_long labels them)."""
    return responses[dimension].astype("str").fillna(MISSING_GROUP)


def group_scores(responses: pd.DataFrame, dimensions: tuple[str, ...], points: dict[str, float], min_n: int,
                 column: str = "overall", weights: np.ndarray | None = None,
                 codes: tuple[np.ndarray, ...] = ()) -> pd.DataFrame:
    """Per dimension and group: n, 不了解 share, score and SE (R svyby), 95% CI, n_eff, Kish deff, gap to the county,
    the design-based test against the rest of the county (diff, se_diff, t, p) and the small-sample flag.

    `weights` (aligned with the rows) replace the 权重 column, e.g. raked weights;
    `codes` are the raking margins' category codes, for calibration-aware SEs.
    """
    columns = ["dimension", "group", "n", "score", "se", "ci_low", "ci_high", "n_eff", "deff", "n_excluded",
               "unknown_share", "county_score", "county_se", "gap_county", "diff_rest", "se_diff", "t", "p", "small", "note"]
    long = group_long(responses, dimensions, points, column, weights)
    if long.empty:
        return pd.DataFrame(columns=columns)
    table = grouped_score_table(long, ["dimension", "group"], value="points", weight="weight")
    w = design_weights(responses, weights)
    y = answer_points(responses[column], points).to_numpy(dtype="float64", na_value=np.nan)
    county, county_se = design_mean(y, w, codes)
    # Scores and SEs over the whole design (a group is a domain: the design's n, not the group's, as in R svyby).
    present = [d for d in dimensions if d in responses.columns]
    design = pd.concat([domain_means(y, w, _groups(responses, d), codes).assign(dimension=d) for d in present],
                       ignore_index=True) if present else pd.DataFrame(columns=["dimension", "group"])
    table = table.drop(columns=["score", "se", "ci_low", "ci_high"]).merge(
        design.drop(columns=["n"]).rename(columns={"mean": "score", "diff": "diff_rest"}), on=["dimension", "group"], how="left")
    answered = table["n"] + table["n_excluded"]
    small = table["n"] < min_n
    return table.assign(
        ci_low=table["score"] - Z95 * table["se"],
        ci_high=table["score"] + Z95 * table["se"],
        deff=table["n"] / table["n_eff"],
        unknown_share=(table["n_excluded"] / answered.where(answered > 0)).astype("float64"),
        county_score=county,
        county_se=county_se,
        gap_county=table["score"] - county,
        small=small,
        note=pd.array(np.where(small, f"样本不足{min_n}份，仅供参考，不作检验", ""), dtype="str"),
    )[columns]


def distinct_tests(table: pd.DataFrame, testable: np.ndarray) -> np.ndarray:
    """One test id per row: in a dimension with exactly two answering groups, both tested, the two rows share one id."""
    answering = table["n"].to_numpy() > 0
    ids = np.array([f"{d}\x1f{g}" for d, g in zip(table["dimension"], table["group"])], dtype=object)
    frame = pd.DataFrame({"dimension": table["dimension"].to_numpy(), "answering": answering, "testable": testable})
    per_dim = frame.groupby("dimension")[["answering", "testable"]].sum()
    paired = per_dim.index[(per_dim["answering"] == 2) & (per_dim["testable"] == 2)]
    shared = table["dimension"].isin(paired).to_numpy() & testable
    ids[shared] = table["dimension"].to_numpy()[shared]
    return ids


def group_table(responses: pd.DataFrame, dimensions: tuple[str, ...], points: dict[str, float], min_n: int,
                previous: pd.DataFrame | None = None, column: str = "overall", weights: np.ndarray | None = None,
                codes: tuple[np.ndarray, ...] = ()) -> pd.DataFrame:
    """Scores per group with change since the previous wave and Holm-adjusted design-based tests against the rest."""
    scores = group_scores(responses, dimensions, points, min_n, column, weights, codes)
    p = scores["p"].to_numpy(dtype="float64", na_value=np.nan)
    testable = ~scores["small"].to_numpy(dtype=bool) & np.isfinite(p)
    p = np.where(testable, p, np.nan)
    ids = distinct_tests(scores, testable)
    # Holm over distinct tests: a two-group dimension's single test is counted once and its adjusted p shared.
    unique = pd.Series(p, index=ids).dropna().groupby(level=0).first()
    adjusted = pd.Series(holm_adjust(unique.to_numpy()), index=unique.index)
    p_holm = pd.Series(ids).map(adjusted).to_numpy(dtype="float64", na_value=np.nan)
    diff = scores["diff_rest"].to_numpy(dtype="float64", na_value=np.nan)
    verdict = np.select([np.isnan(p_holm), (p_holm < ALPHA) & (diff < 0), (p_holm < ALPHA) & (diff > 0)],
                        ["未检验", "显著偏低", "显著偏高"], default="差异不显著")
    table = scores.assign(
        test=pd.array(np.where(np.isnan(p_holm), "未检验", GROUP_TEST), dtype="str"),
        p=p, p_holm=p_holm, verdict=pd.array(verdict, dtype="str"))
    table = with_change(table, previous)
    return order_groups(table)


def dimension_tests(responses: pd.DataFrame, dimensions: tuple[str, ...], points: dict[str, float], min_n: int,
                    column: str = "overall", weights: np.ndarray | None = None,
                    codes: tuple[np.ndarray, ...] = ()) -> pd.DataFrame:
    """Per dimension: Rao–Scott tests (R svychisq, F and first order) of group × scored answer, Holm over dimensions.

    Groups below `min_n` and 未填写 take no part (their respondents stay in the
    design, as missing values do in R); dimensions with fewer than two such
    groups are not tested.
    """
    w = design_weights(responses, weights)
    answers = responses[column].where(responses[column].isin(list(points)))
    rows = []
    for d in (d for d in dimensions if d in responses.columns):
        groups = _groups(responses, d)
        answered = groups[answers.notna()]
        big = answered.value_counts()
        keep = set(big.index[(big >= min_n) & (big.index != MISSING_GROUP)])
        labels = groups.where(groups.isin(keep))
        test = rao_scott(labels, answers, w, codes)
        rows.append({"dimension": d, "groups": len(keep), "f": test.f, "df1": test.df1, "df2": test.df2, "p": test.p,
                     "chisq": test.chisq, "df": test.df, "p_first": test.p_first, "mean_deff": test.mean_deff})
    out = pd.DataFrame(rows, columns=["dimension", "groups", "f", "df1", "df2", "p", "chisq", "df", "p_first", "mean_deff"])
    p_holm = holm_adjust(out["p"]) if len(out) else np.array([])
    verdict = np.select([np.isnan(p_holm), p_holm < ALPHA], ["未检验", "答案分布差异显著"], default="差异不显著") if len(out) else []
    return out.assign(p_holm=p_holm, verdict=pd.array(verdict, dtype="str"))


def with_change(table: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Add the previous wave's score, the change, its SE (waves are independent samples) and its two-sided p."""
    if previous is None or previous.empty:
        return table.assign(score_prev=np.nan, score_change=np.nan, se_change=np.nan, p_change=np.nan)
    keep = ["dimension", "group", "score"] + (["se"] if "se" in previous.columns else [])
    prev = previous[keep].rename(columns={"score": "score_prev", "se": "se_prev"})
    merged = table.merge(prev, on=["dimension", "group"], how="left")
    change = merged["score"] - merged["score_prev"]
    if "se_prev" in merged.columns and "se" in merged.columns:
        se_change = np.sqrt(merged["se"].astype("float64") ** 2 + merged["se_prev"].astype("float64") ** 2)
        merged = merged.drop(columns=["se_prev"])
    else:
        se_change = pd.Series(np.nan, index=merged.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_change = 2.0 * ndtr(-np.abs(change / se_change))
    return merged.assign(score_change=change, se_change=se_change, p_change=p_change)


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
