"""目标推演: the shared item model, the forward model with its ceiling, the trend, and the inverse solver through it."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from analysis.stats import rank_stats
from analysis.stats.drivers import weighted_cov
from analysis.stats.estimates import grouped_score_table
from analysis.survey.itemmodel import capped_full_gain, usable_items
from analysis.survey.planner import (Move, apply_moves, evaluate, forward, item_headroom, item_to_overall,
                                     move_argument, moved_people, moves_from_json, moves_to_json, planned_home_row,
                                     project, required_shift, scenario_table, solve_item, trend_projection)
from analysis.survey.scoring import answer_points, rank_within

POINTS = {"满意": 100, "比较满意": 80, "一般": 60, "不太满意": 40, "不满意": 0}
LABEL = {v: k for k, v in POINTS.items()}


def _relation(**betas):
    return type("R", (), {"coefficients": pd.Series(betas)})()


def test_relation_recovers_exact_coefficients():
    # overall = 10 + 0.5·a + 0.4·b exactly, on labels whose points make the overall land on the scale.
    a = [100, 80, 60, 100, 40, 60, 80, 100]
    b = [100, 100, 100, 0, 0, 100, 0, 0]
    overall = [10 + 0.5 * x + 0.4 * y for x, y in zip(a, b)]
    frame = pd.DataFrame({"a": [LABEL[x] for x in a], "b": [LABEL[y] for y in b], "weight": 1.0})
    pts = {**POINTS, **{f"o{v}": v for v in overall}}
    frame = frame.assign(overall=[f"o{v}" for v in overall])
    rel = item_to_overall(frame, ("a", "b"), pts)
    assert rel.coefficients["a"] == pytest.approx(0.5)
    assert rel.coefficients["b"] == pytest.approx(0.4)
    assert rel.intercept == pytest.approx(10.0)
    assert rel.r2 == pytest.approx(1.0)


def test_weighted_cov_is_the_pairwise_covariance_by_brute_force():
    rng = np.random.default_rng(3)
    x = rng.normal(50, 10, size=(40, 3))
    x[rng.random((40, 3)) < 0.2] = np.nan
    w = rng.uniform(0.5, 2.0, 40)
    got = weighted_cov(x, w)
    for a in range(3):
        for b in range(3):
            rows = ~np.isnan(x[:, a]) & ~np.isnan(x[:, b])
            wa, xa, xb = w[rows], x[rows, a], x[rows, b]
            ma, mb = np.average(xa, weights=wa), np.average(xb, weights=wa)
            assert got[a, b] == pytest.approx(np.sum(wa * (xa - ma) * (xb - mb)) / wa.sum(), rel=1e-10)
    # Unweighted it is pandas' pairwise covariance with n in place of n − 1 for each pair.
    frame = pd.DataFrame(x)
    pairs = frame.notna().astype(int).T @ frame.notna().astype(int)
    np.testing.assert_allclose(weighted_cov(x), frame.cov().to_numpy() * (pairs - 1) / pairs, rtol=1e-10)


def test_missing_items_are_not_imputed_and_the_relation_is_consistent():
    # Large MCAR sample: overall = 20 + 0.6·a + 0.2·b + noise with a and b correlated. Available-case covariances
    # recover β; mean imputation would shrink a's coefficient (here towards about 0.5). SE of each β ≈ 0.01.
    rng = np.random.default_rng(11)
    n = 20000
    a = rng.choice([0, 40, 60, 80, 100], size=n, p=[0.05, 0.1, 0.25, 0.3, 0.3]).astype(float)
    b = np.clip(a + rng.choice([-20, 0, 20], size=n), 0, 100)
    b = np.where(b == 20, 40, b)
    y = 20 + 0.6 * a + 0.2 * b + rng.normal(0, 5, n)
    labels_a, labels_b = np.array([LABEL[v] for v in a], dtype=object), np.array([LABEL[v] for v in b], dtype=object)
    labels_a[rng.random(n) < 0.3] = "不了解"
    labels_b[rng.random(n) < 0.3] = "不了解"
    pts = {**POINTS, **{f"y{i}": v for i, v in enumerate(y)}}
    frame = pd.DataFrame({"a": labels_a, "b": labels_b, "overall": [f"y{i}" for i in range(n)], "weight": 1.0})
    rel = item_to_overall(frame, ("a", "b"), pts)
    assert rel.coefficients["a"] == pytest.approx(0.6, abs=0.04)
    assert rel.coefficients["b"] == pytest.approx(0.2, abs=0.04)
    assert rel.n == n and rel.n_partial == int(((labels_a == "不了解") | (labels_b == "不了解")).sum())
    assert rel.n_complete == n - rel.n_partial


def test_ceiling_makes_the_expected_points_differ_from_the_linear_shift():
    frame = pd.DataFrame({"overall": ["比较满意", "一般", "满意", "不了解"], "x": ["一般", "一般", "一般", "一般"],
                          "weight": [1.0, 1.0, 2.0, 1.0]})
    moved = apply_moves(frame, [Move("x", "一般", "满意", 0.25)], _relation(x=0.75), POINTS)
    # Gain 0.75 × 40 = 30. Row 0: 0.75·80 + 0.25·min(110, 100) = 85 (not 87.5); row 1: 60 + 0.25·30 = 67.5;
    # row 2 is at 100 and cannot gain; row 3 stays unscored.
    assert moved["points"].tolist()[:3] == pytest.approx([85.0, 67.5, 100.0])
    assert np.isnan(moved["points"].iloc[3])


def test_two_moves_expectation_by_hand():
    frame = pd.DataFrame({"overall": ["比较满意"], "x": ["一般"], "y": ["比较满意"], "urban_rural": ["农村"], "weight": [1.0]})
    rel = _relation(x=0.375, y=0.5)  # gains 15 and 10
    moves = [Move("x", "一般", "满意", 0.5), Move("y", "比较满意", "满意", 0.4)]
    # none .3 → 80; x only .3 → 95; y only .2 → 90; both .2 → min(105, 100): 24 + 28.5 + 18 + 20 = 90.5.
    assert apply_moves(frame, moves, rel, POINTS)["points"].iloc[0] == pytest.approx(90.5)
    # Two moves on one item for one respondent (全体 and 农村): tried in order, never both: 1 − .5·.6 = .7 of a gain 15.
    same = [Move("x", "一般", "满意", 0.5), Move("x", "一般", "满意", 0.4, "urban_rural", "农村")]
    assert apply_moves(frame, same, rel, POINTS)["points"].iloc[0] == pytest.approx(80 + 0.7 * 15)
    assert moved_people(frame, same) == pytest.approx(0.7)


def test_expected_points_match_brute_force_draws():
    rng = np.random.default_rng(5)
    n = 60
    frame = pd.DataFrame({"overall": rng.choice(["满意", "比较满意", "一般", "不了解"], n),
                          "x": rng.choice(["一般", "比较满意", "满意"], n), "y": rng.choice(["一般", "不太满意", "满意"], n),
                          "urban_rural": rng.choice(["农村", "城镇"], n), "weight": 1.0})
    rel = _relation(x=0.6, y=0.45)
    moves = [Move("x", "一般", "满意", 0.3), Move("y", "不太满意", "一般", 0.6, "urban_rural", "农村"),
             Move("x", "比较满意", "满意", 0.5), Move("y", "一般", "满意", 0.2)]
    exact = apply_moves(frame, moves, rel, POINTS)["points"].to_numpy(float)
    # Brute force: draw who moves (first move that fires on an item wins), change answers, recompute overall points.
    overall = answer_points(frame["overall"], POINTS).to_numpy(float)
    reps = 20000
    fired = {}
    for m, move in enumerate(moves):
        fired[m] = (rng.random((reps, n)) < move.share) & (frame[move.item] == move.from_answer).to_numpy() & (
            (frame[move.group_column] == move.group_value).to_numpy() if move.group_column else True)
    gain = np.zeros((reps, n))
    for item in ("x", "y"):
        taken = np.zeros((reps, n), bool)
        for m, move in enumerate(moves):
            if move.item != item:
                continue
            hit = fired[m] & ~taken
            gain += hit * rel.coefficients[item] * (POINTS[move.to_answer] - POINTS[move.from_answer])
            taken |= hit
    total = np.clip(overall + gain, 0, 100).mean(axis=0)
    sd = np.clip(overall + gain, 0, 100).std(axis=0)
    scored = ~np.isnan(overall)
    assert np.all(np.abs(exact[scored] - total[scored]) <= 4.5 * sd[scored] / np.sqrt(reps) + 1e-9)
    assert np.isnan(exact[~scored]).all()


def test_scenario_json_round_trip():
    moves = [Move("课后服务", "一般", "满意", 0.1, "urban_rural", "农村"), Move("大班额治理", "不满意", "一般", 0.3)]
    assert moves_from_json(moves_to_json(moves)) == moves
    assert moves[0].label() == "农村 的 课后服务 一般→满意 10%"
    assert moves[1].label() == "全体受访者 的 大班额治理 不满意→一般 30%"
    assert move_argument(moves[0], {"urban_rural": "城乡"}) == "课后服务:城乡=农村:一般:满意:0.1"
    assert move_argument(moves[1]) == "大班额治理:全部:不满意:一般:0.3"


@pytest.fixture(scope="module")
def wave(settings):
    from analysis.data.contract import responses_kind
    from tests.conftest import ROOT
    raw = pd.read_csv(ROOT / "data" / "mock" / "responses.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    kind = responses_kind(settings.items)
    frame = raw.rename(columns={c.header: c.name for c in kind.columns}).assign(weight=lambda f: f["weight"].astype(float))
    return frame


def _table(frame, points):
    table = grouped_score_table(frame.assign(points=answer_points(frame["overall"], points)), ["county"], "points", "weight")
    return table.assign(rank=rank_within(table, by=None))


def _exact_p_rank_le(score, se, j, k, nodes=200):
    """P(unit j has rank ≤ k) by quadrature over its score and a Poisson-binomial count of the others above it."""
    z, wq = np.polynomial.hermite_e.hermegauss(nodes)
    others = np.delete(np.arange(len(score)), j)
    total = 0.0
    for zi, wi in zip(z, wq):
        x = score[j] + se[j] * zi
        above = norm.sf((x - score[others]) / se[others])
        dist = np.zeros(len(others) + 1)
        dist[0] = 1.0
        for q in above:
            dist[1:] = dist[1:] * (1 - q) + dist[:-1] * q
            dist[0] *= 1 - q
        total += wi * dist[:k].sum()
    return total / np.sqrt(2 * np.pi)


def test_evaluate_matches_exact_quadrature(wave, settings):
    table = _table(wave[wave["wave"] == "2026年第3季度"], settings.points)
    home = settings.home_county
    result = evaluate(table, home, (5, 6), 20000, 2026)
    j = int(np.flatnonzero(table["county"] == home)[0])
    for k in (5, 6):
        exact = _exact_p_rank_le(table["score"].to_numpy(), table["se"].to_numpy(), j, k)
        # Monte Carlo tolerance: 4 standard errors of a proportion from 20,000 draws.
        assert result[f"p_rank_le_{k}"] == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 20000))


def test_planner_equals_ranking_functions_on_modified_data(wave, settings):
    home = settings.home_county
    current = wave[wave["wave"] == "2026年第3季度"].reset_index(drop=True)
    home_rows = current[current["county"] == home].reset_index(drop=True)
    rel = item_to_overall(home_rows, settings.items, settings.points)
    moves = [Move("有偿补课治理", "一般", "满意", 0.5), Move("课后服务", "比较满意", "满意", 0.2, "urban_rural", "农村")]
    table = _table(current, settings.points)
    planned = evaluate(scenario_table(table, home, planned_home_row(home_rows, moves, rel, settings.points)), home, (5, 6), 20000, 7)

    # Independently: every respondent's expected points by the four outcomes of the two moves, then the pipeline's scoring.
    pts = answer_points(current["overall"], settings.points)
    is_home = current["county"] == home
    e1 = (is_home & (current["有偿补课治理"] == "一般")).to_numpy()
    e2 = (is_home & (current["课后服务"] == "比较满意") & (current["urban_rural"] == "农村")).to_numpy()
    g1, g2 = 40 * rel.coefficients["有偿补课治理"], 20 * rel.coefficients["课后服务"]
    s1, s2 = 0.5 * e1, 0.2 * e2
    cap = lambda v: np.clip(v, 0, 100)  # noqa: E731
    expected = ((1 - s1) * (1 - s2) * cap(pts) + s1 * (1 - s2) * cap(pts + g1) + (1 - s1) * s2 * cap(pts + g2)
                + s1 * s2 * cap(pts + g1 + g2))
    modified = current.assign(points=expected)
    direct = grouped_score_table(modified, ["county"], "points", "weight")
    direct = direct.assign(rank=rank_within(direct, by=None))
    j = int(np.flatnonzero(direct["county"] == home)[0])
    probs = rank_stats.place_probabilities(direct["score"].to_numpy(), direct["se"].to_numpy(), draws=20000, seed=7)
    assert planned["score"] == pytest.approx(direct.loc[j, "score"], abs=1e-9)
    assert planned["rank"] == direct.loc[j, "rank"]
    assert planned["p_rank_le_5"] == pytest.approx(rank_stats.p_rank_le(probs, 5)[j], abs=1e-12)
    assert planned["score"] > table.loc[table["county"] == home, "score"].iloc[0]


@pytest.mark.parametrize("with_trend", [False, True])
def test_inverse_answer_reaches_target_through_forward_and_one_less_does_not(wave, settings, with_trend):
    home, item, k, target = settings.home_county, "有偿补课治理", 5, 0.8
    current = wave[wave["wave"] == "2026年第3季度"]
    home_rows = current[current["county"] == home].reset_index(drop=True)
    table = _table(current, settings.points)
    rel = item_to_overall(home_rows, settings.items, settings.points)
    trend = None
    if with_trend:
        scores = grouped_score_table(wave.assign(points=answer_points(wave["overall"], settings.points)), ["wave", "county"],
                                     "points", "weight")
        trend = trend_projection(scores, sorted(wave["wave"].unique()), "2026年第3季度")
    plan = solve_item(table, home_rows, home, item, rel, settings.points, k, target, 4000, 3, trend)
    assert plan.people is not None and 0 < plan.people < plan.n_below
    # The share is over all the county's respondents; each answer below 满意 moves by the same share.
    assert plan.share == pytest.approx(plan.people / len(home_rows))
    assert all(m.share == pytest.approx(plan.people / plan.n_below) for m in plan.moves)
    reach = forward(table, home_rows, home, list(plan.moves), rel, settings.points, (k,), 4000, 3, trend)
    assert reach.planned[f"p_rank_le_{k}"] >= target and reach.planned["score"] == pytest.approx(plan.score)
    assert reach.moved_people == pytest.approx(plan.people)
    less = [Move(m.item, m.from_answer, m.to_answer, (plan.people - 1) / plan.n_below) for m in plan.moves]
    assert forward(table, home_rows, home, less, rel, settings.points, (k,), 4000, 3, trend).planned[f"p_rank_le_{k}"] < target


def test_inverse_reports_out_of_reach_and_already_there(wave, settings):
    home_rows = wave[(wave["wave"] == "2026年第3季度") & (wave["county"] == settings.home_county)].reset_index(drop=True)
    rel = item_to_overall(home_rows, settings.items, settings.points)
    table = _table(wave[wave["wave"] == "2026年第3季度"], settings.points)
    far = solve_item(table, home_rows, settings.home_county, "课后服务", rel, settings.points, 1, 0.99, 2000, 1)
    assert far.people is None and far.share is None and far.moves == ()
    near = solve_item(table, home_rows, settings.home_county, "课后服务", rel, settings.points, 11, 0.5, 2000, 1)
    assert near.people == 0


def test_required_shift_reaches_and_a_cent_less_does_not(wave, settings):
    home = settings.home_county
    table = _table(wave[wave["wave"] == "2026年第3季度"], settings.points)
    needed = required_shift(table, home, 5, 0.8, 20000, 11)
    assert 0 < needed < 30
    mask = (table["county"] == home).to_numpy()
    at = evaluate(table.assign(score=table["score"] + mask * needed), home, (5,), 20000, 11)["p_rank_le_5"]
    below = evaluate(table.assign(score=table["score"] + mask * (needed - 0.01)), home, (5,), 20000, 11)["p_rank_le_5"]
    assert at >= 0.8 > below
    two = pd.DataFrame({"county": ["A", "B"], "score": [90.0, 50.0], "se": [1.0, 1.0]})
    assert required_shift(two, "B", 1, 0.99, 5000, 1, max_delta=10) == float("inf")
    assert required_shift(two, "A", 1, 0.8, 5000, 1) == 0.0


def test_item_headroom_caps_at_100():
    frame = pd.DataFrame({"overall": ["满意", "一般", "比较满意"], "x": ["一般", "满意", "一般"], "weight": [1.0, 3.0, 1.0]})
    # β 1.5: 一般→比较满意 is +20 item points, +30 overall: row 0 is at 100 (gains 0), row 2 gains min(110,100) − 80 = 20;
    # row 1 is at the top of x. (1·0 + 3·0 + 1·20) / 5 = 4 points (the uncapped model would say 12).
    assert capped_full_gain(frame, "x", 1.5, POINTS) == pytest.approx(4.0)
    head = item_headroom(frame, ("x",), POINTS, _relation(x=1.5)).iloc[0]
    assert head["overall_gain_full"] == pytest.approx(4.0)


def test_trend_slope_projection_and_variance_by_hand():
    scores = pd.DataFrame({"wave": ["1", "2", "3"] * 2, "county": ["A"] * 3 + ["B"] * 3,
                           "score": [80, 81, 83, 85, 85, 85.0], "se": [1.0, 2.0, 0.5, 1.0, 1.0, 1.0]})
    trend = trend_projection(scores, ["1", "2", "3"], "3").set_index("county")
    # Slope over t = 0, 1, 2 is (y2 − y0)/2 with SE √(se0² + se2²)/2; ŷ = y2 + b = 1.5·y2 − 0.5·y0 has variance
    # 2.25·se2² + 0.25·se0², of which se2² is already in the table.
    assert trend.loc["A", "slope"] == pytest.approx(1.5)
    assert trend.loc["A", "slope_se"] == pytest.approx(np.sqrt(1.0 + 0.25) / 2)
    assert trend.loc["A", "extra_var"] == pytest.approx(2.25 * 0.25 + 0.25 * 1.0 - 0.25)
    table = pd.DataFrame({"county": ["A", "B"], "score": [83.0, 85.0], "se": [0.5, 1.0]})
    projected = project(table, trend.reset_index()).set_index("county")
    assert projected.loc["A", "score"] == pytest.approx(84.5)
    assert projected.loc["A", "se"] == pytest.approx(np.sqrt(2.25 * 0.25 + 0.25))
    assert projected.loc["B", "se"] == pytest.approx(np.sqrt(2.25 + 0.25))


def test_trend_moves_every_county_and_is_apart_from_the_plan(wave, settings):
    home = settings.home_county
    current = wave[wave["wave"] == "2026年第3季度"]
    home_rows = current[current["county"] == home].reset_index(drop=True)
    table = _table(current, settings.points)
    rel = item_to_overall(home_rows, settings.items, settings.points)
    scores = grouped_score_table(wave.assign(points=answer_points(wave["overall"], settings.points)), ["wave", "county"],
                                 "points", "weight")
    trend = trend_projection(scores, sorted(wave["wave"].unique()), "2026年第3季度")
    result = forward(table, home_rows, home, [], rel, settings.points, (5, 6), 4000, 2, trend)
    # No moves: the plan changes nothing; the trend moves the home county by its own slope too.
    assert result.plan_effect == pytest.approx({k: 0.0 for k in result.plan_effect}, abs=1e-9)
    home_slope = float(trend.set_index("county").loc[home, "slope"])
    assert result.trend_effect["score"] == pytest.approx(home_slope)
    assert result.baseline["se"] > result.current["se"]


@pytest.mark.parametrize("beta, people, value, expected", [
    (0.3, 12, "+4.0", "+4.0"),          # reachable: the number itself
    (0.3, None, "", "单靠此项不够"),     # a positive pull that one item alone cannot make reach the target
    (-0.08, None, "", "拉动不明显"),     # issue 18: never a negative gain or "做不到"
    (0.0, None, "", "拉动不明显"),
])
def test_what_it_takes_cells_never_show_negative_gains(beta, people, value, expected):
    from analysis.survey.planner import ItemPlan, plan_need_text, pull_text

    plan = ItemPlan("校园安全", people, None, None, 433, 100, None, None, None, ())
    assert plan_need_text(plan, beta, value) == expected
    assert pull_text(beta) == ("" if beta > 0 else "拉动不明显")


@pytest.mark.parametrize("values, usable", [
    ([100.0, 60.0, 80.0, np.nan], True),      # three scored answers that differ
    ([100.0, 60.0, np.nan, np.nan], False),   # two: a correlation of ±1, a regression on nothing
    ([80.0, 80.0, 80.0, 80.0], False),        # all alike: no variance
    ([np.nan] * 4, False),
])
def test_the_items_the_regression_and_the_importances_share(values, usable):
    frame = pd.DataFrame({"overall": [100.0, 60.0, 80.0, 80.0], "课后服务": values})
    assert usable_items(frame, ("课后服务", "没有这一列")) == (("课后服务",) if usable else ())
