"""总览: where the county stands, how likely it holds 6th and reaches 5th, and the trend."""

import datetime as dt

import streamlit as st

from analysis.survey.basis import BASIS_LABELS
from ui import data, overview, state
from ui.widgets import detail_expander, download_table, page_context, plain, require_ranked_home, require_survey_wave

ctx = page_context()
cfg = ctx.settings
# Short enough to stay on one line of a 390-px phone screen.
st.title(plain(f"{ctx.home}总览"))

require_survey_wave(ctx)

result = data.wave_ranking(ctx.version, ctx.wave)
require_ranked_home(ctx, result)
# Drawn once per version, wave and county, then replayed for every visit (ui/caching.sent_section).
overview.first_screen(ctx.version, ctx.wave, ctx.home)
overview.trend_charts(ctx.version, ctx.wave, ctx.home)

with detail_expander("走势数据表", state.TREND_TABLE_OPEN) as box:
    if box.open:
        table = overview.trend_to(ctx.version, ctx.home, ctx.wave).rename(columns={
            "wave": "测评批次", "rank": "名次", "cs_low": "名次置信集下限", "cs_high": "名次置信集上限", "score": "得分",
            "ci_low": "95%CI下限", "ci_high": "95%CI上限", "n": "样本量", f"p_rank_le_{cfg.strive}": f"争{cfg.strive}概率",
            f"p_rank_le_{cfg.hold}": f"保{cfg.hold}概率", "city_mean": "全市平均", "strive_score": f"第{cfg.strive}名得分",
            "published_rank": "市级公布名次", "published_score": "市级公布得分", "basis": "名次依据"})
        table["名次依据"] = table["名次依据"].map(BASIS_LABELS)
        st.dataframe(table, hide_index=True, width="stretch")
        download_table(table, f"{ctx.home}_走势", "trend")

# The heading and its note as one element: each element is a message of its own in every rerun (issue 15).
st.markdown(f"### 汇报材料\n:small[:gray[Word 汇报稿含排名、得分、保{cfg.hold}/争{cfg.strive}概率、走势与排名图、最弱的分项和乡镇，"
            "以及“目标推演”页当前选定的方案。]]")
if st.button("生成汇报材料", icon=":material/description:", key="make_brief"):
    st.session_state[state.BRIEF_READY] = (ctx.version, ctx.wave, ctx.home)
if st.session_state.get(state.BRIEF_READY) == (ctx.version, ctx.wave, ctx.home):
    from ui import reporting  # Word, kaleido and the insight modules load only when a brief is asked for

    moves = tuple(st.session_state.get(state.SCENARIO, []))
    docx, note = reporting.brief(ctx.version, ctx.wave, ctx.home, moves, dt.date.today())
    if note:
        st.warning(note)
    b1, b2, b3 = st.columns(3)
    b1.download_button("下载 Word 汇报稿", docx, file_name=f"{ctx.home}_{ctx.wave}_群众满意度汇报.docx", key="dl_brief", on_click="ignore",
                       mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document", icon=":material/download:")
    b2.download_button("下载全部数据表（Excel）", reporting.workbook(ctx.version, ctx.wave, ctx.home), key="dl_workbook", on_click="ignore",
                       file_name=f"{ctx.home}_{ctx.wave}_数据表.xlsx", icon=":material/download:",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    charts, chart_note = reporting.chart_archive(ctx.version, ctx.wave, ctx.home)
    if charts:
        b3.download_button("下载图表（PNG 压缩包）", charts, file_name=f"{ctx.home}_{ctx.wave}_图表.zip", key="dl_charts", on_click="ignore",
                           mime="application/zip", icon=":material/download:")
    else:
        b3.caption(chart_note)
