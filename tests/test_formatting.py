"""Chinese number formats and formula-safe exports."""

import math

import pandas as pd
import pytest

from analysis.formatting import (csv_bytes, export_safe, fmt_pct, fmt_rank, fmt_rank_of, fmt_rank_set, fmt_score, fmt_signed,
                                 met_text, pct_columns, pct_text, pp_change)


@pytest.mark.parametrize("fn, value, expected", [
    (fmt_rank, 5, "第5名"), (fmt_rank, None, "—"), (fmt_rank, math.nan, "—"),
    (fmt_pct, 0.834, "83.4%"), (fmt_pct, 1.0, "100.0%"), (fmt_pct, math.nan, "—"),
    (fmt_score, 85.7349, "85.73"), (fmt_signed, -0.31, "−0.31"), (fmt_signed, 0.85, "+0.85"),
    # A metric's delta: ASCII minus (st.metric's arrow reads it), nothing at all when unknown.
    (pp_change, 0.07, "+7 个百分点"), (pp_change, -0.113, "-11 个百分点"), (pp_change, math.nan, None), (pp_change, pd.NA, None),
])
def test_formats(fn, value, expected):
    assert fn(value) == expected


def test_rank_of_and_sets():
    assert fmt_rank_of(5, 11) == "第5名/共11"
    assert fmt_rank_set(3, 8) == "第3–8名" and fmt_rank_set(1, 1) == "第1名"


@pytest.mark.parametrize("cell", ["=1+1", "+86", "-2", "@SUM(A1)", "\t=cmd"])
def test_formula_cells_are_neutralised(cell):
    assert export_safe(pd.DataFrame({"意见建议": [cell]}))["意见建议"].iloc[0] == "'" + cell


def test_csv_is_bom_utf8_and_keeps_plain_text():
    data = csv_bytes(pd.DataFrame({"县区": ["云溪县"], "得分": [85.8]}))
    assert data.startswith(b"\xef\xbb\xbf") and "云溪县,85.8" in data.decode("utf-8-sig")


@pytest.mark.parametrize("stamp, server_tz, expected", [
    ("2026-11-29T07:42:49", "UTC", "2026-11-29 15:42"),  # naive = the server's local time (a UTC server)
    ("2026-11-29T15:42:49", "Asia/Shanghai", "2026-11-29 15:42"),  # a server already on Beijing time
    ("2026-11-29T20:05:00", "UTC", "2026-11-30 04:05"),  # crosses midnight into the next day
    ("2026-11-29T07:42:49+00:00", "America/New_York", "2026-11-29 15:42"),  # an explicit offset wins over the server's
    ("2026-11-29T15:42:49+08:00", "UTC", "2026-11-29 15:42"),
    ("", "UTC", "—"),
    (None, "UTC", "—"),
    ("昨天", "UTC", "昨天"),  # not a timestamp: shown as stored
])
def test_fmt_time_shows_beijing_minutes(monkeypatch, stamp, server_tz, expected):
    import time

    from analysis.formatting import fmt_time

    monkeypatch.setenv("TZ", server_tz)
    time.tzset()
    try:
        assert fmt_time(stamp) == expected
    finally:
        monkeypatch.undo()
        time.tzset()


def test_share_columns_read_as_percent_text():
    frame = pd.DataFrame({"township": ["城关镇", "东坝镇"], "coverage": [0.834, float("nan")], "ok": [True, False]})
    assert pct_columns(frame, {"coverage": "家访覆盖率", "absent": "缺列"}) == {"家访覆盖率": ["83.4%", "—"]}
    shown = pct_text(frame, ["coverage", "absent"])
    assert shown["coverage"].tolist() == ["83.4%", "—"] and list(shown.columns) == list(frame.columns)
    assert frame["coverage"].iloc[0] == 0.834  # the input is left as it was
    assert met_text(frame["ok"]) == ["达标", "未达标"]
    assert met_text(pd.array([True, pd.NA, False], dtype="boolean")) == ["达标", "—", "未达标"]  # not judged
