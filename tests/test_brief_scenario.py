"""The Word brief includes a plan only when one was chosen or saved, never the planner's demo rows."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from ui import state


def test_opening_the_planner_does_not_put_its_demo_plan_into_the_brief(app_db):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/planner.py").run()
    assert not at.exception, at.exception
    assert not at.session_state[state.SCENARIO] if state.SCENARIO in at.session_state else True
    at.button(key="choose_for_brief").click().run()
    chosen = at.session_state[state.SCENARIO]
    assert [m.item for m in chosen] == ["有偿补课治理", "课后服务"]  # the rows on screen, chosen on purpose
    assert any("汇报材料将写入方案" in c.value for c in at.caption)
