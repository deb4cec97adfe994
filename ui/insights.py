"""Cached loaders, session keys and the township filter for the 分项指标, 群体与乡镇 and 办学指标 pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.basis import item_comparison_note, published_item_scores
from analysis.comments import comment_topics_long, topic_counts
from analysis.contract import RESPONSE_COLUMNS
from analysis.groups import GROUP_DIMENSIONS, dimension_tests, group_scores, group_table
from analysis.itemmodel import item_to_overall
from analysis.items import (benchmark_county, fix_first, fix_first_stability, item_benchmarks, item_drivers, item_scores,
                            item_scores_from_counts)
from analysis.metrics import (
    TOTAL_LABEL,
    class_flags,
    class_size_distribution,
    compulsory_rates,
    latest_year,
    preschool_rates,
    school_class_summary,
    township_association,
    township_class_summary,
    township_link,
)
from analysis.settings import settings_path
from analysis.weighting import RakeResult, RakingSettings, load_raking, rake
from ui import data
from ui.widgets import cached_figure

# Session-state keys of these pages (kept here, not in ui/state.py, so the pages own them).
ITEMS_TOWNSHIPS = "items_township_filter"
ITEMS_TOPIC = "items_comment_topic"
GROUPS_TOWNSHIPS = "groups_township_filter"
GROUPS_MEASURE = "groups_measure"
METRICS_TOWNSHIPS = "metrics_township_filter"
METRICS_YEAR = "metrics_year"
METRICS_TAB = "metrics_section_tab"
ITEMS_TAB = "items_section_tab"
GROUPS_TAB = "groups_section_tab"
METRICS_INDICATOR = "metrics_preschool_indicator"
METRICS_MEASURE = "metrics_link_measure"
# Detail expanders: their table and downloads run only while open.
ITEMS_ALL_COMMENTS = "items_all_comments_open"
METRICS_PRESCHOOL_DETAIL = "metrics_preschool_detail_open"
METRICS_COMPULSORY_DETAIL = "metrics_compulsory_detail_open"
METRICS_TOWNSHIP_DETAIL = "metrics_township_detail_open"
METRICS_DISTRIBUTION_DETAIL = "metrics_distribution_detail_open"

FILTERED_LABEL = "所选乡镇合计"
OVERALL_LABEL = "总体满意度"
# Below this many respondents the item importances swing from sample to sample; the page says so.
MIN_DRIVER_N = 100
STABILITY_REPS = 200  # bootstrap resamples of the fix-first list (about 1 s for 400 respondents)


def chart(name: str, key: tuple, build: Callable[[], go.Figure]) -> go.Figure:
    """A figure built once per (name, key) and reused on reruns (see ui.widgets.cached_figure)."""
    return cached_figure(name, key, build)


def metrics_county() -> str:
    """The county the enrollment and class files describe: the bureau's own (settings), whatever the sidebar shows."""
    return data.settings().home_county


def subset(frame: pd.DataFrame, townships: tuple[str, ...]) -> pd.DataFrame:
    """Rows of the chosen townships (all rows when none is chosen)."""
    if not townships or "township" not in frame.columns:
        return frame
    return frame[frame["township"].isin(townships)].reset_index(drop=True)


def township_filter(key: str, options: list[str]) -> tuple[str, ...]:
    """The page's township multiselect; an empty choice means the whole county."""
    chosen = st.multiselect("乡镇（街道）筛选", options, key=key, placeholder="全县（不选即全部乡镇）",
                            help="本页所有图表和表格都只统计所选乡镇；不选即为全县。")
    return tuple(chosen)


def scope_label(home: str, townships: tuple[str, ...]) -> str:
    """全县 or the chosen townships, for captions."""
    return f"{home}全县" if not townships else f"{home}·" + "、".join(townships)


@st.cache_data(show_spinner=False, max_entries=8)
def home_townships(data_version: str, home: str) -> list[str]:
    """Townships of the home county seen in any wave, by number of respondents."""
    frame = data.home_responses(data_version, home)
    return frame["township"].dropna().value_counts().index.astype("str").tolist() if "township" in frame.columns else []


