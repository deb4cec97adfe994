"""Satisfaction against a township metric: small townships dropped, a direction only when significant, area-level."""

import math

import pandas as pd
import pytest
from scipy import stats as sps

from analysis.survey.school_metrics import association_sentence, township_association

LINK = pd.DataFrame({"township": list("甲乙丙丁戊己"), "n": [80, 60, 45, 31, 12, 8],
                     "score": [90.0, 85.0, 88.0, 80.0, 70.0, 95.0], "large_share": [0.0, 0.1, 0.2, 0.3, 0.0, 0.9]})


def test_small_townships_are_dropped_before_ranking():
    result = township_association(LINK, "large_share", 30)
    # Kept 甲乙丙丁: x ranks 1..4, score ranks 4,2,3,1; d = (−3, 0, 0, 3), Σd² = 18, ρ = 1 − 6·18/(4·15) = −0.8;
    # t = ρ√(2/(1 − ρ²)) = −1.8856 on 2 df.
    assert result["rho"] == pytest.approx(-0.8)
    assert result["p"] == pytest.approx(2 * sps.t.sf(0.8 * math.sqrt(2 / 0.36), 2), abs=1e-9)
    assert result["n"] == 4 and result["dropped"] == 2 and result["zeros"] == 1


def test_sentence_calls_no_trend_when_not_significant():
    text = association_sentence(township_association(LINK, "large_share", 30), "大班额占比", "总体满意度")
    assert "统计上不显著" in text and "不能说明二者有关" in text
    assert "明显" not in text and "越低" not in text
    assert "另有 2 个乡镇样本不足 30 份" in text and "乡镇之间的关联" in text


def test_sentence_gives_the_direction_when_significant():
    link = pd.DataFrame({"n": [50] * 10, "score": [90.0 - i for i in range(10)], "large_share": [i / 20 for i in range(10)]})
    text = association_sentence(township_association(link, "large_share", 30), "大班额占比", "总体满意度")
    assert "统计上显著，大班额占比越高的乡镇，总体满意度越低" in text and "不说明因果" in text


def test_sentence_when_too_few_townships():
    text = association_sentence(township_association(LINK, "large_share", 50), "大班额占比", "总体满意度")
    assert "无法计算相关" in text and "未计入" in text
