"""群体与乡镇: the home county by township, urban/rural, respondent type, child's stage, sex and age group."""

import numpy as np
import pandas as pd
import streamlit as st

from analysis.formatting import fmt_pct
from analysis.survey.groups import GROUP_DIMENSIONS
from ui import insight_figures as figures
from ui import insight_sections as sections
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

# Drawn once per version, wave, county, township filter and question, then replayed (ui/caching.sent_section).
sections.group_header(ctx.version, ctx.wave, ctx.home, townships, measure)


def townships_section() -> None:
    """Scores by township with CIs; small townships greyed out."""
    sections.township_scores(ctx.version, ctx.wave, ctx.home, townships, measure)


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
