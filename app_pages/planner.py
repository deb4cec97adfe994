"""目标推演: what moves which answers, among whom, to hold 6th and reach 5th."""

import streamlit as st

from analysis.data import store
from analysis.survey.itemmodel import MISSING_NOTE
from analysis.survey.planner import plan_text, pull_text
from analysis.survey.ranking import probability_method
from analysis.survey.scenarios import delete_scenario, save_scenario
from ui import auth, data, planning, state
from ui.widgets import (basis_note, detail_expander, download_table, lazy_tabs, page_context, plain, require_ranked_home,
                        require_survey_wave, show_table)

ctx = page_context()
cfg = ctx.settings
st.title("目标推演")
require_survey_wave(ctx)
ranking = data.wave_ranking(ctx.version, ctx.wave)
require_ranked_home(ctx, ranking)
basis_note(ranking)

relation = planning.relation(ctx.version, ctx.wave, ctx.home)
st.caption(plain(f"{ctx.wave} · {ctx.home} · 推演以本县本期问卷为基础；{probability_method(ranking.basis, cfg.draws)}。"))
# Lazy: its table and downloads are built only while it is open (most visits never open it).
with detail_expander("推演依据：总体满意度与各分项的关系", state.PLANNER_RELATION_OPEN) as box:
    if box.open:
        st.markdown(f"加权回归，R² = {relation.r2:.2f}，计分 {relation.n} 份。"
                    "某分项得分每提高 1 分，总体满意度得分预计提高的分数（系数）。系数越大，该分项越“牵动”总体评价。"
                    "这是根据本期问卷估计的相关关系，不等于因果；系数为负或接近 0 的分项，提升它对总体得分帮助不大。"
                    "推演时每位受访者的总体得分最高为 100 分：总体已答“满意”的人不会再加分。")
        st.caption(f"{MISSING_NOTE}本期：用到 {relation.n} 人（总体满意度计分者），其中 {relation.n_partial} 人有分项未计分、"
                   f"其已答分项照常计入，填补 0 人；{relation.n_complete} 人全部分项都已计分。")
        coef = relation.coefficients.rename_axis("分项").rename("系数").reset_index().round(3)
        coef["对总体的拉动"] = [pull_text(b) or "正向" for b in relation.coefficients]
        st.dataframe(coef, hide_index=True, width="stretch")
        download_table(coef, "分项与总体关系", "relation")

st.subheader("调整方案")
groups = planning.group_options(ctx.version, ctx.wave, ctx.home)
rows = st.session_state.get(state.PLAN_ROWS)
rows = planning.example_moves() if rows is None else rows
# The editor is the heaviest element of any page (~1.2 ms a run, issue 15) and most visits only read the plan's
# outcome, so it is drawn only while this expander is open. Its rows live in session state, not in the widget: a
# closed editor (or another page) keeps the plan. While open, the editor starts from one fixed frame (PLAN_BASE), so
# Streamlit keeps applying the edits made since it opened.
with st.expander("修改方案（展开编辑）", key=state.PLANNER_EDIT_OPEN, on_change="rerun", icon=":material/edit:") as box:
    if box.open:
        answers = [a for a in sorted(cfg.points, key=cfg.points.get)]
        base = st.session_state.setdefault(state.PLAN_BASE, rows)
        rows = st.data_editor(
            base, num_rows="dynamic", width="stretch", key="planner_editor",
            column_config={
                "分项": st.column_config.SelectboxColumn("分项", options=list(cfg.items), required=True),
                "群体": st.column_config.SelectboxColumn("群体", options=list(groups), required=True),
                "从": st.column_config.SelectboxColumn("从", options=answers, required=True),
                "到": st.column_config.SelectboxColumn("到", options=answers, required=True),
                "比例%": st.column_config.NumberColumn("比例%", min_value=0.0, max_value=100.0, step=1.0, format="%.0f%%",
                                                       required=True),
            })
        st.session_state[state.PLAN_ROWS] = rows
if not box.open:
    st.session_state.pop(state.PLAN_BASE, None)  # the next opening starts from the rows as last edited
