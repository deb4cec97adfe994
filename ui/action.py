"""Cached reads for the 整改跟踪 page: work orders (with their item), home visits and the 问题台账, keyed on the data
version (every import and every ledger change is an audit entry, so it bumps the version)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.data import ledger, store
from analysis.data.contract import HOME_VISITS, PETITIONS
from analysis.report.action_charts import coverage_figure, item_trend_figure, orders_by_month_figure
from analysis.formatting import fmt_pct, pct_text
from analysis.survey import action
from ui import data
from ui.caching import sent_section, shared_view
from ui.widgets import figure_view, show_table, takeaway


@shared_view(show_spinner=False, max_entries=4)
def orders(data_version: str) -> pd.DataFrame:
    """Active work orders with the survey item their 诉求内容 names."""
    frame = store.load_kind(data.engine(), PETITIONS)
    return frame.assign(item=action.classify_orders(frame["content"], data.settings().comment_keywords))


@shared_view(show_spinner=False, max_entries=4)
def visits(data_version: str) -> pd.DataFrame:
    """Active 教师全员大家访 rows."""
    return store.load_kind(data.engine(), HOME_VISITS)


@shared_view(show_spinner=False, max_entries=4)
def problems(data_version: str) -> pd.DataFrame:
    """The 问题台账 as it stands."""
    return ledger.current_ledger(data.engine())


@shared_view(show_spinner=False, max_entries=4)
def history(data_version: str) -> pd.DataFrame:
    """Every ledger change, newest first."""
    return ledger.read_events(data.engine()).iloc[::-1].reset_index(drop=True)


@shared_view(show_spinner=False, max_entries=8)
def attention(data_version: str, home: str, as_of: dt.date) -> pd.DataFrame:
    """约谈名单 for the home county as of a date (the page and the brief read the same list)."""
    cfg = data.settings()
    responses = data.home_responses(data_version, home)
    scores = action.township_wave_scores(responses, cfg.points) if not responses.empty else pd.DataFrame(
        columns=["wave", "township", "score", "se", "n"])
    waves = [w for w in data.waves(data_version) if w in set(scores["wave"])]
    return action.attention_list(scores, waves, problems(data_version), orders(data_version), as_of, cfg.action, cfg.min_group_n)


ORDER_HEADERS = {"month": "月份", "item": "分项", "township": "乡镇（街道）", "orders": "工单（件）", "closed": "已办结",
                 "closure_rate": "办结率", "followed": "已回访", "satisfied": "满意+基本满意", "follow_up_rate": "回访满意率",
                 "overdue": "超期未办结"}


@dataclass(frozen=True)
class OrdersTab:
    """The 民意诉求 tab as it is shown: the county-wide summary, the latest month's sentence, the table by item and
    township, and the clusters that suggest a ledger entry (raw, for drafting; and as shown)."""

    whole: dict
    latest: str
    by_item: pd.DataFrame
    clusters: pd.DataFrame
    clusters_shown: pd.DataFrame
    fresh: pd.DataFrame      # clusters with no open ledger problem yet: what an analyst may draft from
    fresh_labels: list[str]  # how the draft chooser names them


@shared_view(show_spinner=False, max_entries=8)
def orders_tab(data_version: str, as_of: dt.date) -> OrdersTab | None:
    """The 民意诉求 tab's numbers and tables as of a date, formatted once (None when no work orders are stored).

    Cached whole, formatting included: grouping every order cost the tab ~30 ms a rerun, and formatting the tables
    on every rerun was still a fifth of the page's server time under load (issue 15)."""
    rules = data.settings().action
    frame = orders(data_version)
    if frame.empty:
        return None
    whole = action.order_summary(frame, [], as_of, rules.order_due_days).iloc[0].to_dict()
    by_item = action.order_summary(frame, ["item", "township"], as_of, rules.order_due_days)
    clusters = action.order_clusters(frame, problems(data_version), rules.cluster_min_orders)
    month = str(frame["month"].max())
    top = frame.loc[frame["month"] == month, "item"].value_counts()
    shown = clusters.assign(in_ledger=clusters["in_ledger"].map({True: "已有未销号问题", False: "未立账"})).rename(
        columns={"item": "分项", "township": "乡镇（街道）", "orders": "工单（件）", "order_ids": "工单编号", "in_ledger": "台账"})
    fresh = clusters[~clusters["in_ledger"].astype(bool)].reset_index(drop=True) if len(clusters) else clusters
    return OrdersTab(whole, f"{month} 共 {int(top.sum())} 件工单，最多的是“{top.index[0]}”（{int(top.iloc[0])} 件）。",
                     pct_text(by_item, ["closure_rate", "follow_up_rate"]).rename(columns=ORDER_HEADERS), clusters, shown,
                     fresh, [f"{r.township}·{r.item}（{r.orders} 件）" for r in fresh.itertuples()])


