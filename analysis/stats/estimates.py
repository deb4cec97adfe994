"""Survey-weighted scores, funnel-plot limits and multiple comparisons.

Pure numpy/scipy/pandas so the dashboard pages stay thin and every number
here can be unit-tested without Streamlit.

Variance conventions follow R ``survey`` for a single-stage design with
probability weights and no strata/clusters (``svydesign(ids=~1, weights=~w)``):
the with-replacement linearisation estimator, i.e. no finite-population
correction.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.special import ndtr

Z95 = 1.959964
Z998 = 3.090232
MIN_FUNNEL_UNITS = 3  # fewer units give no over-dispersion estimate and no sensible funnel
DEFF_NOTE = 1.2  # a design effect above this (20% more variance than equal weights) is worth a sentence on the page
ALPHA = 0.05  # the level every test on the pages is judged at (显著 / 不显著), after Holm where several are made


def _as_float(a: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Coerce any array-like (including pandas nullable arrays) to float64."""
    if isinstance(a, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        return np.asarray(a.to_numpy(dtype="float64", na_value=np.nan), dtype=float)
    return np.asarray(a, dtype=float)


def _scored(y, w) -> tuple[np.ndarray, np.ndarray]:
    """Keep respondents with a scored answer; weights default to ones."""
    y = _as_float(y).ravel()
    w = np.ones_like(y) if w is None else _as_float(w).ravel()
    if w.shape != y.shape:
        raise ValueError(f"y and w differ in length: {y.shape[0]} vs {w.shape[0]}")
    keep = ~np.isnan(y)
    y, w = y[keep], w[keep]
    if np.isnan(w).any():
        raise ValueError("weights are missing for some scored respondents")
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    return y, w


def weighted_mean_se(y: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """Weighted mean and its with-replacement linearised SE (R svymean, ids=~1)."""
    y, w = _scored(y, w)
    n, total = y.size, w.sum()
    if n == 0 or total <= 0:
        return float("nan"), float("nan")
    mean = float(np.dot(w, y) / total)
    if n < 2:
        return mean, float("nan")
    # Centre before squaring: 0–100 points and weights ~1e4 lose digits otherwise.
    ss = np.sum((w * (y - mean)) ** 2)
    return mean, float(np.sqrt(n / (n - 1) * ss) / total)


def kish_n_eff(w: np.ndarray) -> float:
    """Kish effective sample size (Σw)² / Σw²."""
    w = _as_float(w).ravel()
    w = w[~np.isnan(w)]
    sw2 = np.sum(w**2)
    return float(np.sum(w) ** 2 / sw2) if sw2 > 0 else float("nan")


def kish_deff(y: np.ndarray, w: np.ndarray) -> float:
    """Kish weighting design effect n / n_eff over respondents with a scored answer.

    ``y`` only selects the scored respondents; the Kish deff does not depend on
    the answers. This is the definition that reproduces the published 1.020795724
    for the toy fixture. R survey's ``svymean(deff=TRUE)`` (design variance over
    the SRS variance (1 - n/N) s²/n with N = Σw) gives 1.020959 there instead,
    so it is not what the dashboard reports.
    """
    y, w = _scored(y, w)
    return float(y.size / kish_n_eff(w)) if y.size else float("nan")


def grouped_score_table(
    df: pd.DataFrame,
    by: list[str],
    value: str = "points",
    weight: str | None = "weight",
) -> pd.DataFrame:
    """Per-group weighted score, SE, 95% CI, n, n_eff and count of unscored rows."""
    y = _as_float(df[value])
    scored = ~np.isnan(y)
    w = np.ones_like(y) if weight is None else _as_float(df[weight])
    if np.isnan(w[scored]).any():
        raise ValueError(f"column {weight!r} is missing for some scored rows")
    # Zeroing unscored rows keeps them in the groupby, so all-"不了解" groups
    # still appear (n=0, score NaN) instead of silently vanishing.
    w = np.where(scored, w, 0.0)
    y0 = np.where(scored, y, 0.0)

    keys = df[by].reset_index(drop=True)
    parts = keys.assign(_n=scored.astype(np.int64), _x=(~scored).astype(np.int64), _w=w, _wy=w * y0)
    grouped = parts.groupby(by, sort=True, dropna=False, observed=True)
    sums = grouped[["_w", "_wy"]].transform("sum")

    with np.errstate(invalid="ignore", divide="ignore"):
        group_mean = (sums["_wy"] / sums["_w"]).to_numpy()
    # Two-pass (centred) sum of squares: the expanded Σw²y² − 2ȳΣw²y + ȳ²Σw²
    # cancels catastrophically when the spread is small relative to the mean.
    resid = np.where(scored, y0 - np.nan_to_num(group_mean), 0.0)
    parts = parts.assign(_w2=w**2, _w2r2=(w * resid) ** 2)
    agg = (
        parts.groupby(by, sort=True, dropna=False, observed=True)[["_n", "_x", "_w", "_wy", "_w2", "_w2r2"]]
        .sum()
        .reset_index()
    )

    n = agg["_n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        score = agg["_wy"].to_numpy() / agg["_w"].to_numpy()
        se = np.where(n >= 2, np.sqrt(n / (n - 1) * agg["_w2r2"].to_numpy()) / agg["_w"].to_numpy(), np.nan)
        n_eff = agg["_w"].to_numpy() ** 2 / agg["_w2"].to_numpy()
    return agg[by].assign(
        n=n.astype(np.int64),
        score=score,
        se=se,
        ci_low=score - Z95 * se,
        ci_high=score + Z95 * se,
        n_eff=n_eff,
        n_excluded=agg["_x"].to_numpy().astype(np.int64),
    )


def _finite_pairs(score, se) -> tuple[np.ndarray, np.ndarray]:
    """Units usable for funnel statistics: finite score and a positive SE."""
    score, se = _as_float(score).ravel(), _as_float(se).ravel()
    keep = np.isfinite(score) & np.isfinite(se) & (se > 0)
    return score[keep], se[keep]


def funnel_target(score: np.ndarray) -> float:
    """City mean used as funnel target: the plain mean of unit scores."""
    # Plain mean, not 1/se²-weighted: every county counts once, as the
    # dashboard's "全市平均" label promises, and big counties don't set the bar.
    return float(np.nanmean(_as_float(score)))


def overdispersion_tau2(score: np.ndarray, se: np.ndarray, target: float) -> float:
    """Additive between-unit variance τ² (Spiegelhalter 2005, 10% winsorised z)."""
    y, s = _finite_pairs(score, se)
    k = y.size
    if k < 2:
        return 0.0
    z = (y - target) / s
    # Winsorising stops one or two extreme units from inflating τ² for all.
    lo, hi = np.percentile(z, [10, 90])
    phi = np.mean(np.clip(z, lo, hi) ** 2)
    if k * phi <= k - 1:
        return 0.0
    w = 1.0 / s**2
    return float((k * phi - (k - 1)) / (w.sum() - np.sum(w**2) / w.sum()))


def funnel_limits(
    score: np.ndarray,
    se: np.ndarray,
    target: float | None = None,
    z: tuple[float, float] = (Z95, Z998),
    tau2: float | None = None,
) -> pd.DataFrame:
    """Per-unit funnel limits target ± z·√(se² + τ²) plus each unit's z-score.

    ``target`` defaults to :func:`funnel_target`; ``tau2`` defaults to
    :func:`overdispersion_tau2` (pass 0.0 for plain binomial-style limits).
    Columns lo95/hi95 use ``z[0]`` and lo998/hi998 use ``z[1]``.
    """
    score_a, se_a = _as_float(score).ravel(), _as_float(se).ravel()
    target = funnel_target(score_a) if target is None else float(target)
    tau2 = overdispersion_tau2(score_a, se_a, target) if tau2 is None else float(tau2)
    spread = np.sqrt(se_a**2 + tau2)
    with np.errstate(invalid="ignore", divide="ignore"):
        z_score = (score_a - target) / spread
    return pd.DataFrame(
        {
            "score": score_a,
            "se": se_a,
            "target": target,
            "tau2": tau2,
            "z": z_score,
            "lo95": target - z[0] * spread,
            "hi95": target + z[0] * spread,
            "lo998": target - z[1] * spread,
            "hi998": target + z[1] * spread,
            # Beyond the inner (95%) limits on either side: differs from the target more than chance allows.
            "outside95": (score_a > target + z[0] * spread) | (score_a < target - z[0] * spread),
        },
        index=score.index if isinstance(score, pd.Series) else None,
    )


def funnel_curves(
    target: float,
    tau2: float,
    se_grid: np.ndarray,
    z: tuple[float, float] = (Z95, Z998),
) -> pd.DataFrame:
    """Funnel limit curves over a grid of SEs, for drawing against precision 1/se."""
    se = _as_float(se_grid).ravel()
    spread = np.sqrt(se**2 + tau2)
    with np.errstate(divide="ignore"):
        precision = 1.0 / se
    return pd.DataFrame(
        {
            "se": se,
            "precision": precision,
            "lo95": target - z[0] * spread,
            "hi95": target + z[0] * spread,
            "lo998": target - z[1] * spread,
            "hi998": target + z[1] * spread,
        }
    )


def holm_adjust(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (as R p.adjust 'holm'; NaN left as NaN)."""
    p = _as_float(p)
    out = np.full(p.shape, np.nan)
    flat = p.ravel()
    ok = ~np.isnan(flat)
    # Like R, missing p-values do not count towards the number of tests m.
    q = flat[ok]
    m = q.size
    order = np.argsort(q, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    res = out.ravel()
    res[ok] = adjusted
    return res.reshape(p.shape)


def pairwise_vs_home(
    table: pd.DataFrame,
    home: str,
    county_col: str = "county",
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Home county minus each other county: z-test, Holm-adjusted p and a Chinese verdict.

    Counties are treated as independent samples, so se_diff = √(se_h² + se_k²).
    Rows with a missing SE get p = NaN and verdict <NA> (not testable).
    """
    is_home = (table[county_col] == home).to_numpy(dtype=bool, na_value=False)
    if is_home.sum() != 1:
        raise ValueError(f"home {home!r} must appear exactly once in {county_col!r}, found {is_home.sum()}")
    h_score = float(_as_float(table["score"])[is_home][0])
    h_se = float(_as_float(table["se"])[is_home][0])

    others = table.loc[~is_home, [county_col, "score", "se"]].reset_index(drop=True)
    diff = h_score - _as_float(others["score"])
    se_diff = np.sqrt(h_se**2 + _as_float(others["se"]) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = diff / se_diff
    p = change_p(diff, se_diff)  # no sampling error at all (both SE 0): untestable, not p = 0
    p_holm = holm_adjust(p)
    verdict = np.select(
        [np.isnan(p_holm), (p_holm < alpha) & (diff > 0), (p_holm < alpha) & (diff < 0)],
        [None, "显著领先", "显著落后"],
        default="差异不显著",
    )
    return others.assign(
        difference=diff,
        se_diff=se_diff,
        z=z,
        p=p,
        p_holm=p_holm,
        verdict=pd.array(verdict, dtype="str"),
    )


def rake_weights(
    df: pd.DataFrame,
    margins: dict[str, dict[str, float]],
    base_weight: str | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> pd.Series:
    """Raked (iterative proportional fitting) weights matching population margins.

    Starts from ``base_weight`` (equal weights when None; any constant gives the
    same result, which is how R ``survey::rake`` on ``weights=~1`` behaves) and
    stops once every margin is met to relative error ``tol``.
    """
    totals = np.array([sum(m.values()) for m in margins.values()], dtype=float)
    if totals.size and not np.allclose(totals, totals[0], rtol=1e-9, atol=0):
        raise ValueError(f"margin totals disagree, raking cannot converge: {totals.tolist()}")

    if max_iter < 1:
        raise ValueError("max_iter must be at least 1")
    w = np.ones(len(df)) if base_weight is None else _as_float(df[base_weight]).copy()
    if not margins:
        return pd.Series(w, index=df.index, name="weight")
    # One raking implementation (analysis.stats.weighting); imported here so pages that only need means skip scipy.stats.
    from analysis.stats.weighting import rake

    total = float(totals[0])
    result = rake(df, {var: {k: v / total for k, v in target.items()} for var, target in margins.items()},
                  w, total=total, max_iter=max_iter, tol=tol)
    if not result.converged:
        warnings.warn(f"raking did not converge in {max_iter} sweeps (max margin error {result.max_error:.3g})",
                      RuntimeWarning, stacklevel=2)
    return pd.Series(result.weights, index=df.index, name="weight")


def spearman(x, y) -> dict[str, float]:
    """Spearman's ρ with its two-sided p (t approximation on n − 2 df) over complete pairs; NaN below 3 pairs or with
    no spread in either variable, where ρ is undefined or meaningless."""
    pairs = pd.DataFrame({"x": _as_float(pd.Series(x)), "y": _as_float(pd.Series(y))}).dropna()
    n = len(pairs)
    if n < 3 or pairs["x"].nunique() < 2 or pairs["y"].nunique() < 2:
        return {"rho": float("nan"), "p": float("nan"), "n": n}
    result = sps.spearmanr(pairs["x"], pairs["y"])
    return {"rho": float(result.statistic), "p": float(result.pvalue), "n": n}


def change_p(diff, se_diff):
    """Two-sided p of a change between two independent estimates (z = diff / se_diff); NaN where the SE is missing or
    not positive. Scalars give a float, arrays an array: one test for 总览, 群体与乡镇 and 整改前后."""
    diff, se = np.asarray(diff, dtype=float), np.asarray(se_diff, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(np.isfinite(diff) & np.isfinite(se) & (se > 0), 2.0 * ndtr(-np.abs(diff / se)), np.nan)
    return float(p) if p.ndim == 0 else p


def design_effect(n: float, n_eff: float) -> float:
    """Kish design effect n / n_eff of a set of weights (1 for equal weights; NaN without an effective sample)."""
    return n / n_eff if n_eff > 0 else float("nan")
