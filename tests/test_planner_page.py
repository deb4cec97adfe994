"""目标推演 page: runs, never shows a planned rank without its probability, keeps the trend's effect apart; its two
lower sections run only while their tab is open and keep their inputs across a switch; an analyst saves, compares and
deletes a plan (audited); a leader sees the plans without the controls; a role lost before the click saves nothing."""

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis.data import store
from analysis.survey.planner import Move
from analysis.survey.scenarios import load_scenarios, save_scenario
from tests.conftest import ROOT, page_text, staff_accounts

INVERSE, SAVED = "反推：至少要提升多少？", "保存与比较方案"
ANALYST = {"user_name": "小李", "user_role": "analyst"}


def open_planner(tab: str | None = None, session: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if session:
        at.secrets["accounts"] = staff_accounts()
        for key, value in session.items():
            at.session_state[key] = value
    if tab:
        at.session_state["planner_section_tab"] = tab
    at.switch_page("app_pages/planner.py").run()
    assert not at.exception, at.exception
    return at


def test_planner_page_words_and_trend(app_db):
    at = open_planner()
    text = page_text(at)
    assert "名次（按估计值）" in text and "进入前5名的把握约" in text
    assert text.count("保6的把握") >= 2  # now and after the plan, in words: the cards show percentages only
    assert "100 次" not in text and "少一人就达不到" in text and "满意率提高约" in text
    assert "填补 0 人" not in text  # the model note is built only while its expander is open
    at.session_state["planner_relation_open"] = True
    at.run()
    assert not at.exception, at.exception
    assert "填补 0 人" in page_text(at) and "R² = " in page_text(at)
    at.toggle(key="planner_trend").set_value(True).run()
    assert not at.exception, at.exception
    text = page_text(at)
    assert "趋势的影响" in text and "方案的影响" in text


@pytest.mark.parametrize(("tab", "shown", "not_run"), [
    (INVERSE, "少一人就达不到", "还没有保存的方案"),
    (SAVED, "还没有保存的方案", "少一人就达不到"),
])
def test_planner_tabs_run_only_when_open(app_db, tab, shown, not_run):
    at = open_planner(tab, ANALYST)
    text = page_text(at)
    assert shown in text and not_run not in text
    assert bool(at.text_input) == (tab == SAVED)  # the plan's name box is drawn only in its own tab
    assert not at.data_editor  # the plan editor is drawn only while its expander is open
    at.session_state["planner_edit_open"] = True
    at.run()
    assert at.data_editor and not any(t.get("data_editor") for t in at.tabs)  # and then above the tabs


def plan_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("当前方案"))


def test_the_plan_is_kept_while_its_editor_is_closed(app_db):
    """The plan lives in session state: its words and outcome show with the editor closed, the editor opens on the
    rows as last edited, and closing it keeps them (a leader's visit draws no editor at all)."""
    at = open_planner()
    assert not at.data_editor
    assert plan_caption(at) == "当前方案：农村 的 有偿补课治理 一般→满意 20%；学生家长 的 课后服务 比较满意→满意 10%"
    example = page_text(at)
    edited = pd.DataFrame([{"分项": "有偿补课治理", "群体": "农村", "从": "一般", "到": "满意", "比例%": 60.0}])
    at.session_state["planner_plan_rows"] = edited  # as the editor leaves it after an edit
    at.run()
    assert not at.exception, at.exception
    assert plan_caption(at) == "当前方案：农村 的 有偿补课治理 一般→满意 60%" and page_text(at) != example
    at.session_state["planner_edit_open"] = True
    at.run()
    assert not at.exception, at.exception
    assert at.data_editor[0].value["比例%"].tolist() == [60.0]  # the editor opens on the kept rows
    at.session_state["planner_edit_open"] = False
    at.run()
    assert not at.exception, at.exception
    assert not at.data_editor and plan_caption(at).endswith("一般→满意 60%")
    assert "planner_plan_base" not in at.session_state  # the next opening starts from the rows as last edited


