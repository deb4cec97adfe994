"""Backups that restore, on SQLite and PostgreSQL: import, back up, damage the database, restore, and every wave and the
audit log are back; a backup taken while an import writes holds none of its rows; restore asks first and refuses
files that are not backups, changing nothing."""

from __future__ import annotations

import io
import threading

import pytest
import sqlalchemy as sa

from analysis.cli import main as cli
from analysis.data import backup, store
from analysis.data.contract import responses_kind
from analysis.data.importing import commit_import, prepare_import
from analysis.survey.planner import Move
from analysis.survey.scenarios import load_scenarios, save_scenario
from tests.upload_support import NEW_WAVE, STORED_WAVE, db_state, survey_csv


def import_csv(engine, settings, text: str, user: str = "分析员") -> list[dict]:
    plan = prepare_import(text.encode("utf-8-sig"), "新批次.csv", "responses", settings, engine)
    return commit_import(engine, plan, user)


def test_backup_damage_restore_finds_every_wave_and_the_audit_log(any_db, settings, tmp_path, capsys):
    engine = store.connect(any_db)
    import_csv(engine, settings, survey_csv(40, NEW_WAVE))
    import_csv(engine, settings, survey_csv(7, "2026年第4季度"))
    store.set_status(engine, 3, "deleted", "分析员")
    save_scenario(engine, "方案一", NEW_WAVE, [Move("办学条件", "一般", "满意", 0.2)], "分析员")
    before = db_state(any_db)
    rows_before = store.load_kind(engine, responses_kind(settings.items))

    out = tmp_path / "backup.bin"
    assert cli.main(["backup", "--out", str(out), "--db", any_db]) == 0
    assert capsys.readouterr().out.startswith(f"已备份 {backup.shown(store.db_url(any_db))} 到 {out}")

    with engine.begin() as conn:  # damage: rows gone, the audit log dropped, a wave's status changed
        conn.exec_driver_sql("DELETE FROM data_responses WHERE county = '云溪县'")
        conn.exec_driver_sql("UPDATE imports SET status = 'deleted' WHERE id = 1")
        conn.exec_driver_sql("DROP TABLE audit_log")
    engine.dispose()

    assert cli.main(["restore", str(out), "--yes", "--db", any_db, "--user", "管理员"]) == 0
    assert capsys.readouterr().out.startswith(f"已从备份“backup.bin”恢复 {backup.shown(store.db_url(any_db))}：使用中的导入 2 个，操作日志 6 条，数据库结构版本 {store.head_revision()}。")
    engine = store.connect(any_db)
    after = db_state(any_db)
    assert after["history"] == before["history"]
    assert after["audit"][1:] == before["audit"]  # newest first: the restore's own entry, then the old log intact
    newest = after["audit"][0]
    assert (newest["action"], newest["user"], newest["file_name"], newest["id"]) == ("restore_backup", "管理员", "backup.bin", 6)
    assert after["version"] == 6 > before["version"] == 4  # entry 5 saved a scenario: no data version
    assert {t: n for t, n in after["counts"].items() if t != "audit_log"} == {t: n for t, n in before["counts"].items() if t != "audit_log"}
    assert store.stored_waves(engine)[["wave", "rows"]].values.tolist() == [[STORED_WAVE, 70], [NEW_WAVE, 40]]
    assert store.load_kind(engine, responses_kind(settings.items)).equals(rows_before)
    assert list(load_scenarios(engine)) == ["方案一"]
    # The next change numbers on from the restore entry (the data version never goes back to a cached number).
    import_csv(engine, settings, survey_csv(3, "2026年第4季度"))
    assert store.data_version(engine) == 7


def test_the_restore_entry_outnumbers_entries_made_after_the_backup(any_db, settings, tmp_path):
    """Entries 2 and 3 were made after the backup (version 1); after the restore the version is 4, not 2."""
    out = backup.backup(any_db, tmp_path / "early.bin")
    engine = store.connect(any_db)
    import_csv(engine, settings, survey_csv(3, NEW_WAVE))
    import_csv(engine, settings, survey_csv(3, "2026年第4季度"))
    assert store.data_version(engine) == 3
    backup.restore(any_db, out, "管理员")
    assert store.data_version(engine) == 4
    assert store.stored_waves(engine)["wave"].tolist() == [STORED_WAVE]
    import_csv(engine, settings, survey_csv(3, NEW_WAVE))
    assert store.data_version(engine) == 5


