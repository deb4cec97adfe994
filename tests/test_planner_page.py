"""目标推演 page: runs, never shows a planned rank without its probability, keeps the trend's effect apart."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, page_text


def test_planner_page_words_and_trend(app_db):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/planner.py").run()
    assert not at.exception, at.exception
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
