"""整改跟踪 page (AppTest): every tab runs for the leader without edit controls; an analyst closes a ledger problem
(audited); a role lost between drawing and clicking is refused; an empty database explains what to upload."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from analysis.data import ledger, store
from tests.conftest import ROOT, download_menus, open_download_menus, page_text, staff_accounts
from ui import state

LEADER = staff_accounts()

TABS = {
    "民意诉求": ["工单总数", "办结率", "回访满意率", "各分项、各乡镇的工单与办理情况"],
    "问题台账": ["台账问题", "销号率", "逾期未销号", "TZ2025-001"],
    "整改前后": ["前后变化只说明关联", "销号前后"],
    "大家访": ["Spearman", "各乡镇家访覆盖率", "各学校家访覆盖率", "统计上不显著，现有数据不能说明二者有关"],  # no direction when p ≥ 0.05
    "约谈名单": ["列入规则", "城关镇", "整改逾期"],
}


def open_tab(tab: str, session: dict, accounts: dict | None = LEADER) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if accounts:
        at.secrets["accounts"] = accounts
    for key, value in session.items():
        at.session_state[key] = value
    at.session_state["action_tabs"] = tab
    at.switch_page("app_pages/action.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("tab", list(TABS))
def test_leader_reads_every_tab_without_edit_controls(own_db, tab):
    at = open_tab(tab, {"user_name": "王局长", "user_role": "leader"})
    text = page_text(at)
    for snippet in TABS[tab]:
        assert snippet in text, (tab, snippet)
    assert not [b for b in at.button if b.label in ("保存修改", "新增", "加入问题台账", "导入台账")]
    assert not at.file_uploader
    assert any(":material/lightbulb:" in c.value for c in at.caption) or tab == "问题台账"  # one-line takeaway
    menus = download_menus(at)
    assert len(menus) >= len(at.dataframe) - 1  # a 下载 menu for every table shown
    open_download_menus(at)
    assert not at.exception, at.exception
    assert len(at.get("download_button")) == 2 * len(menus)  # each with its CSV and Excel


def test_analyst_closes_a_ledger_problem_and_it_is_audited(own_db):
    at = open_tab("问题台账", {"user_name": "小李", "user_role": "analyst"})
    at.selectbox(key="edit_id").set_value("TZ2025-003").run()
    at.selectbox(key="edit_id").set_value("TZ2026-001").run()  # the form shows this problem's own values
    at.selectbox(key="edit_state_TZ2026-001").set_value("已销号")
    next(b for b in at.button if b.label == "保存修改").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["已保存 TZ2026\\-001：整改状态、销号日期。"]  # Markdown-escaped ID
    engine = store.connect(own_db)
    row = ledger.current_ledger(engine).set_index("ledger_id").loc["TZ2026-001"]
    assert row["state"] == "已销号" and row["updated_by"] == "小李"
    audit = store.audit_entries(engine).iloc[0]
    assert (audit["action"], audit["user"]) == ("ledger_close", "小李")
    engine.dispose()


def test_analyst_adds_a_work_order_cluster_to_the_ledger(own_db):
    at = open_tab("民意诉求", {"user_name": "小李", "user_role": "analyst"})
    assert not [b for b in at.button if b.label == "加入问题台账"]  # closed: no picker drawn
    at.session_state[state.ACTION_CLUSTER_OPEN] = True  # what opening the expander sends
    at.run()
    picker = at.selectbox(key="cluster_pick")
    before = ledger.current_ledger(store.connect(own_db))
    at.button(key="cluster_add").click().run()
    assert not at.exception, at.exception
    after = ledger.current_ledger(store.connect(own_db))
    added = after[~after["ledger_id"].isin(before["ledger_id"])]
    assert len(added) == 1 and added["source"].iloc[0] == "工单"
    township = added["township"].iloc[0]
    assert township in picker.options[0] and added["owner"].iloc[0] == f"{township}教育办"
    assert [m.value for m in at.success] == [f"已新增台账问题 {added['ledger_id'].iloc[0]}。".replace("-", "\\-")]


def test_a_role_lost_before_the_click_is_refused(own_db):
    at = open_tab("问题台账", {"user_name": "小李", "user_role": "analyst"})
    before = len(ledger.read_events(store.connect(own_db)))
    at.session_state["user_name"] = "王局长"  # signed in as the leader in between (the form was drawn for the analyst)
    at.session_state["user_role"] = "leader"
    at.selectbox(key="edit_state_TZ2025-001").set_value("整改中")
    next(b for b in at.button if b.label == "保存修改").click().run()
    assert [e.value for e in at.error] == ["局领导账号只能查看，上传和修改数据需要分析员账号。"]
    assert len(ledger.read_events(store.connect(own_db))) == before


def test_empty_database_says_what_to_upload(tmp_path, monkeypatch):
    monkeypatch.setenv(store.DB_ENV, str(tmp_path / "empty.db"))
    for tab, message in (("民意诉求", "尚未上传民意诉求工单"), ("大家访", "尚未上传教师全员大家访"), ("问题台账", "问题台账还是空的"),
                         ("整改前后", "尚未上传本县问卷")):
        at = open_tab(tab, {}, accounts=None)
        assert message in " ".join(i.value for i in at.info), tab


def test_orders_tab_names_the_latest_month_and_its_count(own_db):
    """The sentence under the chart, counted from the bundled CSV itself: the latest 受理 month and its orders."""
    import re

    import pandas as pd

    raw = pd.read_csv(ROOT / "data" / "mock" / "petitions.csv", encoding="utf-8-sig", dtype=str)
    month = raw["受理日期"].str[:7].max()
    expected = int((raw["受理日期"].str[:7] == month).sum())
    text = page_text(open_tab("民意诉求", {"user_name": "王局长", "user_role": "leader"}))
    found = re.search(r"(\d{4})\\?-(\d{2}) 共 (\d+) 件工单，最多的是“[^”]+”（(\d+) 件）", text)  # "-" escaped for Markdown
    assert found and f"{found.group(1)}-{found.group(2)}" == month and int(found.group(3)) == expected and int(found.group(4)) <= expected
    assert re.search(r"\d+\.\d%", text)  # shares in the table read like 85.0%
