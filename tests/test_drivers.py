"""Tests for analysis.stats.drivers against published examples and synthetic data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from analysis.stats.drivers import (importance_performance, item_importance, relative_weights, shapley_lmg, subset_r2,
                                    weighted_corr,)

# Four predictors, outcome last.
R = np.array(
    [
        [1.0, 0.2, 0.3, 0.4, -0.4],
        [0.2, 1.0, 0.5, 0.1, 0.1],
        [0.3, 0.5, 1.0, 0.2, -0.3],
        [0.4, 0.1, 0.2, 1.0, 0.4],
        [-0.4, 0.1, -0.3, 0.4, 1.0],
    ]
)
R2 = 0.69860449


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (lambda c: relative_weights(c)[0], [0.24066119, 0.05492664, 0.12143476, 0.28158189]),
        (shapley_lmg, [0.23807039, 0.0561032, 0.11800387, 0.28642702]),
    ],
    ids=["relative_weights", "shapley_lmg"],
)
def test_published_examples(method, expected: list[float]) -> None:
    got = method(R)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got.sum() == pytest.approx(R2, abs=1e-6)


def test_relative_weights_r2() -> None:
    assert relative_weights(R)[1] == pytest.approx(R2, abs=1e-6)


def test_subset_r2_matches_direct_regressions() -> None:
    rxx, rxy = R[:-1, :-1], R[:-1, -1]
    r2 = subset_r2(R)
    for size in range(5):
        for subset in itertools.combinations(range(4), size):
            idx = list(subset)
            direct = rxy[idx] @ np.linalg.solve(rxx[np.ix_(idx, idx)], rxy[idx]) if idx else 0.0
            assert r2[sum(1 << j for j in idx)] == pytest.approx(direct, abs=1e-12)


def test_shapley_matches_permutation_definition() -> None:
    # Average marginal gain over all 4! orderings — the textbook LMG definition.
    r2 = subset_r2(R)
    total = np.zeros(4)
    for order in itertools.permutations(range(4)):
        mask = 0
        for j in order:
            total[j] += r2[mask | (1 << j)] - r2[mask]
            mask |= 1 << j
    np.testing.assert_allclose(shapley_lmg(R), total / math.factorial(4), atol=1e-12)


def test_relative_weights_rejects_singular() -> None:
    singular = np.array([[1.0, 1.0, 0.5], [1.0, 1.0, 0.5], [0.5, 0.5, 1.0]])
    with pytest.raises(ValueError):
        relative_weights(singular)


# --- correlations ------------------------------------------------------------


def test_weighted_corr_pairwise_matches_pandas() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 4))
    x[rng.random(x.shape) < 0.25] = np.nan
    np.testing.assert_allclose(weighted_corr(x), pd.DataFrame(x).corr().to_numpy(), atol=1e-12)


def test_weighted_corr_integer_weights_equal_repeated_rows() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(30, 3))
    reps = rng.integers(1, 5, size=30)
    np.testing.assert_allclose(
        weighted_corr(x, reps.astype(float)), np.corrcoef(np.repeat(x, reps, axis=0).T), atol=1e-12
    )


# --- item importance ---------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 2000
    common = rng.normal(size=n)
    # Mildly correlated items, as satisfaction items are.
    items = {f"q{j}": 0.4 * common + rng.normal(size=n) for j in range(1, 5)}
    df = pd.DataFrame(items)
    overall = 0.6 * df["q1"] + 0.3 * df["q2"] + 0.1 * df["q3"] + 0.0 * df["q4"] + rng.normal(scale=0.5, size=n)
    return df.assign(overall=overall, w=rng.uniform(0.5, 2.0, size=n))


def test_item_importance_recovers_ordering(synthetic: pd.DataFrame) -> None:
    out = item_importance(synthetic, ["q1", "q2", "q3", "q4"], "overall")
    assert list(out.columns) == ["item", "corr", "raw_weight", "rescaled", "r2"]
    assert list(out.sort_values("rescaled", ascending=False)["item"]) == ["q1", "q2", "q3", "q4"]
    assert out["rescaled"].sum() == pytest.approx(1.0, abs=1e-12)
    assert out["r2"].nunique() == 1
    assert out["raw_weight"].sum() == pytest.approx(out["r2"].iloc[0], abs=1e-12)
    assert out.attrs["correlation"] == "listwise"


def test_item_importance_weighted(synthetic: pd.DataFrame) -> None:
    out = item_importance(synthetic, ["q1", "q2", "q3", "q4"], "overall", weight="w")
    assert list(out.sort_values("rescaled", ascending=False)["item"]) == ["q1", "q2", "q3", "q4"]
    assert out["rescaled"].sum() == pytest.approx(1.0, abs=1e-12)


def test_item_importance_falls_back_to_pairwise(synthetic: pd.DataFrame) -> None:
    rng = np.random.default_rng(5)
    gappy = synthetic.copy()
    items = ["q1", "q2", "q3", "q4"]
    # 20% 不了解 per item leaves ~0.8^5 ≈ 33% complete rows: below the 50% bar.
    for c in [*items, "overall"]:
        gappy.loc[rng.random(len(gappy)) < 0.2, c] = np.nan
    out = item_importance(gappy, items, "overall")
    assert out.attrs["correlation"] == "pairwise"
    assert out.attrs["n_listwise"] < len(gappy) / 2
    expected_corr = gappy[items].corrwith(gappy["overall"]).to_numpy()
    np.testing.assert_allclose(out["corr"], expected_corr, atol=1e-12)
    assert out["item"].iloc[out["rescaled"].idxmax()] == "q1"
    assert out["rescaled"].sum() == pytest.approx(1.0, abs=1e-12)


def test_item_importance_rejects_constant_item(synthetic: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="q2"):
        item_importance(synthetic.assign(q2=5.0), ["q1", "q2"], "overall")


# --- importance–performance quadrants ---------------------------------------


def test_importance_performance_quadrants() -> None:
    # importance mean 0.25, score mean 75.
    table = pd.DataFrame(
        {
            "item": ["a", "b", "c", "d"],
            "rescaled": [0.40, 0.30, 0.20, 0.10],
            "score": [60.0, 90.0, 70.0, 80.0],
        }
    )
    out = importance_performance(table)
    assert "quadrant" not in table.columns
    assert out["quadrant"].tolist() == ["重点攻坚", "优势巩固", "持续改进", "保持稳定"]


@pytest.mark.parametrize("imp, perf, expected", [
    # Red lines below the mean importance are 政策底线, whether their score is low (c) or high (d) ...
    ([0.40, 0.30, 0.20, 0.10], [60.0, 90.0, 70.0, 80.0], ["重点攻坚", "优势巩固", "政策底线", "政策底线"]),
    # ... and keep their quadrant when they are among the important items.
    ([0.10, 0.20, 0.30, 0.40], [60.0, 90.0, 70.0, 80.0], ["持续改进", "保持稳定", "重点攻坚", "优势巩固"]),
])
def test_policy_red_lines_are_never_a_low_priority_quadrant(imp, perf, expected) -> None:
    table = pd.DataFrame({"item": ["a", "b", "大班额治理", "有偿补课治理"], "rescaled": imp, "score": perf})
    assert importance_performance(table)["quadrant"].tolist() == expected


def test_importance_performance_ties_count_as_high() -> None:
    # Three equal importances average to 0.10000000000000002, not 0.1:
    # ties must still count as important; a score equal to the mean as high.
    table = pd.DataFrame({"imp": [0.1, 0.1, 0.1], "perf": [70.0, 80.0, 90.0]})
    out = importance_performance(table, importance="imp", performance="perf")
    assert out["quadrant"].tolist() == ["重点攻坚", "优势巩固", "优势巩固"]
