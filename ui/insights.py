"""Cached views and the township filter for the 分项指标, 群体与乡镇 and 办学指标 pages (the computing is in analysis)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.data.waves import previous_wave
from analysis.survey.comments import CommentView, comment_view as build_comment_view
from analysis.survey.groups import GroupSummary, GroupView, group_summary as build_group_summary, group_view as build_group_view
from analysis.survey.groups import in_townships
from analysis.survey.itemmodel import item_to_overall
from analysis.survey.items import (STABILITY_REPS, ItemSummary, ItemView, comparison_items, fix_first_stability,
                                   item_scores_from_counts, item_summary as build_item_summary, item_view as build_item_view,
                                   joint_gains)
from analysis.survey.school_metrics import (ClassYear, LinkView, MetricsView, class_year as build_class_year,
                                            link_view as build_link_view, metrics_view as build_metrics_view)
from ui import data
from ui.caching import shared_view

OVERALL_LABEL = "总体满意度"


COMPULSORY_SERIES = {"gross_enrollment": ("义务教育毛入学率", None), "disabled_enrollment": ("适龄残疾儿童入学率", None)}


def preschool_series() -> dict[str, tuple[str, float]]:
    """The three preschool rates: column → (Chinese label, target from the settings)."""
    th = data.settings().thresholds
    return {"gross_enrollment": ("学前教育毛入园率", th.preschool_gross_enrollment_min),
            "inclusive_coverage": ("普惠性幼儿园覆盖率", th.inclusive_coverage_min),
            "public_share": ("公办园在园幼儿占比", th.public_share_min)}


def metrics_county() -> str:
    """The county the enrollment and class files describe: the bureau's own (settings), whatever the sidebar shows."""
    return data.settings().home_county


def subset(frame: pd.DataFrame, townships: tuple[str, ...]) -> pd.DataFrame:
    """Rows of the chosen townships (all rows when none is chosen)."""
    return in_townships(frame, townships)


def township_filter(key: str, options: list[str]) -> tuple[str, ...]:
    """The page's township multiselect; an empty choice means the whole county."""
    chosen = st.multiselect("乡镇（街道）筛选", options, key=key, placeholder="全县（不选即全部乡镇）",
                            help="本页所有图表和表格都只统计所选乡镇；不选即为全县。")
    return tuple(chosen)


def scope_label(home: str, townships: tuple[str, ...]) -> str:
    """全县 or the chosen townships, for captions."""
    return f"{home}全县" if not townships else f"{home}·" + "、".join(townships)


@shared_view(show_spinner=False, max_entries=8)
def home_townships(data_version: str, home: str) -> list[str]:
    """Townships of the home county seen in any wave, by number of respondents."""
    frame = data.home_responses(data_version, home)
    return frame["township"].dropna().value_counts().index.astype("str").tolist() if "township" in frame.columns else []


@shared_view(show_spinner="正在计算分项得分与重要性…", max_entries=16)
def item_view(data_version: str, wave: str, home: str, townships: tuple[str, ...]) -> ItemView:
    """Item scores against the city mean and the strive county, relative-weight importance and the fix-first list."""
    cfg = data.settings()
    # Other counties enter only through per-answer sums the database computes, so no other county's rows are loaded.
    county_items = item_scores_from_counts(data.item_answer_counts(data_version, wave), cfg.items, cfg.points)
    ranking = data.wave_ranking(data_version, wave)
    county_items, note = comparison_items(county_items, ranking.basis, data.metrics_table(data_version, "published"),
                                          wave, home, cfg.items, cfg.counties)
    # The ranking's own county scores (cached for every page), so the benchmark county is the ranking page's 5th.
    overall = ranking.table.set_index("county")["score"] if ranking.ok else pd.Series(dtype="float64")
    home_frame = subset(data.home_wave_responses(data_version, wave, home), townships)
    return build_item_view(home_frame, county_items, overall, home, cfg, note)


@shared_view(show_spinner="正在推算同时补齐几项的效果…", max_entries=16)
def fix_joint_gains(data_version: str, wave: str, home: str, townships: tuple[str, ...]) -> pd.Series:
    """The fix-first list's joint gains (closing the first j gaps together), only for the tab that shows them."""
    cfg = data.settings()
    view = item_view(data_version, wave, home, townships)
    home_frame = subset(data.home_wave_responses(data_version, wave, home), townships)
    return joint_gains(view.fix, home_frame, cfg.points, item_to_overall(home_frame, cfg.items, cfg.points))


