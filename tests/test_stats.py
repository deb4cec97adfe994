"""Tests for analysis.stats.estimates against published R survey values and hand arithmetic."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.estimates import (Z95, Z998, change_p, funnel_curves, funnel_limits, funnel_target,
                                      grouped_score_table, holm_adjust, kish_deff, kish_n_eff, overdispersion_tau2,
                                      pairwise_vs_home, rake_weights, spearman, weighted_mean_se,)

FIXTURE = Path(__file__).parent / "fixtures" / "weighted_survey_toy.csv"
MARGINS = {
    "urban": {"U": 45000.0, "R": 55000.0},
    "sex": {"M": 51000.0, "F": 49000.0},
    "age": {"Y": 40000.0, "O": 60000.0},
}


@pytest.fixture(scope="module")
def toy() -> pd.DataFrame:
    return pd.read_csv(FIXTURE)


@pytest.fixture(scope="module")
def scored(toy: pd.DataFrame) -> pd.DataFrame:
    # Published values are over respondents with a scored answer (all 22 here).
    return toy[toy["y"].notna() & toy["known"]]


# --- weighted mean, SE, Kish -------------------------------------------------


def test_fixture_has_22_scored_respondents(scored: pd.DataFrame) -> None:
    assert len(scored) == 22


def test_weighted_mean_se_matches_r_survey(scored: pd.DataFrame) -> None:
    mean, se = weighted_mean_se(scored["y"].to_numpy(), scored["w_rake_known"].to_numpy())
    assert mean == pytest.approx(72.5584737, abs=1e-6)
    assert se == pytest.approx(6.6176571, abs=1e-6)


def test_kish_matches_published(scored: pd.DataFrame) -> None:
    y, w = scored["y"].to_numpy(), scored["w_rake_known"].to_numpy()
    assert kish_n_eff(w) == pytest.approx(21.5518144, abs=1e-6)
    assert kish_deff(y, w) == pytest.approx(1.020795724, abs=1e-9)


def test_kish_deff_is_not_survey_srs_ratio(scored: pd.DataFrame) -> None:
    # survey's deff = var_design / ((1 - n/N) s²/n), N = Σw; it gives ≈1.020959,
    # i.e. it is not the published number, which is why kish_deff is n/n_eff.
    y, w = scored["y"].to_numpy(float), scored["w_rake_known"].to_numpy(float)
    n, big_n = len(y), w.sum()
    mean, se = weighted_mean_se(y, w)
    s2 = n / (n - 1) * np.sum(w * (y - mean) ** 2) / big_n
    survey_deff = se**2 / ((1 - n / big_n) * s2 / n)
    assert survey_deff == pytest.approx(1.020959, abs=1e-6)
    assert abs(survey_deff - 1.020795724) > 1e-4


def test_unweighted_reduces_to_s_over_root_n(scored: pd.DataFrame) -> None:
    y = scored["y"].to_numpy(float)
    mean, se = weighted_mean_se(y)
    assert mean == pytest.approx(y.mean(), rel=1e-12)
    assert se == pytest.approx(np.std(y, ddof=1) / np.sqrt(len(y)), rel=1e-12)


def test_weighted_mean_se_ignores_weight_scale(scored: pd.DataFrame) -> None:
    y, w = scored["y"].to_numpy(), scored["w_rake_known"].to_numpy()
    assert weighted_mean_se(y, w) == pytest.approx(weighted_mean_se(y, w / 1234.5), rel=1e-12)


def test_weighted_mean_se_drops_unscored_and_small_n() -> None:
    mean, se = weighted_mean_se(np.array([50.0, np.nan, 70.0]), np.array([1.0, 9.0, 3.0]))
    # ȳ = (50 + 210)/4 = 65; Σw²(y−ȳ)² = 1·225 + 9·25 = 450; se = √(2·450)/4 = 7.5
    assert (mean, se) == pytest.approx((65.0, 7.5))
    one = weighted_mean_se(np.array([80.0, np.nan]))
    assert one[0] == 80.0 and math.isnan(one[1])
    assert all(math.isnan(v) for v in weighted_mean_se(np.array([np.nan])))


# --- grouped score table -----------------------------------------------------


@pytest.fixture
def small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "county": ["A", "A", "B", "B", "B", "B", "C", "C", "D"],
            "points": [60.0, 100.0, 80.0, np.nan, 40.0, 100.0, np.nan, np.nan, 70.0],
            "weight": [1.0, 3.0, 2.0, 1.0, 1.0, 1.0, 1.0, 2.0, 5.0],
        }
    )


def test_grouped_score_table_hand_computed(small_frame: pd.DataFrame) -> None:
    before = small_frame.copy()
    out = grouped_score_table(small_frame, ["county"])
    pd.testing.assert_frame_equal(small_frame, before)  # input untouched
    assert list(out.columns) == ["county", "n", "score", "se", "ci_low", "ci_high", "n_eff", "n_excluded"]
    out = out.set_index("county")

    # A: y = 60, 100; w = 1, 3. Σw = 4, ȳ = (60 + 300)/4 = 90.
    #    Σw²(y−ȳ)² = 1·(−30)² + 9·10² = 1800; se = √(2/1 · 1800)/4 = 60/4 = 15.
    #    n_eff = 4²/(1 + 9) = 1.6
    a = out.loc["A"]
    assert (a["n"], a["n_excluded"]) == (2, 0)
    assert a["score"] == pytest.approx(90.0)
    assert a["se"] == pytest.approx(15.0)
    assert a["ci_low"] == pytest.approx(90.0 - 1.959964 * 15.0)
    assert a["ci_high"] == pytest.approx(90.0 + 1.959964 * 15.0)
    assert a["n_eff"] == pytest.approx(1.6)

    # B: NaN row excluded; y = 80, 40, 100; w = 2, 1, 1. Σw = 4, ȳ = (160 + 40 + 100)/4 = 75.
    #    Σw²(y−ȳ)² = 4·5² + 1·(−35)² + 1·25² = 100 + 1225 + 625 = 1950
    #    se = √(3/2 · 1950)/4 = √2925/4 = 13.520817...; n_eff = 16/(4 + 1 + 1) = 8/3
    b = out.loc["B"]
    assert (b["n"], b["n_excluded"]) == (3, 1)
    assert b["score"] == pytest.approx(75.0)
    assert b["se"] == pytest.approx(math.sqrt(2925) / 4)
    assert b["n_eff"] == pytest.approx(8 / 3)

    # C: every answer is 不了解 — kept as a row so the exclusion is visible.
    c = out.loc["C"]
    assert (c["n"], c["n_excluded"]) == (0, 2)
    assert math.isnan(c["score"]) and math.isnan(c["se"])

    # D: a single respondent has a score but no SE.
    d = out.loc["D"]
    assert (d["n"], d["score"], d["n_eff"]) == (1, 70.0, 1.0)
    assert math.isnan(d["se"])


def test_grouped_score_table_two_keys_matches_scalar(toy: pd.DataFrame) -> None:
    out = grouped_score_table(toy, ["urban", "sex"], value="y", weight="w_rake_known")
    assert len(out) == 4
    for row in out.itertuples(index=False):
        part = toy[(toy["urban"] == row.urban) & (toy["sex"] == row.sex)]
        mean, se = weighted_mean_se(part["y"].to_numpy(), part["w_rake_known"].to_numpy())
        assert row.score == pytest.approx(mean, rel=1e-12)
        assert row.se == pytest.approx(se, rel=1e-12)
        assert row.n == len(part)


def test_grouped_score_table_numerically_stable() -> None:
    # A huge common offset must not change the SE; the expanded Σw²y² − … form
    # would cancel to garbage here.
    rng = np.random.default_rng(1)
    y = rng.normal(size=40)
    w = rng.uniform(0.5, 2.0, size=40)
    g = np.repeat(["x", "y"], 20)
    base = grouped_score_table(pd.DataFrame({"g": g, "points": y, "weight": w}), ["g"])
    shifted = grouped_score_table(pd.DataFrame({"g": g, "points": y + 1e9, "weight": w}), ["g"])
    np.testing.assert_allclose(shifted["se"], base["se"], rtol=1e-6)


def test_grouped_score_table_unweighted(small_frame: pd.DataFrame) -> None:
    out = grouped_score_table(small_frame, ["county"], weight=None).set_index("county")
    y = np.array([80.0, 40.0, 100.0])
    assert out.loc["B", "se"] == pytest.approx(np.std(y, ddof=1) / math.sqrt(3))


# --- funnel plot -------------------------------------------------------------


def tau2_reference(score: list[float], se: list[float], target: float) -> float:
    """Independent plain-Python Spiegelhalter (2005) τ², written from the paper."""
    z = [(y - target) / s for y, s in zip(score, se)]
    ordered = sorted(z)
    k = len(z)

    def pct(q: float) -> float:  # linear interpolation between order statistics
        pos = q * (k - 1)
        lo = int(math.floor(pos))
        hi = min(lo + 1, k - 1)
        return ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo])

    p10, p90 = pct(0.10), pct(0.90)
    total = 0.0
    for zi in z:
        zi = min(max(zi, p10), p90)
        total += zi * zi
    phi = total / k
    if k * phi <= k - 1:
        return 0.0
    sw = sum(1 / s**2 for s in se)
    sw2 = sum(1 / s**4 for s in se)
    return (k * phi - (k - 1)) / (sw - sw2 / sw)


def test_tau2_hand_example() -> None:
    # target 75, se 2 → z = −2.5, 2.5, 0, −7.5, 7.5; sorted −7.5, −2.5, 0, 2.5, 7.5.
    # 10th pct at position 0.4: −7.5 + 0.4·5 = −5.5; 90th at 3.6: 2.5 + 0.6·5 = 5.5.
    # Winsorised z² = 6.25, 6.25, 0, 30.25, 30.25 → I·φ = 73 > I − 1 = 4.
    # w = 1/4 each: Σw − Σw²/Σw = 1.25 − 0.3125/1.25 = 1.0 → τ² = (73 − 4)/1 = 69.
    score, se = [70.0, 80.0, 75.0, 60.0, 90.0], [2.0] * 5
    assert funnel_target(np.array(score)) == 75.0
    assert overdispersion_tau2(np.array(score), np.array(se), 75.0) == pytest.approx(69.0)
    assert tau2_reference(score, se, 75.0) == pytest.approx(69.0)


def test_tau2_matches_reference_on_unequal_se() -> None:
    rng = np.random.default_rng(7)
    se = rng.uniform(1.0, 5.0, size=17)
    score = 70 + rng.normal(scale=np.sqrt(se**2 + 9.0))
    target = float(score.mean())
    got = overdispersion_tau2(score, se, target)
    assert got > 0
    assert got == pytest.approx(tau2_reference(list(score), list(se), target), rel=1e-12)


def test_tau2_zero_without_overdispersion() -> None:
    # z = 0, 0.25, −0.25, 0, 0 → I·φ ≈ 0.1 ≤ I − 1 = 4.
    score = np.array([75.0, 75.5, 74.5, 75.0, 75.0])
    assert overdispersion_tau2(score, np.full(5, 2.0), 75.0) == 0.0


def test_funnel_limits_formula() -> None:
    score, se = np.array([70.0, 80.0, 75.0, 60.0, 90.0]), np.full(5, 2.0)
    out = funnel_limits(score, se)  # target = 75, τ² = 69 as above
    spread = math.sqrt(4 + 69)
    np.testing.assert_allclose(out["target"], 75.0)
    np.testing.assert_allclose(out["tau2"], 69.0)
    assert out["lo95"].iloc[0] == pytest.approx(75 - 1.959964 * spread)
    assert out["hi998"].iloc[0] == pytest.approx(75 + 3.090232 * spread)
    assert out["z"].iloc[3] == pytest.approx(-15 / spread)
    plain = funnel_limits(score, se, target=70.0, tau2=0.0)
    assert plain["hi95"].iloc[0] == pytest.approx(70 + 1.959964 * 2)
    # Beyond 75 ± 1.96·√73 = [58.25, 91.75]: nobody; around 70 ± 3.92 with τ² = 0: everyone but 70 itself.
    assert not out["outside95"].any()
    assert plain["outside95"].tolist() == [False, True, True, True, True]


def test_funnel_curves_columns_and_values() -> None:
    out = funnel_curves(75.0, 4.0, np.array([1.0, 2.0, 4.0]))
    assert list(out.columns) == ["se", "precision", "lo95", "hi95", "lo998", "hi998"]
    np.testing.assert_allclose(out["precision"], [1.0, 0.5, 0.25])
    np.testing.assert_allclose(out["hi95"], 75 + Z95 * np.sqrt([5.0, 8.0, 20.0]))
    np.testing.assert_allclose(out["lo998"], 75 - Z998 * np.sqrt([5.0, 8.0, 20.0]))


# --- Holm and pairwise comparisons ------------------------------------------


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        # sorted .005·4 = .02, .01·3 = .03, .03·2 = .06, .04·1 = .04 → running max .06
        ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
        # R p.adjust(c(.01,.02,.03,.04,.05), "holm"): .05, .08, .09, .08→.09, .05→.09
        ([0.01, 0.02, 0.03, 0.04, 0.05], [0.05, 0.08, 0.09, 0.09, 0.09]),
        # .02·3 = .06, .3·2 = .6, .5·1 = .5 → .6 (monotone)
        ([0.5, 0.3, 0.02], [0.6, 0.6, 0.06]),
        # .6·2 = 1.2 capped at 1
        ([0.6, 0.7], [1.0, 1.0]),
        # NaN is not counted in m (as R): .02·2 = .04, .5
        ([0.5, np.nan, 0.02], [0.5, np.nan, 0.04]),
        ([], []),
    ],
)
def test_holm_adjust(p: list[float], expected: list[float]) -> None:
    np.testing.assert_allclose(holm_adjust(np.array(p, dtype=float)), expected, rtol=1e-12)


def test_pairwise_vs_home_hand_example() -> None:
    table = pd.DataFrame(
        {"county": ["A", "B", "C", "D"], "score": [80.0, 70.0, 78.0, 95.0], "se": [3.0, 4.0, 1.0, 3.0]}
    )
    out = pairwise_vs_home(table, "A").set_index("county")
    # B: diff 10, se √(9+16) = 5, z = 2;  C: diff 2, se √10;  D: diff −15, se √18.
    z = {"B": 2.0, "C": 2 / math.sqrt(10), "D": -15 / math.sqrt(18)}
    p = {k: math.erfc(abs(v) / math.sqrt(2)) for k, v in z.items()}
    for k in z:
        assert out.loc[k, "z"] == pytest.approx(z[k])
        assert out.loc[k, "p"] == pytest.approx(p[k])
    assert out.loc["B", "se_diff"] == pytest.approx(5.0)
    # Holm order D (×3), B (×2), C (×1): B's raw p .0455 becomes .091 → not significant.
    assert out.loc["D", "p_holm"] == pytest.approx(3 * p["D"])
    assert out.loc["B", "p_holm"] == pytest.approx(2 * p["B"])
    assert out.loc["C", "p_holm"] == pytest.approx(p["C"])
    assert out["verdict"].to_dict() == {"B": "差异不显著", "C": "差异不显著", "D": "显著落后"}

    lead = pairwise_vs_home(table.assign(score=[90.0, 70.0, 78.0, 95.0]), "A").set_index("county")
    assert lead.loc["B", "verdict"] == "显著领先"


def test_pairwise_vs_home_rejects_unknown_home() -> None:
    with pytest.raises(ValueError):
        pairwise_vs_home(pd.DataFrame({"county": ["A"], "score": [1.0], "se": [1.0]}), "Z")


# --- raking ------------------------------------------------------------------


def test_rake_reproduces_published_weights(toy: pd.DataFrame) -> None:
    published = toy["w_rake_known"].to_numpy()
    # Default tol (1e-10 relative margin error) already agrees to ~3e-11 relative.
    w = rake_weights(toy, MARGINS)
    np.testing.assert_allclose(w.to_numpy(), published, rtol=1e-8, atol=0)
    # Weights are ~5000, so 1e-8 absolute needs a tighter margin tolerance.
    tight = rake_weights(toy, MARGINS, tol=1e-12)
    np.testing.assert_allclose(tight.to_numpy(), published, rtol=0, atol=1e-8)
    # Any constant base weight rakes to the same answer.
    again = rake_weights(toy.assign(b=7.0), MARGINS, base_weight="b")
    np.testing.assert_allclose(again.to_numpy(), w.to_numpy(), rtol=1e-12)


def test_rake_rejects_inconsistent_margins(toy: pd.DataFrame) -> None:
    with pytest.raises(ValueError):
        rake_weights(toy, {**MARGINS, "sex": {"M": 1.0, "F": 1.0}})
    with pytest.raises(ValueError):
        rake_weights(toy, {"urban": {"U": 1.0}})


@pytest.mark.parametrize("x, y", [
    # Ranks of y against x = 1..5: 1, 3, 2, 5, 4 (Σd² = 4), as lists and as float Series.
    ([0.5, 0.6, 0.7, 0.8, 0.9], [70, 72, 71, 80, 78]),
    (pd.Series([10.0, 20, 30, 40, 50]), pd.Series([0.2, 0.1, 0.4, 0.3, 0.5]).rename("other")),
    # An incomplete pair is dropped, a nullable column read as float.
    ([0.5, 0.6, 0.7, 0.8, 0.9, None], pd.array([70, 72, 71, 80, 78, 90], dtype="Int64")),
])
def test_spearman_by_hand(x, y) -> None:
    # ρ = 1 − 6·4/(5·24) = 0.8; t = ρ·√(3/(1 − ρ²)) = 2.3094011 on 3 df, two-sided p = 0.1040880 (the t approximation;
    # R's exact test for n = 5 would give 0.1333).
    result = spearman(x, y)
    assert result["rho"] == pytest.approx(0.8)
    assert result["p"] == pytest.approx(0.1040880, abs=1e-7)
    assert result["n"] == 5


@pytest.mark.parametrize("x, y, n", [
    ([1, 2], [3, 4], 2),                              # fewer than 3 pairs
    ([1.0, 2.0, np.nan], [3.0, 4.0, 5.0], 2),         # 3 rows, 2 complete pairs
    ([1, 2, 3], [5, 5, 5], 3),                        # no spread in y
])
def test_spearman_is_undefined_without_three_varying_pairs(x, y, n) -> None:
    result = spearman(x, y)
    assert math.isnan(result["rho"]) and math.isnan(result["p"]) and result["n"] == n


@pytest.mark.parametrize("diff, se, expected", [
    (1.0, 1.0, 0.3173105),            # 2·Φ(−1), tables
    (-1.959964, 1.0, 0.05),           # z = 1.96 is the 5% line, either sign
    (0.0, 1.0, 1.0),
    (1.0, 0.0, float("nan")),         # no sampling error given: untestable, not "certain"
    (float("nan"), 1.0, float("nan")),
])
def test_change_p(diff, se, expected) -> None:
    assert change_p(diff, se) == pytest.approx(expected, abs=1e-6, nan_ok=True)
    # The same numbers element-wise when given as arrays (群体与乡镇 tests every group at once).
    assert change_p(np.array([diff, diff]), np.array([se, se])) == pytest.approx([expected] * 2, abs=1e-6, nan_ok=True)


def test_pairwise_without_any_sampling_error_is_untestable() -> None:
    # Home and B both exact (SE 0, e.g. all answers alike): no test, not "p = 0, significant".
    table = pd.DataFrame({"county": ["H", "B", "C"], "score": [80.0, 78.0, 70.0], "se": [0.0, 0.0, 2.0]})
    out = pairwise_vs_home(table, "H").set_index("county")
    assert math.isnan(out.loc["B", "p"]) and pd.isna(out.loc["B", "verdict"])
    assert out.loc["C", "p"] == pytest.approx(5.733031e-7, rel=1e-5)  # z = 10/2 = 5: 2·(1 − Φ(5)), tables
