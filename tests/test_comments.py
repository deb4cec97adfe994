"""Tests for analysis.survey.comments: keyword topics, counts and samples on hand-made comments."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.survey.comments import OTHER_TOPIC, comment_topics_long, topic_counts, topic_matrix, topic_samples

KEYWORDS = {
    "课业负担": ("作业", "负担"),
    "大班额治理": ("大班", "人数多"),
    "师德师风": ("老师",),
    "教育收费": ("C++班", "(收费)"),  # regex metacharacters must be taken literally
}


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "comment": ["作业太多", None, "", "  班里人数多，老师顾不过来 ", "谢谢", "<b>作业</b>负担重", "作业太多", "报了C++班",
                    "(收费)不透明", "CCC班"],
        "township": ["甲镇", "甲镇", "乙镇", "乙镇", "甲镇", "乙镇", "乙镇", "甲镇", "甲镇", "甲镇"],
    })


def test_topic_matrix_multi_label_and_other() -> None:
    matrix = topic_matrix(_frame()["comment"], KEYWORDS)
    assert list(matrix.columns) == [*KEYWORDS, OTHER_TOPIC]
    # Row 3 names both 人数多 and 老师; empty and missing comments match nothing, not even 其他.
    assert matrix.loc[3, ["大班额治理", "师德师风"]].tolist() == [True, True]
    assert not matrix.loc[[1, 2]].to_numpy().any()
    assert matrix.loc[4, OTHER_TOPIC] and not matrix.loc[3, OTHER_TOPIC]
    # "C++班" and "(收费)" match literally; "CCC班" would match the unescaped regex C++班 but must not.
    assert matrix.loc[7, "教育收费"] and matrix.loc[8, "教育收费"]
    assert not matrix.loc[9, "教育收费"] and matrix.loc[9, OTHER_TOPIC]


def test_counts_and_shares() -> None:
    long = comment_topics_long(_frame(), KEYWORDS, keep=("township",))
    counts = topic_counts(long, n_comments=8, topics=tuple(KEYWORDS)).set_index("topic")
    # 8 non-empty comments; 课业负担: rows 0, 5, 6 → 3 (3/8 = 37.5%); 其他: 谢谢, CCC班 → 2.
    assert counts.loc["课业负担", "comments"] == 3
    assert counts.loc["课业负担", "share"] == pytest.approx(0.375)
    assert counts.loc["大班额治理", "comments"] == 1 and counts.loc["师德师风", "comments"] == 1
    assert counts.loc["教育收费", "comments"] == 2
    assert counts.loc[OTHER_TOPIC, "comments"] == 2
    assert counts.index[-1] == OTHER_TOPIC
    assert set(long["township"]) == {"甲镇", "乙镇"}


def test_samples_are_verbatim_text_most_repeated_first() -> None:
    long = comment_topics_long(_frame(), KEYWORDS)
    samples = topic_samples(long, "课业负担", k=5)
    assert samples["comment"].tolist() == ["作业太多", "<b>作业</b>负担重"]
    assert samples["times"].tolist() == [2, 1]
    # Markup stays as literal text; the page shows it in a dataframe cell, never as HTML.
    assert "<b>" in samples["comment"].iloc[1]
    assert topic_samples(long, "课业负担", k=1)["comment"].tolist() == ["作业太多"]


def test_no_comments_and_no_rules() -> None:
    frame = pd.DataFrame({"comment": pd.Series([None, ""], dtype="str")})
    long = comment_topics_long(frame, KEYWORDS)
    assert long.empty
    counts = topic_counts(long, 0, tuple(KEYWORDS))
    assert counts["comments"].sum() == 0 and counts["share"].isna().all()
    assert topic_matrix(pd.Series(["随便说说"]), {}).columns.tolist() == [OTHER_TOPIC]
