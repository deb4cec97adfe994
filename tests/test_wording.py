"""Probability wording and the margin in respondents, against hand formulas and brute force."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from analysis.report.wording import (chance_words, level_counties_sentence, monte_carlo_se, p_rank_le_quadrature,
                                     planned_rank_text, probability_note, probability_sentence, probability_spread,
                                     stability_sentence)
from analysis.stats import rank_stats
from analysis.survey.margins import margin_people, margin_sentence

POINTS = {"满意": 100, "比较满意": 80, "一般": 60, "不太满意": 40, "不满意": 0}


@pytest.mark.parametrize("p, words", [(0.81, "约八成"), (0.749, "约七成"), (0.75, "约八成"), (0.5, "约五成"),
                                      (0.05, "约一成"), (0.049, "很小（不到5%）"), (0.951, "很大（超过95%）"),
                                      (float("nan"), "无法计算")])
def test_chance_words(p, words):
    assert chance_words(p) == words


def test_monte_carlo_error_of_81_percent_at_20000_draws():
    # √(0.81 · 0.19 / 20000) = 0.002774: the 0.1% digit of "81.0%" is below the noise of the simulation itself.
    assert monte_carlo_se(0.81, 20000) == pytest.approx(0.0027740, abs=1e-7)


def test_quadrature_two_counties_closed_form():
    # P(A above B) = Φ((a − b)/√(sa² + sb²)).
    score, se = np.array([85.0, 86.0]), np.array([0.9, 0.7])
    assert p_rank_le_quadrature(score, se, 0, 1)[0] == pytest.approx(norm.cdf(-1 / math.hypot(0.9, 0.7)), abs=1e-7)
    # A known (se 0) rival: P = Φ((a − b)/sa).
    assert p_rank_le_quadrature(score, np.array([0.9, 0.0]), 0, 1)[0] == pytest.approx(norm.cdf(-1 / 0.9), abs=1e-7)


def test_quadrature_matches_a_large_simulation():
    score = np.array([90.6, 89.1, 87.1, 86.0, 85.9, 85.8, 84.8, 84.3])
    se = np.array([0.78, 0.64, 1.02, 0.99, 0.73, 0.91, 0.80, 0.73])
    probs = rank_stats.place_probabilities(score, se, draws=200000, seed=1)
    for k in (5, 6):
        sim = rank_stats.p_rank_le(probs, k)[5]
        assert p_rank_le_quadrature(score, se, 5, k)[0] == pytest.approx(sim, abs=4 * math.sqrt(sim * (1 - sim) / 200000))


def test_probability_spread_two_counties_closed_form():
    # With d* ~ N(d, v) the re-estimated P* = Φ(d*/√v): its 5%/95% quantiles are Φ(d/√v ∓ 1.645). Compared on the
    # z scale; 4000 replicates put the sample quantile within about 0.04 of the true one (SE), so 0.15 is 3.5 SE.
    score, se = np.array([86.0, 85.0]), np.array([0.9, 0.7])
    lo, hi = probability_spread(score, se, 0, 1, reps=4000, seed=3)
    centre = 1 / math.hypot(0.9, 0.7)
    assert norm.ppf(lo) == pytest.approx(centre - norm.ppf(0.95), abs=0.15)
    assert norm.ppf(hi) == pytest.approx(centre + norm.ppf(0.95), abs=0.15)


def test_probability_sentence_is_rounded_and_never_says_repeated_surveys():
    text = probability_sentence(0.8103, 6, "保6", spread=(0.36, 0.99))
    assert "约八成（81%）" in text and "真实名次在第6名及以内" in text and "36%–99%" in text
    assert "100 次" not in text and "81.0" not in text
    assert "无法计算" in probability_sentence(float("nan"), 6, "保6")


@pytest.mark.parametrize("basis, counted, not_said", [
    ("survey", "只计抽样误差", "期间波动"),
    ("forecast", "期间波动", "只计抽样误差"),
    ("closed", "直接算出", "模拟 20,000 次"),   # one county with an error: no simulation to speak of
    ("mixed", "同期市级公布得分（确定值）", "直接算出"),  # several surveyed counties: simulated
])
def test_the_method_note_says_what_the_chance_counts(basis, counted, not_said):
    note = probability_note(20000, 0.81, basis)
    assert counted in note and not_said not in note


@pytest.mark.parametrize("basis, words", [(None, "考虑到调查的抽样误差，"), ("forecast", "考虑到调查的抽样误差和各县区得分的期间波动，")])
def test_the_chance_sentence_names_the_forecast_drift(basis, words):
    assert words in probability_sentence(0.81, 6, "保6", method=basis)


def test_planned_rank_never_alone():
    assert planned_rank_text(4, 0.66, 5) == "第4名（按估计值；进入前5名的把握约七成）"


def test_cushion_rounds_down_and_deficit_up_brute_force():
    # 421 equal-weight respondents; 0.987 points over 7th is 0.987·421/40 = 10.39 respondents: 10 drops keep 6th,
    # the 11th loses it. Brute force through the weighted score and rank (ties share the better place).
    n, margin = 421, 0.987
    answers = np.r_[np.full(300, 100.0), np.full(n - 300, 60.0)]
    home = answers.mean()
    rival = home - margin
    drops = 0
    while True:
        changed = answers.copy()
        changed[:drops + 1] = 60.0
        if changed.mean() < rival:
            break
        drops += 1
    assert drops == 10
    people = margin_people(margin, np.ones(n), POINTS)
    assert people.cushion and people.average == drops == people.fewest == people.most
    deficit = margin_people(-margin, np.ones(n), POINTS)
    assert not deficit.cushion and deficit.average == 11
    assert "约 10 名受访者" in margin_sentence(margin, 6, np.ones(n), POINTS)
    assert margin_sentence(-0.5, 5, np.ones(400), POINTS) == "距第5名差 0.50 分，需约 5 名受访者由“一般”转为“满意”"


def test_margin_weight_range_brute_force():
    rng = np.random.default_rng(4)
    w = rng.uniform(0.6, 1.6, 400)
    light, heavy = np.quantile(w, [0.1, 0.9])
    people = margin_people(-0.5, w, POINTS)
    # Heavy respondents (weight at the 90th percentile) close the gap first: count them one by one.
    need_heavy = next(j for j in range(1, 1000) if j * heavy * 40 / w.sum() >= 0.5 - 1e-12)
    need_light = next(j for j in range(1, 1000) if j * light * 40 / w.sum() >= 0.5 - 1e-12)
    assert (people.fewest, people.most) == (need_heavy, need_light)
    assert people.fewest < people.average < people.most
    assert "视受访者权重为" in margin_sentence(-0.5, 5, w, POINTS)
    assert margin_people(float("inf"), w, POINTS) is None


@pytest.mark.parametrize("level, published, sentence", [
    (["西山区", "南岭县"], False, "与本县的差距在抽样误差之内（经检验）：西山区、南岭县。"),
    (["西山区"], True, "与本县的差距在抽样误差之内（经检验）：西山区；空心菱形为市级公布得分。"),
    ([], False, "每个县区与本县的差距都超出了抽样误差。"),
])
def test_level_counties_sentence(level, published, sentence):
    assert level_counties_sentence(level, published) == sentence


STABILITY_HEAD = "排序的稳定性（对本县受访者重抽样 200 次，北塘区得分按其抽样误差变动）："


@pytest.mark.parametrize("first_share, flips, first, sentence", [
    # Below the 两成 line nothing is named; at it, an item is; the least stable comes first.
    ([0.87, 0.10], [0.0, 0.19], "课后服务", "“课后服务”在 87% 的重抽样中仍排第一。各分项的象限都较稳定。"),
    ([0.87, 0.10], [0.2, 0.35], "课后服务",
     "“课后服务”在 87% 的重抽样中仍排第一。象限不稳定（两成以上重抽样落在别的象限）：食堂管理 35%、课后服务 20%。"),
    # An item that is not in the resampling table (no share) is said so, not counted as 0%.
    ([0.87, 0.10], [0.0, 0.0], "校园安全", "“校园安全”没有重抽样结果，无法判断它排第一是否稳定。各分项的象限都较稳定。"),
])
def test_stability_sentence(first_share, flips, first, sentence):
    stability = pd.DataFrame({"item": ["课后服务", "食堂管理"], "first_share": first_share, "quadrant_flip_share": flips,
                              "reps": 200})
    assert stability_sentence(stability, first, "北塘区") == STABILITY_HEAD + sentence
