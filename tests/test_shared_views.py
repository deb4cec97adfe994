"""Shared views (ui/caching.py): every session gets the same object, so nothing may change one in place; the guard that
checks this in every test must itself notice changes and must see the views a page computes."""

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.shared_views import fingerprint
from ui.caching import clear_views


def frame() -> pd.DataFrame:
    return pd.DataFrame({"county": pd.array(["云溪县", "临江区"], dtype="string"), "score": [85.8, 86.1]})


@pytest.mark.parametrize("change", [
    lambda v: v["frame"].__setitem__("rank", [2, 1]),
    lambda v: v["frame"].loc.__setitem__((0, "score"), 90.0),
    lambda v: setattr(v["frame"], "index", [5, 6]),
    lambda v: setattr(v["frame"], "columns", ["县区", "得分"]),
    lambda v: v["row"].__setitem__("score", 0.0),
    lambda v: v["waves"].append("2026年模拟"),
    lambda v: v["weights"].__setitem__(0, 2.0),
], ids=["new column", "cell", "index replaced", "columns renamed", "dict entry", "list append", "array cell"])
def test_fingerprint_notices_a_change_in_place(change):
    value = {"frame": frame(), "row": {"county": "云溪县", "score": 85.8}, "waves": ["2025年模拟"], "weights": np.ones(3)}
    before = fingerprint(value)
    change(value)
    assert fingerprint(value) != before


@pytest.mark.parametrize("read", [
    lambda v: v.to_numpy(),
    lambda v: v.sort_values("score"),
    lambda v: v[v["score"] > 86].reset_index(drop=True).assign(rank=1),
    lambda v: v.groupby("county")["score"].mean(),
    lambda v: v.to_dict("records"),
], ids=["to_numpy", "sort_values copy", "filter and assign", "groupby", "to_dict"])
def test_fingerprint_is_stable_under_reads(read):
    value = frame()
    before = fingerprint(value)
    read(value)
    assert fingerprint(value) == before


def test_a_view_changed_in_place_is_named(monkeypatch):
    from tests.shared_views import Recorder
    from ui import caching

    recorder = Recorder()  # this test's own: the autouse guard must not see the change made on purpose below
    monkeypatch.setattr(caching, "_computed", recorder)

    @caching.shared_view(max_entries=2)
    def coefficients(version: str) -> pd.Series:
        return pd.Series([0.4, 0.2], index=["课后服务", "校园安全"], name="系数")

    coefficients.clear()
    view = coefficients("v1")
    assert coefficients("v1") is view and recorder.changed() == []  # the same object for every caller
    view.index = ["课后服务", "食堂"]  # an in-place change a caller must never make
    assert recorder.changed() == ["test_a_view_changed_in_place_is_named.<locals>.coefficients('v1',)"]
    coefficients.clear()


def test_the_guard_sees_the_views_a_page_computes(app_db, shared_views_stay_unchanged):
    clear_views()  # computed afresh here, so the recorder sees them
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    names = {name for name, *_ in shared_views_stay_unchanged.views}
    assert {"wave_ranking", "county_row", "scores", "headline"} <= names, names


@pytest.mark.parametrize("args, plain", [
    (("sqlite:///app.db@12", "第6季度", "云溪县"), True),
    ((("课后服务", "校园安全"), 3, None, True), True),
    ((0.8,), True),
    ((float("nan"),), False),  # never equal to itself: a dict could not find it again
    ((float("inf"),), False),
    ((np.str_("云溪县"),), False),
    ((("课后服务", ["校园安全"]),), False),
    ((frame(),), False),
], ids=["text", "nested tuple, int, None, flag", "finite float", "nan", "inf", "numpy text", "list inside tuple", "frame"])
def test_plain_key_takes_only_plain_arguments(args, plain):
    from ui.caching import plain_key

    assert (plain_key(args) is not None) is plain


def test_plain_keys_tell_equal_values_of_different_types_apart():
    from ui.caching import plain_key

    assert len({plain_key((1,)), plain_key((1.0,)), plain_key((True,))}) == 3
    assert plain_key((0.0,)) != plain_key((-0.0,))  # Streamlit's hash tells them apart too
    assert plain_key((("a", "b"),)) != plain_key(("a", "b"))


