"""Rank uncertainty for estimated scores: rank probabilities and confidence sets for ranks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

# float32 cells per work block (~2 MB): keeps each block in L2 cache while the statistic is built.
_BLOCK_CELLS = 1 << 19

Plan = tuple[int, int, np.ndarray, np.ndarray, int]
Sampler = Callable[[np.random.Generator, int], np.ndarray]


def _vector(values: ArrayLike, name: str) -> np.ndarray:
    """Validated finite 1-D float array."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _score_and_se(score: ArrayLike, se: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated score and standard-error vectors of equal length; se = 0 is a known value (a point mass)."""
    mean, sd = _vector(score, "score"), _vector(se, "se")
    if mean.shape != sd.shape:
        raise ValueError("score and se must have the same length")
    if np.any(sd < 0):
        raise ValueError("se must not be negative")
    return mean, sd


def _score_and_cov(score: ArrayLike, se: ArrayLike | None,
                   cov: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    """Validated scores and their covariance matrix, from se or from cov."""
    if cov is None:
        if se is None:
            raise ValueError("give se or cov")
        mean, sd = _score_and_se(score, se)
        return mean, np.diag(sd**2)
    mean = _vector(score, "score")
    sigma = np.asarray(cov, dtype=float)
    if sigma.shape != (mean.size, mean.size) or not np.all(np.isfinite(sigma)):
        raise ValueError("cov must be a finite p x p matrix")
    if not np.allclose(sigma, sigma.T):
        raise ValueError("cov must be symmetric")
    if se is not None and not np.allclose(np.diag(sigma), _vector(se, "se") ** 2):
        raise ValueError("se disagrees with the diagonal of cov")
    return mean, sigma


def _check_draws(draws: int) -> int:
    """Validated positive integer number of Monte Carlo draws."""
    if int(draws) != draws or draws < 1:
        raise ValueError("draws must be a positive integer")
    return int(draws)


def _check_coverage(coverage: float) -> float:
    """Validated coverage level in (0, 1)."""
    if not 0.0 < coverage < 1.0:
        raise ValueError("coverage must lie in (0, 1)")
    return float(coverage)


def rank_descending(scores: ArrayLike) -> np.ndarray:
    """Integer ranks, 1 for the highest score; ties share the better (smaller) rank."""
    x = _vector(scores, "scores")
    n_not_above = np.searchsorted(np.sort(x), x, side="right")
    return (x.size - n_not_above + 1).astype(np.int64)


def draw_scores(score: ArrayLike, se: ArrayLike, draws: int, seed: int) -> np.ndarray:
    """Draws of the true scores from N(score, diag(se²)), shape (draws, p)."""
    mean, sd = _score_and_se(score, se)
    rng = np.random.default_rng(seed)
    return mean + sd * rng.standard_normal((_check_draws(draws), mean.size))


def place_probabilities_one_uncertain(score: ArrayLike, se: ArrayLike) -> np.ndarray:
    """Exact [j, r-1] = P(unit j has rank r) when at most one unit has se > 0 and every other score is known.

    With the others fixed at f, the uncertain unit X ~ N(m, s²) has rank 1 + #{f_i > X}, so it takes rank r
    exactly when X lies between the r-th and (r−1)-th highest f; a fixed unit moves down one place when X > f_i.
    """
    mean, sd = _score_and_se(score, se)
    uncertain = np.flatnonzero(sd > 0)
    if uncertain.size > 1:
        raise ValueError("more than one unit has se > 0")
    p = mean.size
    fixed_rank = rank_descending(mean) if uncertain.size == 0 else None
    probs = np.zeros((p, p))
    if uncertain.size == 0:
        probs[np.arange(p), fixed_rank - 1] = 1.0
        return probs
    u = int(uncertain[0])
    others = np.delete(np.arange(p), u)
    f = mean[others]
    if f.size == 0:
        return np.ones((1, 1))
    cuts = np.concatenate([[np.inf], np.sort(f)[::-1], [-np.inf]])
    cdf = ndtr((cuts - mean[u]) / sd[u])
    probs[u] = cdf[:-1] - cdf[1:]
    base = rank_descending(f)  # place among the fixed units; ties share the better place
    below = ndtr((f - mean[u]) / sd[u])  # P(X ≤ f_i): the fixed unit keeps its place
    probs[others, base - 1] += below
    probs[others, base] += 1.0 - below
    return probs


def place_probabilities(score: ArrayLike, se: ArrayLike, draws: int = 20000, seed: int = 2026) -> np.ndarray:
    """Matrix whose [j, r-1] entry is P(unit j has rank r): exact with one uncertain unit, else Monte Carlo."""
    if np.count_nonzero(np.asarray(se, dtype=float) > 0) <= 1:
        return place_probabilities_one_uncertain(score, se)
    theta = draw_scores(score, se, draws, seed)
    n_draws, p = theta.shape
    # order[d, r] is the unit in place r+1 of draw d; ties have probability zero.
    order = np.argsort(-theta, axis=1)
    cells = order * p + np.arange(p)
    counts = np.bincount(cells.ravel(), minlength=p * p).reshape(p, p)
    return counts / n_draws


def p_rank_le(place_probs: ArrayLike, k: int) -> np.ndarray:
    """P(rank <= k) per unit from a place-probability matrix."""
    probs = np.asarray(place_probs, dtype=float)
    if probs.ndim != 2 or not 1 <= k <= probs.shape[1]:
        raise ValueError("place_probs must be 2-D and k must lie in 1..p")
    # float rounding can push a full row sum a hair past 1.
    return np.minimum(np.cumsum(probs, axis=1)[:, k - 1], 1.0)


def expected_rank_exact(score: ArrayLike, se: ArrayLike) -> np.ndarray:
    """Exact E[rank_j] = 1 + sum over k != j of P(theta_k > theta_j) under independent normals."""
    mean, sd = _score_and_se(score, se)
    diff = mean[None, :] - mean[:, None]
    pair_sd = np.sqrt(sd[:, None] ** 2 + sd[None, :] ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Two known scores: the higher is surely above, and a tie shares the better rank.
        prob_above = np.where(pair_sd > 0, ndtr(diff / pair_sd), (diff > 0).astype(float))
    np.fill_diagonal(prob_above, 0.0)
    return 1.0 + prob_above.sum(axis=1)


def _pair_sd(sigma: np.ndarray) -> np.ndarray:
    """Standard deviations of all pairwise differences theta_j - theta_k."""
    var = np.diag(sigma)
    # A zero here is a pair of known scores (two published values): its order is not a hypothesis to test.
    return np.sqrt(np.maximum(var[:, None] + var[None, :] - 2.0 * sigma, 0.0))


def _noise_sampler(sigma: np.ndarray) -> Sampler:
    """Function drawing N(0, sigma) noise as a float32 (p, draws) array."""
    # float32 halves memory traffic in the pair loop; its ~1e-7 rounding is far below the Monte Carlo
    # error of the critical value.
    p = sigma.shape[0]
    if np.count_nonzero(sigma - np.diag(np.diag(sigma))) == 0:
        sd = np.sqrt(np.diag(sigma))[:, None]
        return lambda rng, n: (sd * rng.standard_normal((p, n))).astype(np.float32)
    try:
        factor = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        # singular but valid covariances (e.g. estimates sharing a component) have no Cholesky factor.
        vals, vecs = np.linalg.eigh(sigma)
        factor = vecs * np.sqrt(np.clip(vals, 0.0, None))
    return lambda rng, n: (factor @ rng.standard_normal((p, n))).astype(np.float32)


def _row_plan(family: int, j: int, above: np.ndarray, below: np.ndarray, inv_sd: np.ndarray) -> Plan:
    """Units paired with j, both-direction pairs first, with signed weights."""
    both = np.flatnonzero(above & below)
    single = np.flatnonzero(above ^ below)
    ks = np.concatenate([both, single])
    weights = (inv_sd[ks] * np.where(above[ks], 1.0, -1.0)).astype(np.float32)
    return family, j, ks, weights, both.size


def _block_max(z: np.ndarray, j: int, ks: np.ndarray, weights: np.ndarray, n_both: int) -> np.ndarray:
    """Per-draw max of the open standardized differences between unit j and units ks."""
    block = np.take(z, ks, axis=0)
    np.subtract(z[j], block, out=block)
    block *= weights[:, None]
    top = block.max(axis=0)
    if n_both:
        # the weight sign covers one direction; the reverse of a two-way pair is the negated row.
        np.maximum(top, -block[:n_both].min(axis=0), out=top)
    return top


def _max_statistics(z: np.ndarray, plans: list[Plan], families: int) -> np.ndarray:
    """Per-draw maximum standardized difference over each family's open pairs, shape (families, draws)."""
    p, n = z.shape
    stats = np.full((families, n), -np.inf, dtype=np.float32)
    step = max(256, _BLOCK_CELLS // p)
    for start in range(0, n, step):
        chunk = z[:, start : start + step]
        for family, j, ks, weights, n_both in plans:
            if ks.size:
                part = stats[family, start : start + step]
                np.maximum(part, _block_max(chunk, j, ks, weights, n_both), out=part)
    return stats


def _critical_values(stats: np.ndarray, coverage: float) -> np.ndarray:
    """Coverage quantile of each family's max statistic (type 7, as R's quantile default)."""
    return np.quantile(stats.astype(np.float64), coverage, axis=1, method="linear")


def _pair_setup(score: ArrayLike, se: ArrayLike | None,
                cov: ArrayLike | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, Sampler]:
    """Score differences, their standard deviations and inverses, and a noise sampler."""
    mean, sigma = _score_and_cov(score, se, cov)
    sd = _pair_sd(sigma)
    inv_sd = np.zeros_like(sd)
    random = ~np.eye(mean.size, dtype=bool) & (sd > 0)
    inv_sd[random] = 1.0 / sd[random]
    return mean[:, None] - mean[None, :], sd, inv_sd, _noise_sampler(sigma)


def _known_order(delta: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of known scores: known[j, k] (no uncertainty) and above[j, k] (j's known score is higher)."""
    known = (sd == 0) & ~np.eye(sd.shape[0], dtype=bool)
    return known, known & (delta > 0)


def _simultaneous_above(score: ArrayLike, se: ArrayLike | None, coverage: float, draws: int, seed: int,
                        cov: ArrayLike | None) -> np.ndarray:
    """Matrix above[j, k]: j ranks surely above k, jointly over all pairs (stepdown)."""
    coverage, draws = _check_coverage(coverage), _check_draws(draws)
    delta, sd, inv_sd, sample = _pair_setup(score, se, cov)
    p = delta.shape[0]
    known, known_above = _known_order(delta, sd)
    open_pairs = ~np.eye(p, dtype=bool) & ~known
    later = np.arange(p)[None, :] > np.arange(p)[:, None]
    rng = np.random.default_rng(seed)
    while open_pairs.any():
        # csranks draws fresh bootstrap noise at every stepdown round.
        z = sample(rng, draws)
        # each unordered pair is visited once, from its lower index, carrying both directions.
        plans = [_row_plan(0, j, open_pairs[j] & later[j], open_pairs[:, j] & later[j], inv_sd[j])
                 for j in range(p)]
        crit = _critical_values(_max_statistics(z, plans, 1), coverage)[0]
        rejected = open_pairs & (delta - sd * crit > 0)
        if not rejected.any():
            break
        open_pairs &= ~rejected
    return (~open_pairs & ~np.eye(p, dtype=bool) & ~known) | known_above


def _marginal_above_below(score: ArrayLike, se: ArrayLike | None, coverage: float, draws: int, seed: int,
                          cov: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit stepdown: above[j, k] (j surely above k) and below[j, k] (k surely above j)."""
    coverage, draws = _check_coverage(coverage), _check_draws(draws)
    delta, sd, inv_sd, sample = _pair_setup(score, se, cov)
    p = delta.shape[0]
    off = ~np.eye(p, dtype=bool)
    known, known_above = _known_order(delta, sd)
    above_open, below_open = off & ~known, off & ~known
    todo = np.flatnonzero((above_open | below_open).any(axis=1))
    rng = np.random.default_rng(seed)
    while todo.size:
        # csranks reseeds per unit, so round r uses the same noise for every unit; one draw per round
        # mirrors that.
        z = sample(rng, draws)
        plans = [_row_plan(i, j, above_open[j], below_open[j], inv_sd[j]) for i, j in enumerate(todo)]
        crit = _critical_values(_max_statistics(z, plans, todo.size), coverage)
        bound = sd[todo] * crit[:, None]
        new_above = above_open[todo] & (delta[todo] - bound > 0)
        new_below = below_open[todo] & (-delta[todo] - bound > 0)
        above_open[todo] &= ~new_above
        below_open[todo] &= ~new_below
        still_open = (above_open[todo] | below_open[todo]).any(axis=1)
        todo = todo[(new_above | new_below).any(axis=1) & still_open]
    return (off & ~known & ~above_open) | known_above, (off & ~known & ~below_open) | known_above.T


def rank_sets_marginal(score: ArrayLike, se: ArrayLike | None, coverage: float = 0.95, draws: int = 20000,
                       seed: int = 2026, *, cov: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Marginal confidence sets [L, U] for each unit's rank (csranks, simul=FALSE)."""
    above, below = _marginal_above_below(score, se, coverage, draws, seed, cov)
    p = above.shape[0]
    return 1 + below.sum(axis=1), p - above.sum(axis=1)


def rank_sets_simultaneous(score: ArrayLike, se: ArrayLike | None, coverage: float = 0.95, draws: int = 20000,
                           seed: int = 2026, *, cov: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Simultaneous confidence sets [L, U] covering all units' ranks jointly (csranks, simul=TRUE)."""
    above = _simultaneous_above(score, se, coverage, draws, seed, cov)
    p = above.shape[0]
    return 1 + above.sum(axis=0), p - above.sum(axis=1)


def could_be_top(score: ArrayLike, se: ArrayLike | None, tau: int, coverage: float = 0.95, draws: int = 20000,
                 seed: int = 2026, *, cov: ArrayLike | None = None) -> np.ndarray:
    """Confidence set for the tau-best: True where a unit may rank in the top tau (csranks::cstaubest)."""
    if int(tau) != tau or not 1 <= tau <= np.size(score):
        raise ValueError("tau must be an integer in 1..p")
    # cstaubest's one-sided simultaneous family is all ordered pairs, the same family and stepdown as the
    # two-sided simultaneous set, so its lower rank bounds are the simultaneous lower bounds.
    above = _simultaneous_above(score, se, coverage, draws, seed, cov)
    return 1 + above.sum(axis=0) <= tau
