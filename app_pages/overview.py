"""总览: where the county stands, how likely it holds 6th and reaches 5th, and the trend."""

import streamlit as st

from analysis.formatting import fmt_pct, fmt_rank, fmt_rank_of, fmt_rank_set, fmt_score
from analysis.ranking import home_margin, margin_sentence, probability_sentence
from ui import data, state
from ui.overview import trend_figures
from ui.widgets import detail_expander, download_table, page_context, require_survey_wave, takeaway

BRIEF_READY = "brief_ready_for"
TREND_TABLE_OPEN = "overview_trend_table_open"

ctx = page_context()
cfg = ctx.settings
st.title(f"{ctx.home} 群众满意度总览")

require_survey_wave(ctx)

ranking = data.wave_ranking(ctx.version, ctx.wave).table
if ctx.home not in set(ranking["county"]):
    st.warning(f"{ctx.wave} 没有 {ctx.home} 的问卷数据。请选择其他批次，或在“数据管理”页上传。")
    st.stop()

row = ranking.loc[ranking["county"] == ctx.home].iloc[0]
trend = data.home_trend(ctx.version, ctx.home)
previous = trend[trend["wave"].map(ctx.waves.index) < ctx.waves.index(ctx.wave)].tail(1)
p_strive, p_hold = row[f"p_rank_le_{cfg.strive}"], row[f"p_rank_le_{cfg.hold}"]
total = len(ranking)

st.caption(f"{ctx.wave} · {cfg.city_name}共 {total} 个县区 · 本县样本 {int(row['n'])} 份（另有 {int(row['n_excluded'])} 份“不了解/说不清”未计分）")

c1, c2, c3, c4 = st.columns(4)
prev_score = previous["score"].iloc[0] if len(previous) else None
prev_rank = int(previous["rank"].iloc[0]) if len(previous) else None
c1.metric("满意度得分", fmt_score(row["score"]), delta=f"{row['score'] - prev_score:+.2f} 分" if prev_score is not None else None,
          help="调查加权平均分（较上期变化）；下方为95%置信区间", border=True)
c1.caption(f"95%置信区间 {fmt_score(row['ci_low'])}–{fmt_score(row['ci_high'])}")
# A positive rank change means moving up the table, which Streamlit should colour green.
rank_delta = None if not prev_rank else ("与上期持平" if prev_rank == row["rank"] else f"{prev_rank - int(row['rank']):+d} 名（较上期）")
c2.metric("当前名次", fmt_rank_of(row["rank"], total), delta=rank_delta, delta_color="off" if rank_delta == "与上期持平" else "normal",
          help="名次变化：正数为上升", border=True)
c2.caption(f"95%名次置信集 {fmt_rank_set(row['cs_marginal_low'], row['cs_marginal_high'])}")
c3.metric(f"保{cfg.hold}概率", fmt_pct(p_hold), help=f"P(名次 ≤ {cfg.hold})，按各县区得分的抽样误差模拟 {cfg.draws:,} 次", border=True)
c3.caption(":material/check_circle: 当前已在保六线内" if row["rank"] <= cfg.hold else ":material/warning: 当前在保六线外")
c4.metric(f"争{cfg.strive}概率", fmt_pct(p_strive), help=f"P(名次 ≤ {cfg.strive})", border=True)
c4.caption(":material/check_circle: 当前已达争五目标" if row["rank"] <= cfg.strive else ":material/hourglass_top: 尚未达到争五目标")

# One markdown element rather than four: every element costs the browser a little on each rerun.
st.markdown("\n\n".join([
    f"**{probability_sentence(p_hold, cfg.hold, f'保{cfg.hold}')}**",
    f"**{probability_sentence(p_strive, cfg.strive, f'争{cfg.strive}')}**",
    "\n".join(f"- 对照第{k}名：{margin_sentence(home_margin(ranking, ctx.home, k), k, int(row['n']), cfg.points)}。"
              for k in (cfg.strive, cfg.hold)),
]))

rank_figure, score_figure = trend_figures(ctx.version, cfg)
left, right = st.columns(2)
with left:
    st.plotly_chart(rank_figure, width="stretch")
    first, last = trend.iloc[0], trend.iloc[-1]
    takeaway(f"从{first['wave']}的{fmt_rank(first['rank'])}到{last['wave']}的{fmt_rank(last['rank'])}；竖线越长，名次越不确定。")
with right:
    st.plotly_chart(score_figure, width="stretch")
    takeaway(f"本县得分由 {fmt_score(first['score'])} 变为 {fmt_score(last['score'])}，全市平均 {fmt_score(last['city_mean'])}。")

with detail_expander("走势数据表", TREND_TABLE_OPEN) as box:
    if box.open:
        table = trend.rename(columns={
            "wave": "测评批次", "rank": "名次", "cs_low": "名次置信集下限", "cs_high": "名次置信集上限", "score": "得分",
            "ci_low": "95%CI下限", "ci_high": "95%CI上限", "n": "样本量", f"p_rank_le_{cfg.strive}": f"争{cfg.strive}概率",
            f"p_rank_le_{cfg.hold}": f"保{cfg.hold}概率", "city_mean": "全市平均", "strive_score": f"第{cfg.strive}名得分",
            "published_rank": "市级公布名次", "published_score": "市级公布得分"})
        st.dataframe(table, hide_index=True, width="stretch")
        download_table(table, f"{ctx.home}_走势", "trend")

st.subheader("汇报材料")
st.caption("Word 汇报稿含排名、得分、保六/争五概率、走势与排名图、最弱的分项和乡镇，以及“目标推演”页当前选定的方案。")
if st.button("生成汇报材料", icon=":material/description:", key="make_brief"):
    st.session_state[BRIEF_READY] = (ctx.version, ctx.wave, ctx.home)
if st.session_state.get(BRIEF_READY) == (ctx.version, ctx.wave, ctx.home):
    from ui import reporting  # Word, kaleido and the insight modules load only when a brief is asked for

    moves = tuple(st.session_state.get(state.SCENARIO, []))
    docx, note = reporting.brief(ctx.version, ctx.wave, ctx.home, moves)
    if note:
        st.warning(note)
    b1, b2, b3 = st.columns(3)
    b1.download_button("下载 Word 汇报稿", docx, file_name=f"{ctx.home}_{ctx.wave}_群众满意度汇报.docx", key="dl_brief",
                       mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document", icon=":material/download:")
    b2.download_button("下载全部数据表（Excel）", reporting.workbook(ctx.version, ctx.wave, ctx.home), key="dl_workbook",
                       file_name=f"{ctx.home}_{ctx.wave}_数据表.xlsx", icon=":material/download:",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    charts, chart_note = reporting.chart_archive(ctx.version, ctx.wave, ctx.home)
    if charts:
        b3.download_button("下载图表（PNG 压缩包）", charts, file_name=f"{ctx.home}_{ctx.wave}_图表.zip", key="dl_charts",
                           mime="application/zip", icon=":material/download:")
    else:
        b3.caption(chart_note)