@dataclass(frozen=True)
class ItemView:
    """Everything the 分项指标 page draws for one wave and township choice."""

    benchmarks: pd.DataFrame
    drivers: pd.DataFrame | None
    fix: pd.DataFrame | None
    strive_county: str | None
    n: int
    driver_error: str | None
    overall_gap: float  # whole-county overall score minus the strive county's (negative: behind)
    comparison_note: str | None = None  # what the comparison with other counties rests on, or what it needs
    n_scored: int = 0  # questionnaires whose overall answer is scored (总览's 计分 count)


@st.cache_data(show_spinner="正在计算分项得分与重要性…", max_entries=16)
def item_view(data_version: str, wave: str, home: str, townships: tuple[str, ...]) -> ItemView:
    """Item scores against the city mean and the strive county, relative-weight importance and the fix-first list."""
    cfg = data.settings()
    home_frame = subset(data.home_wave_responses(data_version, wave, home), townships)
    # Other counties enter only through per-answer sums the database computes, so no other county's rows are loaded.
    counts = data.item_answer_counts(data_version, wave)
    county_items = item_scores_from_counts(counts, cfg.items, cfg.points)
    ranking = data.wave_ranking(data_version, wave)
    note = None
    if ranking.basis.kind != "survey":
        # Other counties have no respondents this wave: compare with the city's published item scores, when it has them;
        # without them a "city mean" of the home county alone would be meaningless, so there is no comparison.
        others = [c for c in cfg.counties if c != home]
        published = published_item_scores(data.metrics_table(data_version, "published"), wave, cfg.items, others)
        note = item_comparison_note(ranking.basis, not published.empty)
        county_items = (pd.concat([county_items[county_items["county"] == home], published], ignore_index=True)
                        if not published.empty else county_items.iloc[0:0])
    home_items = item_scores(home_frame, cfg.items, cfg.points)
    n_scored = int(home_frame["overall"].isin(list(cfg.points)).sum()) if "overall" in home_frame else 0
    # The ranking's own county scores (cached for every page), so the benchmark county is the ranking page's 5th.
    overall = ranking.table.set_index("county")["score"] if ranking.ok else pd.Series(dtype="float64")
    benchmark = benchmark_county(overall.reset_index(), home, cfg.strive) if not county_items.empty else None
    gap = float(overall.get(home, float("nan")) - overall.get(benchmark, float("nan"))) if benchmark else float("nan")
    bench = item_benchmarks(home_items, county_items, home, benchmark)
    try:
        drivers = item_drivers(home_frame, cfg.items, cfg.points)
    except ValueError as exc:
        return ItemView(bench, None, None, benchmark, len(home_frame), str(exc), gap, note, n_scored)
    # The planner's own item → overall model (same matrix as the drivers), so both pages agree on every gain.
    fix = fix_first(bench, drivers, home_frame, cfg.items, cfg.points, item_to_overall(home_frame, cfg.items, cfg.points))
    return ItemView(bench, drivers, fix, benchmark, len(home_frame), None, gap, note, n_scored)


@st.cache_data(show_spinner="正在检验排序的稳定性（自助法重抽样）…", max_entries=16)
def fix_stability(data_version: str, wave: str, home: str, townships: tuple[str, ...]) -> pd.DataFrame:
    """Bootstrap shares: each item first on the fix-first list, and its importance–performance quadrant flipping."""
    cfg = data.settings()
    view = item_view(data_version, wave, home, townships)
    if view.strive_county is None or view.fix is None:
        return pd.DataFrame(columns=["item", "first_share", "quadrant_flip_share", "reps"])
    home_frame = subset(data.home_wave_responses(data_version, wave, home), townships)
    return fix_first_stability(home_frame, cfg.items, cfg.points, view.benchmarks[["item", "strive_score", "strive_se"]],
                               reps=STABILITY_REPS, seed=cfg.seed)


@dataclass(frozen=True)
class CommentView:
    """Comments sorted into topics: one row per comment × topic, the counts, and how many comments there are."""

    long: pd.DataFrame
    counts: pd.DataFrame
    n_comments: int


