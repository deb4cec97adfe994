"""Groups (群体与乡镇): the home county by township, urban/rural, respondent type, child's stage, sex and age.

Everything is design-based on ``svydesign(ids = ~1, weights = ~weight)`` over all
respondents passed in (see analysis.stats.weighting): group scores and SEs are R
``svyby(~score, ~group, design, svymean, na.rm = TRUE)``; a group's verdict comes
from the design-based t-test of its score against the rest of the county (R
``svyttest``), Holm-adjusted over the distinct tests on the page (in a dimension
with two groups, "A against the rest" and "B against the rest" are one test);
whether the answer mix differs between the groups of a dimension is the
Rao–Scott F test (R ``svychisq``). Raked weights (with their margins) give
calibration-aware SEs. Unweighted data is the case of all weights 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data.contract import CHILD_STAGES, RESPONDENT_TYPES, RESPONSE_COLUMNS, URBAN_RURAL
from analysis.stats.estimates import (ALPHA, DEFF_NOTE, Z95, change_p, design_effect, grouped_score_table, holm_adjust,
                                      kish_n_eff)
from analysis.stats.weighting import RakeResult, RakingSettings, design_mean, domain_means, rake, rao_scott
from analysis.survey.scoring import answer_points

GROUP_DIMENSIONS: dict[str, str] = {
    "township": "乡镇（街道）", "urban_rural": "城乡", "respondent_type": "受访者类型",
    "child_stage": "子女学段", "sex": "性别", "age_group": "年龄段",
}
MISSING_GROUP = "未填写"
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
    return merged.assign(score_change=change, se_change=se_change, p_change=change_p(change, se_change))


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


def in_townships(frame: pd.DataFrame, townships: tuple[str, ...]) -> pd.DataFrame:
    """Rows of the chosen townships (all rows when none is chosen)."""
    if not townships or "township" not in frame.columns:
        return frame
    return frame[frame["township"].isin(townships)].reset_index(drop=True)


def raked_design(frame: pd.DataFrame, margins: dict[str, dict[str, float]], cfg: RakingSettings
                 ) -> tuple[np.ndarray | None, RakeResult | None, str | None]:
    """Raked weights of one wave of one county to its margins (keyed by Chinese header); the error when raking fails."""
    if not margins:
        return None, None, None
    names = {c.header: c.name for c in RESPONSE_COLUMNS}
    try:
        result = rake(frame, {names.get(k, k): v for k, v in margins.items()}, frame.get("weight"),
                      max_iter=cfg.max_iter, tol=cfg.tolerance, trim_ratio=cfg.trim_ratio)
    except ValueError as exc:
        return None, None, str(exc)
    return result.weights, result, None


@dataclass(frozen=True)
class GroupView:
    """群体与乡镇 for one wave: per-group table, per-dimension Rao–Scott tests, and the raking report when raked."""

    table: pd.DataFrame
    dimensions: pd.DataFrame
    raking: RakeResult | None  # None: the file's weights were used as they are
    raking_error: str | None  # why raking was switched on but not applied
    margins: tuple[str, ...]  # Chinese headers of the raking margins
    n: int  # respondents in the design (the scope)
    n_eff: float  # Kish effective sample size of the design's weights

    @property
    def deff(self) -> float:
        """Kish design effect n / n_eff of the weights (1 for equal weights; NaN without respondents)."""
        return design_effect(self.n, self.n_eff)

    @property
    def weights_widen(self) -> bool:
        """Whether the weights cost enough precision for the page to say so (design effect above DEFF_NOTE)."""
        return bool(self.deff > DEFF_NOTE)


def group_view(responses: pd.DataFrame, wave: str, before: str | None, townships: tuple[str, ...],
               points: dict[str, float], min_n: int, column: str,
               margins: dict[str, dict[str, float]], raking: RakingSettings | None, raking_error: str | None = None
               ) -> GroupView:
    """Design-based group scores of one county's wave, tests against the rest, Rao–Scott per dimension, change since
    `before`.

    Raking is done on the whole county's wave (the margins are the county's); with a township filter the chosen
    townships keep their raked weights and the calibration is applied to them alone (an approximation the page states).
    `raking_error` (a wrong [raking] table) switches raking off and is reported.
    """
    dims = tuple(GROUP_DIMENSIONS)

    def scoped(wave_name: str) -> tuple[pd.DataFrame, np.ndarray | None, tuple[np.ndarray, ...], RakeResult | None,
                                        str | None]:
        rows = responses[responses["wave"] == wave_name].reset_index(drop=True)
        weights, result, error = ((None, None, raking_error) if raking_error is not None or raking is None
                                  else raked_design(rows, margins, raking))
        keep = (rows["township"].isin(townships).to_numpy() if townships and "township" in rows.columns
                else np.ones(len(rows), bool))
        codes = tuple(c[keep] for c in result.codes) if result is not None else ()
        return rows[keep].reset_index(drop=True), (weights[keep] if weights is not None else None), codes, result, error

    current, weights, codes, result, error = scoped(wave)
    previous = None
    if before is not None:
        prev_rows, prev_w, prev_codes, _, _ = scoped(before)
        previous = group_scores(prev_rows, dims, points, min_n, column, prev_w, prev_codes)
    table = group_table(current, dims, points, min_n, previous, column, weights, codes)
    tests = dimension_tests(current, dims, points, min_n, column, weights, codes)
    w = weights if weights is not None else design_weights(current)
    headers = {c.name: c.header for c in RESPONSE_COLUMNS}
    names = tuple(headers.get(m, m) for m in result.margins) if result is not None else ()
    return GroupView(table, tests, result, error, names, len(current), kish_n_eff(w) if len(w) else float("nan"))


@dataclass(frozen=True)
class GroupSummary:
    """What the 群体与乡镇 page says about one group view before its tables: counts, extremes and the flagged groups."""

    answered: bool          # anyone in scope answered the measure
    county_score: float
    tested: int             # groups that were tested, and those significantly lower than the rest
    low: int
    has_townships: bool
    lowest_town: dict | None   # among townships with enough answers
    highest_town: dict | None
    flagged: list[str]      # 维度·群体 significantly lower / higher than the rest (townships aside)
    high: list[str]
    mixed_dimensions: list[str]  # dimensions whose answer mix differs (Rao–Scott)


def group_summary(view: GroupView) -> GroupSummary:
    """The 群体与乡镇 page's headline numbers and its sentences' inputs for one group view."""
    table = view.table
    answered = not table.empty and int(table.loc[table["dimension"] == table["dimension"].iloc[0], "n"].sum()) > 0
    towns = table[table["dimension"] == "township"]
    big = towns[~towns["small"].astype(bool)].sort_values("score")
    others = table[table["dimension"] != "township"]

    def labels(rows: pd.DataFrame) -> list[str]:
        return [f"{GROUP_DIMENSIONS[d]}·{g}" for d, g in zip(rows["dimension"], rows["group"])]

    mix = view.dimensions[view.dimensions["verdict"] == "答案分布差异显著"] if len(view.dimensions) else view.dimensions
    return GroupSummary(
        answered=answered, county_score=float(table["county_score"].iloc[0]) if answered else float("nan"),
        tested=int((table["test"] != "未检验").sum()), low=int((table["verdict"] == "显著偏低").sum()),
        has_townships=not towns.empty, lowest_town=big.iloc[0].to_dict() if len(big) else None,
        highest_town=big.iloc[-1].to_dict() if len(big) else None,
        flagged=labels(others[others["verdict"] == "显著偏低"]), high=labels(others[others["verdict"] == "显著偏高"]),
        mixed_dimensions=[GROUP_DIMENSIONS[d] for d in mix["dimension"]] if len(mix) else [])
