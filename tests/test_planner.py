"""目标推演: the relation, moves, recomputation through the ranking functions, and the inverse solver."""

import numpy as np
import pandas as pd
import pytest

from analysis import ranks
from analysis.planner import (Move, apply_moves, cheapest_plan, evaluate, item_headroom, item_to_overall, moves_from_json,
                              moves_to_json, neighbour_trend, p_rank_le_after_shift, planned_home_row, required_shift,
                              scenario_table, single_item_shares)
from analysis.scoring import answer_points, rank_within
from analysis.stats import grouped_score_table

POINTS = {"满意": 100, "比较满意": 80, "一般": 60, "不太满意": 40, "不满意": 0}
LABEL = {v: k for k, v in POINTS.items()}


def test_relation_recovers_exact_coefficients():
    # overall = 10 + 0.5·a + 0.4·b exactly, on labels whose points make the overall land on the scale.
    a = [100, 80, 60, 100, 40, 60, 80, 100]
    b = [100, 100, 100, 0, 0, 100, 0, 0]
    overall = [10 + 0.5 * x + 0.4 * y for x, y in zip(a, b)]
    # overall values (100, 90, 80, 60, 30, 80, 50, 60) are not all labels, so fit on points directly via a tiny shim.
    frame = pd.DataFrame({"a": [LABEL[x] for x in a], "b": [LABEL[y] for y in b], "weight": 1.0})
    pts = {**POINTS, **{f"o{v}": v for v in overall}}
    frame = frame.assign(overall=[f"o{v}" for v in overall])
    rel = item_to_overall(frame, ("a", "b"), pts)
    assert rel.coefficients["a"] == pytest.approx(0.5)
    assert rel.coefficients["b"] == pytest.approx(0.4)
    assert rel.intercept == pytest.approx(10.0)
    assert rel.r2 == pytest.approx(1.0)


def test_move_shifts_points_by_share_gain_and_beta():
    frame = pd.DataFrame({"overall": ["一般", "一般", "满意", "不了解"], "课后服务": ["一般", "一般", "一般", "一般"],
                          "urban_rural": ["农村", "城镇", "农村", "农村"], "weight": [1.0, 1.0, 2.0, 1.0]})
    rel = type("R", (), {"coefficients": pd.Series({"课后服务": 0.5})})()
    moved = apply_moves(frame, [Move("课后服务", "一般", "满意", 0.25, "urban_rural", "农村")], rel, POINTS)
    # eligible: rows 0, 2, 3 (农村, 一般); shift = 0.25 × 40 × 0.5 = 5 points; row 3 stays unscored; row 2 capped at 100.
    assert moved["points"].tolist()[:3] == [65.0, 60.0, 100.0]
    assert np.isnan(moved["points"].iloc[3])


def test_scenario_json_round_trip():
    moves = [Move("课后服务", "一般", "满意", 0.1, "urban_rural", "农村"), Move("大班额治理", "不满意", "一般", 0.3)]
    assert moves_from_json(moves_to_json(moves)) == moves
    assert moves[0].label() == "农村 的 课后服务 一般→满意 10%"
    assert moves[1].label() == "全体受访者 的 大班额治理 不满意→一般 30%"


