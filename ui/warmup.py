"""Work done once when the server starts, so the first visitor does not wait for imports and the default view."""

from __future__ import annotations

import gc
import importlib
import logging
import sys
import time

# What the pages import (the brief's Word and kaleido modules stay lazy: they load only when a brief is asked for).
PAGE_MODULES = (
    "analysis.report.ranking_charts", "analysis.report.insight_charts", "analysis.formatting",
    "analysis.data.importing", "analysis.data.readers", "analysis.data.templates", "analysis.survey.planner",
    "analysis.survey.scenarios", "analysis.survey.school_metrics", "analysis.survey.groups", "analysis.survey.comments",
    "ui.widgets", "ui.sidebar", "ui.auth", "ui.insights", "ui.planning", "pyarrow",
)


def warm_start() -> float | None:
    """Import the pages' modules and compute the default view (every wave's ranking, the home county's trend).

    Returns the seconds it took, or None when it failed: warming only saves time, so a broken settings file or
    database is left for the app's own pages to explain.
    """
    # Cached functions called outside a session log "missing ScriptRunContext … can be ignored": here it can.
    context_log = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = context_log.level
    context_log.setLevel(logging.ERROR)
    try:
        return _warm()
    except Exception as exc:  # noqa: BLE001 - any failure here must not stop the server from starting
        print(f"预热未完成（不影响使用，页面会在首次打开时计算）：{exc}", file=sys.stderr, flush=True)
        return None
    finally:
        context_log.setLevel(level)


def _warm() -> float:
    start = time.perf_counter()
    for name in PAGE_MODULES:
        importlib.import_module(name)
    from ui import data, overview, state

    cfg = data.settings()
    version = data.version()
    waves = data.waves(version)
    if waves:
        # The first screen as a new visitor gets it (the sidebar's defaults). The home trend ranks every wave on the
        # way, and building its figures loads plotly's validators; the headline names the item to fix first, which
        # runs the item analysis, and the analyst note computes each chance's sampling range.
        wave, home = state.resolve_selection(waves, cfg.counties, cfg.home_county, None, None)
        row = data.county_row(version, wave, home)
        if row is not None and row["source"] == "survey":  # what the overview needs to draw (require_ranked_home)
            overview.rank_trend(version, home, wave), overview.score_trend(version, home, wave)
            overview.headline(version, wave, home), overview.method_lines(version, wave, home)
    seconds = time.perf_counter() - start
    print(f"预热完成：导入页面模块并计算 {len(waves)} 个批次的名次，用时 {seconds:.1f} 秒", file=sys.stderr, flush=True)
    return seconds


def freeze_heap() -> int:
    """Collect once, then take every surviving object out of the cyclic collector's reach; returns how many.

    What the warm-up leaves alive (modules, plotly's validators, the warm caches) lives as long as the server; left in
    the oldest generation, every full collection walked all of it while every session of the process waited (README,
    速度). Reference counting still frees a frozen object that is dropped, such as an evicted cache entry, unless it
    sits in a reference cycle (a plotly figure's parent links): those stay until the process ends, a bounded loss once
    per process, since only what the warm-up built is frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
