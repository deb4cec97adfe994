"""The load benchmark's target names and its calibration page (bench/bench_load.py, bench/burn_page.py)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bench.bench_load import calibration_of, calibration_query, label, serve_workers

ROOT = Path(__file__).resolve().parents[1]
BURN = ROOT / "bench" / "burn_page.py"


@pytest.mark.parametrize("target, kind, query, name", [
    ("burn:4", ("burn", 4.0), "ms=4", "标定页：每次 4 ms CPU（单进程）"),
    ("burn:2.5", ("burn", 2.5), "ms=2.5", "标定页：每次 2.5 ms CPU（单进程）"),
    ("lines:20", ("lines", 20.0), "lines=20", "标定页：每次多 20 个元素（单进程）"),
    ("hello", None, "", "hello 页（单进程）"),
    ("app", None, "", "`streamlit run serve.py`（单进程）"),
    ("serve:4", None, "", "`make serve`（nginx + 4 个进程）"),
])
def test_target_names(target, kind, query, name):
    assert calibration_of(target) == kind
    assert calibration_query(target) == query
    assert label(target, default_workers=2) == name


@pytest.mark.parametrize("target, workers", [("serve", 2), ("serve:3", 3), ("app", None), ("lines:10", None)])
def test_serve_workers(target, workers):
    assert serve_workers(target, 2) == workers


@pytest.mark.parametrize("query, lines", [
    ({}, 0),
    ({"lines": "3"}, 3),
    ({"lines": "1000"}, 100),     # capped: a query string cannot make the page send without bound
    ({"lines": "-5"}, 0),
    ({"lines": "abc"}, 0),
    ({"lines": "nan"}, 0),
    ({"lines": "inf"}, 0),
    ({"lines": "2", "ms": "1"}, 2),
])
def test_calibration_page_sends_the_lines_asked_for(query, lines):
    at = AppTest.from_file(BURN, default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    texts = [m.value for m in at.markdown]
    assert texts == ["开始", *[f"第 {i} 行" for i in range(1, lines + 1)], "结束"]
