"""Drawn sections of the 分项指标, 群体与乡镇 and 办学指标 pages, replayed on every visit with the same arguments
(ui/caching.sent_section): only what the data, wave, county and township filter decide; widgets stay on the pages."""

from __future__ import annotations

import streamlit as st

from analysis.data.waves import previous_wave
from analysis.formatting import escape_markdown, fmt_pct, fmt_signed
from ui import data, insights
from ui import insight_figures as figures
from ui.caching import sent_section
from ui.widgets import plain, show_table, takeaway


@sent_section(max_entries=32)
def item_header(version: str, wave: str, home: str, townships: tuple[str, ...]) -> None:
    """分项指标's first screen: the sample and the strive county, and the three numbers a leader repeats in a meeting."""
    cfg = data.settings()
    view = insights.item_view(version, wave, home, townships)
    summary = insights.item_summary(version, wave, home, townships)
    scope = insights.scope_label(home, townships)
    strive_name = view.strive_county or "—"
    st.caption(f"{escape_markdown(wave)} · {escape_markdown(scope)} · 样本 {view.n} 份，计分 {view.n_scored} 份 · "
               f"争{cfg.strive}对照县：{escape_markdown(strive_name)}"
               f"（除本县外得分第{cfg.strive}高的县区，即本县要超过的对象）· 全市平均为各县区得分的简单平均")
    if view.comparison_note:
        st.info(escape_markdown(view.comparison_note), icon=":material/info:")
    worst, below_city = summary.worst, summary.below_city
    cards = st.container(horizontal=True, gap="small")  # wraps on a phone; 4 elements a rerun, not 7
    if summary.has_benchmark:
        # ASCII signs: st.metric reads the arrow's direction from a leading "-".
        cards.metric(f"与{escape_markdown(strive_name)}差距最大的分项", plain(worst["item"]), delta=f"{worst['gap_strive']:+.2f} 分",
                     border=True)
    else:
        cards.metric("得分最低的分项", plain(worst["item"]), delta=f"{worst['score']:.2f} 分", delta_color="off", border=True)
    cards.metric("显著低于全市平均的分项", f"{len(below_city)} 项", border=True,
                 help="本县得分与全市平均之差的 z 检验，对全部分项做 Holm 校正，5%水平")
    if summary.fix_first is not None:
        first = summary.fix_first
        cards.metric("建议先改", plain(first["item"]), delta=f"补齐差距后总体得分约 +{first['expected_gain']:.2f} 分", border=True,
                     help="按“目标推演”页的同一模型推算，用于排先后，不是预测；稳定性见“先改哪一项”分页。")
    else:
        cards.metric("建议先改", "—", border=True)


@sent_section(max_entries=32)
def item_scores(version: str, wave: str, home: str, townships: tuple[str, ...]) -> None:
    """Each item against the city mean and the strive county, with CIs: the chart, its reading and the table."""
    view = insights.item_view(version, wave, home, townships)
    summary = insights.item_summary(version, wave, home, townships)
    worst, below_city, strive_name = summary.worst, summary.below_city, view.strive_county or "—"
    st.plotly_chart(figures.item_benchmark(version, wave, home, townships), width="stretch")
    takeaway((f"与{strive_name}差距最大的是“{worst['item']}”（{fmt_signed(worst['gap_strive'])} 分）；" if summary.has_benchmark
              else f"得分最低的是“{worst['item']}”（{worst['score']:.2f} 分）；")
             + ("显著低于全市平均：" + "、".join(below_city) + "。" if below_city else "没有分项显著低于全市平均。"))
    show_table(summary.scores, width="stretch")


@sent_section(max_entries=64)
def group_header(version: str, wave: str, home: str, townships: tuple[str, ...], measure: str) -> None:
    """群体与乡镇's first screen: scope and weights, what the weights cost in precision, and three cards."""
    cfg = data.settings()
    view = insights.group_view(version, wave, home, townships, measure)
    summary = insights.group_summary(version, wave, home, townships, measure)
    measure_label, scope = figures.measure_label(measure), insights.scope_label(home, townships)
    before = previous_wave(data.waves(version), wave)
    county_score = summary.county_score
    st.caption(plain(f"{wave} · {scope} · {measure_label} · 全县得分 {county_score:.2f} · "
                     + (f"较上期 = 与{before}相比" if before else "首个批次，无“较上期”") + f" · 样本不足{cfg.min_group_n}份的群体以灰色显示，不作检验"))
    # How the weights were made and what they cost in precision (Kish design effect n / n_eff).
    deff = view.deff
    if view.raking is not None:
        rk = view.raking
        weighting = (f"权重：按总体比例（{'、'.join(view.margins)}）迭代加权（raking），{rk.iterations} 轮收敛，最大边际误差 {rk.max_error:.1e}"
                     + ("" if rk.converged else "（未达到收敛标准）")
                     + (f"；截尾上限为平均权重的 {rk.trim_ratio:g} 倍，{rk.trimmed} 人被截尾" + ("" if rk.trim_met else "，但重新加权后仍有权重超过上限")
                        if rk.trim_ratio else "")
                     + "。标准误已计入加权校准（与 R survey 的 rake + svymean 一致）"
                     + ("；选了乡镇时，校准只按所选乡镇的受访者近似" if townships else "")
                     + "。加权结果只在本页使用，未写入数据库。")
    elif view.raking_error:
        weighting = f"未能按总体比例加权，使用数据中的权重：{escape_markdown(view.raking_error)}"
    else:
        weighting = "权重：使用数据中的“权重”列（空白按 1）；未设置总体比例，未做迭代加权。"
    st.caption(f"{weighting} 有效样本量（Kish）{view.n_eff:.0f} / {view.n} 份，设计效应 {deff:.2f}。")
    if view.weights_widen:
        st.info(f"加权使估计的方差增大约 {deff - 1:.0%}（设计效应 {deff:.2f}）：{view.n} 份问卷相当于约 {view.n_eff:.0f} 份等权问卷，"
                "置信区间相应变宽。", icon=":material/info:")

    cards = st.container(horizontal=True, gap="small")  # wraps on a phone; 4 elements a rerun, not 7
    if summary.lowest_town is not None:
        worst = summary.lowest_town
        # ASCII sign: st.metric reads the arrow's direction from a leading "-".
        cards.metric(f"得分最低的乡镇（样本≥{cfg.min_group_n}）", plain(worst["group"]), delta=f"{worst['gap_county']:+.2f} 分（较全县）",
                     border=True)
    else:
        cards.metric(f"得分最低的乡镇（样本≥{cfg.min_group_n}）", "—", border=True)
    cards.metric("显著偏低的群体", f"{summary.low} 个", help="该群体得分与本县其余受访者得分之差，按调查设计（含权重）作 t 检验；"
                 "Holm 校正（只有两个群体的维度只算一次检验）后 p<0.05", border=True)
    cards.metric("参与检验的群体", f"{summary.tested} 个", help=f"样本不足{cfg.min_group_n}份的群体不参与检验", border=True)


