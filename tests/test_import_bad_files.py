"""The bad-input corpus (tests/fixtures/bad/): every file gets its Chinese message and leaves the stored data exactly as they were.

Expected messages and error rows are written by hand from the file contents (see make_bad_files.py):
survey files have a one-line header, so data row k is Excel row k + 1.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis.data import store
from analysis.data.importing import commit_import, import_path, prepare_import
from analysis.data.readers import ReadError
from analysis.formatting import csv_bytes
from tests.conftest import ROOT
from tests.upload_support import BAD, NEW_WAVE, STORED_WAVE, db_state, raw_db_bytes, run_cli, survey_csv

RESAVE = "请在 Excel 中“另存为”“CSV UTF-8（逗号分隔）”或 .xlsx 后再上传。"
REQUIRED = "必填列为：受访者编号、测评批次、县区、总体满意度。"
ALLOWED = "满意/比较满意/一般/不太满意/不满意/不了解/说不清/拒答（或代码 1、2、3、4、5、9）"

# Files that cannot be read at all: (file, exact message).
UNREADABLE = [
    ("empty.csv", "文件是空的，没有任何内容。"),
    ("blank_commas.csv", "文件是空的，没有任何内容。"),
    ("header_only.csv", "文件只有表头，没有数据行。"),
    ("latin1_junk.csv", "无法识别文件编码（既不是 UTF-8 也不是 GBK/GB18030）。" + RESAVE),
    ("latin1_mojibake.csv", "无法识别文件编码：按 GBK/GB18030 读出的是乱码（可能是西文 Latin-1 等编码）。" + RESAVE),
    ("mixed_encoding.csv", "文件前面是 UTF-8 编码，但第 9 行附近出现了其他编码（GBK 等）的字符，可能是把不同编码的文件拼接在一起。" + RESAVE),
    ("binary_junk.csv", "“binary_junk.csv”不是文本表格（含二进制内容），请上传 CSV 或 .xlsx 文件。"),
    ("utf16.csv", "文件是 UTF-16 编码（Excel“Unicode 文本”），" + RESAVE),
    ("pdf_renamed.csv", "这是 PDF 文件，不是表格。请上传 CSV 或 .xlsx 文件。"),
    ("old_excel.xls", "这是旧版 Excel（.xls）或其他 Office 二进制文件，" + RESAVE),
    ("xls_renamed.csv", "这是旧版 Excel（.xls）或其他 Office 二进制文件，" + RESAVE),
    ("numbers_renamed.xlsx", "这是苹果 Numbers 文件，请在 Numbers 中“导出为”Excel（.xlsx）或 CSV 后再上传。"),
    ("numbers_renamed.csv", "这是苹果 Numbers 文件，请在 Numbers 中“导出为”Excel（.xlsx）或 CSV 后再上传。"),
    ("plain_zip.csv", "这是一个压缩包（.zip 等），不是 .xlsx 或 CSV 文件，请解压后上传其中的表格。"),
    ("corrupt.xlsx", "文件已损坏（压缩结构不完整），无法作为 .xlsx 打开。请在 Excel 中重新保存后再上传。"),
    ("missing_required.csv", "缺少必填列：总体满意度（第 1 行被识别为表头）。" + REQUIRED),
    ("duplicate_header.csv", "表头重复：第 C 列“县区”和第 I 列“县区”都是“县区”，请删除其中一列。"),
    ("duplicate_header_alias.csv", "表头重复：第 C 列“县区”和第 I 列“区县”都是“县区”，请删除其中一列。"),
    ("ragged_row.csv", "第 8 行的单元格比表头多（表头只有 8 列），可能是内容里有未加引号的逗号，请检查这些行。"),
    ("unclosed_quote.csv", "CSV 格式错误：第 4 行有未配对的引号（从该处到文件末尾都被当成了一个单元格），请检查该行。"),
    ("wrong_sheet.xlsx", "缺少必填列：受访者编号、测评批次、县区、总体满意度（第 1 行被识别为表头）。"
                         "本工作簿有多个工作表（说明、问卷），请确认选择了正确的工作表。" + REQUIRED),
]

# Files that read but hold bad cells: (file, kind, [(Excel row, column, value, reason)]).
BAD_CELLS = [
    ("unknown_county.csv", "responses", [(4, "县区", "云西县", "县区“云西县”不在本市县区列表中，是否为“云溪县”？")]),
    ("unknown_answer.csv", "responses", [(3, "总体满意度", "很满意", f"“很满意”不是有效答案，应为：{ALLOWED}")]),
    ("code_out_of_range.csv", "responses", [(5, "办学条件", "7", "答案代码 7 不在允许的代码（1、2、3、4、5、9）之内")]),
    ("weight_negative.csv", "responses", [(2, "权重", "-1", "权重必须大于 0，现为 -1")]),
    ("weight_zero.csv", "responses", [(3, "权重", "0", "权重必须大于 0，现为 0")]),
    ("weight_text.csv", "responses", [(4, "权重", "一", "“一”不是数字")]),
    ("duplicate_ids.csv", "responses", [(5, "受访者编号", "R001", "受访者编号在同一测评批次内重复（与第 2 行相同）")]),
    ("wave_missing.csv", "responses", [(3, "测评批次", "", "必填项“测评批次”为空")]),
    ("title_rows.xlsx", "responses", [(6, "县区", "云溪", "县区“云溪”不在本市县区列表中，是否为“云溪县”？")]),
    ("published_rank_out_of_range.csv", "published", [(3, "名次", "12", "名次应在 1–11 之间，现为 12")]),
    ("classes_bad_grade.csv", "classes", [(3, "年级", "一年级", "年级“一年级”不属于学段“初中”")]),
    ("preschool_parts_exceed.csv", "preschool", [(2, "普惠性民办园在园幼儿数", "800", "公办园与普惠性民办园在园幼儿数之和大于在园幼儿数")]),
]


def fixture_bytes(name: str) -> bytes:
    return (BAD / name).read_bytes()


def test_corpus_is_complete_and_generated_by_the_script():
    sys.path.insert(0, str(BAD))
    try:
        import make_bad_files
    finally:
        sys.path.remove(str(BAD))
    generated = make_bad_files.files()
    on_disk = {p.name for p in BAD.iterdir() if p.suffix != ".py" and p.is_file()}
    assert set(generated) == on_disk
    assert len(on_disk) >= 25
    for name, body in generated.items():
        assert (BAD / name).read_bytes() == body, f"{name} differs from make_bad_files.py; rerun the script"


@pytest.mark.parametrize("name, message", UNREADABLE)
def test_unreadable_file_is_refused_and_nothing_stored(base_db, settings, name, message):
    before = db_state(base_db)
    engine = store.connect(base_db)
    with pytest.raises(ReadError) as caught:
        prepare_import(fixture_bytes(name), name, "responses", settings, engine)
    engine.dispose()
    assert str(caught.value) == message
    assert db_state(base_db) == before


@pytest.mark.parametrize("name, message", UNREADABLE)
def test_unreadable_file_on_the_command_line(base_db, capsys, name, message):
    before = db_state(base_db)
    code, out, err = run_cli(["import", str(BAD / name), "--kind", "responses", "--db", str(base_db)], capsys)
    assert code == 1 and out == ""
    assert err == f"错误：“{name}”未导入：{message}\n"
    assert db_state(base_db) == before


@pytest.mark.parametrize("name, kind, expected", BAD_CELLS)
def test_bad_cells_are_listed_and_nothing_stored(base_db, settings, name, kind, expected):
    before = db_state(base_db)
    engine = store.connect(base_db)
    plan = prepare_import(fixture_bytes(name), name, kind, settings, engine)
    assert not plan.ok
    assert list(plan.validation.errors.columns) == ["行号", "列", "值", "问题"]
    assert list(plan.validation.errors.itertuples(index=False, name=None)) == expected
    with pytest.raises(store.StoreError, match=r"^文件有 1 处错误，未导入任何数据。$"):
        commit_import(engine, plan, "测试")
    engine.dispose()
    assert db_state(base_db) == before


@pytest.mark.parametrize("name, kind, expected", BAD_CELLS)
def test_bad_cells_on_the_command_line(base_db, capsys, name, kind, expected):
    before = db_state(base_db)
    code, out, err = run_cli(["import", str(BAD / name), "--kind", kind, "--db", str(base_db)], capsys)
    assert code == 1 and out == ""
    lines = [f"错误：文件“{name}”有 1 处错误，未导入任何数据："] + [f"第 {r} 行，列“{c}”，值“{v}”：{why}" for r, c, v, why in expected]
    assert err == "\n".join(lines) + "\n"
    assert db_state(base_db) == before


def test_error_table_downloads_as_csv_with_the_same_rows(base_db, settings):
    engine = store.connect(base_db)
    plan = prepare_import(fixture_bytes("unknown_county.csv"), "unknown_county.csv", "responses", settings, engine)
    rows = list(csv.reader(io.StringIO(csv_bytes(plan.validation.errors).decode("utf-8-sig"))))
    assert rows == [["行号", "列", "值", "问题"], ["4", "县区", "云西县", "县区“云西县”不在本市县区列表中，是否为“云溪县”？"]]


def test_wrong_sheet_then_the_right_sheet(base_db, settings):
    engine = store.connect(base_db)
    plan = prepare_import(fixture_bytes("wrong_sheet.xlsx"), "wrong_sheet.xlsx", "responses", settings, engine, sheet="问卷")
    assert plan.ok and plan.read.sheet == "问卷" and plan.read.sheets == ["说明", "问卷"]
    assert plan.validation.frame["respondent_id"].tolist() == ["R001", "R002", "R003"]
    with pytest.raises(ReadError, match="^工作表“问卷2”不存在，可选：说明、问卷$"):
        prepare_import(fixture_bytes("wrong_sheet.xlsx"), "wrong_sheet.xlsx", "responses", settings, engine, sheet="问卷2")


def test_gbk_file_named_utf8_is_read_as_gbk_with_a_notice(base_db, settings):
    engine = store.connect(base_db)
    before = db_state(base_db)
    plan = prepare_import(fixture_bytes("gbk_named_utf8.utf8.csv"), "gbk_named_utf8.utf8.csv", "responses", settings, engine)
    assert plan.read.encoding == "GBK/GB18030"
    assert plan.read.notices == ["文件名标注为 UTF-8 编码，但内容实际是 GBK/GB18030 编码，已按 GBK/GB18030 读取。"]
    assert db_state(base_db) == before  # checking writes nothing
    commit_import(engine, plan, "测试")
    stored = store.load_kind(engine, plan.kind)
    assert stored.loc[stored["wave"] == NEW_WAVE, "county"].unique().tolist() == ["云溪县"]


def test_title_rows_are_skipped_with_a_notice_and_rows_keep_excel_numbers(base_db, settings):
    engine = store.connect(base_db)
    plan = prepare_import(fixture_bytes("title_rows_ok.xlsx"), "title_rows_ok.xlsx", "responses", settings, engine)
    assert plan.ok
    assert plan.read.notices == ["已跳过表头上方的 2 行标题（表头在第 3 行）。"]
    assert plan.read.header_row == 3
    assert plan.validation.frame.index.tolist() == [4, 5, 6, 7, 8, 9]
    commit_import(engine, plan, "测试")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT excel_row, respondent_id FROM data_responses d JOIN imports i ON i.id = d.import_id "
                                    "WHERE i.period = ? ORDER BY excel_row", (NEW_WAVE,)).fetchall()
    assert rows == [(4, "R001"), (5, "R002"), (6, "R003"), (7, "R004"), (8, "R005"), (9, "R006")]


def test_formulas_and_script_text_are_stored_as_inert_text_and_exports_neutralised(base_db, settings):
    engine = store.connect(base_db)
    plan = prepare_import(fixture_bytes("formula_script.csv"), "formula_script.csv", "responses", settings, engine)
    assert plan.ok
    commit_import(engine, plan, "测试")
    stored = store.load_kind(engine, plan.kind)
    stored = stored[stored["wave"] == NEW_WAVE]
    assert stored["comment"].tolist()[:5] == ['=HYPERLINK("http://example.invalid","点我")', "+1+1", "-2+3", "@SUM(A1:A2)",
                                              "<script>alert('x')</script>"]
    assert stored["township"].tolist()[5] == "<b>城关镇</b>"
    exported = list(csv.DictReader(io.StringIO(csv_bytes(stored[["comment"]]).decode("utf-8-sig"))))
    assert [r["comment"] for r in exported][:5] == ['\'=HYPERLINK("http://example.invalid","点我")', "'+1+1", "'-2+3", "'@SUM(A1:A2)",
                                                    "<script>alert('x')</script>"]


def test_formula_cells_in_xlsx_are_never_evaluated(base_db, settings):
    engine = store.connect(base_db)
    plan = prepare_import(fixture_bytes("formula_cells.xlsx"), "formula_cells.xlsx", "responses", settings, engine)
    assert plan.ok
    commit_import(engine, plan, "测试")
    stored = store.load_kind(engine, plan.kind)
    comments = stored.loc[stored["wave"] == NEW_WAVE, "comment"].tolist()
    # Row 3 is a real formula Excel never calculated: no cached value, so it reads as empty (never run, never stored as code).
    assert comments[0] == "=1+1" and pd.isna(comments[1]) and comments[2] == "@SUM(A1:A2)" and comments[3] == "希望<b>多开</b>课后服务"


def test_unknown_columns_are_ignored_with_a_warning_and_not_stored(base_db, settings):
    engine = store.connect(base_db)
    plan = prepare_import(fixture_bytes("unknown_columns.csv"), "unknown_columns.csv", "responses", settings, engine)
    assert plan.ok
    assert "以下列不在数据规范中，已忽略（不会存储）：身份证号、备注" in plan.validation.warnings
    commit_import(engine, plan, "测试")
    assert b"110101199003071234" not in raw_db_bytes(base_db)


NO_KEY = ("服务器没有设置密钥 SATISFACTION_ID_KEY，上述编码用的是程序自带的公开密钥：拿到数据库的人可以逐个号码试算还原。"
          "请管理员设置该环境变量（见 deploy/README.md）后再导入正式数据。")


@pytest.mark.parametrize("key", [None, "a-secret-key"], ids=["default key", "key set"])
def test_phone_and_id_numbers_are_never_stored_in_clear(base_db, settings, monkeypatch, key):
    if key:
        monkeypatch.setenv("SATISFACTION_ID_KEY", key)
    else:
        monkeypatch.delenv("SATISFACTION_ID_KEY", raising=False)
    engine = store.connect(base_db)
    plan = prepare_import(fixture_bytes("personal_numbers.csv"), "personal_numbers.csv", "responses", settings, engine)
    assert plan.ok
    expected = ["“受访者编号”中有 1 个是或含有手机号或身份证号，为保护隐私已改为“隐去#”加不可还原的编码存储（同一号码编码相同）。",
                *([] if key else [NO_KEY]), "“意见建议”中有 1 条含手机号或身份证号，已打码后存储。"]
    assert plan.validation.warnings[:len(expected)] == expected
    commit_import(engine, plan, "测试")
    stored = store.load_kind(engine, plan.kind)
    stored = stored[stored["wave"] == NEW_WAVE]
    assert stored["comment"].iloc[0] == "请回电 138****5678，身份证 110101********1234"
    assert stored["respondent_id"].tolist()[0] == "R001"
    assert stored["respondent_id"].tolist()[1].startswith("隐去#")
    raw = raw_db_bytes(base_db)
    for secret in ("13812345678", "110101199003071234", "13912345678"):
        assert secret.encode() not in raw


def test_phone_column_is_dropped(base_db, settings):
    engine = store.connect(base_db)
    plan = prepare_import(fixture_bytes("phone_column.csv"), "phone_column.csv", "responses", settings, engine)
    assert plan.ok and "phone" not in plan.validation.frame.columns
    commit_import(engine, plan, "测试")
    raw = raw_db_bytes(base_db)
    assert b"13800000000" not in raw and b"13800000005" not in raw


def test_overlapping_wave_is_refused_unless_replacing_and_stays_recoverable(base_db, settings, capsys):
    before = db_state(base_db)
    engine = store.connect(base_db)
    plan = prepare_import(fixture_bytes("overlap_wave.csv"), "overlap_wave.csv", "responses", settings, engine)
    assert plan.ok and plan.overlap == [STORED_WAVE]
    with pytest.raises(store.StoreError) as caught:
        commit_import(engine, plan, "测试")
    assert str(caught.value) == (f"数据库中已有 {STORED_WAVE} 的调查问卷数据，未导入任何数据；"
                                 "如需替换，请勾选“我确认替换已有批次”（命令行加 --replace）。")
    assert db_state(base_db) == before
    code, _, err = run_cli(["import", str(BAD / "overlap_wave.csv"), "--kind", "responses", "--db", str(base_db)], capsys)
    assert code == 1 and err == f"错误：“overlap_wave.csv”未导入：{caught.value}\n"
    assert db_state(base_db) == before
    # With explicit confirmation the wave is replaced, and the replaced rows stay recoverable.
    records = commit_import(engine, plan, "测试", replace=True)
    assert [(r["period"], r["rows"], r["action"]) for r in records] == [(STORED_WAVE, 6, "replace")]
    history = store.import_history(engine)
    assert history[["id", "status", "rows"]].values.tolist() == [[2, "active", 6], [1, "replaced", 70]]
    store.set_status(engine, 1, "active", "测试")
    assert len(store.load_kind(engine, plan.kind)) == 70


def test_too_many_rows_is_refused(base_db, settings):
    before = db_state(base_db)
    small = dataclasses.replace(settings, max_rows=30)
    with pytest.raises(ReadError, match=r"^文件有 40 行数据，超过上限 30 行（设置项 survey.max_rows），请拆分后分批上传。$"):
        prepare_import(fixture_bytes("too_many_rows.csv"), "too_many_rows.csv", "responses", small, store.connect(base_db))
    assert db_state(base_db) == before


@pytest.mark.parametrize("where, row", [("header", 1), ("row 3", 4)])
def test_a_csv_wider_than_1024_columns_is_refused_before_it_is_parsed(base_db, settings, where, row):
    """100,000 columns in 2 MB took a minute and 2 GB to read before the limit; a row is checked as soon as it is met."""
    lines = survey_csv(5, NEW_WAVE).split("\r\n")
    lines[row - 1] += "," * 100_000
    before = db_state(base_db)
    with pytest.raises(ReadError) as caught:
        prepare_import("\r\n".join(lines).encode("utf-8"), "wide.csv", "responses", settings, store.connect(base_db))
    assert str(caught.value) == (f"文件第 {row} 行有超过 1,024 列的内容（表格右侧可能有多余的分隔符或单元格），"
                                 "请删除多余的列后再上传。")
    assert db_state(base_db) == before


def test_a_csv_of_exactly_1024_columns_is_read(base_db, settings):
    lines = survey_csv(3, NEW_WAVE).split("\r\n")
    width = len(lines[0].split(","))
    lines = [line + "," * (1024 - width) if line else line for line in lines]
    plan = prepare_import("\r\n".join(lines).encode("utf-8"), "wide_ok.csv", "responses", settings, store.connect(base_db))
    assert plan.ok and len(plan.validation.frame) == 3


def test_file_over_the_upload_limit_gets_a_clear_message(base_db, settings):
    before = db_state(base_db)
    body = survey_csv(3, NEW_WAVE).encode("utf-8-sig")
    body += b"\n" * (3 * 2**19 - len(body))  # blank lines up to exactly 1.5 MB
    with pytest.raises(ReadError) as caught:
        prepare_import(body, "big.csv", "responses", settings, store.connect(base_db), max_bytes=2**20)
    assert str(caught.value) == "文件大小 1.5 MB 超过上传上限 1 MB，请拆分成几个文件分批上传（或由管理员用命令行 python -m analysis import 导入）。"
    assert db_state(base_db) == before


def test_200k_rows_with_one_bad_row_at_the_end(base_db, settings, tmp_path):
    counties = settings.counties
    lines = ["受访者编号,测评批次,县区,总体满意度,权重,意见建议"]
    for i in range(1, 200_001):
        comment = '"第一行\n第二行"' if i == 10 else ""  # a two-line cell is still one Excel row
        lines.append(f"B{i},{NEW_WAVE},{counties[i % len(counties)]},满意,1,{comment}")
    lines[-1] = f"B200000,{NEW_WAVE},云溪镇,满意,1,"
    path = tmp_path / "big.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    before = db_state(base_db)
    plan, records = import_path(path, "responses", settings, store.connect(base_db), user="测试")
    assert records == []
    assert plan.read.encoding == "GBK/GB18030"
    assert list(plan.validation.errors.itertuples(index=False, name=None)) == [
        (200_001, "县区", "云溪镇", "县区“云溪镇”不在本市县区列表中，是否为“云溪县”？")]
    assert db_state(base_db) == before


INTERRUPTED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from analysis.data import store
    from analysis.data.importing import import_path
    from analysis.settings import load_settings

    store.INSERT_CHUNK_ROWS = 10
    original, calls = store.insert_rows, []

    def slow_insert(conn, sql, rows):
        original(conn, sql, rows)
        calls.append(len(rows))
        if len(calls) == 3:  # 30 rows written inside the open transaction: now wait to be killed
            Path(sys.argv[3]).write_text("half-written")
            time.sleep(120)

    store.insert_rows = slow_insert
    import_path(Path(sys.argv[2]), "responses", load_settings(), store.connect(sys.argv[1]), user="被中断")
""")


