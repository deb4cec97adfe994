"""Uploads of 民意诉求工单 and 教师全员大家访, and the 问题台账: Chinese row-level errors, nothing stored on error,
personal numbers never stored in clear, every ledger change audited. Files are written inline (data row k is
Excel row k + 1)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pandas as pd
import pytest

from analysis.data import ledger, store
from analysis.data.importing import commit_import, prepare_import
from analysis.data.readers import ReadError
from tests.upload_support import db_state, raw_db_bytes, run_cli

PETITION_HEADER = "工单编号,受理日期,渠道,乡镇（街道）,学校,诉求内容,办理状态,办结日期,回访满意"
GOOD_ORDER = "GD001,2026-03-05,12345,城关镇,城关镇中心小学,作业太多,已办结,2026-03-09,满意"
VISIT_HEADER = "年度,学校,乡镇（街道）,在校学生数,已家访学生数"
LEDGER_HEADER = "台账编号,分项,乡镇（街道）,学校,问题描述,问题来源,关联工单,整改措施,责任单位,登记日期,完成时限,整改状态,销号日期"
GOOD_PROBLEM = "TZ1,课业负担,城关镇,,作业多,工单,GD001,作业公示,城关镇中心学校,2026-03-01,2026-04-30,整改中,"


def body(header: str, *rows: str) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8-sig")


# (kind, file rows after the header, [(Excel row, column, value, reason)])
BAD_CELLS = [
    ("petitions", [GOOD_ORDER, "GD002,2026-02-30,12345,城关镇,,作业,办理中,,"],
     [(3, "受理日期", "2026-02-30", "“2026-02-30”不是有效日期（应如 2026-03-15 或 2026/3/15）")]),
    ("petitions", [GOOD_ORDER, "GD002,2026-03-06,微信,城关镇,,作业,办理中,,"],
     [(3, "渠道", "微信", "“渠道”应为 12345/局长信箱/信访/其他，现为“微信”")]),
    ("petitions", [GOOD_ORDER, "GD002,2026-03-06,信访,城关镇,,作业,完成,,"],
     [(3, "办理状态", "完成", "“办理状态”应为 待办理/办理中/已办结，现为“完成”")]),
    ("petitions", [GOOD_ORDER, "GD002,2026-03-06,信访,城关镇,,作业,已办结,2026-03-07,很好"],
     [(3, "回访满意", "很好", "“回访满意”应为 满意/基本满意/不满意/未回访，现为“很好”")]),
    ("petitions", [GOOD_ORDER, "GD001,2026-03-06,信访,城关镇,,作业,办理中,,"],
     [(3, "工单编号", "GD001", "工单编号在文件中重复（与第 2 行相同）")]),
    ("petitions", [GOOD_ORDER, "GD002,2026-03-06,信访,,,作业,办理中,,"],
     [(3, "乡镇（街道）", "", "必填项“乡镇（街道）”为空")]),
    ("petitions", [GOOD_ORDER, "GD002,2026-03-06,信访,城关镇,,作业,已办结,,满意"],
     [(3, "办结日期", "", "办理状态为“已办结”时须填写办结日期")]),
    ("petitions", [GOOD_ORDER, "GD002,2026-03-06,信访,城关镇,,作业,已办结,2026-03-01,满意"],
     [(3, "办结日期", "2026-03-01", "办结日期早于受理日期 2026-03-06")]),
    ("home_visits", ["2025-2026学年,城关镇中心小学,城关镇,800,700", "2025-2026学年,城关镇中学,城关镇,500,520"],
     [(3, "已家访学生数", "520", "已家访学生数不能大于在校学生数")]),
    ("home_visits", ["2025-2026学年,城关镇中心小学,城关镇,800,七百"],
     [(2, "已家访学生数", "七百", "“七百”不是数字")]),
    ("home_visits", ["2025-2026学年,城关镇中心小学,城关镇,800,700", "2025-2026学年,城关镇中心小学,城关镇,800,600"],
     [(3, "学校", "城关镇中心小学", "学校在同一年度内重复（与第 2 行相同）")]),
]
HEADERS = {"petitions": PETITION_HEADER, "home_visits": VISIT_HEADER}


@pytest.mark.parametrize("kind, rows, expected", BAD_CELLS)
def test_bad_cells_are_listed_and_nothing_stored(base_db, settings, kind, rows, expected):
    before = db_state(base_db)
    engine = store.connect(base_db)
    plan = prepare_import(body(HEADERS[kind], *rows), "坏文件.csv", kind, settings, engine)
    assert list(plan.validation.errors.itertuples(index=False, name=None)) == expected
    with pytest.raises(store.StoreError, match=r"^文件有 1 处错误，未导入任何数据。$"):
        commit_import(engine, plan, "测试")
    engine.dispose()
    assert db_state(base_db) == before


def test_bad_work_orders_on_the_command_line(base_db, tmp_path, capsys):
    path = tmp_path / "工单.csv"
    path.write_bytes(body(PETITION_HEADER, GOOD_ORDER, "GD002,2026-03-06,微信,城关镇,,作业,办理中,,"))
    before = db_state(base_db)
    code, out, err = run_cli(["import", str(path), "--kind", "petitions", "--db", str(base_db)], capsys)
    assert code == 1 and out == ""
    assert err == ("错误：文件“工单.csv”有 1 处错误，未导入任何数据：\n"
                   "第 3 行，列“渠道”，值“微信”：“渠道”应为 12345/局长信箱/信访/其他，现为“微信”\n")
    assert db_state(base_db) == before


def test_work_orders_stored_one_import_per_month_with_dates_and_channels_normalised(base_db, settings):
    engine = store.connect(base_db)
    plan = prepare_import(body(PETITION_HEADER, GOOD_ORDER, "GD002,2026年4月1日,12345热线,城关镇,,作业,办理中,,",
                               "GD003,2026/4/2 10:30:00,局长信箱,东坝镇,,补课,待办理,,"),
                          "工单.csv", "petitions", settings, engine)
    assert plan.ok, plan.validation.errors
    records = commit_import(engine, plan, "测试")
    assert [(r["period"], r["rows"]) for r in records] == [("2026-03", 1), ("2026-04", 2)]
    stored = store.load_kind(engine, plan.kind).sort_values("order_id")
    assert stored["received"].tolist() == ["2026-03-05", "2026-04-01", "2026-04-02"]
    assert stored["channel"].tolist() == ["12345", "12345", "局长信箱"]
    assert stored["month"].tolist() == ["2026-03", "2026-04", "2026-04"]
    engine.dispose()


def test_month_column_must_agree_with_the_date(base_db, settings):
    engine = store.connect(base_db)
    plan = prepare_import(body(PETITION_HEADER + ",受理月份", GOOD_ORDER + ",2026-04"), "工单.csv", "petitions", settings, engine)
    assert list(plan.validation.errors.itertuples(index=False, name=None)) == [
        (2, "受理月份", "2026-04", "受理月份与受理日期 2026-03-05 不一致")]
    engine.dispose()


def test_personal_numbers_in_work_orders_are_never_stored(base_db, settings):
    engine = store.connect(base_db)
    rows = [GOOD_ORDER,
            "13912345678,2026-03-06,信访,城关镇,,家长电话 139 1234 5678，身份证110101199003071234,办理中,,",
            "GD003,2026-03-07,12345,城关镇,,孩子被欺凌 联系＋86 138-0013-8000,待办理,,"]
    plan = prepare_import(body(PETITION_HEADER, *rows), "工单.csv", "petitions", settings, engine)
    assert plan.ok, plan.validation.errors
    assert any("“工单编号”中有 1 个是或含有手机号或身份证号" in w for w in plan.validation.warnings)
    assert any("“诉求内容”中有 2 条含手机号或身份证号，已打码后存储" in w for w in plan.validation.warnings)
    commit_import(engine, plan, "测试")
    stored = store.load_kind(engine, plan.kind)
    texts = " ".join(stored["content"].tolist() + stored["order_id"].tolist())
    assert "139****5678" in texts and "110101********1234" in texts and "138****8000" in texts
    assert any(o.startswith("隐去#") for o in stored["order_id"])
    engine.dispose()
    raw = raw_db_bytes(base_db)
    for secret in ("13912345678", "110101199003071234", "13800138000", "1234 5678", "138-0013-8000"):
        assert secret.encode() not in raw, secret


def test_ledger_file_errors_name_row_and_column(base_db, settings):
    engine = store.connect(base_db)
    before = db_state(base_db)
    bad = body(LEDGER_HEADER, GOOD_PROBLEM,
               "TZ2,补习,城关镇,,问题,工单,,,责任单位,2026-03-01,2026-04-30,整改中,",
               "TZ3,课业负担,城关镇,,问题,媒体,,,责任单位,2026-03-01,2026-04-30,整改中,",
               "TZ4,课业负担,,,问题,工单,,,责任单位,2026-03-01,2026-04-30,整改中,")
    checked, ids = ledger.import_ledger(engine, bad, "台账.csv", settings, "测试")
    assert ids == []
    assert list(checked.errors.itertuples(index=False, name=None))[:2] == [
        (3, "分项", "补习", f"分项“补习”不在分项列表中，应为 {'/'.join(settings.items)} 或“其他”"),
        (4, "问题来源", "媒体", "“问题来源”应为 工单/问卷意见/督导/其他，现为“媒体”")]
    engine.dispose()
    assert db_state(base_db) == before


def test_a_ledger_file_is_held_to_the_settings_upload_limits(base_db, settings):
    """The 整改跟踪 uploader reads under the same limits as 数据管理's: survey.max_rows here."""
    engine = store.connect(base_db)
    before = db_state(base_db)
    rows = [GOOD_PROBLEM.replace("TZ1,", f"TZ{i},", 1) for i in range(1, 6)]
    with pytest.raises(ReadError, match=r"^文件有 5 行数据，超过上限 4 行（设置项 survey.max_rows），请拆分后分批上传。$"):
        ledger.import_ledger(engine, body(LEDGER_HEADER, *rows), "台账.csv", dataclasses.replace(settings, max_rows=4), "小李")
    engine.dispose()
    assert db_state(base_db) == before