@sent_section(max_entries=64)
def township_scores(version: str, wave: str, home: str, townships: tuple[str, ...], measure: str) -> None:
    """Scores by township with CIs (small townships greyed out) and the highest and lowest township."""
    cfg = data.settings()
    summary = insights.group_summary(version, wave, home, townships, measure)
    if not summary.has_townships:
        st.info("问卷中没有乡镇（街道）信息。", icon=":material/info:")
    else:
        st.plotly_chart(figures.township_scores(version, wave, home, townships, measure), width="stretch")
        if summary.lowest_town is not None:
            best, worst_t = summary.highest_town, summary.lowest_town
            takeaway(f"样本充足的乡镇中，{best['group']}最高（{best['score']:.1f} 分），{worst_t['group']}最低（{worst_t['score']:.1f} 分）；"
                     f"红色为低于全县得分的乡镇。某乡镇是否显著低于其他乡镇，以“分组明细”中的检验结论为准。")
        else:
            takeaway(f"所有乡镇样本都不足{cfg.min_group_n}份，只能看大致方向。")


@sent_section(max_entries=32)
def class_overview(version: str, townships: tuple[str, ...], year: str) -> None:
    """办学指标's 班额 tab: the year's four cards, the trend, and the schools worst first (the download is the page's)."""
    th = data.settings().thresholds
    view = insights.metrics_view(version, townships)
    shown = insights.class_year(version, townships, year)
    if shown.totals is not None:
        row = shown.totals
        # One horizontal container (it wraps on a phone); each card's verdict is its badge, not a caption under it.
        with st.container(horizontal=True, gap="small"):
            large_ok = row["large_share"] <= th.large_class_share_max
            st.metric("大班额占比", fmt_pct(row["large_share"]), border=True,
                      delta="达标" if large_ok else f"超过 {fmt_pct(th.large_class_share_max, 0)} 上限",
                      delta_color="green" if large_ok else "red", delta_arrow="off",
                      help=f"{th.large_class_min}人及以上班级占全部班级的比例；目标 ≤ {fmt_pct(th.large_class_share_max, 0)}（国发〔2016〕40号）")
            st.metric(view.labels.large, f"{int(row['large'])} 个班", border=True)
            cleared = row["very_large"] == 0
            st.metric(view.labels.very_large, f"{int(row['very_large'])} 个班", border=True,
                      delta="已消除" if cleared else "目标为全部消除", delta_color="green" if cleared else "red",
                      delta_arrow="off")
            st.metric("起始年级超额班级", f"{int(row['initial_over_cap'])} 个班", border=True,
                      delta=f"占起始年级班级 {fmt_pct(row['initial_over_cap_share'])}", delta_color="gray", delta_arrow="off",
                      help=f"一年级超过 {th.class_cap_primary} 人、七年级超过 {th.class_cap_junior} 人的班级")
    st.plotly_chart(figures.class_trend(version, townships), width="stretch")
    first, last = shown.first, shown.last
    takeaway(f"大班额占比由{first['year']}的 {fmt_pct(first['large_share'])} 变为{last['year']}的 {fmt_pct(last['large_share'])}，"
             f"超大班额由 {int(first['very_large'])} 个变为 {int(last['very_large'])} 个。")

    st.subheader(f"学校（{escape_markdown(year)}，问题最重的在前）")
    if shown.worst is not None:
        worst = shown.worst
        takeaway(f"{shown.crowded} 所学校有大班额（共 {shown.crowded_classes} 个班）；{worst['school']}问题最重："
                 f"{int(worst['very_large'])} 个超大班额、{int(worst['large'])} 个大班额，最大班额 {int(worst['max_size'])} 人。")
    else:
        st.success(escape_markdown(f"{year}没有学校存在大班额。"), icon=":material/check_circle:")
    show_table(shown.schools, width="stretch")
