"""总览: where the county stands, how likely it holds 6th and reaches 5th, and the trend."""

import datetime as dt

import streamlit as st

from analysis.formatting import fmt_pct, fmt_rank, fmt_score
from analysis.report.headline import chance_short, rank_change_words
from analysis.survey.basis import BASIS_LABELS
from analysis.survey.ranking import probability_method
from ui import data, overview, state
from ui.overview import rank_trend, score_trend
from ui.widgets import (CARD_WIDTH, basis_note, detail_expander, download_table, page_context, plain, plain_lines,
                        require_ranked_home, require_survey_wave, takeaway)

ctx = page_context()
cfg = ctx.settings
# Short enough to stay on one line of a 390-px phone screen.
st.title(plain(f"{ctx.home}总览"))

require_survey_wave(ctx)

result = data.wave_ranking(ctx.version, ctx.wave)
row = require_ranked_home(ctx, result)
ranking = result.table
trend = overview.trend_to(ctx.version, ctx.home, ctx.wave)
prev, first, last = overview.trend_points(ctx.version, ctx.wave, ctx.home)
p_strive, p_hold = row[f"p_rank_le_{cfg.strive}"], row[f"p_rank_le_{cfg.hold}"]
total = len(ranking)
headline = overview.headline(ctx.version, ctx.wave, ctx.home)

st.caption(plain(f"{ctx.wave} · {cfg.city_name}共 {total} 个县区 · 本县样本 {int(row['n']) + int(row['n_excluded'])} 份，"
                 f"计分 {int(row['n'])} 份（{int(row['n_excluded'])} 份“不了解/说不清”不计分）"))

# The first screen: the official rank before the estimate, then one conclusion, the neighbours and the change.
with st.container(border=True):
    st.markdown("  \n".join(filter(None, [f"#### {plain(headline.official or headline.estimate)}",
                                          headline.official and f"**{plain(headline.estimate)}**"])))
    if headline.why_differ:
        st.caption(plain(headline.why_differ))
    st.markdown("\n".join([f"**{plain(headline.conclusion)}**", *(f"- {plain(g)}" for g in headline.gaps),
                            *([f"- {plain(headline.change)}"] if headline.change else [])]))
basis_note(result)
if row["insufficient"]:
    st.warning("本县本期计分答案少于 2 份，无法估计抽样误差，不计算名次概率。请补充样本后再看。")

# A horizontal container wraps: four cards in a row on a desktop, a 2×2 grid on a phone.
with st.container(horizontal=True, gap="small"):
    prev_score = prev["score"] if prev else None
    change = None if prev_score is None else round(float(row["score"]) - float(prev_score), 2)
    st.metric("满意度得分", fmt_score(row["score"]), border=True, width=CARD_WIDTH,
              delta=None if change is None else f"{change:+.2f} 分",
              delta_color="off" if change == 0 else "normal", delta_arrow="off" if change == 0 else "auto",
              help="本局调查加权平均分；箭头为较上期变化，下方为95%置信区间")
    moved = None if not prev else int(prev["rank"]) - int(row["rank"])
    st.metric("推算名次", fmt_rank(row["rank"]), border=True, width=CARD_WIDTH,
              delta=None if moved is None else rank_change_words(moved),
              delta_color="off" if not moved else ("normal" if moved > 0 else "inverse"),
              delta_arrow="off" if not moved else ("up" if moved > 0 else "down"),
              help=f"按本局调查推算的全市名次（共 {total} 个县区）；市级通报名次见上方")
    st.metric(f"保{cfg.hold}把握", chance_short(p_hold), border=True, width=CARD_WIDTH,
              help=f"{fmt_pct(p_hold, 0)}：本县真实名次在第{cfg.hold}名及以内的可能性；{probability_method(result.basis, cfg.draws)}")
    st.metric(f"冲{cfg.strive}把握", chance_short(p_strive), border=True, width=CARD_WIDTH,
              help=f"{fmt_pct(p_strive, 0)}：本县真实名次在第{cfg.strive}名及以内的可能性")

with st.expander("方法说明（分析员）", icon=":material/science:"):
    st.markdown("\n".join(plain_lines(overview.method_lines(ctx.version, ctx.wave, ctx.home))))

rank_figure, score_figure = rank_trend(ctx.version, ctx.home, ctx.wave), score_trend(ctx.version, ctx.home, ctx.wave)
left, right = st.columns(2)
with left:
    st.plotly_chart(rank_figure, width="stretch")
    takeaway(f"从{first['wave']}的{fmt_rank(first['rank'])}到{last['wave']}的{fmt_rank(last['rank'])}；竖线越长，名次越不确定。")
with right:
    st.plotly_chart(score_figure, width="stretch")
    takeaway(f"本县得分由 {fmt_score(first['score'])} 变为 {fmt_score(last['score'])}，全市平均 {fmt_score(last['city_mean'])}。")

with detail_expander("走势数据表", state.TREND_TABLE_OPEN) as box:
    if box.open:
        table = trend.rename(columns={
            "wave": "测评批次", "rank": "名次", "cs_low": "名次置信集下限", "cs_high": "名次置信集上限", "score": "得分",
            "ci_low": "95%CI下限", "ci_high": "95%CI上限", "n": "样本量", f"p_rank_le_{cfg.strive}": f"争{cfg.strive}概率",
            f"p_rank_le_{cfg.hold}": f"保{cfg.hold}概率", "city_mean": "全市平均", "strive_score": f"第{cfg.strive}名得分",
            "published_rank": "市级公布名次", "published_score": "市级公布得分", "basis": "名次依据"})
        table["名次依据"] = table["名次依据"].map(BASIS_LABELS)
        st.dataframe(table, hide_index=True, width="stretch")
        download_table(table, f"{ctx.home}_走势", "trend")

st.subheader("汇报材料")
st.caption(f"Word 汇报稿含排名、得分、保{cfg.hold}/争{cfg.strive}概率、走势与排名图、最弱的分项和乡镇，以及“目标推演”页当前选定的方案。")
if st.button("生成汇报材料", icon=":material/description:", key="make_brief"):
    st.session_state[state.BRIEF_READY] = (ctx.version, ctx.wave, ctx.home)
if st.session_state.get(state.BRIEF_READY) == (ctx.version, ctx.wave, ctx.home):
    from ui import reporting  # Word, kaleido and the insight modules load only when a brief is asked for

    moves = tuple(st.session_state.get(state.SCENARIO, []))
    docx, note = reporting.brief(ctx.version, ctx.wave, ctx.home, moves, dt.date.today())
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