moves = planning.current_moves(rows, groups, cfg.points)
st.caption(plain("当前方案：" + plan_text(moves)) if moves
           else "当前方案没有完整的调整：展开“修改方案”，填写分项、群体、从哪个答案到哪个答案和比例。")
with_trend = st.toggle("假设各县区（含本县）按近 3 期趋势再变化一期", key="planner_trend",
                       help="关闭时按本期得分推演；打开时每个县区都按自己近 3 期的趋势外推一期，趋势的抽样误差计入概率。")

# Drawn once per plan (version, wave, county, moves, trend), then replayed (ui/caching.sent_section).
planning.plan_outcome(ctx.version, ctx.wave, ctx.home, moves, with_trend)
# The brief includes a plan only when someone chose it here: the demo rows above are not a decision.
chosen = st.session_state.get(state.SCENARIO)
if st.button("把这个方案写入汇报材料", key="choose_for_brief", disabled=not moves, icon=":material/description:"):
    st.session_state[state.SCENARIO] = moves
    chosen = moves
if chosen:
    st.caption("汇报材料将写入方案：" + plain(plan_text(chosen)))


def saved_section() -> None:
    """Save the plan above under a name, compare the saved plans, delete one."""
    engine = data.engine()
    saved = data.saved_scenarios(data.log_version())
    # The role is checked on the run that carries the click, i.e. at the moment of the write: a session that lost the
    # role since the button was drawn does not draw it again, so its click is dropped (tested).
    writer = auth.can_change_data()
    if writer:
        name_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
        name = name_col.text_input("方案名称", key="scenario_name", placeholder="例如：农村课后服务提升",
                                   persist_state="page")
        overwrite = st.checkbox("覆盖同名方案", key="scenario_overwrite", disabled=name not in saved,
                                help="已有同名方案时，勾选后才会覆盖（覆盖记入操作日志）")
        if button_col.button("保存方案", key="save_scenario", disabled=not moves):
            try:
                save_scenario(engine, name, ctx.wave, moves, auth.current_user(), overwrite=overwrite)
                st.session_state[state.SCENARIO] = moves  # a saved plan is a chosen plan: the brief includes it
                st.toast(plain(f"已保存方案“{name}”"))
                st.rerun()
            except store.StoreError as exc:
                st.error(plain(str(exc)))
    else:
        st.caption(auth.access_notice())
    if not saved:
        st.caption("还没有保存的方案。")
        return
    comparison = planning.compare_saved(ctx.version, ctx.wave, ctx.home, tuple((n, tuple(m)) for n, m in saved.items()),
                                        with_trend)
    show_table(comparison, width="stretch")
    download_table(comparison, "方案比较", "scenarios")
    if writer:
        drop = st.selectbox("删除方案", ["（不删除）", *saved], key="drop_scenario")
        if drop != "（不删除）" and st.button("删除", key="drop_scenario_button"):
            try:
                delete_scenario(engine, drop, auth.current_user())
                st.rerun()
            except store.StoreError as exc:
                st.error(plain(str(exc)))


def inverse_section() -> None:
    """The least improvement of each item, alone, that reaches a target rank with a target probability."""
    left, right = st.columns(2)
    k = left.selectbox("目标名次", [cfg.strive, cfg.hold], format_func=lambda v: f"前{v}名", key="inverse_k",
                      persist_state="page")
    target_p = right.slider("目标概率", 0.5, 0.95, 0.8, 0.05, format="%.2f", key="inverse_p", persist_state="page")
    planning.inverse_result(ctx.version, ctx.wave, ctx.home, k, target_p, with_trend)
    download_table(planning.inverse_table(ctx.version, ctx.wave, ctx.home, k, target_p, with_trend)[1], "反推_各分项", "inverse")


# Only the open tab runs: a visit draws the inverse table or the saved plans, not both. The plan editor and its cards
# stay above the tabs, so switching tabs keeps the edits; the target, the probability and a typed plan name are kept
# by persist_state="page" (a widget not drawn in a run otherwise loses its value). The overwrite consent and the
# plan chosen for deletion start afresh.
lazy_tabs({"反推：至少要提升多少？": inverse_section, "保存与比较方案": saved_section}, state.PLANNER_TAB)
