"""数据管理 page (AppTest): who sees the uploader, the upload → check → confirm flow, errors, replace, delete and restore."""

from __future__ import annotations

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from analysis.data import store
from analysis.data.importing import commit_import, prepare_import
from tests.conftest import ROOT, page_text, staff_accounts
from tests.upload_support import BAD, NEW_WAVE, STORED_WAVE, db_state
from ui import state

LEADER = staff_accounts()


@pytest.fixture
def loopback(local_request):
    saved = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", saved)


def open_page(accounts: dict | None = None, session: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if accounts:
        at.secrets["accounts"] = accounts
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.switch_page("app_pages/data_admin.py")
    at.run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, name: str, body: bytes | None = None) -> AppTest:
    # The uploader's key changes after each successful import (that is what empties it), so it is found by position.
    at.file_uploader[0].upload(name, body if body is not None else (BAD / name).read_bytes(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    return at


def test_analyst_on_loopback_without_accounts_sees_the_uploader(base_db, loopback):
    at = open_page()
    assert len(at.file_uploader) == 1
    assert at.file_uploader[0].label == "选择 CSV 或 Excel（.xlsx）文件：拖到下框中，或点框内按钮选择（单个文件不超过 200 MB、2,000,000 行）"
    # Only what the readers accept: .xls and Numbers files are explained in the help text, not offered and then refused.
    assert at.file_uploader[0].proto.type == [".csv", ".txt", ".xlsx"]
    assert at.success[0].value.startswith("本机模式：未配置账号")


def test_leader_sees_no_uploader(base_db, loopback):
    at = open_page(LEADER, {"user_name": "王局长", "user_role": "leader"})
    assert len(at.file_uploader) == 0
    assert [w.value for w in at.warning] == ["局领导账号只能查看，上传和修改数据需要分析员账号。"]
    assert not [b for b in at.button if b.label in ("删除该批次", "恢复该批次")]
    text = page_text(at, tables=False)
    assert "已存数据" in text and "操作日志" in text  # leaders still see what is stored


def test_nobody_signed_in_sees_no_uploader(base_db, loopback):
    at = open_page(LEADER)
    assert len(at.file_uploader) == 0
    # With accounts configured, a visitor who has not signed in sees only the sign-in form (issue 12).
    assert [i.value for i in at.info] == ["请在左侧边栏登录后查看。"]
    assert "已存数据" not in page_text(at, tables=False)


def test_signed_in_analyst_sees_the_uploader(base_db, loopback):
    assert len(open_page(LEADER, {"user_name": "小李", "user_role": "analyst"}).file_uploader) == 1


def test_upload_check_and_confirm(base_db, loopback):
    at = upload(open_page(), "formula_script.csv")
    assert any(c.value.startswith("文件编码：UTF\\-8（带BOM）；数据行 6 行；表头在第 1 行") for c in at.caption)
    small, partial = [w.value.replace("\\", "") for w in at.warning]
    assert small == f"{NEW_WAVE} 云溪县 只有 6 份问卷（少于 30 份），其得分和名次很不稳定。"
    assert partial.startswith(f"{NEW_WAVE} 只有 1 个县区的问卷，缺 临江区、") and "否则该批次无法排名" in partial
    preview, counts = at.dataframe[0].value, at.dataframe[1].value
    assert preview["意见建议"].tolist()[:2] == ['=HYPERLINK("http://example.invalid","点我")', "+1+1"]  # shown as text cells
    assert counts.values.tolist() == [[NEW_WAVE, "云溪县", 6]]
    assert "<script>" not in page_text(at, tables=False)  # never rendered through markdown
    before = db_state(base_db)
    assert before["version"] == 1  # nothing written by checking
    at.button(key="confirm_import").click()
    at.run()
    assert not at.exception
    assert at.success[-1].value.startswith(f"已导入调查问卷 6 行：{NEW_WAVE}；编码 UTF\\-8（带BOM）；SHA\\-256 ")
    history = store.import_history(store.connect(base_db))
    assert history[["period", "rows", "imported_by", "file_name"]].values.tolist()[0] == [NEW_WAVE, 6, "本机用户", "formula_script.csv"]
    # The confirm callback asks for the new wave; the sidebar selects it in the same run, for every page.
    assert at.session_state["selected_wave"] == NEW_WAVE
    assert "wave_to_select_next_run" not in at.session_state


def test_confirming_after_someone_else_stored_the_wave_is_refused_cleanly(base_db, loopback, settings):
    at = upload(open_page(), "formula_script.csv")
    engine = store.connect(base_db)
    other = prepare_import((BAD / "gbk_named_utf8.utf8.csv").read_bytes(), "同事的文件.csv", "responses", settings, engine)
    commit_import(engine, other, "同事")  # lands between the analyst's check and the click
    before = db_state(base_db)
    at.button(key="confirm_import").click()
    at.run()
    assert not at.exception
    assert at.error[0].value.startswith(f"数据库中已有 {NEW_WAVE} 的调查问卷数据，未导入任何数据")
    assert db_state(base_db) == before


def test_bad_file_shows_the_error_table_and_stores_nothing(base_db, loopback):
    before = db_state(base_db)
    at = upload(open_page(), "unknown_county.csv")
    assert at.error[0].value == "文件有 1 处错误，未导入任何数据。请按下表（行号即 Excel 中的行号）修改后重新上传。"
    assert at.dataframe[0].value.values.tolist() == [[4, "县区", "云西县", "县区“云西县”不在本市县区列表中，是否为“云溪县”？"]]
    assert [b.label for b in at.get("download_button")][:2] == ["下载 CSV", "下载 Excel"]
    assert not [b for b in at.button if b.label == "确认导入"]
    assert db_state(base_db) == before


def test_unreadable_file_gets_its_message(base_db, loopback):
    before = db_state(base_db)
    at = upload(open_page(), "xls_renamed.csv")
    assert at.error[0].value.startswith("无法读取“xls\\_renamed\\.csv”：这是旧版 Excel（\\.xls）或其他 Office 二进制文件")
    assert "未写入任何数据。" in [c.value for c in at.caption]
    assert db_state(base_db) == before


def test_file_names_are_shown_literally(base_db, loopback):
    at = upload(open_page(), "<img src=x onerror=alert(1)>.csv", (BAD / "empty.csv").read_bytes())
    from analysis.formatting import escape_markdown  # the one escaper for text from files (issue 12)
    assert at.error[0].value == escape_markdown("无法读取“<img src=x onerror=alert(1)>.csv”：文件是空的，没有任何内容。")
    assert "\\<img" in at.error[0].value and "\\(1\\)" in at.error[0].value


def test_replacing_a_wave_needs_the_checkbox(base_db, loopback):
    at = upload(open_page(), "overlap_wave.csv")
    assert any(w.value.startswith(f"数据库中已有 {STORED_WAVE} 的调查问卷数据。导入将替换它们") for w in at.warning)
    assert at.button(key="confirm_import").disabled
    at.checkbox(key="confirm_replace").check()
    at.run()
    assert not at.button(key="confirm_import").disabled
    at.button(key="confirm_import").click()
    at.run()
    assert not at.exception
    history = store.import_history(store.connect(base_db))
    assert history[["id", "status", "rows"]].values.tolist() == [[2, "active", 6], [1, "replaced", 70]]


def test_delete_and_restore_need_confirmation(base_db, loopback):
    at = open_page()
    assert not [b for b in at.button if b.key == "delete_import"]  # closed: its widgets are not built
    at.session_state[state.MANAGE_IMPORT_OPEN] = True  # what opening the expander sends
    at.run()
    assert at.button(key="delete_import").disabled
    at.checkbox(key="confirm_manage").check()
    at.run()
    at.button(key="delete_import").click()
    at.run()
    assert not at.exception
    engine = store.connect(base_db)
    assert store.import_history(engine)["status"].tolist() == ["deleted"]
    at.checkbox(key="confirm_manage").check()
    at.run()
    at.button(key="restore_import").click()
    at.run()
    assert store.import_history(engine)["status"].tolist() == ["active"]
    assert store.audit_entries(engine)["action"].tolist() == ["restore", "delete", "import"]
    assert set(store.audit_entries(engine)["user"].tolist()[:2]) == {"本机用户"}


def every_county_csv(settings, home_first: bool = True) -> bytes:
    """A new wave with 3 questionnaires per county: the home county answers 满意/比较满意/一般 (80 分), the others one
    step lower (60 分), so the home county is first of all counties."""
    from tests.upload_support import survey_csv

    parts = [survey_csv(3, NEW_WAVE, county, prefix=f"C{k}", start=5 if county == settings.home_county else 1)
             for k, county in enumerate(settings.counties)]
    return (parts[0] + "".join(p.split("\r\n", 1)[1] for p in parts[1:])).encode("utf-8-sig")


def test_after_import_the_uploader_empties_and_says_where_to_look(base_db, loopback, settings):
    at = upload(open_page(), "新批次.csv", every_county_csv(settings))
    first_key = at.file_uploader[0].key
    assert at.file_uploader[0].value is not None
    at.button(key="confirm_import").click()
    at.run()
    assert not at.exception
    # A new, empty uploader: the imported file is no longer offered, and no 确认导入 button invites a second import.
    assert at.file_uploader[0].key != first_key and at.file_uploader[0].value is None
    assert not [b for b in at.button if b.label == "确认导入"]
    texts = [m.value.replace("\\", "") for m in at.markdown]
    assert f"已导入 {NEW_WAVE}；{settings.home_county}（本局调查推算）第1名/共{len(settings.counties)}。" in texts
    assert [e.proto.label for e in at.get("page_link")] == ["查看总览 →"]


def test_unrankable_import_says_what_is_missing(base_db, loopback):
    at = upload(open_page(), "formula_script.csv")
    at.button(key="confirm_import").click()
    at.run()
    line = next(m.value.replace("\\", "") for m in at.markdown if m.value.replace("\\", "").startswith(f"已导入 {NEW_WAVE}；"))
    assert "缺" in line and "临江区" in line


def test_a_relabelled_copy_of_a_stored_wave_needs_a_second_look(base_db, loopback):
    from tests.upload_support import survey_csv

    at = upload(open_page(), "第三季度.csv", survey_csv(35, NEW_WAVE).encode("utf-8-sig"))
    warning = next(w.value.replace("\\", "") for w in at.warning if "重复" in w.value)
    assert warning.startswith(f"{NEW_WAVE} 的 35 份问卷中有 35 份（受访者编号与总体满意度答案都相同）与数据库中已有的 {STORED_WAVE} 重复")
    assert at.button(key="confirm_import").disabled
    before = db_state(base_db)
    at.checkbox(key="confirm_not_duplicate").check()
    at.run()
    assert not at.button(key="confirm_import").disabled
    assert db_state(base_db) == before  # nothing is written until the analyst confirms


def test_preview_hides_internal_columns_and_times_are_local_minutes(base_db, loopback):
    import re

    at = upload(open_page(), "formula_script.csv")
    preview = at.dataframe[0].value
    assert list(preview.columns)[:3] == ["Excel 行号", "受访者编号", "测评批次"] and "excel_row" not in preview.columns
    assert preview["Excel 行号"].tolist() == [2, 3, 4, 5, 6, 7]
    history = next(d.value for d in at.dataframe if "导入时间" in d.value.columns)
    audit = next(d.value for d in at.dataframe if "时间" in d.value.columns and "操作" in d.value.columns)
    for stamp in [*history["导入时间"], *audit["时间"]]:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", stamp), stamp
    text = page_text(at, tables=False)
    assert "data/README.md" not in text and "secrets.toml" not in text


@pytest.mark.parametrize("session, button, note", [
    ({}, True, "备份含全部问卷"),  # an analyst on this machine (loopback, no accounts)
    ({"user_name": "王局长", "user_role": "leader"}, False, "数据库备份只对分析员开放。"),
])
def test_the_backup_is_offered_only_to_analysts_and_only_once_its_expander_opens(base_db, loopback, session, button, note):
    at = open_page(LEADER if session else None, session)
    assert not [b for b in at.button if b.label == "生成备份"] and note not in page_text(at, tables=False)  # closed
    at.session_state[state.BACKUP_OPEN] = True  # what opening the 数据库备份 expander sends
    at.run()
    assert not at.exception, at.exception
    assert bool([b for b in at.button if b.label == "生成备份"]) is button and note in page_text(at, tables=False)
    if button:
        at.button(key="make_backup").click().run()
        assert [b.proto.label for b in at.get("download_button")] == ["下载备份"]


def test_blank_templates_come_one_kind_at_a_time(base_db, loopback):
    from analysis.data.contract import KIND_KEYS
    from ui.records import KIND_LABELS

    at = open_page()
    assert "data_admin_template_kind" not in [s.key for s in at.selectbox]  # closed: no chooser, no buttons
    at.session_state[state.TEMPLATES_OPEN] = True  # what opening the 空白模板 expander sends
    at.run()
    chooser = at.selectbox(key="data_admin_template_kind")
    assert chooser.label == "模板类型" and chooser.options == [KIND_LABELS[k] for k in KIND_KEYS]  # every upload kind
    assert [b.proto.label for b in at.get("download_button") if b.proto.id.endswith(("tpl_csv", "tpl_xlsx"))] == \
        ["CSV 模板", "Excel 模板"]
    chooser.set_value(KIND_KEYS[-1]).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="data_admin_template_kind").value == KIND_KEYS[-1]