@pytest.mark.parametrize("row, expected", [
    ("TZ4,课业负担,,,问题,工单,,,责任单位,2026-03-01,2026-04-30,整改中,", (2, "乡镇（街道）", "", "乡镇（街道）与学校至少填写一项")),
    ("TZ5,课业负担,城关镇,,问题,工单,,,责任单位,2026-03-01,2026-04-30,已销号,", (2, "销号日期", "", "整改状态为“已销号”时须填写销号日期")),
    ("TZ6,课业负担,城关镇,,问题,工单,,,责任单位,2026-03-01,2026-02-01,整改中,", (2, "完成时限", "2026-02-01", "完成时限早于登记日期")),
])
def test_ledger_consistency_rules(base_db, settings, row, expected):
    engine = store.connect(base_db)
    checked, ids = ledger.import_ledger(engine, body(LEDGER_HEADER, row), "台账.csv", settings, "测试")
    assert ids == [] and list(checked.errors.itertuples(index=False, name=None)) == [expected]
    engine.dispose()


def test_ledger_changes_are_events_and_audited(base_db, settings):
    engine = store.connect(base_db)
    version = store.data_version(engine)
    checked, ids = ledger.import_ledger(engine, body(LEDGER_HEADER, GOOD_PROBLEM), "台账.csv", settings, "小李")
    assert checked.ok and ids == ["TZ1"]
    assert store.data_version(engine) > version  # pages see the change
    checked, changed = ledger.update_problem(engine, "TZ1", {"state": "已销号"}, settings, "小李")
    assert checked.ok and changed == {"state": "已销号", "closed": dt.date.today().isoformat()}
    now = ledger.current_ledger(engine).iloc[0]
    assert (now["state"], now["closed"], now["measure"], now["updated_by"]) == ("已销号", dt.date.today().isoformat(), "作业公示", "小李")
    events = ledger.read_events(engine)
    assert events["action"].tolist() == ["create", "update"]
    assert json.loads(events["fields_json"].iloc[1]) == changed
    audit = store.audit_entries(engine)
    assert audit["action"].tolist()[:2] == ["ledger_close", "ledger_create"]
    assert audit["file_name"].iloc[0].startswith("TZ1 整改状态：整改中 → 已销号")
    # An edit that breaks a rule stores nothing.
    checked, changed = ledger.update_problem(engine, "TZ1", {"deadline": "2020-01-01"}, settings, "小李")
    assert not checked.ok and changed == {} and len(ledger.read_events(engine)) == 2
    with pytest.raises(store.StoreError, match="已在问题台账中"):
        ledger.import_ledger(engine, body(LEDGER_HEADER, GOOD_PROBLEM), "台账.csv", settings, "小李")
    engine.dispose()


def test_new_problems_without_an_id_are_numbered(base_db, settings):
    engine = store.connect(base_db)
    row = {"item": "课业负担", "township": "城关镇", "problem": "作业多", "source": "工单", "owner": "城关镇中心学校",
           "created": "2026-03-01", "deadline": "2026-04-30", "state": "未整改"}
    checked, ids = ledger.add_problems(engine, pd.DataFrame([row, row], index=[1, 2]), settings, "小李")
    year = dt.date.today().year
    assert checked.ok and ids == [f"TZ{year}-001", f"TZ{year}-002"]
    engine.dispose()