def test_interrupted_import_leaves_the_database_as_it_was(any_db, settings, tmp_path):
    script = tmp_path / "slow_import.py"
    script.write_text(INTERRUPTED, encoding="utf-8")
    data = tmp_path / "wave3.csv"
    data.write_text(survey_csv(100, NEW_WAVE), encoding="utf-8-sig")
    marker = tmp_path / "marker"
    before = db_state(any_db)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script), str(any_db), str(data), str(marker)], cwd=ROOT, env=env)
    try:
        deadline = time.time() + 60
        while not marker.exists():
            assert proc.poll() is None, "the import finished or failed before it could be interrupted"
            assert time.time() < deadline, "the import never reached the slow insert"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert db_state(any_db) == before
    # The lock died with the process: the same file imports normally afterwards, whole.
    plan, records = import_path(data, "responses", settings, store.connect(any_db), user="测试")
    assert [(r["period"], r["rows"]) for r in records] == [(NEW_WAVE, 100)]


def assert_no_half_wave(path: Path | str) -> None:
    """Every import's rows are all there (the rows column matches the stored rows)."""
    state = db_state(path)
    engine = store.connect(path)
    with engine.connect() as conn:
        stored = dict(conn.exec_driver_sql("SELECT import_id, COUNT(*) FROM data_responses GROUP BY import_id").fetchall())
    assert {h["id"]: h["rows"] for h in state["history"]} == stored


