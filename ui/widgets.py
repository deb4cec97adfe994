"""Small widgets every page uses: downloads for tables, empty states, the page context."""

from __future__ import annotations

import copy
import functools
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import streamlit as st

from analysis.formatting import csv_bytes, escape_markdown, xlsx_bytes
from analysis.settings import Settings
from ui import data, state
from ui.caching import shared_view

CARD_WIDTH = 170  # metric cards in a horizontal container: two side by side on a 390-px phone, four in a row on a desktop


@dataclass(frozen=True)
class PageContext:
    """What every page needs. `settings` are the bureau's own (its home county is the bureau's county); `home` is the
    county chosen in the sidebar, which is what the page shows."""

    settings: Settings
    home: str
    version: str
    wave: str | None
    waves: list[str]


def page_context() -> PageContext:
    """Settings, data version and the sidebar's wave and home county, as the sidebar resolved them on this run."""
    return st.session_state[state.PAGE_CONTEXT]


class SentFigure(go.Figure):
    """A figure view's figure: the cached, already validated spec, handed to st.plotly_chart as it is sent.

    st.plotly_chart asks a figure for `to_dict()`, a deep copy of every trace (~0.7 ms a chart), and building a
    go.Figure from the cached dict costs as much again: on a cached rerun that was a tenth of a page's server time.
    This figure skips both. It is for st.plotly_chart only (st.write would not recognise it as a chart): to change a
    chart, change its builder.
    """

    def __init__(self, spec: dict) -> None:  # BaseFigure.__init__ is skipped on purpose: it is the cost avoided
        object.__setattr__(self, "_sent_spec", spec)

    def __reduce__(self):
        return SentFigure, (self._sent_spec,)  # pickling and copying go through the spec, not BaseFigure's state

    def __copy__(self) -> "SentFigure":
        return SentFigure(self._sent_spec)

    def __deepcopy__(self, memo: dict) -> "SentFigure":
        return SentFigure(copy.deepcopy(self._sent_spec, memo))

    def to_dict(self) -> dict:
        """The spec itself, shared by every session: st.plotly_chart encodes it as JSON (and pops trace uids, which
        figure_view has already removed, so nothing changes)."""
        return self._sent_spec

    def __repr__(self) -> str:
        # BaseFigure.__repr__ shortens the template inside to_plotly_json()'s dict, which here is the shared spec.
        title = self._sent_spec.get("layout", {}).get("title", {})
        return f"SentFigure({len(self._sent_spec.get('data', []))} traces, title={title.get('text') if isinstance(title, dict) else title!r})"

    def __getattr__(self, name: str):
        raise AttributeError(f"{name}: a figure view's figure only goes to st.plotly_chart; read spec() or its builder")

    def spec(self) -> dict:
        """The figure's plain dict (data, layout), as st.plotly_chart sends it."""
        return self._sent_spec


# A subplot family's template (layout.template.layout.scene, …) applies only to subplots of that family, and
# template.data[kind] only to traces of that kind; the template the figures use, plotly_white, is ~7 KB of JSON.
SUBPLOT_KINDS = {
    "scene": {"scatter3d", "surface", "mesh3d", "cone", "streamtube", "volume", "isosurface"},
    "ternary": {"scatterternary"},
    "polar": {"scatterpolar", "scatterpolargl", "barpolar"},
    "geo": {"scattergeo", "choropleth"},
    "smith": {"scattersmith"},
    "mapbox": {"scattermapbox", "choroplethmapbox", "densitymapbox"},
    "map": {"scattermap", "choroplethmap", "densitymap"},
}


def trimmed_template(figure: dict) -> dict:
    """The part of a figure's template that can change how this figure is drawn: the defaults for its own trace kinds
    and subplot families. The rest was ~90% of a small chart's spec, encoded on every send and sent to every phone."""
    layout = figure.get("layout", {})
    template = layout.get("template", {})
    kinds = {trace.get("type", "scatter") for trace in figure.get("data", [])}
    used = {family for family, members in SUBPLOT_KINDS.items()
            if members & kinds or any(key.startswith(family) for key in layout)}
    return {**template,
            "data": {kind: value for kind, value in template.get("data", {}).items() if kind in kinds},
            "layout": {key: value for key, value in template.get("layout", {}).items()
                       if key not in SUBPLOT_KINDS or key in used}}


def figure_view(build: Callable[..., go.Figure]) -> Callable[..., SentFigure]:
    """A figure view: `build(version, wave, …)` reads its data and draws; the figure is cached on exactly those arguments,
    so no input can be left out of the key.

    The cache holds the figure's plain dict, shared by every session: building a go.Figure again re-validates every
    property (~9 ms a chart). The spec was validated when first built, so it is not checked again. Its template keeps
    only what can apply to this figure (`trimmed_template`).
    """
    def spec(*args) -> dict:
        figure = build(*args).to_dict()
        for trace in figure.get("data", []):
            trace.pop("uid", None)  # plotly.io.to_json pops it in place on every send: gone before the spec is shared
        if "template" in figure.get("layout", {}):
            figure["layout"]["template"] = trimmed_template(figure)
        return figure

    # The cache tells functions apart by module and qualified name: give each view its own.
    spec.__module__, spec.__qualname__, spec.__name__ = build.__module__, build.__qualname__, build.__name__
    cached = shared_view(max_entries=64)(spec)

    @functools.wraps(build)
    def figure(*args) -> SentFigure:
        return SentFigure(cached(*args))

    figure.clear = cached.clear  # type: ignore[attr-defined]
    return figure


