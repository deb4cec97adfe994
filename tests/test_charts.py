"""Figure builders: the home county is highlighted, targets are drawn, uncertainty is on every rank and score."""

import numpy as np
import pandas as pd
import pytest

from analysis.charts import (caterpillar_figure, funnel_figure, place_heatmap_figure,
                             rank_trend_figure, score_trend_figure)

TABLE = pd.DataFrame({"county": ["A", "B", "C", "D", "E", "F"], "score": [90.0, 88.0, 86.0, 85.0, 84.0, 80.0],
                      "ci_low": [88.0, 86.5, 84.0, 83.0, 82.0, 78.0], "ci_high": [92.0, 89.5, 88.0, 87.0, 86.0, 82.0],
                      "n": [400] * 6, "rank": [1, 2, 3, 4, 5, 6]})
TREND = pd.DataFrame({"wave": ["2025年第1季度", "2025年第2季度"], "rank": [7, 5], "cs_low": [4, 3], "cs_high": [9, 8],
                      "score": [84.0, 85.5], "ci_low": [82.0, 83.5], "ci_high": [86.0, 87.5], "city_mean": [85.0, 85.2],
                      "strive_score": [85.6, 85.8], "published_rank": [6, 5], "published_score": [84.5, 85.9]})


def test_caterpillar_has_target_lines_at_fifth_and_sixth_scores():
    fig = caterpillar_figure(TABLE, "D", strive=5, hold=6)
    lines = sorted(shape.y0 for shape in fig.layout.shapes)
    assert lines == [80.0, 84.0]
    assert list(fig.data[0].x) == ["A", "B", "C", "D", "E", "F"]


def test_rank_trend_has_rank_sets_band_and_published_rank():
    fig = rank_trend_figure(TREND, 11, hold=6, strive=5)
    estimate = fig.data[0]
    assert list(estimate.error_y.array) == [2, 3] and list(estimate.error_y.arrayminus) == [3, 2]
    assert list(fig.layout.yaxis.range) == [11.5, 0.5]  # rank 1 at the top
    band = [s for s in fig.layout.shapes if s.type == "rect"][0]
    assert (band.y0, band.y1) == (0.5, 6.5)
    assert list(fig.data[1].y) == [6, 5]
    assert list(fig.layout.xaxis.ticktext) == ["2025年<br>第1季度", "2025年<br>第2季度"]


def test_score_trend_shows_ci_city_mean_and_fifth():
    names = [t.name for t in score_trend_figure(TREND).data]
    assert names == ["本县得分（调查估计）", "第5名得分", "全市平均", "市级公布得分"]


def test_heatmap_carries_the_probabilities():
    probs = pd.DataFrame([[0.7, 0.3], [0.3, 0.7]], index=["A", "B"], columns=["第1名", "第2名"])
    fig = place_heatmap_figure(probs, "B")
    assert np.allclose(fig.data[0].z, probs.to_numpy())
    assert list(fig.data[0].y) == ["A", "★B"]


def test_funnel_plots_precision():
    curves = pd.DataFrame({"precision": [1.0, 2.0], "lo95": [80, 82], "hi95": [90, 88], "lo998": [78, 81], "hi998": [92, 89]})
    points = TABLE.assign(se=[1.0, 0.5, 1.0, 1.0, 1.0, 2.0])
    fig = funnel_figure(points, curves, 85.0, "D")
    assert list(fig.data[-1].x) == pytest.approx([1.0, 2.0, 1.0, 1.0, 1.0, 0.5])