def test_a_backup_taken_while_an_import_writes_holds_none_of_its_rows(any_db, settings, tmp_path, monkeypatch):
    engine = store.connect(any_db)
    plan = prepare_import(survey_csv(50, NEW_WAVE).encode("utf-8-sig"), "新批次.csv", "responses", settings, engine)
    monkeypatch.setattr(store, "INSERT_CHUNK_ROWS", 10)
    halfway, go_on = threading.Event(), threading.Event()
    original, calls = store.insert_rows, []

    def slow_insert(conn, sql, rows):
        original(conn, sql, rows)
        calls.append(len(rows))
        if len(calls) == 3:  # 30 of 50 rows written inside the open transaction
            halfway.set()
            go_on.wait(60)

    monkeypatch.setattr(store, "insert_rows", slow_insert)
    worker = threading.Thread(target=commit_import, args=(engine, plan, "分析员"))
    worker.start()
    try:
        assert halfway.wait(60)
        name, content = backup.backup_bytes(any_db)  # what the 数据管理 page would offer for download
    finally:
        go_on.set()
        worker.join(60)
    assert store.stored_waves(engine)["wave"].tolist() == [STORED_WAVE, NEW_WAVE]  # the import did land
    assert name.startswith("满意度数据库备份-") and name.endswith(".db" if "://" not in any_db else ".dump")
    path = tmp_path / name
    path.write_bytes(content)
    backup.restore(any_db, path, "管理员")
    assert store.stored_waves(engine)[["wave", "rows"]].values.tolist() == [[STORED_WAVE, 70]]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM data_responses")).scalar_one() == 70


def test_restore_asks_first_and_changes_nothing_without_yes(any_db, tmp_path, capsys, monkeypatch):
    out = backup.backup(any_db, tmp_path / "b.bin")
    store.set_status(store.connect(any_db), 1, "deleted", "分析员")
    before = db_state(any_db)
    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    assert cli.main(["restore", str(out), "--db", any_db]) == 1
    err = capsys.readouterr().err
    assert "将用备份“b.bin”" in err and "确认恢复请输入 yes：" in err and err.rstrip().endswith("错误：未确认，数据库没有任何改变。")
    assert db_state(any_db) == before
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert cli.main(["restore", str(out), "--db", any_db]) == 0
    assert store.stored_waves(store.connect(any_db))["wave"].tolist() == [STORED_WAVE]


@pytest.mark.parametrize("content, sqlite_message, pg_message", [
    (b"wave,county\n", "“x.bin”不是 SQLite 数据库备份（PostgreSQL 的备份只能恢复到 PostgreSQL 数据库），未做任何修改。",
     "“x.bin”不是 pg_dump 备份（SQLite 的备份只能恢复到 SQLite 数据库），未做任何修改。"),
    (b"SQLite format 3\x00" + b"\x00" * 200, "备份文件“x.bin”已损坏（SQLite 完整性检查未通过），未做任何修改。",
     "“x.bin”不是 pg_dump 备份（SQLite 的备份只能恢复到 SQLite 数据库），未做任何修改。"),
])
def test_restore_refuses_a_file_that_is_not_a_backup(any_db, tmp_path, capsys, content, sqlite_message, pg_message):
    path = tmp_path / "x.bin"
    path.write_bytes(content)
    before = db_state(any_db)
    assert cli.main(["restore", str(path), "--yes", "--db", any_db]) == 1
    assert capsys.readouterr().err == f"错误：{pg_message if '://' in any_db else sqlite_message}\n"
    assert db_state(any_db) == before


def test_a_backup_of_another_application_is_refused(base_db, tmp_path, capsys):
    other = tmp_path / "other.db"
    with sa.create_engine(f"sqlite:///{other}").begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (id INTEGER)")
    before = db_state(base_db)
    assert cli.main(["restore", str(other), "--yes", "--db", str(base_db)]) == 1
    assert capsys.readouterr().err == "错误：“other.db”不是本系统的数据库备份（没有导入记录与操作日志表），未做任何修改。\n"
    assert db_state(base_db) == before