# A shared view's frame is the same object on every rerun, so its Arrow form (what st.dataframe sends) is kept beside
# it, keyed by identity, and dropped with the frame: converting a table again was ~1 ms of a rerun with one.
_ARROW: dict[int, tuple[weakref.ref, pa.Table]] = {}


def arrow_table(frame: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """The frame as the Arrow table st.dataframe would build from it, built once per frame object (the frame itself
    when Arrow cannot hold a column, so Streamlit's own fallback applies)."""
    key = id(frame)
    kept = _ARROW.get(key)
    if kept is not None and kept[0]() is frame:
        return kept[1]
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):  # the errors Streamlit's own conversion handles
        return frame
    _ARROW[key] = (weakref.ref(frame, lambda _gone, key=key: _ARROW.pop(key, None)), table)
    return table


def show_table(frame: pd.DataFrame, **kwargs) -> None:
    """st.dataframe of a shared view's frame without its index, sent from its Arrow table built once.

    Only for frames from shared views: a frame built on every rerun would get a second, Arrow copy for nothing."""
    kwargs.setdefault("hide_index", True)
    st.dataframe(arrow_table(frame) if kwargs["hide_index"] else frame, **kwargs)  # the Arrow table has no index


def download_table(frame: pd.DataFrame, name: str, key: str) -> None:
    """A 下载 menu for one table, its CSV and Excel buttons drawn only while the menu is open."""
    # Lazy (a keyed popover reruns when opened): closed, it is one element a run instead of a row and two buttons
    # (~0.14 ms against ~0.41 ms of server time; pages draw one to three of these on every visit, issue 15).
    with st.popover("下载", icon=":material/download:", key=state.download_menu(key), on_change="rerun") as menu:
        if menu.open:
            download_buttons(frame, name, key)


def download_buttons(frame: pd.DataFrame, name: str, key: str) -> None:
    """CSV and Excel download buttons for one table (formula-safe cells), built only when clicked."""
    # on_click="ignore": a download changes nothing on the page, so it does not rerun it (Streamlit's default would
    # redraw the whole page for every file a meeting's fifty people take away).
    row = st.container(horizontal=True, gap="small")
    row.download_button("下载 CSV", lambda: csv_bytes(frame), file_name=f"{name}.csv", mime="text/csv", key=f"{key}_csv",
                        icon=":material/download:", on_click="ignore")
    row.download_button("下载 Excel", lambda: xlsx_bytes({name: frame}), file_name=f"{name}.xlsx", key=f"{key}_xlsx",
                        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", icon=":material/download:",
                        on_click="ignore")


def no_survey_data() -> None:
    """Empty state when no survey wave is stored."""
    st.info("尚未上传问卷数据。请分析员在“数据管理”页上传调查问卷文件。", icon=":material/upload_file:")
    st.page_link("app_pages/data_admin.py", label="前往数据管理", icon=":material/database:")


def require_survey_wave(ctx: PageContext) -> None:
    """Stop the page with the empty state when no survey wave is stored."""
    if ctx.wave is None:
        no_survey_data()
        st.stop()


def require_ranked_home(ctx: PageContext, result: data.WaveRanking) -> dict:
    """The home county's row of a rankable wave; otherwise stop the page saying what is missing and what to upload."""
    if not result.ok:
        st.warning(plain(result.basis.missing_sentence()), icon=":material/rule:")
        st.page_link("app_pages/data_admin.py", label="前往数据管理上传", icon=":material/upload_file:")
        st.stop()
    home = data.county_row(ctx.version, ctx.wave, ctx.home)
    if home is None or home["source"] != "survey":
        st.warning(plain(f"{ctx.wave} 没有 {ctx.home} 的问卷数据，无法推算本县得分与名次概率。请选择其他批次，或在“数据管理”页上传本县问卷。"))
        st.stop()
    return home


def basis_note(result: data.WaveRanking) -> None:
    """The sentence naming what the wave's ranking rests on; highlighted when it is not every county's survey."""
    if result.basis.kind == "survey":
        st.caption(plain(result.basis.sentence()))
    else:
        st.info(plain(result.basis.sentence()), icon=":material/info:")


def plain(text: str) -> str:
    """Text that may hold names from uploaded files, escaped so Markdown renders it literally."""
    return escape_markdown(str(text))


def method_note(lines: list[str]) -> None:
    """The analysts' method note under a section: method names, seeds, p-values and citations stay out of the main text."""
    with st.expander("方法说明（分析员）", icon=":material/science:"):
        st.markdown("\n".join(plain_lines(lines)))


def plain_lines(lines: list[str]) -> list[str]:
    """Markdown list items whose text is escaped (empty lines left out)."""
    return [f"- {plain(line)}" for line in lines if line]


def detail_expander(label: str, key: str):
    """An expander that reruns the page when toggled, so its content can run only while it is open (check `.open`)."""
    # A closed table's Excel export still costs ~15 ms a rerun in download_table; lazy expanders skip it.
    return st.expander(f"{label}（展开查看与下载）", key=key, on_change="rerun")


def lazy_tabs(sections: dict[str, Callable[[], None]], key: str) -> None:
    """Tabs whose section runs only while its tab is open: a rerun draws one section's charts, not every section's.

    A keyed widget inside a section is not drawn while another tab is open, so it keeps its value across a switch only
    with persist_state="page" (selectors use it; a half-filled form is not kept: its input never reached the server).
    """
    for tab, draw in zip(st.tabs(list(sections), key=key, on_change="rerun"), sections.values()):
        with tab:
            if tab.open:
                draw()


def takeaway(text: str) -> None:
    """One-line reading of a chart, in plain Chinese; escaped, since it names townships, schools and waves from files."""
    st.caption(f":material/lightbulb: {escape_markdown(text)}")
