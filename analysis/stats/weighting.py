"""Design-based inference for one county's sample: raking, trimming, calibration-aware SEs, domain means, Rao–Scott.

The design is R ``svydesign(ids = ~1, weights = ~weight)``: one stage, no strata,
with-replacement linearisation. Every estimate here is written through its
influence values (one row per respondent), so a domain (a group, a township
filter) keeps the whole design's n — as R does when it subsets a design — and a
raked design removes the margins from the influence values before the variance,
as R ``svyrecvar`` does for ``rake()``. Reproduces R survey 4.1-1:
``svyby(~y, ~g, d, svymean, na.rm = TRUE)``, ``svychisq(~g + a, d, statistic = "F" | "Chisq")``
and ``svymean`` after ``rake()``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.data.contract import RESPONSE_COLUMNS

# R svyrecvar removes the raking margins from the influence values with this many backfitting sweeps.
R_RAKING_SWEEPS = 10
SHARE_TOLERANCE = 0.01  # population shares of one margin must add up to 1 within this (then they are normalised)
MAX_TRIM_ROUNDS = 50
HEADERS = {c.name: c.header for c in RESPONSE_COLUMNS}  # messages name a column as the analyst's file does


# --- influence values and their variance ---------------------------------------------------------------------------


def calibration_residuals(influence: np.ndarray, weights: np.ndarray, codes: tuple[np.ndarray, ...],
                          sweeps: int = R_RAKING_SWEEPS) -> np.ndarray:
    """Influence values with the raking margins removed, exactly as R svyrecvar does for a raked design.

    Each sweep subtracts, margin by margin, the weight times the unweighted
    category mean of influence/weight (R: ``x - psw * ave(x / psw, margin)``);
    its limit is the weight times the residual of an unweighted least-squares
    fit of influence/weight on the margin indicators.
    """
    x = np.array(influence, dtype="float64", copy=True)
    squeeze = x.ndim == 1
    x = x.reshape(len(x), -1)
    w = np.asarray(weights, dtype="float64")
    # Respondents with weight 0 carry no influence; keep them at 0 instead of dividing by zero.
    safe = np.where(w > 0, w, 1.0)
    # Under a township filter some margin categories may have nobody; their (unused) means are 0/0.
    with np.errstate(invalid="ignore", divide="ignore"):
        x = _backfit(x, w, safe, codes, sweeps)
    return x[:, 0] if squeeze else x


def _backfit(x: np.ndarray, w: np.ndarray, safe: np.ndarray, codes: tuple[np.ndarray, ...], sweeps: int) -> np.ndarray:
    """The sweeps of calibration_residuals (R svyrecvar's raking branch)."""
    for _ in range(sweeps):
        for code in codes:
            e = x / safe[:, None]
            count = np.bincount(code, minlength=code.max() + 1).astype("float64")
            sums = np.stack([np.bincount(code, weights=e[:, j], minlength=count.size) for j in range(e.shape[1])], axis=1)
            x = x - np.where(w > 0, w, 0.0)[:, None] * (sums / count[:, None])[code]
    return x


def linearised_cov(influence: np.ndarray, weights: np.ndarray | None = None,
                   codes: tuple[np.ndarray, ...] = ()) -> np.ndarray:
    """With-replacement variance n/(n−1)·Σ(x−x̄)(x−x̄)ᵀ of influence values (after removing raking margins, if any)."""
    x = np.asarray(influence, dtype="float64")
    x = x.reshape(len(x), -1)
    if codes:
        x = calibration_residuals(x, weights, codes)
    n = x.shape[0]
    if n < 2:
        return np.full((x.shape[1], x.shape[1]), np.nan)
    x = x - x.mean(axis=0)
    return n / (n - 1) * (x.T @ x)


def _column_variance(x: np.ndarray, weights: np.ndarray | None, codes: tuple[np.ndarray, ...]) -> np.ndarray:
    """Only the diagonal of linearised_cov (one variance per column), without forming the k × k matrix."""
    x = x.reshape(len(x), -1)
    if codes:
        x = calibration_residuals(x, weights, codes)
    n = x.shape[0]
    if n < 2:
        return np.full(x.shape[1], np.nan)
    return n / (n - 1) * ((x - x.mean(axis=0)) ** 2).sum(axis=0)


# --- means --------------------------------------------------------------------------------------------------------


def design_mean(y: np.ndarray, weights: np.ndarray, codes: tuple[np.ndarray, ...] = ()) -> tuple[float, float]:
    """Weighted mean of y (NaN = not answered) and its SE over the whole design (R svymean, na.rm = TRUE)."""
    y = np.asarray(y, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    ok = ~np.isnan(y)
    total = w[ok].sum()
    if total <= 0:
        return float("nan"), float("nan")
    mean = float(np.dot(w[ok], y[ok]) / total)
    infl = np.where(ok, w * (np.where(ok, y, 0.0) - mean) / total, 0.0)
    return mean, float(np.sqrt(_column_variance(infl, w, codes)[0]))


def _codes(labels: pd.Series | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer codes of the labels (−1 for missing) and the levels in order of first appearance sorted by name."""
    cat = pd.Categorical(pd.Series(labels, dtype="object").where(pd.notna(labels), None))
    return np.asarray(cat.codes, dtype=np.int64), [str(c) for c in cat.categories]


def domain_means(y: np.ndarray, weights: np.ndarray, labels: pd.Series | np.ndarray,
                 codes: tuple[np.ndarray, ...] = ()) -> pd.DataFrame:
    """Per group: weighted mean, SE and test of the group against the rest, over the whole design.

    = R ``svyby(~y, ~g, design, svymean, na.rm = TRUE)`` for ``mean``/``se``; ``diff``
    is the group minus every other answering respondent (missing group included
    in the rest) and ``t``/``p`` are R ``svyttest(y ~ (g == level), design)``:
    t on n − 2 degrees of freedom. Rows with y NaN or no label count in n but
    contribute nothing to a group.
    """
    y = np.asarray(y, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    code, levels = _codes(labels)
    n, k = y.size, len(levels)
    ok = ~np.isnan(y)
    y0 = np.where(ok, y, 0.0)
    wy = np.where(ok, w, 0.0)
    member = (code[:, None] == np.arange(k)[None, :]) & ok[:, None]
    w_g = (member * wy[:, None]).sum(axis=0)
    count = member.sum(axis=0)
    total, total_y = wy.sum(), np.dot(wy, y0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_g = (member * (wy * y0)[:, None]).sum(axis=0) / w_g
        w_r = total - w_g
        mean_r = (total_y - w_g * np.nan_to_num(mean_g)) / w_r
        infl_g = np.where(member, wy[:, None] * (y0[:, None] - mean_g[None, :]) / w_g[None, :], 0.0)
        rest = ok[:, None] & ~member
        infl_r = np.where(rest, wy[:, None] * (y0[:, None] - mean_r[None, :]) / w_r[None, :], 0.0)
    var_g = _column_variance(np.nan_to_num(infl_g), w, codes)
    var_d = _column_variance(np.nan_to_num(infl_g - infl_r), w, codes)
    se = np.where(count > 0, np.sqrt(var_g), np.nan)
    diff = mean_g - mean_r
    with np.errstate(invalid="ignore", divide="ignore"):
        se_diff = np.where((count > 0) & (w_r > 0), np.sqrt(var_d), np.nan)
        t = diff / se_diff
    p = 2.0 * sps.t.sf(np.abs(t), n - 2) if n > 2 else np.full(k, np.nan)
    return pd.DataFrame({"group": levels, "n": count.astype(np.int64), "mean": mean_g, "se": se,
                         "diff": diff, "se_diff": se_diff, "t": t, "p": p})


# --- Rao–Scott ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaoScott:
    """Rao–Scott tests of a two-way table: second order (F, fractional df) and first order (χ²)."""

    f: float
    df1: float
    df2: float
    p: float
    chisq: float  # Pearson X² of the weighted table scaled to n (R reports this as the first-order statistic)
    df: int
    p_first: float
    mean_deff: float  # δ̄, the mean generalised design effect
    rows: int
    cols: int


def rao_scott(rows: pd.Series | np.ndarray, cols: pd.Series | np.ndarray, weights: np.ndarray,
              codes: tuple[np.ndarray, ...] = ()) -> RaoScott:
    """R ``svychisq(~rows + cols, design, statistic = "F")`` and ``"Chisq"`` for ``svydesign(ids = ~1, weights)``.

    Missing labels in either variable: the respondent stays in the design (n, df)
    with no cell (R, na.rm = TRUE). Levels are those present among complete rows.
    """
    w = np.asarray(weights, dtype="float64")
    r_code, _ = _codes(rows)
    c_code, _ = _codes(cols)
    n = w.size
    complete = (r_code >= 0) & (c_code >= 0)
    # Levels present among complete rows only (R counts a level seen only beside a missing answer and returns NaN).
    r_lv, r_idx = np.unique(r_code[complete], return_inverse=True)
    c_lv, c_idx = np.unique(c_code[complete], return_inverse=True)
    nr, nc = r_lv.size, c_lv.size
    nan = RaoScott(np.nan, np.nan, np.nan, np.nan, np.nan, max(nr - 1, 0) * max(nc - 1, 0), np.nan, np.nan, nr, nc)
    if nr < 2 or nc < 2 or n < 3:
        return nan
    k = nr * nc
    cell = np.full(n, -1)
    cell[complete] = r_idx + nr * c_idx  # rows vary fastest, as R interaction(rows, cols)
    mm = (cell[:, None] == np.arange(k)[None, :]).astype("float64")
    wc = np.where(complete, w, 0.0)
    psum = wc.sum()
    p = wc @ mm / psum
    infl = np.where(complete[:, None], wc[:, None] * (mm - p[None, :]) / psum, 0.0)
    v = linearised_cov(infl, w, codes)

    table = (p * n).reshape(nc, nr).T  # svytable(..., Ntotal = n)
    expected = table.sum(axis=1)[:, None] * table.sum(axis=0)[None, :] / table.sum()
    chisq = float(((table - expected) ** 2 / expected).sum())

    r_of, c_of = np.arange(k) % nr, np.arange(k) // nr
    x1 = np.column_stack([np.ones(k)] + [(r_of == i) * 1.0 for i in range(1, nr)] + [(c_of == j) * 1.0 for j in range(1, nc)])
    x12 = np.column_stack([((r_of == i) & (c_of == j)) * 1.0 for j in range(1, nc) for i in range(1, nr)])
    q, _ = np.linalg.qr(x1)
    c_mat = x12 - q @ (q.T @ x12)  # R: qr.resid(qr(X1), interaction columns)
    inv_p = np.where(p == 0, 0.0, 1.0 / np.where(p == 0, 1.0, p))
    denom = c_mat.T @ (inv_p[:, None] / n * c_mat)
    numer = (c_mat * inv_p[:, None]).T @ v @ (c_mat * inv_p[:, None])
    try:
        delta = np.linalg.solve(denom, numer)
    except np.linalg.LinAlgError:
        return nan
    trace, trace2 = float(np.trace(delta)), float(np.trace(delta @ delta))
    df = (nr - 1) * (nc - 1)
    if not (trace > 0 and trace2 > 0):
        return nan
    d0 = trace**2 / trace2
    nu = n - 1  # degf of svydesign(ids = ~1)
    f = chisq / trace
    return RaoScott(f=f, df1=d0, df2=d0 * nu, p=float(sps.f.sf(f, d0, d0 * nu)), chisq=chisq, df=df,
                    p_first=float(sps.chi2.sf(chisq / (trace / df), df)), mean_deff=trace / df, rows=nr, cols=nc)


# --- raking --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RakeResult:
    """Raked weights with the convergence report and what the SE needs (the margin codes)."""

    weights: np.ndarray
    iterations: int
    max_error: float  # largest relative margin error |weighted share / target − 1| after the last sweep
    converged: bool
    margins: tuple[str, ...]
    codes: tuple[np.ndarray, ...]
    trim_ratio: float | None = None  # cap as a multiple of the mean weight; None = no trimming
    trimmed: int = 0  # respondents whose weight hit the cap in the last trimming round
    trim_met: bool = True  # the final (re-raked) weights respect the cap
    max_ratio: float = field(default=float("nan"))  # largest weight / mean weight in the end


def margin_codes(frame: pd.DataFrame, margins: dict[str, dict[str, float]], total: float) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """For each margin column: respondents' category codes and target totals (shares × total), checked in Chinese."""
    out = []
    for column, shares in margins.items():
        label = HEADERS.get(column, column)
        if column not in frame.columns:
            raise ValueError(f"加权（raking）：数据中没有“{label}”列")
        s = pd.Series(shares, dtype="float64")
        if (s < 0).any() or not np.isfinite(s).all():
            raise ValueError(f"加权（raking）：“{label}”的总体比例必须是非负数")
        if abs(s.sum() - 1.0) > SHARE_TOLERANCE:
            raise ValueError(f"加权（raking）：“{label}”的总体比例合计为 {s.sum():.4f}，应为 1")
        labels = frame[column].astype("object").where(frame[column].notna(), None).to_numpy()
        code = pd.Index(list(s.index), dtype=object).get_indexer(labels)
        if (code < 0).any():
            first = int(np.flatnonzero(code < 0)[0])
            who = f"（编号 {frame['respondent_id'].iloc[first]}）" if "respondent_id" in frame.columns else ""
            raise ValueError(f"加权（raking）：第 {first + 1} 位受访者{who}的“{label}”为“{labels[first] or '空'}”，不在给定的总体比例中"
                             f"（{'、'.join(map(str, s.index))}）")
        counts = np.bincount(code, minlength=s.size)
        if ((counts == 0) & (s.to_numpy() > 0)).any():
            empty = [str(c) for c, m in zip(s.index, counts) if m == 0]
            raise ValueError(f"加权（raking）：“{label}”的“{'、'.join(empty)}”没有受访者，无法加权到该比例")
        out.append((column, code, s.to_numpy() / s.sum() * total))
    return out


def _ipf(w: np.ndarray, targets: list[tuple[str, np.ndarray, np.ndarray]], max_iter: int, tol: float) -> tuple[np.ndarray, int, float]:
    """Iterative proportional fitting: sweeps over the margins until the largest relative margin error < tol."""
    worst, sweep = float("inf"), 0
    # The loop is over sweeps and margins, never over respondents.
    for sweep in range(1, max_iter + 1):
        for _, code, target in targets:
            current = np.bincount(code, weights=w, minlength=target.size)
            w = w * np.where(current > 0, target / np.where(current > 0, current, 1.0), 0.0)[code]
        worst = _margin_error(w, targets)
        if worst < tol:
            break
    return w, sweep, worst


def _margin_error(w: np.ndarray, targets: list[tuple[str, np.ndarray, np.ndarray]]) -> float:
    """Largest relative error of any margin category with a positive target."""
    errors = []
    for _, code, target in targets:
        got = np.bincount(code, weights=w, minlength=target.size)
        pos = target > 0
        errors.append(np.max(np.abs(got[pos] / target[pos] - 1.0)) if pos.any() else 0.0)
    return float(max(errors)) if errors else 0.0


def trim_to_cap(w: np.ndarray, cap: float) -> tuple[np.ndarray, int]:
    """Cap weights at `cap` and spread the excess over the others in proportion, keeping the total (R trimWeights)."""
    w = w.astype("float64", copy=True)
    total, hit = w.sum(), np.zeros(w.size, dtype=bool)
    for _ in range(MAX_TRIM_ROUNDS):
        over = w > cap * (1 + 1e-12)
        if not over.any():
            break
        hit |= over
        w[hit] = cap
        free = ~hit
        if not free.any() or w[free].sum() <= 0:
            break
        w[free] *= (total - cap * hit.sum()) / w[free].sum()
    return w, int(hit.sum())


def rake(frame: pd.DataFrame, margins: dict[str, dict[str, float]], base_weights: np.ndarray | pd.Series | None = None,
         total: float | None = None, max_iter: int = 100, tol: float = 1e-10, trim_ratio: float | None = None) -> RakeResult:
    """Rake the base weights (ones when None) to population shares; totals = share × `total` (default: respondents).

    With `trim_ratio`, weights above trim_ratio × mean weight are capped and the
    sample re-raked, alternately, until both hold (or the rounds run out: then the
    margins hold and `trim_met` is False).
    """
    n = len(frame)
    total = float(n if total is None else total)
    base = np.ones(n) if base_weights is None else pd.Series(base_weights).astype("float64").fillna(1.0).to_numpy()
    if (base < 0).any():
        raise ValueError("加权（raking）：基础权重不能为负数")
    if max_iter < 1:
        raise ValueError("加权（raking）：最大迭代次数必须至少为 1")
    targets = margin_codes(frame, margins, total)
    codes = tuple(code for _, code, _ in targets)
    w, sweeps, worst = _ipf(base, targets, max_iter, tol)
    trimmed, met = 0, True
    if trim_ratio is not None and trim_ratio > 0:
        cap = trim_ratio * total / n
        met = bool(w.max() <= cap * (1 + 1e-6))
        for _ in range(MAX_TRIM_ROUNDS):
            if met:
                break
            w, trimmed = trim_to_cap(w, cap)
            w, more, worst = _ipf(w, targets, max_iter, tol)
            sweeps += more
            met = bool(w.max() <= cap * (1 + 1e-6))
    return RakeResult(weights=w, iterations=sweeps, max_error=worst, converged=worst < tol,
                      margins=tuple(m for m, _, _ in targets), codes=codes,
                      trim_ratio=trim_ratio if trim_ratio else None, trimmed=trimmed, trim_met=met,
                      max_ratio=float(w.max() / w.mean()) if n else float("nan"))


# --- settings -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RakingSettings:
    """The [raking] table of the settings file: off by default; margins per county as population shares."""

    enabled: bool = False
    max_iter: int = 100
    tolerance: float = 1e-10
    trim_ratio: float | None = None
    margins: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # county → Chinese header → level → share

    def for_county(self, county: str) -> dict[str, dict[str, float]]:
        """The county's margins (empty when raking is off or the county has none)."""
        return self.margins.get(county, {}) if self.enabled else {}


def parse_raking(raw: dict) -> RakingSettings:
    """Check the [raking] table (errors name the key, in Chinese)."""
    table = raw.get("raking", {})
    known = {"enabled", "max_iter", "tolerance", "trim_ratio", "margins"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"设置文件有未知的键 raking.{unknown[0]}")
    enabled = table.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ValueError(f"设置项 raking.enabled 必须是 true 或 false，现为 {enabled!r}")
    max_iter = table.get("max_iter", 100)
    if not isinstance(max_iter, int) or isinstance(max_iter, bool) or max_iter < 1:
        raise ValueError(f"设置项 raking.max_iter 必须是正整数，现为 {max_iter!r}")
    tol = table.get("tolerance", 1e-10)
    if not isinstance(tol, (int, float)) or isinstance(tol, bool) or not 0 < tol < 1:
        raise ValueError(f"设置项 raking.tolerance 必须是 0 到 1 之间的数，现为 {tol!r}")
    trim = table.get("trim_ratio", 0)
    if not isinstance(trim, (int, float)) or isinstance(trim, bool) or (trim != 0 and trim <= 1):
        raise ValueError(f"设置项 raking.trim_ratio 必须是 0（不截尾）或大于 1 的数，现为 {trim!r}")
    margins: dict[str, dict[str, dict[str, float]]] = {}
    for county, columns in table.get("margins", {}).items():
        if not isinstance(columns, dict):
            raise ValueError(f"设置项 raking.margins.{county} 必须是表，例如 [raking.margins.{county}.城乡]")
        margins[county] = {}
        for column, shares in columns.items():
            key = f"raking.margins.{county}.{column}"
            if not isinstance(shares, dict) or not shares:
                raise ValueError(f"设置项 {key} 必须列出各类别的总体比例，例如 城镇 = 0.42")
            for level, share in shares.items():
                if not isinstance(share, (int, float)) or isinstance(share, bool) or share < 0:
                    raise ValueError(f"设置项 {key}.{level} 必须是非负数，现为 {share!r}")
            if abs(sum(shares.values()) - 1.0) > SHARE_TOLERANCE:
                raise ValueError(f"设置项 {key} 的比例合计为 {sum(shares.values()):.4f}，应为 1")
            margins[county][str(column)] = {str(k): float(v) for k, v in shares.items()}
    return RakingSettings(enabled, int(max_iter), float(tol), float(trim) if trim else None, margins)


def load_raking(path: Path) -> RakingSettings:
    """The [raking] table of a settings file (absent → raking off)."""
    return parse_raking(tomllib.loads(Path(path).read_text(encoding="utf-8")))
