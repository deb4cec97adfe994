"""群体与乡镇: the home county by township, urban/rural, respondent type, child's stage, sex and age group."""

import numpy as np
import pandas as pd
import streamlit as st

from analysis.data.waves import previous_wave
from analysis.formatting import escape_markdown, fmt_pct
from analysis.survey.groups import GROUP_DIMENSIONS
from ui import insight_figures as figures
from ui import insights, state
from ui.widgets import download_table, lazy_tabs, page_context, plain, require_survey_wave, takeaway

GREY = "color: #9AA0A6"

ctx = page_context()
cfg = ctx.settings
st.title(plain(f"{ctx.home}群体乡镇"))  # short enough for one line on a 390-px phone
require_survey_wave(ctx)

left, right = st.columns([3, 2])
with left:
    townships = insights.township_filter(state.GROUPS_TOWNSHIPS, insights.home_townships(ctx.version, ctx.home))
with right:
    measures = ["overall", *cfg.items]
    measure = st.selectbox("看哪一题的得分", measures, key=state.GROUPS_MEASURE,
                           format_func=lambda m: insights.OVERALL_LABEL if m == "overall" else f"分项：{m}")
measure_label = figures.measure_label(measure)
scope = insights.scope_label(ctx.home, townships)
view = insights.group_view(ctx.version, ctx.wave, ctx.home, townships, measure)
table = view.table
summary = insights.group_summary(ctx.version, ctx.wave, ctx.home, townships, measure)
if not summary.answered:
    st.warning(plain(f"{ctx.wave} 没有{scope}的“{measure_label}”答卷。请换一个批次、乡镇或题目。"))
    st.stop()