def test_a_repeated_read_with_plain_arguments_skips_streamlits_key(monkeypatch):
    from streamlit.runtime.caching import cache_utils

    from ui import caching

    keyed = []
    make_key = cache_utils._make_value_key
    monkeypatch.setattr(cache_utils, "_make_value_key", lambda *a, **k: keyed.append(1) or make_key(*a, **k))
    computed = []

    @caching.shared_view(max_entries=2)
    def scores(version: str, counties: tuple, table=None) -> list:
        computed.append(version)
        return [version, counties]

    scores.clear()
    first = scores("v1", ("云溪县", "临江区"))
    assert [scores("v1", ("云溪县", "临江区")) is first for _ in range(3)] == [True] * 3
    assert len(keyed) == 1 and computed == ["v1"]  # only the first read went through st.cache_resource

    table = frame()
    assert scores("v1", ("云溪县",), table=table) == scores("v1", ("云溪县",), table=table)
    assert len(keyed) == 3 and computed == ["v1", "v1"]  # a frame argument: Streamlit's key each time, computed once
    scores.clear()


def test_the_memo_keeps_no_more_than_max_entries_and_forgets_on_clear():
    from ui import caching

    computed = []

    @caching.shared_view(max_entries=2)
    def view(version: str) -> list:
        computed.append(version)
        return [version]

    view.clear()
    for version in ["a", "b", "a", "c", "a", "b"]:  # "b" is the least recently read when "c" arrives
        assert view(version) == [version]
    assert computed == ["a", "b", "c", "b"]
    view.clear()
    view("a")
    assert computed == ["a", "b", "c", "b", "a"]
    view.clear()


def test_keyword_arguments_are_part_of_the_key():
    from ui import caching

    @caching.shared_view(max_entries=4)
    def scores(version: str, wave: str = "") -> tuple:
        return version, wave

    scores.clear()
    assert [scores("v1", wave="第5季度"), scores("v1", wave="第6季度"), scores("v1")] == [
        ("v1", "第5季度"), ("v1", "第6季度"), ("v1", "")]
    scores.clear()


def test_a_read_that_missed_before_a_clear_stores_nothing_after_it():
    from ui.caching import MISSING, _Memo

    memo = _Memo(4)
    assert memo.get(("k",)) is MISSING
    generation = memo.generation
    memo.clear()  # clear_views() while that read was getting its (old) value from st.cache_resource
    assert memo.put(("k",), ("v",), {}, "old value", generation) == []
    assert memo.get(("k",)) is MISSING
    memo.put(("k",), ("v",), {}, "new value", memo.generation)
    assert memo.get(("k",)) == "new value"


@pytest.mark.parametrize("args, kwargs, named", [
    (("v1", "第4季度"), {}, {"version": "v1", "wave": "第4季度"}),
    (("v1",), {"wave": "第4季度"}, {"version": "v1", "wave": "第4季度"}),
    ((), {"version": "v1"}, {"version": "v1"}),
    (("v1", "第4季度", "多余"), {}, None),        # too many: the function's own TypeError
    (("v1",), {"version": "v2"}, None),           # named twice: likewise
])
def test_by_name_names_positional_arguments(args, kwargs, named):
    from ui.caching import by_name

    def view(version: str, wave: str = "") -> None: ...

    assert by_name(view)(args, kwargs) == named


def test_by_name_leaves_calls_to_star_arguments_alone():
    from ui.caching import by_name

    def view(*parts): ...

    assert by_name(view)(("a", "b"), {}) is None


def test_cached_calls_reach_streamlit_by_name_and_share_one_entry(monkeypatch):
    """Streamlit inspects the signature for every positional argument of every call; named ones skip that."""
    from streamlit.runtime.caching import cache_utils

    from ui import caching

    inspected = []
    name_of = cache_utils._get_positional_arg_name
    monkeypatch.setattr(cache_utils, "_get_positional_arg_name", lambda *a: inspected.append(a) or name_of(*a))
    computed = []

    @caching.shared_view(max_entries=4)
    def scores(version: str, table=None) -> list:
        computed.append(version)
        return [version]

    scores.clear()
    table = frame()  # not a plain argument: the read goes through st.cache_resource every time
    assert scores("v1", table) == scores(version="v1", table=table) == scores("v1", table=table) == ["v1"]
    assert computed == ["v1"] and inspected == []
    scores.clear()
