"""The page helpers in ui.widgets that do not need a running app."""

import copy
import json
import pickle

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from ui.widgets import figure_view, trimmed_template


def bar(version: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=["甲", "乙"], y=[1.5, 2.5], marker_color=["#c0392b", "#7f8c9a"]))
    return fig.update_layout(title=f"得分 {version}", template="plotly_white",
                             shapes=[{"type": "line", "x0": 0, "x1": 1, "y0": 2, "y1": 2}])


def test_figure_view_is_built_once_per_argument_and_comes_back_unchanged():
    calls = []

    @figure_view
    def scores(version: str) -> go.Figure:
        calls.append(version)
        return bar(version)

    @figure_view
    def other(version: str) -> go.Figure:  # the same signature: must not share the cache with `scores`
        calls.append("other")
        return go.Figure()

    scores.clear()
    first = scores("v1")
    again = scores("v1")
    assert calls == ["v1"]
    # What st.plotly_chart sends is the builder's figure, its template cut to what applies to its traces (tested below).
    sent, built = (json.loads(pio.to_json(f, validate=False)) for f in (again, bar("v1")))
    assert sent["layout"]["template"] == trimmed_template(built) != built["layout"]["template"]
    built["layout"]["template"] = sent["layout"]["template"]
    assert sent == built
    assert again.spec() is first.spec()  # one shared spec for every session and rerun (the guard checks none changes it)
    assert "1 traces" in repr(again) and isinstance(again.spec()["layout"]["template"], dict)  # repr leaves the spec whole
    assert scores("v2").spec()["layout"]["title"]["text"] == "得分 v2"  # the argument is the key: a new version is a new figure
    assert other("v1").spec()["data"] == [] and calls == ["v1", "v2", "other"]
    with pytest.raises(AttributeError, match="st.plotly_chart"):
        again.layout  # editing a cached view's figure is a mistake: the builder is the place
    for twin in (pickle.loads(pickle.dumps(again)), copy.copy(again), copy.deepcopy(again)):  # e.g. kept in session state
        assert twin.spec() == again.spec()


def test_a_failed_warm_start_does_not_stop_the_server(monkeypatch, capsys):
    from analysis.settings import SettingsError
    from ui import data, warmup

    def broken():
        raise SettingsError("settings.toml: [scoring] points 缺少“满意”")

    monkeypatch.setattr(data, "settings", broken)
    assert warmup.warm_start() is None
    assert "预热未完成（不影响使用" in capsys.readouterr().err


@pytest.mark.parametrize("waves, wave, home, expected", [
    (["W1", "W2"], "W1", "乙县", ("W1", "乙县")),          # both exist: kept
    (["W1", "W2"], "W9", "乙县", ("W2", "乙县")),          # a wave that is gone: the latest
    (["W1", "W2"], None, "丁县", ("W2", "甲县")),          # a county not in the city: the bureau's own
    ([], "W1", None, (None, "甲县")),                       # no survey yet
])
def test_resolve_selection(waves, wave, home, expected):
    from ui.state import resolve_selection

    assert resolve_selection(waves, ("甲县", "乙县", "丙县"), "甲县", wave, home) == expected


def test_a_frame_is_converted_to_arrow_once_and_forgotten_with_it():
    import gc

    import pandas as pd

    from ui import widgets

    frame = pd.DataFrame({"县区": pd.array(["云溪县", "临江区"], dtype="string"), "得分": [85.8, 86.1], "名次": pd.array([6, 1], dtype="Int64")})
    table = widgets.arrow_table(frame)
    assert widgets.arrow_table(frame) is table  # the same frame object: its table is not built again
    assert table.to_pandas().equals(frame)      # the same content st.dataframe would have sent
    assert widgets.arrow_table(frame.copy()) is not table  # an equal but different frame is its own entry
    key = id(frame)
    del frame, table
    gc.collect()
    assert key not in widgets._ARROW  # dropped with the frame: no table outlives its view


@pytest.mark.parametrize("values", [[1, "一", 2.5], [1, 2**70]], ids=["mixed types", "beyond int64"])
def test_a_frame_arrow_cannot_hold_is_sent_as_it_is(values):
    import pandas as pd

    from ui import widgets

    odd = pd.DataFrame({"值": values}, dtype=object)
    assert widgets.arrow_table(odd) is odd  # Streamlit's own conversion and its fallbacks take it


