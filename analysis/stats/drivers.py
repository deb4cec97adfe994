"""Key-driver analysis: which satisfaction items move the overall score.

Both importance measures work from a correlation matrix whose last row/column
is the outcome, so they are scale-free and can use weighted or pairwise
correlations alike. Relative weights (Johnson 2000) are the dashboard's
measure; the exact LMG/Shapley split is kept as a cross-check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import comb

# Below this the predictor correlation matrix is treated as singular.
_EIG_FLOOR = 1e-10


def _split_corr(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predictor block R_xx and predictor–outcome vector r_xy of a full correlation matrix."""
    corr = np.asarray(corr, dtype=float)
    if corr.ndim != 2 or corr.shape[0] != corr.shape[1] or corr.shape[0] < 2:
        raise ValueError(f"need a square correlation matrix with ≥2 variables, got shape {corr.shape}")
    if not np.isfinite(corr).all():
        raise ValueError("correlation matrix has missing or infinite entries")
    return corr[:-1, :-1], corr[:-1, -1]


def relative_weights(corr: np.ndarray) -> tuple[np.ndarray, float]:
    """Johnson's relative weights ε (one per predictor) and the model R²."""
    rxx, rxy = _split_corr(corr)
    vals, vecs = np.linalg.eigh(rxx)
    if vals.min() <= _EIG_FLOOR * max(vals.max(), 1.0):
        raise ValueError("predictor correlation matrix is singular or not positive definite")
    # Λ = R_xx^{1/2} is the correlation of each predictor with its orthogonal
    # counterpart; β* regresses the outcome on those orthogonal counterparts.
    lam = (vecs * np.sqrt(vals)) @ vecs.T
    beta = np.linalg.solve(lam, rxy)
    eps = (lam**2) @ beta**2
    return eps, float(eps.sum())


def subset_r2(corr: np.ndarray) -> np.ndarray:
    """R² of the outcome on every predictor subset, indexed by bitmask (bit j = predictor j)."""
    rxx, rxy = _split_corr(corr)
    p = rxy.size
    masks = np.arange(2**p)
    inside = ((masks[:, None] >> np.arange(p)) & 1).astype(bool)
    # Embed each sub-block in a p×p system with identity rows for absent
    # predictors, so one batched solve covers all 2^p regressions.
    both = inside[:, :, None] & inside[:, None, :]
    systems = np.where(both, rxx, 0.0) + np.where(~inside, 1.0, 0.0)[:, :, None] * np.eye(p)
    rhs = np.where(inside, rxy, 0.0)
    coef = np.linalg.solve(systems, rhs[..., None])[..., 0]
    return np.einsum("sp,sp->s", rhs, coef)


def shapley_lmg(corr: np.ndarray) -> np.ndarray:
    """LMG / Shapley share of R² for each predictor (exact, over all 2^p subsets)."""
    r2 = subset_r2(corr)
    p = int(np.log2(r2.size))
    masks = np.arange(r2.size)
    bits = 1 << np.arange(p)
    inside = (masks[:, None] & bits) > 0
    size = inside.sum(axis=1)
    # Shapley weight |S|!(p−|S|−1)!/p! for adding j to a subset S without j;
    # the full set (|S| = p) never lacks j, so clip it out of the comb's domain.
    weight = 1.0 / (p * comb(p - 1, np.minimum(size, p - 1)))
    gain = r2[masks[:, None] | bits] - r2[:, None]
    return np.sum(np.where(inside, 0.0, weight[:, None] * gain), axis=0)


