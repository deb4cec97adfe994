"""The command line: import (summary, errors, sheets, replace), waves --json and hash-password."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys

import openpyxl

from analysis.accounts import verify_password
from analysis.cli import main as cli
from analysis.data import store
from tests.conftest import ROOT
from tests.upload_support import BAD, NEW_WAVE, STORED_WAVE, db_state, survey_csv


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_import_prints_one_chinese_line(base_db, tmp_path, capsys):
    path = tmp_path / "第三季度.csv"
    path.write_bytes(survey_csv(6, NEW_WAVE).encode("utf-8-sig"))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    code, out, err = run(["import", str(path), "--kind", "responses", "--db", str(base_db)], capsys)
    assert code == 0
    assert out == f"已导入调查问卷 6 行：{NEW_WAVE}；编码 UTF-8（带BOM）；SHA-256 {sha[:12]}…\n"
    small, partial = err.splitlines()
    assert small == f"提示：{NEW_WAVE} 云溪县 只有 6 份问卷（少于 30 份），其得分和名次很不稳定。"
    # One county of eleven and no published table: the analyst is told the wave cannot be ranked yet.
    assert partial.startswith(f"提示：{NEW_WAVE} 只有 1 个县区的问卷，缺 临江区、") and partial.endswith("否则该批次无法排名。")
    assert store.audit_entries(store.connect(base_db))["user"].iloc[0] == "命令行"


def test_import_uses_satisfaction_db_when_no_db_is_given(base_db, tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_bytes(survey_csv(35, NEW_WAVE).encode())
    code, out, _ = run(["import", str(path), "--kind", "responses"], capsys)
    assert code == 0 and out.startswith("已导入调查问卷 35 行")
    assert db_state(base_db)["version"] == 2


def test_missing_file(base_db, capsys):
    before = db_state(base_db)
    code, out, err = run(["import", "/nonexistent/问卷.csv", "--kind", "responses", "--db", str(base_db)], capsys)
    assert (code, out, err) == (1, "", "错误：找不到文件：/nonexistent/问卷.csv\n")
    assert db_state(base_db) == before


def test_many_errors_are_listed_then_counted(base_db, tmp_path, capsys):
    lines = survey_csv(60, NEW_WAVE).replace(",云溪县,", ",云西县,")
    path = tmp_path / "bad.csv"
    path.write_text(lines, encoding="utf-8")
    before = db_state(base_db)
    code, _, err = run(["import", str(path), "--kind", "responses", "--db", str(base_db)], capsys)
    assert code == 1
    err_lines = err.splitlines()
    assert err_lines[0] == "错误：文件“bad.csv”有 60 处错误，未导入任何数据："
    assert err_lines[1] == "第 2 行，列“县区”，值“云西县”：县区“云西县”不在本市县区列表中，是否为“云溪县”？"
    assert err_lines[-1] == "……另有 10 处错误"
    assert len(err_lines) == 52
    assert db_state(base_db) == before


def test_xlsx_sheet_option(base_db, capsys):
    code, out, _ = run(["import", str(BAD / "wrong_sheet.xlsx"), "--kind", "responses", "--sheet", "问卷", "--db", str(base_db)], capsys)
    assert code == 0 and out.startswith(f"已导入调查问卷 3 行：{NEW_WAVE}；编码 Excel 工作簿（.xlsx）；")


def test_replace_option(base_db, capsys):
    code, out, _ = run(["import", str(BAD / "overlap_wave.csv"), "--kind", "responses", "--replace", "--db", str(base_db)], capsys)
    assert code == 0
    assert out.startswith(f"已导入调查问卷 6 行：{STORED_WAVE}（替换 1 个批次）；")
    assert store.import_history(store.connect(base_db))["status"].tolist() == ["active", "replaced"]


def test_waves_json(base_db, tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text(f"测评批次,县区,得分,名次\n{NEW_WAVE},云溪县,85.2,5\n{NEW_WAVE},临江区,90.1,1\n", encoding="utf-8")
    assert run(["import", str(path), "--kind", "published", "--db", str(base_db)], capsys)[0] == 0
    code, out, _ = run(["waves", "--json", "--db", str(base_db)], capsys)
    assert code == 0
    waves = json.loads(out)
    assert [{k: w[k] for k in ("wave", "kind", "rows")} for w in waves] == [
        {"wave": NEW_WAVE, "kind": "published", "rows": 2}, {"wave": STORED_WAVE, "kind": "responses", "rows": 70}]
    assert all(set(w) == {"wave", "kind", "rows", "imported_at"} and len(w["imported_at"]) == 19 for w in waves)


def test_waves_on_an_empty_database(tmp_path, capsys):
    assert run(["waves", "--json", "--db", str(tmp_path / "empty.db")], capsys)[1] == "[]\n"
    assert run(["waves", "--db", str(tmp_path / "empty.db")], capsys)[1] == "数据库中还没有数据。\n"


def test_hash_password_from_stdin():
    result = subprocess.run([sys.executable, "-m", "analysis", "hash-password"], input="正确的马电池订书钉\n", capture_output=True,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert result.returncode == 0 and result.stderr == ""
    line = result.stdout.strip()
    assert line.startswith("pbkdf2_sha256$600000$") and "正确的马电池订书钉" not in result.stdout
    assert verify_password("正确的马电池订书钉", line)
    assert not verify_password("正确的马电池订书", line)


def test_hash_password_too_short(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert run(["hash-password"], capsys) == (1, "", "错误：密码至少需要 8 个字符。\n")


def test_hash_password_at_a_terminal_asks_twice(capsys, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    answers = iter(["secret-one", "secret-two"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(answers))
    assert run(["hash-password"], capsys) == (1, "", "错误：两次输入的密码不一致。\n")
    answers = iter(["secret-one", "secret-one"])
    code, out, _ = run(["hash-password"], capsys)
    assert code == 0 and verify_password("secret-one", out.strip())


def test_xlsx_numeric_codes_import(base_db, tmp_path, capsys):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["受访者编号", "测评批次", "县区", "总体满意度", "办学条件"])
    for i, code in enumerate([1, 2, 3, 4, 5, 9], start=1):
        sheet.append([i, NEW_WAVE, "云溪县", code, code])
    path = tmp_path / "codes.xlsx"
    book.save(path)
    assert run(["import", str(path), "--kind", "responses", "--db", str(base_db)], capsys)[0] == 0
    with store.connect(base_db).connect() as conn:
        rows = conn.exec_driver_sql("SELECT respondent_id, overall FROM data_responses WHERE wave = ? ORDER BY excel_row", (NEW_WAVE,)).fetchall()
    assert rows == [("1", "满意"), ("2", "比较满意"), ("3", "一般"), ("4", "不太满意"), ("5", "不满意"), ("6", "不了解")]