@shared_view(show_spinner=False, max_entries=8)
def ledger_tables(data_version: str, as_of: dt.date) -> tuple[dict, pd.DataFrame]:
    """The 问题台账 tab's summary (problems, 销号率, overdue) and its export layout, as of a date."""
    current = problems(data_version)
    return action.ledger_summary(current, as_of), action.ledger_export(current, as_of)


def brief_section(data_version: str, wave: str, home: str, as_of: dt.date) -> list[str]:
    """The brief's paragraphs on work orders, the ledger and the 约谈名单 (empty when none of them is stored)."""
    return action.brief_paragraphs(orders(data_version), problems(data_version), attention(data_version, home, as_of), wave,
                                   as_of, data.settings().action.order_due_days)


@figure_view
def orders_chart(data_version: str) -> go.Figure:
    """Work orders per month, stacked by item."""
    return orders_by_month_figure(action.monthly_item_orders(orders(data_version)))


@shared_view(show_spinner=False, max_entries=16)
def item_history(data_version: str, home: str, item: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One item's score by wave, the item's closed ledger problems, and their marks on the wave axis."""
    problems_now = problems(data_version)
    closed = problems_now[problems_now["state"] == action.CLOSED_LEDGER] if not problems_now.empty else problems_now
    mine = closed[closed["item"] == item] if not closed.empty else closed
    scores = action.item_wave_scores(data.home_responses(data_version, home), item, data.settings().points)
    return scores, mine, action.closure_marks(mine, scores["wave"].tolist())


@figure_view
def item_chart(data_version: str, home: str, item: str) -> go.Figure:
    """An item's score by wave with its ledger closures marked."""
    scores, _, marks = item_history(data_version, home, item)
    return item_trend_figure(scores, item, marks)


@shared_view(show_spinner=False, max_entries=16)
def visit_towns(data_version: str, home: str, year: str, wave: str | None) -> pd.DataFrame:
    """家访 coverage by township in one year, with the wave's parent satisfaction when there is a wave."""
    part = visits(data_version)
    responses = data.home_responses(data_version, home)
    wave_rows = responses[responses["wave"] == wave] if wave is not None and not responses.empty else None
    return action.visit_coverage_scores(part[part["year"] == year], wave_rows, data.settings().points)


@figure_view
def visits_chart(data_version: str, home: str, year: str, wave: str) -> go.Figure:
    """Township coverage against parent satisfaction."""
    return coverage_figure(visit_towns(data_version, home, year, wave).dropna(subset=["score"]))


@sent_section(max_entries=8)
def orders_overview(version: str, as_of: dt.date) -> None:
    """整改跟踪's 工单 tab as of a day: four cards, the monthly chart and its reading, and the table by item and township."""
    tab, rules = orders_tab(version, as_of), data.settings().action
    whole = tab.whole
    with st.container(horizontal=True, gap="small"):  # wraps two by two on a phone; fewer elements than columns
        st.metric("工单总数", f"{int(whole['orders']):,} 件")
        st.metric("办结率", fmt_pct(whole["closure_rate"]))
        st.metric("回访满意率", fmt_pct(whole["follow_up_rate"]), help="（满意+基本满意）÷ 已回访；未回访不计入")
        st.metric(f"超过 {rules.order_due_days} 天未办结", f"{int(whole['overdue'])} 件")
    st.plotly_chart(orders_chart(version), width="stretch")
    takeaway(tab.latest)
    st.markdown("**各分项、各乡镇的工单与办理情况**")
    show_table(tab.by_item, width="stretch")


@sent_section(max_entries=8)
def clusters_table(version: str, as_of: dt.date) -> None:
    """The 工单聚集 heading and its table, or a line saying there is none (the page adds the downloads and the picker)."""
    tab = orders_tab(version, as_of)
    st.markdown(f"**工单聚集（同一乡镇、同一分项 ≥ {data.settings().action.cluster_min_orders} 件）**")
    if tab.clusters.empty:
        st.caption("没有达到立账条件的工单聚集。")
    else:
        show_table(tab.clusters_shown, width="stretch")
