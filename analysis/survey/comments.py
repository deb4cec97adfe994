"""Open comments (意见建议): sort them into item topics by the keyword rules in the settings.

A comment may name several topics (e.g. 大班额 and 老师), so it is counted
under each; comments matching no rule are counted under 其他.
Comment text is data to show, never markup: the page renders it as plain cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import re

import numpy as np
import pandas as pd

OTHER_TOPIC = "其他"


def comment_text(comments: pd.Series) -> pd.Series:
    """Comments as plain text, stripped; empty and missing become <NA>."""
    text = comments.astype("str").str.strip()
    return text.mask(text.fillna("") == "")


def topic_matrix(comments: pd.Series, keywords: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Boolean comment × topic table: True where a topic's keyword occurs, plus 其他 for comments no rule matches."""
    text = comment_text(comments).fillna("")
    # Keywords are literal words from the settings file, so escape them before joining into one pattern.
    hits = {topic: text.str.contains("|".join(re.escape(w) for w in words), regex=True) for topic, words in keywords.items() if words}
    matrix = pd.DataFrame(hits, index=comments.index, dtype=bool)
    return matrix.assign(**{OTHER_TOPIC: (text != "") & ~matrix.any(axis=1)}).astype(bool)


def comment_topics_long(frame: pd.DataFrame, keywords: dict[str, tuple[str, ...]], keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per comment × matching topic: topic, comment and the `keep` columns (e.g. township)."""
    text = comment_text(frame["comment"]) if "comment" in frame.columns else pd.Series(pd.NA, index=frame.index, dtype="str")
    matrix = topic_matrix(text, keywords)
    wide = matrix.assign(_comment=text, **{c: frame[c] for c in keep if c in frame.columns})
    long = wide.melt(id_vars=["_comment", *[c for c in keep if c in frame.columns]], value_vars=list(matrix.columns),
                     var_name="topic", value_name="_hit")
    long = long.loc[long["_hit"].astype(bool)].drop(columns="_hit").rename(columns={"_comment": "comment"})
    return long.assign(topic=long["topic"].astype("str"), comment=long["comment"].astype("str")).reset_index(drop=True)


def topic_counts(long: pd.DataFrame, n_comments: int, topics: tuple[str, ...]) -> pd.DataFrame:
    """Per topic (in settings order, 其他 last): number of comments naming it and their share of all comments."""
    order = [*topics, OTHER_TOPIC]
    counts = long.groupby("topic").size().reindex(order, fill_value=0)
    share = counts / n_comments if n_comments else counts * np.nan
    return pd.DataFrame({"topic": pd.array(order, dtype="str"), "comments": counts.to_numpy(dtype="int64"),
                         "share": share.to_numpy(dtype="float64")})


def topic_samples(long: pd.DataFrame, topic: str, k: int = 10) -> pd.DataFrame:
    """Up to k distinct comments of one topic, the most repeated first, with how often each was given."""
    rows = long.loc[long["topic"] == topic]
    counts = rows.groupby("comment").size().reset_index(name="times")
    return counts.sort_values(["times", "comment"], ascending=[False, True]).head(k).reset_index(drop=True)


def comment_count(frame: pd.DataFrame) -> int:
    """Respondents who wrote a comment (0 when the file has no comment column)."""
    if "comment" not in frame:
        return 0
    return int(frame["comment"].astype("str").str.strip().fillna("").ne("").sum())


@dataclass(frozen=True)
class CommentView:
    """Comments sorted into topics: one row per comment × topic, the counts, and how many comments there are."""

    long: pd.DataFrame
    counts: pd.DataFrame
    n_comments: int


def comment_view(frame: pd.DataFrame, keywords: dict[str, tuple[str, ...]]) -> CommentView:
    """One county's comments sorted into topics by the keyword rules (rows keep their township)."""
    long = comment_topics_long(frame, keywords, keep=("township",))
    n_comments = comment_count(frame)
    return CommentView(long, topic_counts(long, n_comments, tuple(keywords)), n_comments)