def test_two_imports_of_the_same_wave_at_once_one_lands_one_is_refused(any_db, settings):
    plans = []
    for prefix in ("A", "B"):
        engine = store.connect(any_db)
        text = survey_csv(2000, NEW_WAVE, prefix=prefix)
        plans.append((engine, prepare_import(text.encode("utf-8"), f"{prefix}.csv", "responses", settings, engine)))
    results: dict[str, object] = {}

    def run(name, engine, plan):
        try:
            results[name] = commit_import(engine, plan, name)
        except store.StoreError as exc:
            results[name] = exc

    threads = [threading.Thread(target=run, args=(p.file_name, e, p)) for e, p in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    refused = [v for v in results.values() if isinstance(v, store.StoreError)]
    landed = [v for v in results.values() if isinstance(v, list)]
    assert len(refused) == 1 and len(landed) == 1
    assert str(refused[0]).startswith(f"数据库中已有 {NEW_WAVE} 的调查问卷数据，未导入任何数据")
    engine = store.connect(any_db)
    active = store.import_history(engine).query("status == 'active' and period == @NEW_WAVE")
    assert len(active) == 1 and active["rows"].iloc[0] == 2000
    ids = store.load_kind(engine, plans[0][1].kind).query("wave == @NEW_WAVE")["respondent_id"].str[0].unique().tolist()
    assert ids == [active["file_name"].iloc[0][0]]  # every row from the one file that landed
    assert_no_half_wave(any_db)


def import_in_two_processes(any_db, tmp_path, files: dict[str, str]) -> tuple[list, list]:
    """Start `python -m analysis import` on each {prefix: wave} file at once; the processes and their (stdout, stderr)."""
    paths = []
    for prefix, wave in files.items():
        path = tmp_path / f"{prefix}.csv"
        path.write_text(survey_csv(3000, wave, prefix=prefix), encoding="utf-8-sig")
        paths.append(path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "analysis", "import", str(p), "--kind", "responses", "--db", str(any_db)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p in paths]
    return procs, [p.communicate(timeout=120) for p in procs]


def test_two_processes_importing_different_waves_both_land(any_db, tmp_path):
    procs, outputs = import_in_two_processes(any_db, tmp_path, {"A": NEW_WAVE, "B": "2026年第4季度"})
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sorted(out.decode().strip().split("：")[0] for out, _ in outputs) == ["已导入调查问卷 3,000 行"] * 2
    engine = store.connect(any_db)
    waves = store.stored_waves(engine)
    assert waves[["wave", "rows"]].values.tolist() == [[STORED_WAVE, 70], [NEW_WAVE, 3000], ["2026年第4季度", 3000]]
    assert_no_half_wave(any_db)


def test_two_processes_importing_the_same_wave_never_half_write(any_db, tmp_path):
    procs, outputs = import_in_two_processes(any_db, tmp_path, {"A": NEW_WAVE, "B": NEW_WAVE})
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], outputs
    refused = next(err.decode() for (out, err), p in zip(outputs, procs) if p.returncode == 1)
    assert f"数据库中已有 {NEW_WAVE} 的调查问卷数据，未导入任何数据" in refused
    engine = store.connect(any_db)
    assert store.stored_waves(engine)[["wave", "rows"]].values.tolist() == [[STORED_WAVE, 70], [NEW_WAVE, 3000]]
    assert_no_half_wave(any_db)