def weighted_corr(values: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Weighted Pearson correlations on pairwise-complete rows (NaN = missing).

    On complete data this is the ordinary (listwise) weighted correlation; with
    gaps each pair uses only the rows where both are present, like pandas
    ``DataFrame.corr()``.
    """
    x = np.asarray(values, dtype=float)
    w = np.ones(x.shape[0]) if w is None else np.asarray(w, dtype=float)
    present = ~np.isnan(x)
    # Centre first: raw moments of 0–100 points lose precision in the subtraction.
    centre = np.nansum(w[:, None] * x, axis=0) / np.sum(w[:, None] * present, axis=0)
    xc = np.where(present, x - centre, 0.0)
    m = present.astype(float)
    wm = w[:, None] * m
    with np.errstate(invalid="ignore", divide="ignore"):
        sw = wm.T @ m
        s1 = (w[:, None] * xc).T @ m  # s1[a, b] = Σ w x_a over rows where a and b exist
        s2 = (w[:, None] * xc**2).T @ m
        sxy = (w[:, None] * xc).T @ xc
        mean_a = s1 / sw
        cov = sxy / sw - mean_a * mean_a.T
        var_a = s2 / sw - mean_a**2
        corr = cov / np.sqrt(var_a * var_a.T)
    np.fill_diagonal(corr, np.where(np.diag(var_a) > 0, 1.0, np.nan))
    return np.clip(corr, -1.0, 1.0)


def weighted_cov(values: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Weighted covariances on pairwise-complete rows (NaN = missing), Σw-normalised, with each pair's own means.

    cov[a, b] = Σ_S w (x_a − x̄_a,S)(x_b − x̄_b,S) / Σ_S w over the rows S where both a and b are present;
    the diagonal is each column's variance over its own rows. Complete data give the ordinary weighted covariance.
    """
    x = np.asarray(values, dtype=float)
    w = np.ones(x.shape[0]) if w is None else np.asarray(w, dtype=float)
    present = ~np.isnan(x)
    # Centre first: raw moments of 0–100 points lose precision in the subtraction.
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.nansum(w[:, None] * x, axis=0) / np.sum(w[:, None] * present, axis=0)
    xc = np.where(present, x - np.nan_to_num(centre), 0.0)
    m = present.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sw = (w[:, None] * m).T @ m
        s1 = (w[:, None] * xc).T @ m  # s1[a, b] = Σ w x_a over rows where a and b exist
        sxy = (w[:, None] * xc).T @ xc
        return sxy / sw - (s1 / sw) * (s1 / sw).T


def nearest_positive_definite_cov(cov: np.ndarray) -> np.ndarray:
    """A pairwise covariance matrix nudged to positive definite on the correlation scale (unchanged when it already is)."""
    d = np.sqrt(np.diag(cov))
    corr = _nearest_positive_definite_corr(cov / np.outer(d, d))
    return corr * np.outer(d, d)


def cov_to_corr(cov: np.ndarray) -> np.ndarray:
    """Correlation matrix of a covariance matrix."""
    d = np.sqrt(np.diag(cov))
    return np.clip(cov / np.outer(d, d), -1.0, 1.0)


def importance_from_cov(cov: np.ndarray, items: list[str]) -> pd.DataFrame:
    """Relative-weight importance (one row per item) from a covariance matrix whose last row/column is the outcome."""
    corr = cov_to_corr(nearest_positive_definite_cov(cov))
    eps, r2 = relative_weights(corr)
    return pd.DataFrame({"item": pd.array(items, dtype="str"), "corr": corr[:-1, -1], "raw_weight": eps,
                         "rescaled": eps / r2, "r2": r2})


def _nearest_positive_definite_corr(corr: np.ndarray) -> np.ndarray:
    """Clip eigenvalues up to a small floor and restore the unit diagonal."""
    vals, vecs = np.linalg.eigh(corr)
    if vals.min() > 1e-8:
        return corr
    fixed = (vecs * np.maximum(vals, 1e-8)) @ vecs.T
    d = np.sqrt(np.diag(fixed))
    return fixed / np.outer(d, d)


def item_importance(
    df: pd.DataFrame,
    items: list[str],
    outcome: str,
    weight: str | None = None,
    min_listwise_share: float = 0.5,
) -> pd.DataFrame:
    """Relative-weight importance of each item for the outcome, one row per item.

    Correlations are listwise (rows with every item and the outcome scored)
    unless that keeps fewer than ``min_listwise_share`` of all rows; then they
    are pairwise-complete, nudged to positive definite if needed. Which one was
    used is recorded in ``.attrs["correlation"]`` along with ``.attrs["n_listwise"]``.
    """
    cols = [*items, outcome]
    x = np.column_stack([df[c].to_numpy(dtype="float64", na_value=np.nan) for c in cols])
    if weight is None:
        w = np.ones(x.shape[0])
    else:
        w = df[weight].to_numpy(dtype="float64", na_value=np.nan)
        if np.isnan(w).any() or (w < 0).any():
            raise ValueError(f"weight column {weight!r} has missing or negative values")

    complete = ~np.isnan(x).any(axis=1)
    listwise = complete.sum() >= min_listwise_share * x.shape[0]
    if listwise:
        corr = weighted_corr(x[complete], w[complete])
    else:
        corr = weighted_corr(x, w)

    bad = [c for c, ok in zip(cols, np.isfinite(corr).all(axis=0)) if not ok]
    if bad:
        raise ValueError(f"no usable correlation (constant or too few shared answers) for: {bad}")
    if not listwise:
        # Pairwise matrices need not be positive semi-definite; relative
        # weights take a matrix square root, so repair minimally.
        corr = _nearest_positive_definite_corr(corr)

    eps, r2 = relative_weights(corr)
    out = pd.DataFrame(
        {
            "item": pd.array(items, dtype="str"),
            "corr": corr[:-1, -1],
            "raw_weight": eps,
            "rescaled": eps / r2,
            "r2": r2,
        }
    )
    out.attrs.update(correlation="listwise" if listwise else "pairwise", n_listwise=int(complete.sum()))
    return out


# Quadrant names fit for a bureau meeting (issue 18): no item is called "over-invested" or "low priority".
QUADRANT_FOCUS, QUADRANT_STRENGTH, QUADRANT_IMPROVE, QUADRANT_STEADY = "重点攻坚", "优势巩固", "持续改进", "保持稳定"
QUADRANT_RED_LINE = "政策底线"
# Policy red lines whatever the statistics say: 大班额 (国发〔2016〕40号 sets the deadline for eliminating it) and 有偿补课
# (教师〔2015〕5号 forbids it). Placed below the mean importance, they are marked 政策底线, never a lower-priority quadrant.
POLICY_RED_LINES = ("大班额治理", "有偿补课治理")


def importance_performance(
    table: pd.DataFrame,
    importance: str = "rescaled",
    performance: str = "score",
    red_lines: tuple[str, ...] = POLICY_RED_LINES,
) -> pd.DataFrame:
    """Add a Chinese importance–performance ``quadrant`` split at the column means (red lines of low importance: 政策底线)."""
    imp = table[importance].to_numpy(dtype="float64", na_value=np.nan)
    perf = table[performance].to_numpy(dtype="float64", na_value=np.nan)
    imp_mean, perf_mean = np.nanmean(imp), np.nanmean(perf)
    # Ties at the mean count as high; isclose absorbs the rounding in the mean
    # itself (mean of three 0.1s is 0.10000000000000002).
    important = (imp >= imp_mean) | np.isclose(imp, imp_mean, rtol=1e-12, atol=0)
    high = (perf >= perf_mean) | np.isclose(perf, perf_mean, rtol=1e-12, atol=0)
    quadrant = np.select(
        [np.isnan(imp) | np.isnan(perf), important & ~high, important & high, ~important & ~high],
        [None, QUADRANT_FOCUS, QUADRANT_STRENGTH, QUADRANT_IMPROVE],
        default=QUADRANT_STEADY,
    )
    if "item" in table.columns:
        red = table["item"].isin(red_lines).to_numpy() & ~important & ~(np.isnan(imp) | np.isnan(perf))
        quadrant = np.where(red, QUADRANT_RED_LINE, quadrant)
    return table.assign(quadrant=pd.array(quadrant, dtype="str"))
