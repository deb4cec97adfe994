"""目标推演: what moves which answers, among whom, to hold 6th and reach 5th."""

import pandas as pd
import streamlit as st

from analysis import store
from analysis.formatting import fmt_pct, fmt_rank, fmt_score
from analysis.planner import cheapest_plan, inverse_sentence, single_item_shares
from analysis.scenarios import delete_scenario, load_scenarios, save_scenario
from ui import auth, data, planning, state
from ui.widgets import download_table, page_context, require_survey_wave, takeaway

ctx = page_context()
cfg = ctx.settings
st.title("目标推演")
require_survey_wave(ctx)
if ctx.home not in set(data.wave_ranking(ctx.version, ctx.wave).table["county"]):
    st.warning(f"{ctx.wave} 没有 {ctx.home} 的问卷数据。")
    st.stop()

relation = planning.relation(ctx.version, ctx.wave, ctx.home)
st.caption(f"{ctx.wave} · {ctx.home} · 推演以本县本期问卷为基础；其他县区按各自得分与抽样误差模拟 {cfg.draws:,} 次。")
with st.expander(f"推演依据：总体满意度与各分项的关系（加权最小二乘，R² = {relation.r2:.2f}，n = {relation.n}）", expanded=False):
    st.markdown("某分项得分每提高 1 分，总体满意度得分预计提高的分数（系数）。系数越大，该分项越“牵动”总体评价。"
                "这是根据本期问卷估计的相关关系，不等于因果；系数为负或接近 0 的分项，提升它对总体得分帮助不大。")
    coef = relation.coefficients.rename_axis("分项").rename("系数").reset_index().round(3)
    st.dataframe(coef, hide_index=True, width="stretch")
    download_table(coef, "分项与总体关系", "relation")

st.subheader("调整方案")
groups = planning.group_options(ctx.version, ctx.wave, ctx.home)
answers = [a for a in sorted(cfg.points, key=cfg.points.get)]
default = pd.DataFrame([{"分项": "有偿补课治理", "群体": "农村", "从": "一般", "到": "满意", "比例%": 20.0},
                        {"分项": "课后服务", "群体": "学生家长", "从": "比较满意", "到": "满意", "比例%": 10.0}])
edited = st.data_editor(
    default, num_rows="dynamic", width="stretch", key="planner_editor",
    column_config={
        "分项": st.column_config.SelectboxColumn("分项", options=list(cfg.items), required=True),
        "群体": st.column_config.SelectboxColumn("群体", options=list(groups), required=True),
        "从": st.column_config.SelectboxColumn("从", options=answers, required=True),
        "到": st.column_config.SelectboxColumn("到", options=answers, required=True),
        "比例%": st.column_config.NumberColumn("比例%", min_value=0.0, max_value=100.0, step=1.0, format="%.0f%%", required=True),
    })
moves = planning.moves_from_editor(edited, groups, cfg.points)
with_trend = st.toggle("假设其他县区按近 3 期趋势继续变化（而不是原地不动）", key="planner_trend")

current, planned = planning.compare(ctx.version, ctx.wave, ctx.home, tuple(moves), with_trend)
c1, c2, c3, c4 = st.columns(4)
c1.metric("总体得分", fmt_score(planned["score"]), delta=f"{planned['score'] - current['score']:+.2f} 分", border=True)
c2.metric("名次", fmt_rank(planned["rank"]), delta=f"{current['rank'] - planned['rank']:+d} 名", border=True)
c3.metric(f"保{cfg.hold}概率", fmt_pct(planned[f"p_rank_le_{cfg.hold}"]),
          delta=f"{(planned[f'p_rank_le_{cfg.hold}'] - current[f'p_rank_le_{cfg.hold}']) * 100:+.1f} 个百分点", border=True)
c4.metric(f"争{cfg.strive}概率", fmt_pct(planned[f"p_rank_le_{cfg.strive}"]),
          delta=f"{(planned[f'p_rank_le_{cfg.strive}'] - current[f'p_rank_le_{cfg.strive}']) * 100:+.1f} 个百分点", border=True)
takeaway(f"当前：{fmt_score(current['score'])} 分、{fmt_rank(current['rank'])}、争{cfg.strive}概率 {fmt_pct(current[f'p_rank_le_{cfg.strive}'])}；"
         f"按上表调整后：{fmt_score(planned['score'])} 分、{fmt_rank(planned['rank'])}、争{cfg.strive}概率 {fmt_pct(planned[f'p_rank_le_{cfg.strive}'])}。")
if not moves:
    st.caption("在上表中添加调整（例如“农村 的 课后服务 一般→满意 10%”），结果会立即更新。")
st.session_state[state.SCENARIO] = moves  # the brief takes the chosen scenario from here

st.subheader("保存与比较方案")
engine = data.engine()
saved = load_scenarios(engine)
if auth.can_change_data():
    name_col, button_col = st.columns([3, 1])
    name = name_col.text_input("方案名称", key="scenario_name", placeholder="例如：农村课后服务提升")
    if button_col.button("保存方案", key="save_scenario", disabled=not moves):
        try:
            save_scenario(engine, name, ctx.wave, moves, auth.current_user())
            st.toast(f"已保存方案“{name}”")
            st.rerun()
        except store.StoreError as exc:
            st.error(str(exc))
else:
    st.caption(auth.access_notice())
if saved:
    comparison = planning.compare_saved(ctx.version, ctx.wave, ctx.home, tuple((n, tuple(m)) for n, m in saved.items()), with_trend)
    st.dataframe(comparison, hide_index=True, width="stretch")
    download_table(comparison, "方案比较", "scenarios")
    if auth.can_change_data():
        drop = st.selectbox("删除方案", ["（不删除）", *saved], key="drop_scenario")
        if drop != "（不删除）" and st.button("删除", key="drop_scenario_button"):
            delete_scenario(engine, drop)
            st.rerun()
else:
    st.caption("还没有保存的方案。")

st.subheader("反推：至少要提升多少？")
left, right = st.columns(2)
k = left.selectbox("目标名次", [cfg.strive, cfg.hold], format_func=lambda v: f"前{v}名", key="inverse_k")
target_p = right.slider("目标概率", 0.5, 0.95, 0.8, 0.05, format="%.2f", key="inverse_p")
needed, headroom = planning.inverse(ctx.version, ctx.wave, ctx.home, k, target_p)
single = single_item_shares(headroom, needed)
combo = cheapest_plan(headroom, needed)
st.markdown(f"**{inverse_sentence(needed, k, target_p, single, combo)}**")
view = single.assign(
    系数=single["beta"].round(3), 全部上调一档可提升=single["overall_gain_full"].round(2),
    单项达标所需比例=single["share"].map(lambda v: "做不到" if pd.isna(v) else f"{v * 100:.0f}%"),
)[["item", "系数", "全部上调一档可提升", "单项达标所需比例"]].rename(columns={"item": "分项"})
st.dataframe(view, hide_index=True, width="stretch")
download_table(view, "反推_各分项", "inverse")