@st.cache_data(show_spinner=False, max_entries=16)
def comment_view(data_version: str, wave: str, home: str, townships: tuple[str, ...]) -> CommentView:
    """The home county's comments in one wave, sorted into topics by the keyword rules."""
    cfg = data.settings()
    home_frame = subset(data.home_wave_responses(data_version, wave, home), townships)
    long = comment_topics_long(home_frame, cfg.comment_keywords, keep=("township",))
    n_comments = int(home_frame["comment"].astype("str").str.strip().fillna("").ne("").sum()) if "comment" in home_frame else 0
    return CommentView(long, topic_counts(long, n_comments, tuple(cfg.comment_keywords)), n_comments)


def previous_wave(waves: list[str], wave: str) -> str | None:
    """The wave before `wave`, or None for the first."""
    position = waves.index(wave) if wave in waves else 0
    return waves[position - 1] if position > 0 else None


@st.cache_resource(show_spinner=False)
def raking_settings() -> RakingSettings:
    """The [raking] table of the settings file, read once per process like the rest of the settings."""
    return load_raking(settings_path())


@dataclass(frozen=True)
class GroupView:
    """群体与乡镇 for one wave: per-group table, per-dimension Rao–Scott tests, and the raking report when raked."""

    table: pd.DataFrame
    dimensions: pd.DataFrame
    raking: RakeResult | None  # None: the file's weights were used as they are
    raking_error: str | None  # why raking was switched on but not applied
    margins: tuple[str, ...]  # Chinese headers of the raking margins
    n: int  # respondents in the design (the scope)
    n_eff: float  # Kish effective sample size of the design's weights


def design_for(frame: pd.DataFrame, home: str) -> tuple[np.ndarray | None, RakeResult | None, str | None]:
    """Raked weights for one wave of the home county when [raking] is on and has its margins (kept in memory, not stored)."""
    try:
        cfg = raking_settings()
    except ValueError as exc:  # a wrong [raking] table: say which key, use the file's weights
        return None, None, str(exc)
    margins = cfg.for_county(home)
    if not margins:
        return None, None, None
    names = {c.header: c.name for c in RESPONSE_COLUMNS}
    try:
        result = rake(frame, {names.get(k, k): v for k, v in margins.items()}, frame.get("weight"),
                      max_iter=cfg.max_iter, tol=cfg.tolerance, trim_ratio=cfg.trim_ratio)
    except ValueError as exc:
        return None, None, str(exc)
    return result.weights, result, None


@st.cache_data(show_spinner="正在按群体统计…", max_entries=32)
def group_view(data_version: str, wave: str, home: str, townships: tuple[str, ...], column: str) -> GroupView:
    """Design-based group scores of the home county, tests against the rest, Rao–Scott per dimension, change since last wave.

    Raking is done on the whole county's wave (the margins are the county's);
    with a township filter the chosen townships keep their raked weights and the
    calibration is applied to them alone (an approximation the page states).
    """
    cfg = data.settings()
    frame = data.home_responses(data_version, home)
    before = previous_wave(data.waves(data_version), wave)
    dims = tuple(GROUP_DIMENSIONS)

    def scoped(wave_name: str) -> tuple[pd.DataFrame, np.ndarray | None, tuple[np.ndarray, ...], RakeResult | None, str | None]:
        rows = frame[frame["wave"] == wave_name].reset_index(drop=True)
        weights, result, error = design_for(rows, home)
        keep = rows["township"].isin(townships).to_numpy() if townships and "township" in rows.columns else np.ones(len(rows), bool)
        codes = tuple(c[keep] for c in result.codes) if result is not None else ()
        return rows[keep].reset_index(drop=True), (weights[keep] if weights is not None else None), codes, result, error

    current, weights, codes, result, error = scoped(wave)
    previous = None
    if before is not None:
        prev_rows, prev_w, prev_codes, _, _ = scoped(before)
        previous = group_scores(prev_rows, dims, cfg.points, cfg.min_group_n, column, prev_w, prev_codes)
    table = group_table(current, dims, cfg.points, cfg.min_group_n, previous, column, weights, codes)
    tests = dimension_tests(current, dims, cfg.points, cfg.min_group_n, column, weights, codes)
    w = weights if weights is not None else (current["weight"].astype("float64").fillna(1.0).to_numpy()
                                             if "weight" in current.columns else np.ones(len(current)))
    n_eff = float(w.sum() ** 2 / (w**2).sum()) if len(w) and (w**2).sum() > 0 else float("nan")
    headers = {c.name: c.header for c in RESPONSE_COLUMNS}
    margins = tuple(headers.get(m, m) for m in result.margins) if result is not None else ()
    return GroupView(table, tests, result, error, margins, len(current), n_eff)