@shared_view(show_spinner="正在检验排序的稳定性（自助法重抽样）…", max_entries=16)
def fix_stability(data_version: str, wave: str, home: str, townships: tuple[str, ...]) -> pd.DataFrame:
    """Bootstrap shares: each item first on the fix-first list, and its importance–performance quadrant flipping."""
    cfg = data.settings()
    view = item_view(data_version, wave, home, townships)
    if view.strive_county is None or view.fix is None:
        return pd.DataFrame(columns=["item", "first_share", "quadrant_flip_share", "reps"])
    home_frame = subset(data.home_wave_responses(data_version, wave, home), townships)
    return fix_first_stability(home_frame, cfg.items, cfg.points, view.benchmarks[["item", "strive_score", "strive_se"]],
                               reps=STABILITY_REPS, seed=cfg.seed)


@shared_view(show_spinner=False, max_entries=16)
def comment_view(data_version: str, wave: str, home: str, townships: tuple[str, ...]) -> CommentView:
    """The home county's comments in one wave, sorted into topics by the keyword rules."""
    frame = subset(data.home_wave_responses(data_version, wave, home), townships)
    return build_comment_view(frame, data.settings().comment_keywords)


@shared_view(show_spinner="正在按群体统计…", max_entries=32)
def group_view(data_version: str, wave: str, home: str, townships: tuple[str, ...], column: str) -> GroupView:
    """Design-based group scores of the home county, raked to its margins when [raking] asks for it."""
    cfg = data.settings()
    try:
        raking, error = data.raking_settings(), None
    except ValueError as exc:  # a wrong [raking] table: say which key, use the file's weights
        raking, error = None, str(exc)
    return build_group_view(data.home_responses(data_version, home), wave, previous_wave(data.waves(data_version), wave),
                            townships, cfg.points, cfg.min_group_n, column,
                            raking.for_county(home) if raking else {}, raking, error)


@shared_view(show_spinner="正在计算办学指标…", max_entries=16)
def metrics_view(data_version: str, townships: tuple[str, ...]) -> MetricsView:
    """Rates per year and township and class-size summaries, restricted to the chosen townships."""
    tables = (data.metrics_table(data_version, k) for k in ("preschool", "compulsory", "classes"))
    return build_metrics_view(*tables, data.settings().thresholds, townships)


@shared_view(show_spinner=False, max_entries=16)
def metric_townships(data_version: str) -> list[str]:
    """Townships named in any metrics file."""
    names = [data.metrics_table(data_version, k)["township"] for k in ("preschool", "compulsory", "classes")]
    return sorted(pd.concat(names).dropna().astype("str").unique().tolist())


@shared_view(show_spinner=False, max_entries=16)
def link_view(data_version: str, wave: str, home: str, townships: tuple[str, ...], column: str) -> LinkView:
    """Pair the wave's township scores with the latest school year's metrics (the only pairing the files allow)."""
    cfg = data.settings()
    frame = data.home_responses(data_version, home)
    return build_link_view(metrics_view(data_version, townships), frame[frame["wave"] == wave], townships, cfg.points,
                           cfg.min_group_n, column)


@shared_view(show_spinner=False, max_entries=32)
def class_year(data_version: str, townships: tuple[str, ...], year: str) -> ClassYear:
    """The 班额 tab for one school year (built once, not on every rerun)."""
    return build_class_year(metrics_view(data_version, townships), year)


@shared_view(show_spinner=False, max_entries=32)
def group_summary(data_version: str, wave: str, home: str, townships: tuple[str, ...], column: str) -> GroupSummary:
    """The 群体与乡镇 page's headline for one group view (computed once, read every rerun)."""
    return build_group_summary(group_view(data_version, wave, home, townships, column))


@shared_view(show_spinner=False, max_entries=16)
def item_summary(data_version: str, wave: str, home: str, townships: tuple[str, ...]) -> ItemSummary:
    """The 分项指标 page's headline and score table for one item view (computed once, read every rerun)."""
    return build_item_summary(item_view(data_version, wave, home, townships))
