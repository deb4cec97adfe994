"""The brief and the workbook for the overview page, cached per data version, wave, home county and scenario."""

from __future__ import annotations

import datetime as dt

import kaleido
import pandas as pd
import streamlit as st

from analysis.formatting import fmt_score, today_text, xlsx_bytes
from analysis.report.brief import BriefInputs, brief_docx, charts_zip, chromium_available
from analysis.report.ranking_charts import (caterpillar_figure, place_heatmap_figure, rank_trend_figure,
                                            score_trend_figure)
from analysis.survey.items import weakest
from analysis.survey.planner import Move
from ui import action as action_data
from ui import data, overview, planning
from ui.caching import shared_view


@st.cache_resource
def export_server() -> bool:
    """Start kaleido's Chromium once per process so each PNG export takes a fraction of a second."""
    if not chromium_available():
        return False
    kaleido.start_sync_server(silence_warnings=True)
    return True


def _figures(version: str, wave: str, home: str) -> tuple[dict, dict[str, str]]:
    """The brief's charts in order (图1 …) and one sentence each, the same sentences as on the pages."""
    cfg = data.settings()
    result = data.wave_ranking(version, wave)
    trend = overview.trend_to(version, home, wave)  # as of the brief's wave, never a later one
    first, last = trend.iloc[0], trend.iloc[-1]
    figures = {
        "名次走势": rank_trend_figure(trend, len(result.table), cfg.hold, cfg.strive),
        "得分走势": score_trend_figure(trend, cfg.strive),
        "各县区得分": caterpillar_figure(result.table, home, cfg.strive, cfg.hold),
        "各名次的可能性": place_heatmap_figure(result.places, home),
    }
    notes = {
        "名次走势": f"本局调查推算的名次由{first['wave']}的第{int(first['rank'])}名变为{last['wave']}的第{int(last['rank'])}名；"
                    "菱形为市级通报名次，竖线越长表示名次越不确定。",
        "得分走势": f"本县得分由 {fmt_score(first['score'])} 分变为 {fmt_score(last['score'])} 分，全市平均 {fmt_score(last['city_mean'])} 分。",
        "各县区得分": f"各县区得分按高低排列，红色为本县，竖线为95%置信区间，虚线为第{cfg.strive}名和第{cfg.hold}名的得分。",
        "各名次的可能性": "每一行是一个县区落在各名次的可能性，颜色越深可能性越大。",
    }
    return figures, notes


def _weakest(version: str, wave: str, home: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    cfg = data.settings()
    return weakest(data.home_wave_responses(version, wave, home), cfg.items, cfg.points, cfg.min_group_n)


@shared_view(show_spinner="正在生成汇报材料（含图表）…", max_entries=8)
def brief(version: str, wave: str, home: str, moves: tuple[Move, ...], today: dt.date | None = None) -> tuple[bytes, str | None]:
    """The .docx brief and, if charts could not be drawn, why."""
    # The date is part of the cache key (the caller passes today): a brief made after midnight gets the new date.
    today = today or dt.date.today()
    cfg = data.settings()
    export_server()
    ranking = data.wave_ranking(version, wave)
    row = data.county_row(version, wave, home)
    items, towns = _weakest(version, wave, home)
    result = planning.compare(version, wave, home, moves, False)[1] if moves else None
    figures, notes = _figures(version, wave, home)
    head = overview.headline(version, wave, home)
    return brief_docx(BriefInputs(
        city=cfg.city_name, bureau=cfg.bureau_name, date_text=today_text(today), home=home, wave=wave, hold=cfg.hold,
        strive=cfg.strive, headline=head, p_hold=float(row[f"p_rank_le_{cfg.hold}"]),
        p_strive=float(row[f"p_rank_le_{cfg.strive}"]), weakest_items=items, weakest_townships=towns,
        fix_item=overview.fix_first_item(version, wave, home), basis_sentence=ranking.basis.sentence(),
        scenario_lines=[m.label() for m in moves], scenario_result=result, figures=figures, figure_notes=notes,
        extra_sections=[("整改工作进展", part)] if (part := action_data.brief_section(version, wave, home, today)) else []))


@shared_view(show_spinner="正在导出图表…", max_entries=8)
def chart_archive(version: str, wave: str, home: str) -> tuple[bytes | None, str | None]:
    """Every overview and ranking chart as PNG in one zip."""
    export_server()
    return charts_zip(_figures(version, wave, home)[0])


@shared_view(show_spinner="正在汇总数据表…", max_entries=8)
def workbook(version: str, wave: str, home: str) -> bytes:
    """Every dashboard table for this wave and county in one Excel workbook."""
    result = data.wave_ranking(version, wave)
    items, towns = _weakest(version, wave, home)
    sheets = {
        "名次依据": pd.DataFrame({"测评批次": [wave], "依据": [result.basis.label], "说明": [result.basis.sentence()]}),
        "排名表": result.table,
        "名次概率": result.places.reset_index(names="县区"),
        "差异检验": data.pairwise(version, wave, home),
        "计分规则稳健性": data.robustness(version, wave),
        "本县走势": overview.trend_to(version, home, wave),
        "分项得分": items,
        "乡镇得分": towns,
        "全部批次得分": data.scores(version),
    }
    return xlsx_bytes(sheets)
