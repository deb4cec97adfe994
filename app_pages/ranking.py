"""排名: league table with uncertainty, rank probabilities, rank sets, funnel plot and scoring-rule robustness."""

import pandas as pd
import streamlit as st

from analysis.formatting import fmt_p, fmt_rank, fmt_rank_set
from analysis.stats.estimates import MIN_FUNNEL_UNITS
from ui import data, state
from ui import ranking as views
from ui.widgets import download_table, lazy_tabs, method_note, page_context, require_ranked_home, require_survey_wave, takeaway

ctx = page_context()
cfg = ctx.settings
st.title("各县区排名")
require_survey_wave(ctx)

result = data.wave_ranking(ctx.version, ctx.wave)
require_ranked_home(ctx, result)
table = views.ranked_with_change(ctx.version, ctx.wave)
# Drawn once per version, wave and county, then replayed for every visit (ui/caching.sent_section).
views.league_section(ctx.version, ctx.wave, ctx.home)
download_table(views.league(ctx.version, ctx.wave, ctx.home), f"排名表_{ctx.wave}", "league")
views.caterpillar_section(ctx.version, ctx.wave, ctx.home)


def probability_section() -> None:
    """Where each county may land: the place-probability heatmap."""
    views.places_section(ctx.version, ctx.wave, ctx.home)
    if ctx.home in result.places.index:
        download_table(views.places_table(ctx.version, ctx.wave), f"名次概率_{ctx.wave}", "places")


def sets_section() -> None:
    """Rank ranges: where each county's true rank lies, allowing for sampling error."""
    st.markdown("考虑抽样误差，每个县区的真实名次有95%的把握落在“名次范围”内；“所有县区同时成立的范围”更宽一些。"
                "“可能进入前K名”为“是”，表示不能排除该县区进入前K名。")
    method_note(["名次范围为 Mogstad、Romano、Shaikh、Wilhelm（2023）的单独（marginal）置信集，同时成立的范围为联合"
                 "（simultaneous）置信集，均用逐步检验；“可能进入前K名”与 R 包 csranks 的 cstaubest 相同。"])
    sets = pd.DataFrame({
        "县区": [f"★{c}" if c == ctx.home else c for c in table["county"]],
        "名次": [fmt_rank(r) for r in table["rank"]],
        "名次范围": [fmt_rank_set(lo, hi) for lo, hi in zip(table["cs_marginal_low"], table["cs_marginal_high"])],
        "所有县区同时成立的范围": [fmt_rank_set(lo, hi) for lo, hi in zip(table["cs_simultaneous_low"], table["cs_simultaneous_high"])],
        f"可能进入前{cfg.strive}名": ["—" if pd.isna(v) else "是" if v else "否" for v in table[f"could_top_{cfg.strive}"]],
        f"可能进入前{cfg.hold}名": ["—" if pd.isna(v) else "是" if v else "否" for v in table[f"could_top_{cfg.hold}"]],
        "期望名次": table["expected_rank"].round(2),
    })
    st.dataframe(sets, hide_index=True, width="stretch", height="content")
    download_table(sets, f"名次置信集_{ctx.wave}", "sets")


def pairwise_section() -> None:
    """Home against each county, Holm-adjusted."""
    pairs = data.pairwise(ctx.version, ctx.wave, ctx.home)
    pairs_view = pd.DataFrame({
        "县区": pairs["county"], "对方得分": pairs["score"].round(2), "本县减对方": pairs["difference"].round(2),
        "结论": pairs["verdict"].fillna("无法检验"),
        "差值标准误": pairs["se_diff"].round(2), "p值": [fmt_p(v) for v in pairs["p"]], "校正后p值": [fmt_p(v) for v in pairs["p_holm"]],
    })
    st.dataframe(pairs_view, hide_index=True, width="stretch", height="content",
                 column_order=["县区", "对方得分", "本县减对方", "结论"])
    ahead = pairs[pairs["verdict"] == "显著落后"]["county"].tolist()
    takeaway(("确实领先本县的县区：" + "、".join(ahead)) if ahead else "没有县区确实领先本县（差距都在抽样误差之内）。")
    download_table(pairs_view, f"差异检验_{ctx.wave}", "pairs")
    method_note(["两样本 z 检验（各县区样本相互独立；公布得分视为确定值），Holm 法校正多重比较，5%水平；"
                 "下载的表格含差值标准误、p值与校正后p值（小于 0.0001 记为 <0.0001）。"])


def funnel_section() -> None:
    """Which counties truly differ from the city mean (Spiegelhalter funnel)."""
    if views.surveyed_count(ctx.version, ctx.wave) < MIN_FUNNEL_UNITS:
        st.info(f"漏斗图需要至少 {MIN_FUNNEL_UNITS} 个县区的问卷数据（公布得分没有抽样误差），本期有问卷的县区不到 "
                f"{MIN_FUNNEL_UNITS} 个。请看“与各县区比较”标签页的逐一检验。", icon=":material/info:")
        return
    funnel = data.funnel(ctx.version, ctx.wave)
    st.plotly_chart(views.funnel(ctx.version, ctx.wave, ctx.home), width="stretch")
    outside = funnel.points.loc[funnel.points["outside95"], "county"].tolist()
    takeaway(f"点落在虚线外的县区与全市平均的差距超出正常波动：{'、'.join(outside) if outside else '没有'}。")
    method_note([f"Spiegelhalter（2005）漏斗图：95% 与 99.8% 控制限；县区间过度离散 τ² = {funnel.tau2:.2f}（z 分数 10%/90% 缩尾估计）。"])


def robustness_section() -> None:
    """Ranks under other scoring rules."""
    if result.basis.kind != "survey":
        st.info("换计分规则重算名次需要全市各县区的问卷答案；本期其他县区只有市级公布得分，无法重算。")
        return
    robust = data.robustness(ctx.version, ctx.wave)
    robust_view = pd.DataFrame({
        "县区": robust["county"],
        "现行计分 得分": robust["score_configured"].round(2), "现行计分 名次": robust["rank_configured"],
        "线性计分(100/75/50/25/0) 得分": robust["score_linear"].round(2), "线性计分 名次": robust["rank_linear"],
        "满意率(满意+比较满意)": robust["score_satisfied_rate"].round(1), "满意率 名次": robust["rank_satisfied_rate"],
        "名次变动幅度": robust["rank_spread"],
    })
    st.dataframe(robust_view, hide_index=True, width="stretch", height="content")
    home_spread = int(robust.loc[robust["county"] == ctx.home, "rank_spread"].iloc[0])
    takeaway(f"不同计分规则下本县名次最多相差 {home_spread} 名。" + ("名次对计分规则不敏感。" if home_spread == 0 else "名次受计分规则影响，解读时要注意。"))
    download_table(robust_view, f"计分规则稳健性_{ctx.wave}", "robust")


# Only the open tab runs (lazy tabs): the table and the chart above answer "where do we stand"; the analyses
# below would otherwise put four tables and two more charts into every rerun.
lazy_tabs({"名次可能性": probability_section, "名次范围": sets_section, "与各县区比较": pairwise_section,
           "与全市平均比较": funnel_section, "换一种计分规则": robustness_section}, state.RANKING_TAB)
