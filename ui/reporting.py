"""The brief and the workbook for the overview page, cached per data version, wave, home county and scenario."""

from __future__ import annotations

import kaleido
import pandas as pd
import streamlit as st

from analysis.brief import BriefInputs, brief_docx, charts_zip, chromium_available
from analysis.charts import caterpillar_figure, place_heatmap_figure, rank_trend_figure, score_trend_figure
from analysis.formatting import xlsx_bytes
from analysis.groups import group_scores
from analysis.items import item_scores
from analysis.planner import Move
from analysis.ranking import home_margin, margin_sentence
from ui import data, planning


@st.cache_resource
def export_server() -> bool:
    """Start kaleido's Chromium once per process so each PNG export takes a fraction of a second."""
    if not chromium_available():
        return False
    kaleido.start_sync_server(silence_warnings=True)
    return True


def _figures(version: str, wave: str, home: str) -> dict:
    cfg = data.settings()
    result = data.wave_ranking(version, wave)
    trend = data.home_trend(version, home)
    return {
        "名次走势": rank_trend_figure(trend, len(result.table), cfg.hold, cfg.strive),
        "得分走势": score_trend_figure(trend),
        "各县区得分与置信区间": caterpillar_figure(result.table, home, cfg.strive, cfg.hold),
        "名次概率": place_heatmap_figure(result.places, home),
    }


def _weakest(version: str, wave: str, home: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    cfg = data.settings()
    frame = data.home_wave_responses(version, wave, home)
    items = item_scores(frame, cfg.items, cfg.points).sort_values("score")[["item", "score", "n"]]
    towns = group_scores(frame, ("township",), cfg.points, cfg.min_group_n)
    towns = towns[~towns["small"]].sort_values("score").rename(columns={"group": "township"})[["township", "score", "n"]]
    return items.reset_index(drop=True), towns.reset_index(drop=True)


@st.cache_data(show_spinner="正在生成汇报材料（含图表）…", max_entries=8)
def brief(version: str, wave: str, home: str, moves: tuple[Move, ...]) -> tuple[bytes, str | None]:
    """The .docx brief and, if charts could not be drawn, why."""
    cfg = data.settings()
    export_server()
    table = data.wave_ranking(version, wave).table
    row = table.loc[table["county"] == home].iloc[0]
    items, towns = _weakest(version, wave, home)
    result = planning.compare(version, wave, home, moves, False)[1] if moves else None
    inputs = BriefInputs(
        city=cfg.city_name, home=home, wave=wave, total=len(table), hold=cfg.hold, strive=cfg.strive, rank=int(row["rank"]),
        rank_low=int(row["cs_marginal_low"]), rank_high=int(row["cs_marginal_high"]), score=float(row["score"]),
        ci_low=float(row["ci_low"]), ci_high=float(row["ci_high"]), n=int(row["n"]),
        p_hold=float(row[f"p_rank_le_{cfg.hold}"]), p_strive=float(row[f"p_rank_le_{cfg.strive}"]),
        margin_lines=[f"对照第{k}名，" + margin_sentence(home_margin(table, home, k), k, int(row["n"]), cfg.points) for k in cfg.targets],
        weakest_items=items, weakest_townships=towns, scenario_lines=[m.label() for m in moves], scenario_result=result,
        figures=_figures(version, wave, home))
    return brief_docx(inputs)


@st.cache_data(show_spinner="正在导出图表…", max_entries=8)
def chart_archive(version: str, wave: str, home: str) -> tuple[bytes | None, str | None]:
    """Every overview and ranking chart as PNG in one zip."""
    export_server()
    return charts_zip(_figures(version, wave, home))


@st.cache_data(show_spinner="正在汇总数据表…", max_entries=8)
def workbook(version: str, wave: str, home: str) -> bytes:
    """Every dashboard table for this wave and county in one Excel workbook."""
    cfg = data.settings()
    result = data.wave_ranking(version, wave)
    items, towns = _weakest(version, wave, home)
    sheets = {
        "排名表": result.table,
        "名次概率": result.places.reset_index(names="县区"),
        "差异检验": data.pairwise(version, wave, home),
        "计分规则稳健性": data.robustness(version, wave),
        "本县走势": data.home_trend(version, home),
        "分项得分": items,
        "乡镇得分": towns,
        "全部批次得分": data.scores(version),
    }
    return xlsx_bytes(sheets)
