"""Tests for analysis.stats.rank_stats against published values (csranks 1.2.3 PISA 2018 output and closed forms)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from analysis.stats.rank_stats import (could_be_top, draw_scores, expected_rank_exact, p_rank_le, place_probabilities,
                                       rank_descending, rank_sets_marginal, rank_sets_simultaneous,)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
DRAWS = 20000

# Three units with a closed-form rank distribution.
TRIO_SCORE = np.array([80.0, 79.0, 75.0])
TRIO_SE = np.array([1.0, 1.0, 2.0])
TRIO_P_FIRST_UNIT1 = 0.754493
TRIO_EXPECTED_RANK = np.array([1.252424, 1.797069, 2.950507])

# Four units, one very noisy: its place distribution is far from symmetric.
QUAD_SCORE = np.array([3.0, 2.0, 1.0, 0.0])
QUAD_SE = np.array([0.5, 0.5, 0.5, 3.0])

# Ten equally spaced units, Sigma = 0.04 I.
SPACED_SCORE = np.linspace(1.0, 3.0, 10)
SPACED_L = np.array([7, 6, 5, 4, 3, 2, 1, 1, 1, 1])
SPACED_U = np.array([10, 10, 10, 10, 9, 8, 7, 6, 5, 4])


def _read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a fixture CSV file."""
    with open(FIXTURES / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def pisa() -> dict[str, object]:
    """PISA 2018 maths scores with the csranks results expected for them."""
    data = _read_csv("pisa2018_math.csv")
    expected = {row["country"]: row for row in _read_csv("pisa2018_math_expected.csv")}
    names = [row["jurisdiction"] for row in data]
    assert sorted(names) == sorted(expected), "fixture files list different countries"
    score = np.array([float(row["math_score"]) for row in data])
    se = np.array([float(row["math_se"]) for row in data])
    marg_l, marg_u = rank_sets_marginal(score, se, coverage=0.95, draws=DRAWS)
    sim_l, sim_u = rank_sets_simultaneous(score, se, coverage=0.95, draws=DRAWS)
    got = {
        "rank": rank_descending(score),
        "margL": marg_l,
        "margU": marg_u,
        "simL": sim_l,
        "simU": sim_u,
        "top5": could_be_top(score, se, 5, coverage=0.95, draws=DRAWS),
        "top6": could_be_top(score, se, 6, coverage=0.95, draws=DRAWS),
    }
    return {"names": names, "score": score, "se": se, "expected": expected, "got": got}


def _first_place_exact(score: np.ndarray, se: np.ndarray, j: int, sign: float) -> float:
    """P(unit j beats every other unit) for sign=+1, or loses to every other for sign=-1, independent normals."""
    others = np.delete(np.arange(score.size), j)
    mean = sign * (score[others] - score[j])
    cov = np.diag(se[others] ** 2) + se[j] ** 2
    return float(multivariate_normal(mean=mean, cov=cov).cdf(np.zeros(others.size)))


def _mc_tol(prob: np.ndarray | float, draws: int) -> np.ndarray:
    """4.5 Monte Carlo standard errors of a proportion, plus slack for scipy's cdf integration."""
    prob = np.asarray(prob, dtype=float)
    return 4.5 * np.sqrt(prob * (1.0 - prob) / draws) + 1e-4


@pytest.mark.parametrize(
    ("scores", "ranks"),
    [
        ([90, 80, 80, 70], [1, 2, 2, 4]),
        ([1.0, 2.0, 3.0], [3, 2, 1]),
        ([5, 5, 5], [1, 1, 1]),
        ([10, 30, 20, 30], [4, 1, 3, 1]),
        ([42.0], [1]),
        ([-1.5, 0.0, -1.5, 2.0, 0.0], [4, 2, 4, 1, 2]),
    ],
)
def test_rank_descending_min_ties(scores: list[float], ranks: list[int]) -> None:
    got = rank_descending(np.array(scores))
    assert got.dtype.kind == "i"
    np.testing.assert_array_equal(got, ranks)


@pytest.mark.parametrize("column", ["rank", "margL", "margU", "simL", "simU", "top5", "top6"])
def test_pisa_matches_csranks(pisa: dict[str, object], column: str) -> None:
    mismatches = []
    for name, value in zip(pisa["names"], pisa["got"][column]):
        allowed = pisa["expected"][name][column].split("|")
        shown = str(bool(value)) if column.startswith("top") else str(int(value))
        if shown not in allowed:
            mismatches.append(f"{name}: got {shown}, csranks {'|'.join(allowed)}")
    assert not mismatches, "; ".join(mismatches)


def test_pisa_sets_contain_estimated_rank_and_nest(pisa: dict[str, object]) -> None:
    got = pisa["got"]
    assert np.all(got["margL"] <= got["rank"]) and np.all(got["rank"] <= got["margU"])
    # csranks' own suite requires simultaneous sets to contain the marginal ones.
    assert np.all(got["simL"] <= got["margL"]) and np.all(got["margU"] <= got["simU"])
    assert np.all(got["top6"][got["top5"]])


@pytest.mark.parametrize(
    ("se", "cov"),
    [
        (np.full(10, 0.2), None),
        (None, 0.04 * np.eye(10)),
        # a shock common to all units leaves every difference, hence every rank set, unchanged.
        (None, 0.04 * np.eye(10) + 0.03),
    ],
    ids=["se", "cov-diagonal", "cov-common-shock"],
)
def test_equally_spaced_marginal_sets(se: np.ndarray | None, cov: np.ndarray | None) -> None:
    low, up = rank_sets_marginal(SPACED_SCORE, se, coverage=0.95, draws=DRAWS, cov=cov)
    np.testing.assert_array_equal(low, SPACED_L)
    np.testing.assert_array_equal(up, SPACED_U)


def test_trio_exact_reference_is_the_published_value() -> None:
    assert _first_place_exact(TRIO_SCORE, TRIO_SE, 0, +1.0) == pytest.approx(TRIO_P_FIRST_UNIT1, abs=2e-5)


def test_trio_expected_rank_exact() -> None:
    np.testing.assert_allclose(expected_rank_exact(TRIO_SCORE, TRIO_SE), TRIO_EXPECTED_RANK, rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", [2026, 7, 123456])
def test_trio_place_probabilities_match_exact(seed: int) -> None:
    probs = place_probabilities(TRIO_SCORE, TRIO_SE, draws=DRAWS, seed=seed)
    first = np.array([_first_place_exact(TRIO_SCORE, TRIO_SE, j, +1.0) for j in range(3)])
    last = np.array([_first_place_exact(TRIO_SCORE, TRIO_SE, j, -1.0) for j in range(3)])
    first[0] = TRIO_P_FIRST_UNIT1
    exact = np.column_stack([first, 1.0 - first - last, last])
    assert np.all(np.abs(probs - exact) <= _mc_tol(exact, DRAWS))


@pytest.mark.parametrize("seed", [2026, 7])
def test_first_and_last_place_columns_match_exact(seed: int) -> None:
    probs = place_probabilities(QUAD_SCORE, QUAD_SE, draws=DRAWS, seed=seed)
    for column, sign in ((0, +1.0), (-1, -1.0)):
        exact = np.array([_first_place_exact(QUAD_SCORE, QUAD_SE, j, sign) for j in range(4)])
        assert np.all(np.abs(probs[:, column] - exact) <= _mc_tol(exact, DRAWS)), column


@pytest.mark.parametrize("seed", [2026, 7, 123456])
def test_trio_monte_carlo_mean_rank(seed: int) -> None:
    probs = place_probabilities(TRIO_SCORE, TRIO_SE, draws=DRAWS, seed=seed)
    places = np.arange(1, 4)
    mean = probs @ places
    sd = np.sqrt(np.maximum(probs @ places**2 - mean**2, 0.0))
    assert np.all(np.abs(mean - TRIO_EXPECTED_RANK) <= 4.5 * sd / np.sqrt(DRAWS) + 1e-6)


@pytest.mark.parametrize(("k", "unit", "exact"), [(1, 0, TRIO_P_FIRST_UNIT1), (3, 2, 1.0)])
def test_p_rank_le_trio(k: int, unit: int, exact: float) -> None:
    probs = place_probabilities(TRIO_SCORE, TRIO_SE, draws=DRAWS)
    assert abs(p_rank_le(probs, k)[unit] - exact) <= _mc_tol(exact, DRAWS)


def test_p_rank_le_top_two_of_last_unit() -> None:
    probs = place_probabilities(TRIO_SCORE, TRIO_SE, draws=DRAWS)
    exact = 1.0 - _first_place_exact(TRIO_SCORE, TRIO_SE, 2, -1.0)
    assert abs(p_rank_le(probs, 2)[2] - exact) <= _mc_tol(exact, DRAWS)


@pytest.mark.parametrize("k", [0, 4])
def test_p_rank_le_rejects_k_out_of_range(k: int) -> None:
    with pytest.raises(ValueError):
        p_rank_le(np.full((3, 3), 1 / 3), k)


@pytest.mark.parametrize("case", ["trio", "pisa"])
def test_place_matrix_rows_and_columns_sum_to_one(case: str, pisa: dict[str, object]) -> None:
    score, se = (TRIO_SCORE, TRIO_SE) if case == "trio" else (pisa["score"], pisa["se"])
    probs = place_probabilities(score, se, draws=DRAWS)
    assert probs.shape == (score.size, score.size)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-12)


def test_expected_ranks_sum_to_triangular_number(pisa: dict[str, object]) -> None:
    p = pisa["score"].size
    assert expected_rank_exact(pisa["score"], pisa["se"]).sum() == pytest.approx(p * (p + 1) / 2, abs=1e-9)


def test_draw_scores_shape_and_moments() -> None:
    theta = draw_scores(TRIO_SCORE, TRIO_SE, DRAWS, seed=11)
    assert theta.shape == (DRAWS, 3)
    assert np.all(np.abs(theta.mean(axis=0) - TRIO_SCORE) <= 4.5 * TRIO_SE / np.sqrt(DRAWS))
    # the sample sd of normal draws has standard error about sd / sqrt(2 n).
    assert np.all(np.abs(theta.std(axis=0) - TRIO_SE) <= 4.5 * TRIO_SE / np.sqrt(2 * DRAWS))


@pytest.mark.parametrize(
    "run",
    [
        lambda s: draw_scores(TRIO_SCORE, TRIO_SE, 500, s),
        lambda s: place_probabilities(TRIO_SCORE, TRIO_SE, draws=2000, seed=s),
        lambda s: rank_sets_marginal(TRIO_SCORE, TRIO_SE, draws=2000, seed=s),
        lambda s: rank_sets_simultaneous(TRIO_SCORE, TRIO_SE, draws=2000, seed=s),
        lambda s: could_be_top(TRIO_SCORE, TRIO_SE, 2, draws=2000, seed=s),
    ],
    ids=["draw_scores", "place_probabilities", "marginal", "simultaneous", "could_be_top"],
)
def test_same_seed_same_output(run) -> None:
    first, second = run(99), run(99)
    np.testing.assert_array_equal(np.asarray(first), np.asarray(second))


def test_different_seed_changes_draws() -> None:
    assert not np.array_equal(draw_scores(TRIO_SCORE, TRIO_SE, 50, 1), draw_scores(TRIO_SCORE, TRIO_SE, 50, 2))


def test_could_be_top_grows_with_tau(pisa: dict[str, object]) -> None:
    sets = [could_be_top(pisa["score"], pisa["se"], tau, draws=DRAWS) for tau in (1, 3, 10, 38)]
    for smaller, larger in zip(sets, sets[1:]):
        assert np.all(larger[smaller])
    assert sets[-1].all()


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        (rank_sets_marginal, {"score": [1, 2, 3], "se": [1, 1]}),
        (rank_sets_marginal, {"score": [1, 2, 3], "se": [1, -1, 1]}),
        (rank_sets_simultaneous, {"score": [1, 2, 3], "se": [1, 1, 1], "coverage": 1.0}),
        (rank_sets_simultaneous, {"score": [1, 2, 3], "se": [1, 1, 1], "draws": 0}),
        (could_be_top, {"score": [1, 2, 3], "se": [1, 1, 1], "tau": 0}),
        (could_be_top, {"score": [1, 2, 3], "se": [1, 1, 1], "tau": 4}),
        (rank_sets_marginal, {"score": [1, 2, 3], "se": [1, 1, 1], "cov": np.eye(3) * 4}),
        (expected_rank_exact, {"score": [1, np.nan], "se": [1, 1]}),
    ],
)
def test_invalid_inputs_raise(call, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        call(**kwargs)