def test_an_empty_plan_says_what_to_fill_in(app_db):
    at = open_planner()
    at.session_state["planner_plan_rows"] = pd.DataFrame(columns=["分项", "群体", "从", "到", "比例%"])
    at.run()
    assert not at.exception, at.exception
    assert "展开“修改方案”" in plan_caption(at)
    assert at.button(key="choose_for_brief").disabled  # nothing to put into the brief


def test_switching_tabs_keeps_the_inputs(app_db):
    at = open_planner(INVERSE, ANALYST)
    at.slider(key="inverse_p").set_value(0.9).run()
    for tab in (SAVED, INVERSE):
        at.session_state["planner_section_tab"] = tab
        at.run()
        assert not at.exception, at.exception
    assert at.slider(key="inverse_p").value == 0.9


def test_analyst_saves_compares_and_deletes_a_plan(own_db):
    at = open_planner(SAVED, ANALYST)
    at.text_input(key="scenario_name").input("农村课后服务提升")
    at.button(key="save_scenario").click().run()
    assert not at.exception, at.exception
    engine = store.connect(own_db)
    assert list(load_scenarios(engine)) == ["农村课后服务提升"]
    assert "农村课后服务提升" in page_text(at)  # the comparison table lists it
    assert at.session_state["planner_scenario"]  # a saved plan is the brief's plan
    at.selectbox(key="drop_scenario").set_value("农村课后服务提升").run()
    at.button(key="drop_scenario_button").click().run()
    assert not at.exception, at.exception
    assert load_scenarios(engine) == {} and "还没有保存的方案" in page_text(at)
    actions = store.audit_entries(engine)
    assert list(actions.loc[actions["user"] == "小李", "action"][:2]) == ["scenario_delete", "scenario_save"]
    engine.dispose()


def test_a_leader_sees_saved_plans_without_the_controls(own_db):
    engine = store.connect(own_db)
    save_scenario(engine, "农村课后服务提升", "2026年第3季度", [Move("课后服务", "一般", "满意", 0.1)], "小李")
    engine.dispose()
    at = open_planner(SAVED, {"user_name": "王局长", "user_role": "leader"})
    assert "农村课后服务提升" in page_text(at)  # the comparison table
    assert not at.text_input
    assert not [b for b in at.button if b.label in ("保存方案", "删除")]
    assert "drop_scenario" not in [box.key for box in at.selectbox]
    assert "分析员" in page_text(at)  # the access notice says who may save


def test_a_role_lost_before_the_click_saves_nothing(own_db):
    at = open_planner(SAVED, ANALYST)
    at.text_input(key="scenario_name").input("农村课后服务提升")
    save = at.button(key="save_scenario")
    at.session_state["user_name"], at.session_state["user_role"] = "王局长", "leader"  # signed in as the leader meanwhile
    save.click().run()
    assert not at.exception, at.exception
    engine = store.connect(own_db)
    assert load_scenarios(engine) == {}
    assert "scenario_save" not in set(store.audit_entries(engine)["action"])
    engine.dispose()


def test_the_plans_moves_are_read_again_only_for_other_rows():
    """current_moves keeps the moves read from the very same rows, groups and points, and reads a new frame afresh."""
    from analysis.survey.planner import moves_from_rows
    from ui import planning

    groups, points = {"农村": ("urban_rural", "农村")}, {"一般": 60.0, "满意": 100.0}
    rows = pd.DataFrame([{"分项": "课后服务", "群体": "农村", "从": "一般", "到": "满意", "比例%": 20.0}])
    first = planning.current_moves(rows, groups, points)
    assert first == tuple(moves_from_rows(rows, groups, points)) and len(first) == 1
    assert planning.current_moves(rows, groups, points) is first  # the same objects: not read again
    changed = rows.assign(**{"比例%": 50.0})
    assert [m.share for m in planning.current_moves(changed, groups, points)] == [0.5]
    assert planning.current_moves(changed, {}, points) == ()  # other groups: read again (the group is now unknown)