@dataclass(frozen=True)
class MetricsView:
    """Enrollment rates and class-size tables for the chosen townships."""

    preschool: pd.DataFrame
    compulsory: pd.DataFrame
    flags: pd.DataFrame
    townships: pd.DataFrame
    schools: pd.DataFrame
    distribution: pd.DataFrame


@st.cache_data(show_spinner="正在计算办学指标…", max_entries=16)
def metrics_view(data_version: str, townships: tuple[str, ...]) -> MetricsView:
    """Rates per year and township and class-size summaries, restricted to the chosen townships."""
    th = data.settings().thresholds
    label = TOTAL_LABEL if not townships else FILTERED_LABEL
    preschool = subset(data.metrics_table(data_version, "preschool"), townships)
    compulsory = subset(data.metrics_table(data_version, "compulsory"), townships)
    classes = subset(data.metrics_table(data_version, "classes"), townships)
    flags = class_flags(classes, th)
    return MetricsView(
        preschool=preschool_rates(preschool, th, label) if len(preschool) else pd.DataFrame(),
        compulsory=compulsory_rates(compulsory, label) if len(compulsory) else pd.DataFrame(),
        flags=flags,
        townships=township_class_summary(flags, th, label) if len(flags) else pd.DataFrame(),
        schools=school_class_summary(flags, th) if len(flags) else pd.DataFrame(),
        distribution=class_size_distribution(flags) if len(flags) else pd.DataFrame(),
    )


@st.cache_data(show_spinner=False, max_entries=16)
def metric_townships(data_version: str) -> list[str]:
    """Townships named in any metrics file."""
    names = [data.metrics_table(data_version, k)["township"] for k in ("preschool", "compulsory", "classes")]
    return sorted(pd.concat(names).dropna().astype("str").unique().tolist())


@dataclass(frozen=True)
class LinkView:
    """Township satisfaction beside the latest school year's 大班额 share and 普惠 coverage, with Spearman's ρ."""

    table: pd.DataFrame
    year: str | None
    crowding: dict[str, float]
    coverage: dict[str, float]


@st.cache_data(show_spinner=False, max_entries=16)
def link_view(data_version: str, wave: str, home: str, townships: tuple[str, ...], column: str) -> LinkView:
    """Pair the wave's township scores with the latest school year's metrics (the only pairing the files allow)."""
    cfg = data.settings()
    metrics = metrics_view(data_version, townships)
    years = pd.concat([metrics.townships.get("year", pd.Series(dtype="str")), metrics.preschool.get("year", pd.Series(dtype="str"))])
    year = latest_year(years)
    frame = data.home_responses(data_version, home)
    current = subset(frame[frame["wave"] == wave], townships)
    scores = group_scores(current, ("township",), cfg.points, cfg.min_group_n, column)
    empty = pd.DataFrame(columns=["year", "township", "large_share", "classes", "inclusive_coverage", "is_total"])
    classes = metrics.townships[metrics.townships["year"] == year] if len(metrics.townships) else empty
    preschool = metrics.preschool[metrics.preschool["year"] == year] if len(metrics.preschool) else empty
    link = township_link(scores, classes, preschool)
    # Small townships are dropped from the correlation (their score alone can reorder the ranks); the table keeps them.
    return LinkView(link, year, township_association(link, "large_share", cfg.min_group_n),
                    township_association(link, "inclusive_coverage", cfg.min_group_n))