before = previous_wave(ctx.waves, ctx.wave)
county_score = summary.county_score
st.caption(plain(f"{ctx.wave} · {scope} · {measure_label} · 全县得分 {county_score:.2f} · "
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
    cards.metric(f"得分最低的乡镇（样本≥{cfg.min_group_n}）", str(worst["group"]), delta=f"{worst['gap_county']:+.2f} 分（较全县）",
                 border=True)
else:
    cards.metric(f"得分最低的乡镇（样本≥{cfg.min_group_n}）", "—", border=True)
cards.metric("显著偏低的群体", f"{summary.low} 个", help="该群体得分与本县其余受访者得分之差，按调查设计（含权重）作 t 检验；"
             "Holm 校正（只有两个群体的维度只算一次检验）后 p<0.05", border=True)
cards.metric("参与检验的群体", f"{summary.tested} 个", help=f"样本不足{cfg.min_group_n}份的群体不参与检验", border=True)

def townships_section() -> None:
    """Scores by township with CIs; small townships greyed out."""
    if not summary.has_townships:
        st.info("问卷中没有乡镇（街道）信息。", icon=":material/info:")
    else:
        st.plotly_chart(figures.township_scores(ctx.version, ctx.wave, ctx.home, townships, measure), width="stretch")
        if summary.lowest_town is not None:
            best, worst_t = summary.highest_town, summary.lowest_town
            takeaway(f"样本充足的乡镇中，{best['group']}最高（{best['score']:.1f} 分），{worst_t['group']}最低（{worst_t['score']:.1f} 分）；"
                     f"红色为低于全县得分的乡镇。某乡镇是否显著低于其他乡镇，以“分组明细”中的检验结论为准。")
        else:
            takeaway(f"所有乡镇样本都不足{cfg.min_group_n}份，只能看大致方向。")


def groups_section() -> None:
    """Scores by respondent group, with the Holm-tested verdicts."""
    st.plotly_chart(figures.group_panels(ctx.version, ctx.wave, ctx.home, townships, measure), width="stretch")
    takeaway(("显著偏低：" + "、".join(summary.flagged) + "。" if summary.flagged else "经 Holm 校正后，没有哪类人群显著低于本县其他受访者。")
             + (" 显著偏高：" + "、".join(summary.high) + "。" if summary.high else ""))
    takeaway("答案分布（各档评价的构成）在群体间" + ("显著不同的维度：" + "、".join(summary.mixed_dimensions)
                                                   if summary.mixed_dimensions else "没有显著不同的维度")
             + "（Rao–Scott 二阶校正 F 检验，按调查设计计入权重，Holm 校正）。")


def detail_section() -> None:
    """Every group's numbers and tests, small groups greyed out."""
    detail = pd.DataFrame({
        "维度": table["dimension"].map(GROUP_DIMENSIONS),
        "群体": table["group"],
        "样本量": table["n"],
        "有效样本量": table["n_eff"].round(1),
        "设计效应": table["deff"].round(3),
        "得分": table["score"].round(2),
        "标准误": table["se"].round(2),
        "95%置信区间": [f"{lo:.2f}–{hi:.2f}" if pd.notna(lo) else "—" for lo, hi in zip(table["ci_low"], table["ci_high"])],
        "不了解占比": [fmt_pct(v) for v in table["unknown_share"]],
        "较全县": table["gap_county"].round(2),
        "较其余受访者": table["diff_rest"].round(2),
        "较上期": table["score_change"].round(2),
        "较上期标准误": table["se_change"].round(2),
        "较上期p值": table["p_change"].round(4),
        "结论": table["verdict"],
        "说明": table["note"],
        "检验方法": table["test"],
        "p值": table["p"].round(4),
        "Holm校正p值": table["p_holm"].round(4),
    })
    small = table["small"].to_numpy(dtype=bool)
    styled = detail.style.apply(lambda frame: pd.DataFrame(np.where(np.repeat(small[:, None], frame.shape[1], axis=1), GREY, ""), index=frame.index, columns=frame.columns),
                                axis=None).format({"得分": "{:.2f}", "标准误": "{:.2f}", "较全县": "{:+.2f}", "较其余受访者": "{:+.2f}",
                                                   "较上期": "{:+.2f}", "较上期标准误": "{:.2f}", "较上期p值": "{:.4f}", "有效样本量": "{:.1f}",
                                                   "设计效应": "{:.3f}", "p值": "{:.4f}", "Holm校正p值": "{:.4f}"}, na_rep="—")
    st.dataframe(styled, hide_index=True, width="stretch")
    st.caption("得分与标准误按调查设计计算（加权；分组为全样本中的子总体，与 R survey 的 svyby 一致）。检验：该群体得分与本县其余受访者得分之差，"
               "按调查设计作 t 检验（与 R 的 svyttest 一致）；所有群体的 p 值一起做 Holm 校正，只有两个群体的维度（如城乡）两行是同一个检验，只算一次。"
               "较上期：两期样本独立，标准误为两期标准误的平方和开方，p 值未作多重校正。设计效应为 Kish 的 n/有效样本量。")
    download_table(detail, f"分组明细_{measure_label}_{ctx.wave}", "groups_detail")

    dims = view.dimensions
    mix = pd.DataFrame({
        "维度": dims["dimension"].map(GROUP_DIMENSIONS),
        "参与检验的群体数": dims["groups"],
        "F": dims["f"].round(3),
        "分子自由度": dims["df1"].round(2),
        "分母自由度": dims["df2"].round(1),
        "p值": dims["p"].round(4),
        "Holm校正p值": dims["p_holm"].round(4),
        "一阶校正 X²": dims["chisq"].round(3),
        "一阶自由度": dims["df"],
        "一阶p值": dims["p_first"].round(4),
        "平均设计效应": dims["mean_deff"].round(3),
        "结论": dims["verdict"],
    })
    st.markdown("**各维度答案分布的差异（Rao–Scott 检验）**")
    st.dataframe(mix, hide_index=True, width="stretch")
    st.caption(f"群体 × 五档评价的列联表，Rao–Scott 二阶校正 F 检验（分数自由度，= R survey 的 svychisq，statistic = \"F\"）；"
               f"一阶校正为 X² 除以平均设计效应（statistic = \"Chisq\"）。样本不足{cfg.min_group_n}份的群体与“未填写”不参与，"
               "各维度的 p 值一起做 Holm 校正。")
    download_table(mix, f"答案分布检验_{measure_label}_{ctx.wave}", "groups_mix")


# Only the open tab runs (lazy tabs), so changing the item or the townships redraws one chart, not all of them.
lazy_tabs({"各乡镇（街道）得分": townships_section, "不同人群的得分": groups_section, "分组明细": detail_section},
          state.GROUPS_TAB)
