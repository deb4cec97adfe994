"""analysis.stats.weighting against R survey 4.1-1 (tests/fixtures/groups_toy_expected_R.csv) and hand or brute-force values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.data.contract import RESPONSE_COLUMNS
from analysis.stats.weighting import (calibration_residuals, design_mean, domain_means, load_raking, parse_raking,
                                      rake, rao_scott,)
from analysis.survey.groups import dimension_tests, group_scores, group_table

FIXTURES = Path(__file__).parent / "fixtures"
POINTS = {"满意": 100.0, "比较满意": 80.0, "一般": 60.0, "不太满意": 40.0, "不满意": 0.0}
# The margins R raked to (each share × n = 240), keyed by the data contract's Chinese headers.
MARGINS_CN = {"城乡": {"城镇": 0.42, "农村": 0.58}, "性别": {"男": 0.5, "女": 0.5},
              "年龄段": {"18-39岁": 0.35, "40-59岁": 0.40, "60岁及以上": 0.25}}
HEADER = {c.header: c.name for c in RESPONSE_COLUMNS}
MARGINS = {HEADER[k]: v for k, v in MARGINS_CN.items()}
TOY_DIMS = {"urban_rural": "城乡", "sex": "性别", "age_group": "年龄段"}


def contract_toy() -> pd.DataFrame:
    """The R toy (English columns, `answer`) rewritten in the data contract, then read by its headers like an upload."""
    toy = pd.read_csv(FIXTURES / "groups_toy.csv")
    chinese = pd.DataFrame({"受访者编号": toy["respondent_id"], "测评批次": "2026年第3季度", "县区": "玩具县",
                            "总体满意度": toy["answer"], "权重": toy["weight"], "城乡": toy["urban_rural"],
                            "性别": toy["sex"], "年龄段": toy["age_group"]})
    return chinese.rename(columns=HEADER)


@pytest.fixture(scope="module")
def toy() -> pd.DataFrame:
    return contract_toy()


@pytest.fixture(scope="module")
def expected() -> dict[str, dict[str, float]]:
    frame = pd.read_csv(FIXTURES / "groups_toy_expected_R.csv")
    return {row["what"]: row for row in frame.to_dict("records")}


def _y(frame: pd.DataFrame) -> np.ndarray:
    return frame["overall"].map(POINTS).to_numpy(dtype="float64")


@pytest.mark.parametrize("dimension", ["urban_rural", "sex", "age_group"])
def test_group_means_equal_r_svyby(toy, expected, dimension) -> None:
    out = domain_means(_y(toy), toy["weight"].to_numpy(), toy[dimension]).set_index("group")
    levels = [k.removeprefix(f"mean_{dimension}_") for k in expected if k.startswith(f"mean_{dimension}_")]
    assert sorted(levels) == sorted(out.index)
    for level in levels:
        r = expected[f"mean_{dimension}_{level}"]
        assert out.loc[level, "mean"] == pytest.approx(r["a"], abs=1e-6)
        assert out.loc[level, "se"] == pytest.approx(r["b"], abs=1e-6)


@pytest.mark.parametrize("dimension", ["urban_rural", "sex", "age_group"])
def test_rao_scott_equals_r_svychisq(toy, expected, dimension) -> None:
    test = rao_scott(toy[dimension], toy["overall"], toy["weight"].to_numpy())
    f, first = expected[f"chisq_F_{dimension}"], expected[f"chisq_1st_{dimension}"]
    assert (test.f, test.df1, test.df2) == pytest.approx((f["a"], f["b"], f["c"]), abs=1e-6)
    assert test.p == pytest.approx(f["p"], abs=1e-4)
    assert test.chisq == pytest.approx(first["a"], abs=1e-6)
    assert test.df == first["b"]
    assert test.p_first == pytest.approx(first["p"], abs=1e-4)
    # The same numbers through the page's per-dimension table (groups of ≥ 30, Holm over the three dimensions).
    row = dimension_tests(toy, tuple(TOY_DIMS), POINTS, 30).set_index("dimension").loc[dimension]
    assert (row["f"], row["df1"], row["df2"], row["chisq"]) == pytest.approx((f["a"], f["b"], f["c"], first["a"]), abs=1e-6)


def test_rao_scott_with_equal_weights_is_pearson() -> None:
    # With all weights 1 the first-order statistic is Pearson's X² on the counts (scipy, no continuity correction).
    rng = np.random.default_rng(7)
    rows = rng.choice(["甲", "乙", "丙"], 300)
    cols = rng.choice(list(POINTS), 300, p=[0.4, 0.25, 0.2, 0.1, 0.05])
    test = rao_scott(rows, cols, np.ones(300))
    pearson = sps.chi2_contingency(pd.crosstab(rows, cols).to_numpy(), correction=False)
    assert test.chisq == pytest.approx(pearson.statistic, rel=1e-10)
    assert test.df == pearson.dof == 8
    # Scaling every weight by a constant changes nothing.
    again = rao_scott(rows, cols, np.full(300, 37.5))
    assert (again.f, again.df1, again.p) == pytest.approx((test.f, test.df1, test.p), rel=1e-10)


def test_domain_means_unweighted_hand_formula() -> None:
    # Weights 1, groups A = (100, 60), B = (80, 80, 40), one unanswered respondent: n = 6 for the design.
    y = np.array([100.0, 60.0, 80.0, 80.0, 40.0, np.nan])
    out = domain_means(y, np.ones(6), np.array(["A", "A", "B", "B", "B", "B"])).set_index("group")
    assert out.loc["A", "mean"] == pytest.approx(80.0) and out.loc["B", "mean"] == pytest.approx(200 / 3)
    # SE_A = sqrt(6/5 · (20² + 20²)) / 2; SE_B = sqrt(6/5 · Σ(y − 66.67)²) / 3.
    assert out.loc["A", "se"] == pytest.approx(np.sqrt(6 / 5 * 800) / 2)
    ss_b = (80 - 200 / 3) ** 2 * 2 + (40 - 200 / 3) ** 2
    assert out.loc["B", "se"] == pytest.approx(np.sqrt(6 / 5 * ss_b) / 3)
    # Two groups: A against the rest is A against B, with independent-domain variance; t on n − 2 = 4 df.
    se_diff = np.hypot(out.loc["A", "se"], out.loc["B", "se"])
    assert out.loc["A", "diff"] == pytest.approx(80 - 200 / 3)
    assert out.loc["A", "se_diff"] == pytest.approx(se_diff)
    assert out.loc["A", "p"] == pytest.approx(2 * sps.t.sf((80 - 200 / 3) / se_diff, 4))


def test_two_group_difference_uses_the_r_domain_ses(toy, expected) -> None:
    # 城镇 against the rest = 城镇 − 农村; its SE from R's two published domain SEs (disjoint domains, one design).
    out = domain_means(_y(toy), toy["weight"].to_numpy(), toy["urban_rural"]).set_index("group")
    se = np.hypot(expected["mean_urban_rural_城镇"]["b"], expected["mean_urban_rural_农村"]["b"])
    assert out.loc["城镇", "se_diff"] == pytest.approx(se, abs=1e-6)
    assert out.loc["城镇", "diff"] == pytest.approx(expected["mean_urban_rural_城镇"]["a"] - expected["mean_urban_rural_农村"]["a"], abs=1e-6)


def test_unraked_mean_equals_r(toy, expected) -> None:
    mean, se = design_mean(_y(toy), toy["weight"].to_numpy())
    assert (mean, se) == pytest.approx((expected["unraked_mean"]["a"], expected["unraked_mean"]["b"]), abs=1e-6)


def test_raking_equals_r_rake_and_svymean(toy, expected) -> None:
    result = rake(toy, MARGINS, toy["weight"], max_iter=100, tol=1e-10)
    first3 = expected["raked_weight_first3"]
    np.testing.assert_allclose(result.weights[:3], [first3["a"], first3["b"], first3["c"]], rtol=0, atol=1e-6)
    assert result.converged and result.max_error < 1e-10 and 1 <= result.iterations < 100
    # Every margin is met: weighted count per category = share × 240.
    for column, shares in MARGINS.items():
        got = pd.Series(result.weights).groupby(toy[column].to_numpy()).sum()
        for level, share in shares.items():
            assert got[level] == pytest.approx(share * 240, rel=1e-9)
    mean, se = design_mean(_y(toy), result.weights, result.codes)
    assert mean == pytest.approx(expected["raked_mean"]["a"], abs=1e-6)
    assert se == pytest.approx(expected["raked_mean"]["b"], abs=1e-6)
    # The same through the groups page's table (county score and its SE).
    table = group_scores(toy, tuple(TOY_DIMS), POINTS, 30, weights=result.weights, codes=result.codes)
    assert table["county_se"].iloc[0] == pytest.approx(expected["raked_mean"]["b"], abs=1e-6)


def test_raked_se_is_the_least_squares_residual_se(toy, expected) -> None:
    """Brute force: residuals of an ordinary least-squares fit of y on all margin indicators, times the raked weights."""
    result = rake(toy, MARGINS, toy["weight"], max_iter=100, tol=1e-10)
    w, y, n = result.weights, _y(toy), len(toy)
    design = np.column_stack([np.ones(n)] + [(toy[c] == level).to_numpy(float) for c, s in MARGINS.items() for level in list(s)[1:]])
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    x = w * resid / w.sum()
    se = np.sqrt(n / (n - 1) * np.sum((x - x.mean()) ** 2))
    assert se == pytest.approx(expected["raked_mean"]["b"], abs=1e-6)
    mean = np.dot(w, y) / w.sum()
    projected = calibration_residuals(w * (y - mean) / w.sum(), w, result.codes)
    np.testing.assert_allclose(projected, x, atol=1e-12)
    # The naive SE with the raked weights (no calibration) is not R's: 1.9895 against 1.9705.
    naive = w * (y - mean) / w.sum()
    assert np.sqrt(n / (n - 1) * np.sum(naive**2)) - se > 0.01


def test_trimming_caps_the_weights_and_keeps_the_margins(toy) -> None:
    result = rake(toy, MARGINS, toy["weight"], trim_ratio=1.5)
    assert result.trimmed > 0 and result.trim_met
    assert result.weights.max() / result.weights.mean() <= 1.5 * (1 + 1e-6)
    assert result.max_error < 1e-10
    got = pd.Series(result.weights).groupby(toy["sex"].to_numpy()).sum()
    assert got["男"] == pytest.approx(120.0, rel=1e-9)
    # A cap no raking can meet (all weights equal to the mean): the margins win and the report says so.
    impossible = rake(toy, MARGINS, toy["weight"], trim_ratio=1.0001)
    assert not impossible.trim_met and impossible.max_error < 1e-10


@pytest.mark.parametrize(("margins", "message"), [
    ({"sex": {"男": 0.5, "女": 0.3}}, "合计为 0.8000"),
    ({"sex": {"男": 1.0}}, "第 1 位受访者（编号 R0000）的“性别”为“女”"),
    ({"sex": {"男": 0.5, "女": 0.4, "其他": 0.1}}, "“其他”没有受访者"),
    ({"township": {"甲": 1.0}}, "没有“乡镇（街道）”列"),
])
def test_bad_margins_are_named(toy, margins, message) -> None:
    with pytest.raises(ValueError, match=message):
        rake(toy, margins, toy["weight"])


def test_raking_settings(tmp_path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[raking]\nenabled = true\ntrim_ratio = 5\n[raking.margins."云溪县"."城乡"]\n"城镇" = 0.42\n"农村" = 0.58\n',
                    encoding="utf-8")
    cfg = load_raking(path)
    assert cfg.for_county("云溪县") == {"城乡": {"城镇": 0.42, "农村": 0.58}}
    assert cfg.for_county("东湖区") == {} and cfg.trim_ratio == 5.0
    assert parse_raking({}).for_county("云溪县") == {}
    with pytest.raises(ValueError, match="raking.margins.云溪县.城乡 的比例合计"):
        parse_raking({"raking": {"margins": {"云溪县": {"城乡": {"城镇": 0.4, "农村": 0.4}}}}})
    with pytest.raises(ValueError, match="raking.trim_ratio"):
        parse_raking({"raking": {"trim_ratio": 0.5}})
    with pytest.raises(ValueError, match="未知的键 raking.enable"):
        parse_raking({"raking": {"enable": True}})


def test_group_table_on_the_toy_counts_two_group_dimensions_once(toy) -> None:
    table = group_table(toy, tuple(TOY_DIMS), POINTS, 30).set_index(["dimension", "group"])
    # Distinct tests: 城乡 (1) + 性别 (1) + 年龄段 (3) = 5, so Holm multiplies the smallest p by 5.
    p = table["p"]
    assert p[("urban_rural", "城镇")] == pytest.approx(p[("urban_rural", "农村")])
    assert table.loc[("urban_rural", "城镇"), "p_holm"] == pytest.approx(5 * p[("urban_rural", "城镇")])
    assert table.loc[("urban_rural", "农村"), "p_holm"] == table.loc[("urban_rural", "城镇"), "p_holm"]
    assert set(table["verdict"]) == {"差异不显著"}
