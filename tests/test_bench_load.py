"""The load benchmark's target names and its calibration page (bench/bench_load.py, bench/burn_page.py)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bench.bench_load import CALIBRATIONS, calibration_of, calibration_query, label, serve_workers, target_problem

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
    ({"lines": "1000"}, int(CALIBRATIONS["lines"].most)),  # capped where the benchmark's check says
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


@pytest.mark.parametrize("target, refused", [
    ("hello", False), ("app", False), ("serve", False), ("serve:4", False), ("burn:0", False), ("burn:50", False),
    ("burn:2.5", False), ("lines:0", False), ("lines:100", False),
    ("serve:0", True), ("serve:x", True), ("burn:51", True), ("burn:-1", True), ("burn:abc", True), ("burn:", True),
    ("burn:nan", True), ("lines:101", True), ("lines:2.5", True), ("lines:1e6", True), ("hello:2", True),
    ("nginx", True),
])
def test_targets_are_checked_before_any_load(target, refused):
    assert (target_problem(target) is not None) == refused


def fake_load(target: str, sessions: int, turn: int, seconds: list[float]):
    """A finished load whose runs took these times."""
    from bench.bench_load import Load, Record
    load = Load(target, sessions, round=turn, peak_mb=100.0)
    load.records = [Record(i, "总览", t, "ok") for i, t in enumerate(seconds)]
    return load


def test_the_verdict_judges_the_median_of_each_rounds_ratio_to_its_own_hello():
    from bench.bench_load import rounds_table, verdict
    hello = [fake_load("hello", 50, r, [0.010] * 20) for r in (1, 2, 3)]
    hello[1] = fake_load("hello", 50, 2, [0.020] * 20)  # a slow round: the app's ratio is taken against this one
    app = [fake_load("serve", 50, 1, [0.030] * 20), fake_load("serve", 50, 2, [0.030] * 20),
           fake_load("serve", 50, 3, [0.019] * 20)]
    loads = [fake_load("hello", 5, 1, [0.010] * 5), fake_load("serve", 5, 1, [0.050] * 5)] + hello + app
    line, = verdict(loads, workers=2)
    assert "，3 轮：" in line
    # ratios 3.0×, 1.5×, 1.9×: median 1.9×, within 2× although round 1 alone is not
    assert "p95 ≤ 2× hello ✅（中位 1.9×；各轮 3.0×、1.5×、1.9×）" in line, line
    table = "\n".join(rounds_table(loads, workers=2))
    assert "| 2 | `make serve`（nginx + 2 个进程） | 0.030 s | 0.030 s | 1.5× | 1.5× | 0 |" in table, table
    assert "5 个会话" not in table  # only the largest session count is repeated


def test_one_round_has_no_rounds_table_and_judges_that_round():
    from bench.bench_load import rounds_table, verdict
    loads = [fake_load("hello", 50, 1, [0.010] * 20), fake_load("serve", 50, 1, [0.030] * 20)]
    assert rounds_table(loads, workers=2) == []
    line, = verdict(loads, workers=2)
    assert "p95 ≤ 2× hello ❌（中位 3.0×；各轮 3.0×）" in line, line


def test_a_calibration_is_compared_with_the_hello_of_its_own_round():
    from bench.bench_load import calibration
    loads = [fake_load("hello", 50, 1, [0.010] * 20), fake_load("lines:30", 50, 1, [0.020] * 20),
             fake_load("serve", 50, 1, [0.030] * 20), fake_load("hello", 50, 2, [0.005] * 20),
             fake_load("serve", 50, 2, [0.030] * 20)]
    row = next(line for line in calibration(loads) if "30 个元素" in line)
    assert row.endswith("| 0.020 s | 2.0× |"), row  # round 2's faster hello would make it 4.0×
