"""排名: league table with uncertainty, rank probabilities, rank sets, funnel plot and scoring-rule robustness."""

import pandas as pd
import streamlit as st

from analysis.charts import caterpillar_figure, funnel_figure, place_heatmap_figure
from analysis.formatting import fmt_pct, fmt_rank, fmt_rank_set
from analysis.scoring import scores_with_change
from ui import data, state
from ui.widgets import cached_figure, download_table, lazy_tabs, page_context, require_survey_wave, takeaway

ctx = page_context()
cfg = ctx.settings
st.title("各县区排名")
require_survey_wave(ctx)

result = data.wave_ranking(ctx.version, ctx.wave)
ranking = result.table
change = scores_with_change(data.scores(ctx.version), ctx.wave, ctx.waves)[["county", "score_change", "rank_change"]]
table = ranking.merge(change, on="county", how="left")
key = (ctx.version, ctx.wave, ctx.home, cfg.strive, cfg.hold)
st.caption(f"{ctx.wave} · 红色/★为本县 · 95%置信 · 模拟 {cfg.draws:,} 次（种子 {cfg.seed}）")

league = pd.DataFrame({
    "名次": [fmt_rank(r) for r in table["rank"]],
    "县区": [f"★{c}" if c == ctx.home else c for c in table["county"]],
    "得分": table["score"].round(2),
    "95%置信区间": [f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(table["ci_low"], table["ci_high"])],
    "样本量": table["n"],
    "未计分": table["n_excluded"],
    "较上期得分": table["score_change"].round(2),
    "较上期名次": table["rank_change"],
    "名次置信集": [fmt_rank_set(lo, hi) for lo, hi in zip(table["cs_marginal_low"], table["cs_marginal_high"])],
    f"前{cfg.strive}名概率": [fmt_pct(p) for p in table[f"p_rank_le_{cfg.strive}"]],
    f"前{cfg.hold}名概率": [fmt_pct(p) for p in table[f"p_rank_le_{cfg.hold}"]],
})
st.subheader("排名表")
st.dataframe(league, hide_index=True, width="stretch", height="content",
             column_config={"得分": st.column_config.NumberColumn(format="%.2f"), "较上期得分": st.column_config.NumberColumn(format="%+.2f")})
download_table(league, f"排名表_{ctx.wave}", "league")

st.plotly_chart(cached_figure("caterpillar", key, lambda: caterpillar_figure(table, ctx.home, cfg.strive, cfg.hold)), width="stretch")
overlapping = table[(table["ci_high"] >= table.loc[table["county"] == ctx.home, "ci_low"].iloc[0])
                    & (table["ci_low"] <= table.loc[table["county"] == ctx.home, "ci_high"].iloc[0]) & (table["county"] != ctx.home)]
takeaway(f"有 {len(overlapping)} 个县区的置信区间与本县重叠：这些县区与本县的先后顺序在抽样误差之内。")


def probability_section() -> None:
    """Where each county may land: the place-probability heatmap."""
    st.plotly_chart(cached_figure("heatmap", key, lambda: place_heatmap_figure(result.places, ctx.home)), width="stretch")
    home_row = table.loc[table["county"] == ctx.home].iloc[0]
    takeaway(f"本县最可能的名次是{result.places.loc[ctx.home].idxmax()}（概率 {fmt_pct(result.places.loc[ctx.home].max())}）；"
             f"前{cfg.hold}名概率 {fmt_pct(home_row[f'p_rank_le_{cfg.hold}'])}，前{cfg.strive}名概率 {fmt_pct(home_row[f'p_rank_le_{cfg.strive}'])}。")
    places = result.places.reset_index(names="县区")
    download_table(places, f"名次概率_{ctx.wave}", "places")


def sets_section() -> None:
    """Rank confidence sets, marginal and simultaneous (Mogstad et al. 2023)."""
    st.markdown(
        "按 Mogstad、Romano、Shaikh、Wilhelm（2023）的方法：**单个县区**的名次以95%的把握落在“单独置信集”内；"
        "**所有县区同时**落在各自“联合置信集”内的把握为95%。“可能进入前K名”为单侧联合判断：不能排除其进入前K名。")
    sets = pd.DataFrame({
        "县区": [f"★{c}" if c == ctx.home else c for c in table["county"]],
        "名次": [fmt_rank(r) for r in table["rank"]],
        "单独置信集": [fmt_rank_set(lo, hi) for lo, hi in zip(table["cs_marginal_low"], table["cs_marginal_high"])],
        "联合置信集": [fmt_rank_set(lo, hi) for lo, hi in zip(table["cs_simultaneous_low"], table["cs_simultaneous_high"])],
        f"可能进入前{cfg.strive}名": ["是" if v else "否" for v in table[f"could_top_{cfg.strive}"]],
        f"可能进入前{cfg.hold}名": ["是" if v else "否" for v in table[f"could_top_{cfg.hold}"]],
        "期望名次": table["expected_rank"].round(2),
    })
    st.dataframe(sets, hide_index=True, width="stretch", height="content")
    download_table(sets, f"名次置信集_{ctx.wave}", "sets")


def pairwise_section() -> None:
    """Home against each county, Holm-adjusted."""
    pairs = data.pairwise(ctx.version, ctx.wave, ctx.home)
    pairs_view = pd.DataFrame({
        "县区": pairs["county"], "对方得分": pairs["score"].round(2), "本县减对方": pairs["difference"].round(2),
        "差值标准误": pairs["se_diff"].round(2), "p值": pairs["p"].round(4), "Holm校正p值": pairs["p_holm"].round(4),
        "结论": pairs["verdict"].fillna("无法检验"),
    })
    st.dataframe(pairs_view, hide_index=True, width="stretch", height="content")
    ahead = pairs[pairs["verdict"] == "显著落后"]["county"].tolist()
    takeaway(("真正领先本县的县区：" + "、".join(ahead)) if ahead else "没有县区在统计上显著领先本县（Holm 校正，5%水平）。")
    download_table(pairs_view, f"差异检验_{ctx.wave}", "pairs")


def funnel_section() -> None:
    """Which counties truly differ from the city mean (Spiegelhalter funnel)."""
    funnel = data.funnel(ctx.version, ctx.wave)
    st.plotly_chart(cached_figure("funnel", key, lambda: funnel_figure(ranking, funnel.curves, funnel.target, ctx.home)), width="stretch")
    outside = funnel.points[(funnel.points["score"] > funnel.points["hi95"]) | (funnel.points["score"] < funnel.points["lo95"])]["county"].tolist()
    takeaway(f"过度离散 τ² = {funnel.tau2:.2f}；落在95%控制限外：{'、'.join(outside) if outside else '无'}（Spiegelhalter 2005）。")


def robustness_section() -> None:
    """Ranks under other scoring rules."""
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
lazy_tabs({"名次概率": probability_section, "名次置信集": sets_section, "与各县区的差异检验": pairwise_section,
           "漏斗图": funnel_section, "换一种计分规则": robustness_section}, state.RANKING_TAB)
