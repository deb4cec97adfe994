"""Scoring rule on hand-computed examples: weights, exclusions, ties, change, robustness."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis.survey.scoring import (SATISFIED_RATE_POINTS, answer_points, county_scores, rank_within, robustness_table,
                                      satisfied_step)

POINTS = {"满意": 100, "比较满意": 80, "一般": 60, "不太满意": 40, "不满意": 0}


def responses(rows):
    """Frame from (wave, county, overall, weight) tuples."""
    return pd.DataFrame(rows, columns=["wave", "county", "overall", "weight"])


@pytest.mark.parametrize("answer, expected", [
    ("满意", 100.0), ("比较满意", 80.0), ("一般", 60.0), ("不太满意", 40.0), ("不满意", 0.0),
    ("不了解", None), ("说不清", None), ("拒答", None), (None, None),
])
def test_answer_points(answer, expected):
    got = answer_points(pd.Series([answer], dtype="string"), POINTS).iloc[0]
    assert (math.isnan(got) if expected is None else got == expected)


def test_unweighted_score_excludes_unknown_and_counts_it():
    # 满意, 一般, 不了解 → scored (100 + 60) / 2 = 80, n = 2, one excluded.
    table = county_scores(responses([("w", "A", "满意", 1.0), ("w", "A", "一般", 1.0), ("w", "A", "不了解", 1.0)]), POINTS)
    row = table.iloc[0]
    assert (row["n"], row["n_excluded"], row["score"]) == (2, 1, 80.0)
    # s = sd(100, 60) = 28.2843, se = s / sqrt(2) = 20.0
    assert row["se"] == pytest.approx(20.0)
    assert row["ci_low"] == pytest.approx(80 - 1.959964 * 20)


def test_weighted_score():
    # weights 3 and 1 on 100 and 40: (300 + 40) / 4 = 85
    # se = sqrt(2/1 * (3²(100-85)² + 1²(40-85)²)) / 4 = sqrt(2 * (2025 + 2025)) / 4 = 90 / 4 = 22.5
    table = county_scores(responses([("w", "A", "满意", 3.0), ("w", "A", "不太满意", 1.0)]), POINTS)
    assert table.iloc[0]["score"] == pytest.approx(85.0)
    assert table.iloc[0]["se"] == pytest.approx(22.5)
    assert table.iloc[0]["n_eff"] == pytest.approx(16 / 10)


def test_ties_share_the_better_rank():
    rows = [("w", "A", "满意", 1.0), ("w", "B", "比较满意", 1.0), ("w", "C", "比较满意", 1.0), ("w", "D", "一般", 1.0)]
    table = county_scores(responses(rows), POINTS).set_index("county")
    assert table["rank"].to_dict() == {"A": 1, "B": 2, "C": 2, "D": 4}


def test_ranks_are_within_wave():
    table = pd.DataFrame({"wave": ["1", "1", "2", "2"], "score": [70.0, 80.0, 60.0, 50.0]})
    assert rank_within(table).tolist() == [2, 1, 1, 2]


def test_robustness_rules_can_reorder():
    # A: 满意 + 不满意 → configured 50, linear 50, rate 50; B: 比较满意 ×2 → 80, 75, 100; C: 一般 ×2 → 60, 50, 0.
    rows = [("w", "A", "满意", 1.0), ("w", "A", "不满意", 1.0), ("w", "B", "比较满意", 1.0), ("w", "B", "比较满意", 1.0),
            ("w", "C", "一般", 1.0), ("w", "C", "一般", 1.0)]
    table = robustness_table(responses(rows), POINTS).set_index("county")
    assert table["score_linear"].to_dict() == {"B": 75.0, "C": 50.0, "A": 50.0}
    assert table["rank_configured"].to_dict() == {"B": 1, "C": 2, "A": 3}
    assert table["rank_satisfied_rate"].to_dict() == {"B": 1, "A": 2, "C": 3}
    assert table.loc["C", "rank_spread"] == 1


def test_empty_responses_give_empty_table():
    assert county_scores(responses([]), POINTS).empty


def test_weighted_se_matches_r_survey_fixture(settings):
    """The published toy survey (tests/fixtures/weighted_survey_toy.csv) through the county pipeline: R survey::svymean gives 72.5584737, SE 6.6176571."""
    from tests.conftest import ROOT

    toy = pd.read_csv(ROOT / "tests" / "fixtures" / "weighted_survey_toy.csv")
    frame = pd.DataFrame({"wave": "w", "county": "A", "overall": toy["ans"], "weight": toy["w_rake_known"]})
    row = county_scores(frame, POINTS).iloc[0]
    assert row["score"] == pytest.approx(72.5584737, abs=1e-6)
    assert row["se"] == pytest.approx(6.6176571, abs=1e-6)
    assert row["n_eff"] == pytest.approx(21.5518144, abs=1e-6)
    assert np.isclose(row["ci_high"] - row["ci_low"], 2 * 1.959964 * 6.6176571, atol=1e-5)


def test_scores_from_database_counts_equal_respondent_level_scores(mock_db, settings):
    """The pages score from per-answer sums the database computes; they must equal the respondent-level pipeline."""
    from analysis.data import store
    from analysis.data.contract import responses_kind
    from analysis.survey.scoring import county_scores_from_counts

    engine = store.connect(mock_db)
    kind = responses_kind(settings.items)
    direct = county_scores(store.load_kind(engine, kind), settings.points)
    from_counts = county_scores_from_counts(store.answer_counts(engine, kind), settings.points)
    pd.testing.assert_frame_equal(from_counts, direct, check_dtype=False, atol=1e-9, rtol=0)


def test_scores_from_counts_on_the_r_survey_fixture():
    from analysis.survey.scoring import county_scores_from_counts
    from tests.conftest import ROOT

    toy = pd.read_csv(ROOT / "tests" / "fixtures" / "weighted_survey_toy.csv")
    counts = (toy.assign(w2=toy["w_rake_known"] ** 2).groupby("ans")
              .agg(n=("id", "size"), w_sum=("w_rake_known", "sum"), w2_sum=("w2", "sum")).reset_index()
              .rename(columns={"ans": "overall"}).assign(wave="w", county="A"))
    row = county_scores_from_counts(counts, POINTS).iloc[0]
    assert row["score"] == pytest.approx(72.5584737, abs=1e-6) and row["se"] == pytest.approx(6.6176571, abs=1e-6)


def test_satisfied_rate_and_the_step_behind_its_wording():
    # 满意率 counts 满意 and 比较满意 (the city's definition); a 一般 → 满意 move is worth 100 − 60 = 40 points by default.
    assert SATISFIED_RATE_POINTS == {"满意": 100.0, "比较满意": 100.0, "一般": 0.0, "不太满意": 0.0, "不满意": 0.0}
    assert satisfied_step(POINTS) == 40.0
    assert satisfied_step({**POINTS, "一般": 70.0}) == 30.0
