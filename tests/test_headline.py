"""The director's first screen: official rank first, neighbours named, gaps in points and 满意率 points, plain changes."""

import pandas as pd
import pytest

from analysis.report.headline import (change_words, director_headline, gap_line, neighbour, rank_change_words,
                                      rate_points)

POINTS = {"满意": 100, "比较满意": 80, "一般": 60, "不太满意": 40, "不满意": 0}
# Home H is 6th by score: 北塘 (5th) is 0.16 ahead, 白河 (7th) 0.99 behind.
TABLE = pd.DataFrame({
    "county": ["A", "B", "C", "D", "北塘区", "H", "白河县", "E"],
    "score": [90.0, 89.0, 88.0, 87.0, 85.96, 85.80, 84.81, 80.0],
    "se": [0.9] * 8, "rank": [1, 2, 3, 4, 5, 6, 7, 8],
    "p_rank_le_5": [1, 1, 1, 1, 0.5, 0.43, 0.1, 0], "p_rank_le_6": [1, 1, 1, 1, 0.9, 0.81, 0.3, 0]})


def test_neighbours_are_named_with_their_margins():
    assert neighbour(TABLE, "H", 5).county == "北塘区" and neighbour(TABLE, "H", 5).margin == pytest.approx(-0.16)
    assert neighbour(TABLE, "H", 6).county == "白河县" and neighbour(TABLE, "H", 6).margin == pytest.approx(0.99)
    assert neighbour(TABLE, "H", 8) is None


@pytest.mark.parametrize("margin, pp", [(-0.14, 0.35), (0.99, 2.475), (-4.0, 10.0)])
def test_rate_points_is_the_share_moving_from_general_to_satisfied(margin, pp):
    """40 points per person moving 一般 → 满意: a gap of g points is g/40 of the respondents, i.e. 2.5·g percentage points."""
    assert rate_points(margin, POINTS) == pytest.approx(pp)


def test_gap_lines_read_as_a_leader_would_say_them():
    assert gap_line(neighbour(TABLE, "H", 5), POINTS) == "距第5名北塘区差 0.16 分（约合满意率提高 0.4 个百分点）"
    assert gap_line(neighbour(TABLE, "H", 6), POINTS) == "领先第7名白河县 0.99 分（约合满意率 2.5 个百分点）"


@pytest.mark.parametrize("prev, rank, diff, se, expected", [
    (4, 6, -0.52, 1.12, "名次较上期下降 2 位；得分下降 0.52 分，在抽样误差之内，不能说明真有变化"),
    (7, 5, 2.5, 1.0, "名次较上期上升 2 位；得分上升 2.50 分，超出抽样误差，是真实变化"),
    (5, 5, 0.0, 1.0, "名次与上期持平；得分下降 0.00 分，在抽样误差之内，不能说明真有变化"),
    (None, 5, 0.0, 1.0, None),
])
def test_change_words(prev, rank, diff, se, expected):
    # −0.52/1.12 = z −0.46, p = 0.64 (> 0.05); 2.5/1.0 = z 2.5, p = 0.012 (< 0.05).
    assert change_words(prev, rank, diff, se) == expected


def test_headline_puts_the_official_rank_first_and_names_the_fix_first_item():
    h = director_headline(TABLE, "H", 6, 5, POINTS, official_rank=5, official_score=85.36,
                          previous={"rank": 6, "score": 85.5, "se": 0.9}, fix_item="有偿补课治理")
    assert h.official == "市级通报：第5名（85.36 分）" and h.estimate == "本局调查推算：第6名（85.80 分）"
    assert h.why_differ and "±1.8 分" in h.why_differ
    assert h.conclusion == "目前处在争5线内；保6把握约八成，冲5把握约四成。首先要抓的是“有偿补课治理”。"
    assert h.gaps == ["距第5名北塘区差 0.16 分（约合满意率提高 0.4 个百分点）", "领先第7名白河县 0.99 分（约合满意率 2.5 个百分点）"]
    assert h.change.startswith("名次与上期持平")


def test_headline_without_an_official_rank_uses_the_estimate():
    h = director_headline(TABLE, "H", 6, 5, POINTS, official_rank=None, official_score=None, previous=None, fix_item=None)
    assert h.official is None and h.why_differ is None and h.change is None
    assert h.conclusion.startswith("目前保住第6、离第5还差一步")


@pytest.mark.parametrize("moved, words", [(2, "上升 2 位"), (-1, "下降 1 位"), (0, "持平"), (None, "—"), (pd.NA, "—")])
def test_rank_change_words(moved, words):
    assert rank_change_words(moved) == words