@pytest.fixture(scope="module")
def wave(settings):
    from analysis.contract import responses_kind
    from tests.conftest import ROOT
    raw = pd.read_csv(ROOT / "data" / "mock" / "responses.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    kind = responses_kind(settings.items)
    frame = raw.rename(columns={c.header: c.name for c in kind.columns}).assign(weight=lambda f: f["weight"].astype(float))
    return frame[frame["wave"] == "2026年第3季度"].reset_index(drop=True)


def test_planner_equals_ranking_functions_on_modified_data(wave, settings):
    home = settings.home_county
    home_rows = wave[wave["county"] == home]
    rel = item_to_overall(home_rows, settings.items, settings.points)
    moves = [Move("有偿补课治理", "一般", "满意", 0.5), Move("课后服务", "比较满意", "满意", 0.2, "urban_rural", "农村")]
    table = grouped_score_table(wave.assign(points=answer_points(wave["overall"], settings.points)), ["county"], "points", "weight")
    table = table.assign(rank=rank_within(table, by=None))
    planned = evaluate(scenario_table(table, home, planned_home_row(home_rows, moves, rel, settings.points)), home, (5, 6), 20000, 7)

    # Independently: modify the respondents' points by hand, then score and rank every county with the pipeline's functions.
    pts = answer_points(wave["overall"], settings.points)
    is_home = wave["county"] == home
    gain1 = (is_home & (wave["有偿补课治理"] == "一般")) * 0.5 * 40 * rel.coefficients["有偿补课治理"]
    gain2 = (is_home & (wave["课后服务"] == "比较满意") & (wave["urban_rural"] == "农村")) * 0.2 * 20 * rel.coefficients["课后服务"]
    modified = wave.assign(points=(pts + gain1 + gain2).clip(0, 100))
    direct = grouped_score_table(modified, ["county"], "points", "weight")
    direct = direct.assign(rank=rank_within(direct, by=None)).sort_values(["rank", "county"]).reset_index(drop=True)
    j = int(np.flatnonzero(direct["county"] == home)[0])
    probs = ranks.place_probabilities(direct["score"].to_numpy(), direct["se"].to_numpy(), draws=20000, seed=7)
    assert planned["score"] == pytest.approx(direct.loc[j, "score"], abs=1e-9)
    assert planned["rank"] == direct.loc[j, "rank"]
    assert planned["p_rank_le_5"] == pytest.approx(ranks.p_rank_le(probs, 5)[j], abs=1e-12)
    assert planned["score"] > table.loc[table["county"] == home, "score"].iloc[0]


def test_inverse_reaches_target_and_smaller_does_not(wave, settings):
    home = settings.home_county
    table = grouped_score_table(wave.assign(points=answer_points(wave["overall"], settings.points)), ["county"], "points", "weight")
    needed = required_shift(table, home, 5, 0.8, 20000, 11)
    assert 0 < needed < 30
    p_at, p_below = p_rank_le_after_shift(table, home, 5, np.array([needed, needed - 0.01]), 20000, 11)
    assert p_at >= 0.8 > p_below


def test_inverse_reports_out_of_reach():
    table = pd.DataFrame({"county": ["A", "B"], "score": [90.0, 50.0], "se": [1.0, 1.0]})
    assert required_shift(table, "B", 1, 0.99, 5000, 1, max_delta=10) == float("inf")
    assert required_shift(table, "A", 1, 0.8, 5000, 1) == 0.0


def test_cheapest_plan_fills_the_most_efficient_item_first():
    headroom = pd.DataFrame({"item": ["x", "y", "z"], "overall_gain_full": [2.0, 1.0, -0.5]})
    plan = cheapest_plan(headroom, 2.5)
    assert plan["item"].tolist() == ["x", "y"] and plan["share"].tolist() == pytest.approx([1.0, 0.5])
    single = single_item_shares(headroom, 1.5).set_index("item")["share"]
    assert single["x"] == pytest.approx(0.75) and np.isnan(single["y"]) and np.isnan(single["z"])


def test_item_headroom_one_category_up():
    frame = pd.DataFrame({"overall": ["满意", "一般"], "x": ["一般", "满意"], "weight": [1.0, 3.0]})
    rel = type("R", (), {"coefficients": pd.Series({"x": 0.5})})()
    head = item_headroom(frame, ("x",), POINTS, rel).iloc[0]
    # 一般→比较满意 gains 20 for weight 1; 满意 has nowhere to go: (1×20 + 3×0) / 4 = 5 item points, × 0.5 = 2.5 overall.
    assert head["item_gain_full"] == pytest.approx(5.0) and head["overall_gain_full"] == pytest.approx(2.5)


def test_neighbour_trend_slope():
    scores = pd.DataFrame({"wave": ["1", "2", "3"] * 2, "county": ["A"] * 3 + ["B"] * 3, "score": [80, 81, 82, 85, 85, 85.0]})
    slope = neighbour_trend(scores, ["1", "2", "3"], "3")
    assert slope["A"] == pytest.approx(1.0) and slope["B"] == pytest.approx(0.0)