def test_sending_a_figure_view_leaves_its_shared_spec_unchanged():
    from tests.shared_views import fingerprint

    @figure_view
    def with_uids(version: str) -> go.Figure:
        return go.Figure(go.Bar(x=["甲"], y=[1.0], uid="trace-1"))

    with_uids.clear()
    figure = with_uids("v1")
    assert "uid" not in figure.spec()["data"][0]  # removed once, when the spec was built
    before = fingerprint(figure.spec())
    pio.to_json(figure, validate=False)  # what st.plotly_chart does with it on every rerun
    assert fingerprint(figure.spec()) == before


PLOTLY_WHITE = pio.templates["plotly_white"].to_plotly_json()


@pytest.mark.parametrize("traces, kinds, families", [
    ([go.Bar(x=["甲"], y=[1.0]), go.Scatter(x=["甲"], y=[2.0])], {"bar", "scatter"}, set()),
    ([go.Heatmap(z=[[1, 2], [3, 4]])], {"heatmap"}, set()),
    ([go.Scatter3d(x=[1], y=[2], z=[3])], {"scatter3d"}, {"scene"}),
    ([go.Barpolar(r=[1], theta=[0])], {"barpolar"}, {"polar"}),
])
def test_figure_view_sends_only_the_template_parts_its_traces_use(traces, kinds, families):
    @figure_view
    def chart(version: str) -> go.Figure:
        return go.Figure(traces).update_layout(template="plotly_white")

    chart.clear()
    sent = chart("v1").spec()["layout"]["template"]
    assert set(sent["data"]) == kinds  # plotly_white has defaults for every kind used here
    for kind in kinds:
        assert sent["data"][kind] == PLOTLY_WHITE["data"][kind]
    subplot_families = {"scene", "ternary", "polar", "geo", "smith", "mapbox", "map"}
    kept = set(PLOTLY_WHITE["layout"]) - subplot_families | (families & set(PLOTLY_WHITE["layout"]))
    assert set(sent["layout"]) == kept
    for key in kept:  # colorway, axes, fonts, colorscales: unchanged
        assert sent["layout"][key] == PLOTLY_WHITE["layout"][key]


def test_a_subplot_family_named_in_the_layout_keeps_its_template():
    @figure_view
    def empty_polar(version: str) -> go.Figure:
        return go.Figure().update_layout(template="plotly_white", polar={"hole": 0.2})

    empty_polar.clear()
    sent = empty_polar("v1").spec()["layout"]["template"]
    assert sent["layout"]["polar"] == PLOTLY_WHITE["layout"]["polar"] and "scene" not in sent["layout"]
    assert sent["data"] == {}


def test_the_app_charts_send_a_small_template():
    from analysis.report.ranking_charts import base_layout

    @figure_view
    def styled(version: str) -> go.Figure:
        return base_layout(go.Figure(go.Bar(x=["甲", "乙"], y=[1.0, 2.0])), "标题")

    styled.clear()
    full = len(json.dumps(base_layout(go.Figure(go.Bar(x=["甲", "乙"], y=[1.0, 2.0])), "标题").to_dict()))
    sent = len(json.dumps(styled("v1").spec()))
    assert sent < full / 2, (sent, full)


def _download_calls() -> list[tuple[str, int, str | None]]:
    """Every st.download_button / .download_button call in the UI source: file, line, its on_click (None if unset)."""
    import ast

    from tests.conftest import ROOT

    found = []
    for path in sorted([*(ROOT / "app_pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "download_button":
                on_click = next((k.value.value for k in node.keywords
                                 if k.arg == "on_click" and isinstance(k.value, ast.Constant)), None)
                found.append((path.name, node.lineno, on_click))
    return found


def test_no_download_reruns_the_page_but_the_backup():
    """A download changes nothing on the page; Streamlit's default (on_click="rerun") would redraw it per file taken.
    The database backup alone reruns, so its button goes away after one download."""
    calls = _download_calls()
    assert len(calls) >= 8, calls  # the table downloads, the brief's three, the backup and the templates
    assert [c for c in calls if c[2] != "ignore"] == [c for c in calls if c[0] == "data_admin.py" and c[2] == "rerun"]
    assert len([c for c in calls if c[2] == "rerun"]) == 1, calls
