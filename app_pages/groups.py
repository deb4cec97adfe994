"""群体与乡镇: the home county by township, urban/rural, respondent type, child's stage, sex and age group."""

import numpy as np
import pandas as pd
import streamlit as st

from analysis.formatting import fmt_pct
from analysis.groups import GROUP_DIMENSIONS
from analysis.insight_charts import group_panels_figure, township_score_figure
from ui import insights
from ui.widgets import download_table, lazy_tabs, page_context, require_survey_wave, takeaway

GREY = "color: #9AA0A6"

ctx = page_context()
cfg = ctx.settings
st.title(f"{ctx.home} 群体与乡镇")
require_survey_wave(ctx)

left, right = st.columns([3, 2])
with left:
    townships = insights.township_filter(insights.GROUPS_TOWNSHIPS, insights.home_townships(ctx.version, ctx.home))
with right:
    measures = ["overall", *cfg.items]
    measure = st.selectbox("看哪一题的得分", measures, key=insights.GROUPS_MEASURE,
                           format_func=lambda m: insights.OVERALL_LABEL if m == "overall" else f"分项：{m}")
measure_label = insights.OVERALL_LABEL if measure == "overall" else measure
scope = insights.scope_label(ctx.home, townships)
table = insights.group_view(ctx.version, ctx.wave, ctx.home, townships, measure)
if table.empty or int(table.loc[table["dimension"] == table["dimension"].iloc[0], "n"].sum()) == 0:
    st.warning(f"{ctx.wave} 没有{scope}的“{measure_label}”答卷。请换一个批次、乡镇或题目。")
    st.stop()

before = insights.previous_wave(ctx.waves, ctx.wave)
key = (ctx.version, ctx.wave, ctx.home, townships, measure)  # everything this page's charts depend on
county_score = float(table["county_score"].iloc[0])
st.caption(f"{ctx.wave} · {scope} · {measure_label} · 全范围得分 {county_score:.2f} · "
           + (f"较上期 = 与{before}相比" if before else "首个批次，无“较上期”") + f" · 样本不足{cfg.min_group_n}份的群体以灰色显示，不作检验")

tested = table[table["test"] != "未检验"]
low = table[table["verdict"] == "显著偏低"]
towns = table[table["dimension"] == "township"]
big_towns = towns[~towns["small"]]
c1, c2, c3 = st.columns(3)
if len(big_towns):
    worst = big_towns.sort_values("score").iloc[0]
    # ASCII sign: st.metric reads the arrow's direction from a leading "-".
    c1.metric(f"得分最低的乡镇（样本≥{cfg.min_group_n}）", str(worst["group"]), delta=f"{worst['gap_county']:+.2f} 分（较全范围）",
              border=True)
else:
    c1.metric(f"得分最低的乡镇（样本≥{cfg.min_group_n}）", "—", border=True)
c2.metric("显著偏低的群体", f"{len(low)} 个", help="与本县其余受访者比较，卡方/Fisher检验，Holm校正后 p<0.05", border=True)
c3.metric("参与检验的群体", f"{len(tested)} 个", help=f"样本不足{cfg.min_group_n}份的群体不参与检验", border=True)

def townships_section() -> None:
    """Scores by township with CIs; small townships greyed out."""
    if towns.empty:
        st.info("问卷中没有乡镇（街道）信息。", icon=":material/info:")
    else:
        st.plotly_chart(insights.chart("groups_townships", key, lambda: township_score_figure(
            towns, county_score, cfg.min_group_n, f"各乡镇{measure_label}得分（横线为95%置信区间；红色低于全范围，灰色样本不足{cfg.min_group_n}份）")),
            width="stretch")
        if len(big_towns):
            best, worst_t = big_towns.sort_values("score").iloc[-1], big_towns.sort_values("score").iloc[0]
            takeaway(f"样本充足的乡镇中，{best['group']}最高（{best['score']:.1f} 分），{worst_t['group']}最低（{worst_t['score']:.1f} 分）；"
                     f"红色为低于全范围得分的乡镇。置信区间相互重叠时，差异可能只是抽样误差。")
        else:
            takeaway(f"所有乡镇样本都不足{cfg.min_group_n}份，只能看大致方向。")


def groups_section() -> None:
    """Scores by respondent group, with the Holm-tested verdicts."""
    others = table[table["dimension"] != "township"]
    labels = {d: label for d, label in GROUP_DIMENSIONS.items() if d != "township"}
    st.plotly_chart(insights.chart("groups_panels", key, lambda: group_panels_figure(
        others, labels, county_score, cfg.min_group_n, f"各人群{measure_label}得分（点为得分，横线为95%置信区间，虚线为全范围得分）")),
        width="stretch")
    flagged = low[low["dimension"] != "township"]
    high = table[(table["verdict"] == "显著偏高") & (table["dimension"] != "township")]
    takeaway(("显著偏低：" + "、".join(f"{GROUP_DIMENSIONS[d]}·{g}" for d, g in zip(flagged["dimension"], flagged["group"])) + "。"
              if len(flagged) else "经 Holm 校正后，没有哪类人群显著低于本县其他受访者。")
             + (" 显著偏高：" + "、".join(f"{GROUP_DIMENSIONS[d]}·{g}" for d, g in zip(high["dimension"], high["group"])) + "。" if len(high) else ""))


def detail_section() -> None:
    """Every group's numbers and tests, small groups greyed out."""
    detail = pd.DataFrame({
        "维度": table["dimension"].map(GROUP_DIMENSIONS),
        "群体": table["group"],
        "样本量": table["n"],
        "得分": table["score"].round(2),
        "95%置信区间": [f"{lo:.2f}–{hi:.2f}" if pd.notna(lo) else "—" for lo, hi in zip(table["ci_low"], table["ci_high"])],
        "不了解占比": [fmt_pct(v) for v in table["unknown_share"]],
        "较全范围": table["gap_county"].round(2),
        "较上期": table["score_change"].round(2),
        "结论": table["verdict"],
        "说明": table["note"],
        "检验方法": table["test"],
        "p值": table["p"].round(4),
        "Holm校正p值": table["p_holm"].round(4),
    })
    small = table["small"].to_numpy(dtype=bool)
    styled = detail.style.apply(lambda frame: pd.DataFrame(np.where(np.repeat(small[:, None], frame.shape[1], axis=1), GREY, ""), index=frame.index, columns=frame.columns),
                                axis=None).format({"得分": "{:.2f}", "较全范围": "{:+.2f}", "较上期": "{:+.2f}", "p值": "{:.4f}",
                                                   "Holm校正p值": "{:.4f}"}, na_rep="—")
    st.dataframe(styled, hide_index=True, width="stretch")
    st.caption("检验：把该群体与本县其余受访者的答案分布（最好答案、次好答案、一般及以下三类）作卡方检验；期望频数过小时改用 Fisher "
               "精确检验（前两类合并对其余）。检验用未加权人数，得分用调查权重。所有群体的 p 值一起做 Holm 校正。")
    download_table(detail, f"分组明细_{measure_label}_{ctx.wave}", "groups_detail")


# Only the open tab runs (lazy tabs), so changing the item or the townships redraws one chart, not all of them.
lazy_tabs({"各乡镇（街道）得分": townships_section, "不同人群的得分": groups_section, "分组明细": detail_section},
          insights.GROUPS_TAB)
