"""Backups that restore: a consistent snapshot of the database while the app runs (SQLite's online backup API,
pg_dump for PostgreSQL), its restoration in one step, and the `backup` / `restore` commands."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa

from analysis.data import store

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"  # pg_dump's custom format
PG_ROOT = Path("/usr/lib/postgresql")
RESTORE_ACTION = "restore_backup"  # its label is in store.ACTION_LABELS


class BackupError(store.StoreError):
    """A backup or restore that could not be made; the message is in Chinese and nothing was changed."""


def shown(url: str) -> str:
    """The database as shown to people: a file path, or the URL without its password."""
    path = store.sqlite_path(url)
    return str(path) if path else sa.make_url(url).render_as_string(hide_password=True)


def backup(target: str | Path | None, out: Path) -> Path:
    """Write a consistent snapshot of the database to out (written beside it first, so a failure leaves no half file)."""
    url = store.db_url(target)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    part.unlink(missing_ok=True)
    path = store.sqlite_path(url)
    try:
        if path is not None:
            if not path.is_file():
                raise BackupError(f"数据库文件不存在：{path}")
            _sqlite_copy(path, part)
        else:
            _pg_dump(url, part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(out)
    return out


def backup_bytes(target: str | Path | None) -> tuple[str, bytes]:
    """(file name, content) of a fresh backup, for a download button."""
    url = store.db_url(target)
    name = f"满意度数据库备份-{dt.datetime.now():%Y%m%d-%H%M%S}{'.db' if store.sqlite_path(url) else '.dump'}"
    with tempfile.TemporaryDirectory() as tmp:
        return name, backup(url, Path(tmp) / name).read_bytes()


def _sqlite_copy(source: Path, dest: Path) -> None:
    """SQLite's online backup in one step: the copy is the database as of one moment, while others go on reading and
    writing (WAL); the copy is a single self-contained file (no -wal beside it)."""
    src = sqlite3.connect(source, timeout=store.LOCK_TIMEOUT_S)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore / psql from PATH, else the newest under /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    for bindir in sorted(PG_ROOT.glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True):
        if (bindir / name).exists():
            return str(bindir / name)
    raise BackupError(f"找不到 {name}，请先安装 PostgreSQL 客户端（Debian/Ubuntu：apt-get install postgresql-client）。")


def _libpq(url: str) -> tuple[str, dict]:
    """The libpq connection URL for the PostgreSQL tools, with the password passed in the environment (not on the
    command line, where other users could read it)."""
    parsed = sa.make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict, what: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, env=env, capture_output=True, **kwargs)
    if result.returncode != 0:
        err = result.stderr.decode(errors="replace") if isinstance(result.stderr, bytes) else result.stderr
        raise BackupError(f"{what}失败，数据库没有任何改变：{err.strip()[-400:]}")
    return result


def _pg_dump(url: str, dest: Path) -> None:
    """pg_dump's custom format: one consistent snapshot (one repeatable-read transaction) while the app runs."""
    conninfo, env = _libpq(url)
    _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(dest), conninfo], env, "pg_dump 备份")


def check_backup(target: str | Path | None, file: Path) -> None:
    """Refuse a file that is not a backup of this kind of database, before anything is touched."""
    url = store.db_url(target)
    file = Path(file)
    if not file.is_file():
        raise BackupError(f"找不到备份文件：{file}")
    head = file.open("rb").read(16)
    if store.sqlite_path(url) is not None:
        if head != SQLITE_MAGIC:
            raise BackupError(f"“{file.name}”不是 SQLite 数据库备份（PostgreSQL 的备份只能恢复到 PostgreSQL 数据库），未做任何修改。")
        with closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as conn:
            try:
                ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            except sqlite3.DatabaseError:
                ok = False
        if not ok:
            raise BackupError(f"备份文件“{file.name}”已损坏（SQLite 完整性检查未通过），未做任何修改。")
    else:
        if not head.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"“{file.name}”不是 pg_dump 备份（SQLite 的备份只能恢复到 SQLite 数据库），未做任何修改。")
        listing = _run([pg_tool("pg_restore"), "--list", str(file)], dict(os.environ), "读取备份", text=True).stdout
        tables = {_toc_table(line.split()) for line in listing.splitlines() if not line.startswith(";")} - {None}
    if not {"imports", "audit_log"} <= tables:
        raise BackupError(f"“{file.name}”不是本系统的数据库备份（没有导入记录与操作日志表），未做任何修改。")


def _toc_table(parts: list[str]) -> str | None:
    """The table a `pg_restore --list` line creates ('… TABLE public imports owner'), else None."""
    if "TABLE" not in parts or len(parts) < parts.index("TABLE") + 3 or parts[parts.index("TABLE") + 1] == "DATA":
        return None
    return parts[parts.index("TABLE") + 2]


def restore(target: str | Path | None, file: Path, user: str) -> dict:
    """Replace every table of the database with the backup's in one step, bring it to the newest schema, and log the
    restore; {'imports': …, 'audit': …, 'revision': …} of the result."""
    url = store.db_url(target)
    file = Path(file)
    check_backup(url, file)
    note = {"user": user, "file_name": file.name, "sha256": hashlib.sha256(file.read_bytes()).hexdigest(), "at": store.now_text()}
    path = store.sqlite_path(url)
    if path is not None:
        _sqlite_restore(path, file, note)
    else:
        _pg_restore(url, file, note)
    engine = store.connect(url)  # a backup from an earlier release is upgraded here
    try:
        history, audit = store.import_history(engine), store.audit_entries(engine)
        return {"imports": int((history["status"] == "active").sum()), "audit": len(audit), "revision": store.schema_revision(engine)}
    finally:
        engine.dispose()


def _max_audit_id(conn) -> int:
    try:
        return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM audit_log").fetchone()[0])
    except sqlite3.OperationalError:  # the damaged database has no audit log left
        return 0


def _sqlite_restore(db: Path, file: Path, note: dict) -> None:
    """Prepare a copy of the backup (upgraded, restore logged) beside the database, then copy it over the live
    database with the backup API: other connections see the old or the new database, never a mixture."""
    work = db.with_name(db.name + ".restoring")
    for stale in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(file, work)
    try:
        live = sqlite3.connect(db, timeout=store.LOCK_TIMEOUT_S)
        try:
            before = _max_audit_id(live)
        finally:
            live.close()
        engine = store.connect(work)
        with store.write_transaction(engine) as conn:
            _log_restore(conn, note, before)
        engine.dispose()
        src = sqlite3.connect(work)
        dst = sqlite3.connect(db, timeout=store.LOCK_TIMEOUT_S)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    finally:
        for stale in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
            stale.unlink(missing_ok=True)


def _log_restore(conn: sa.Connection, note: dict, before: int) -> None:
    """The restore's audit entry, numbered past every entry the database had before, so the data version (the
    pages' cache key) never returns to a number a process has cached for other data."""
    after = conn.execute(sa.select(sa.func.coalesce(sa.func.max(store.audit_log.c.id), 0))).scalar_one()
    conn.execute(store.audit_log.insert().values(id=max(before, after) + 1, at=note["at"], user=note["user"],
                                                 action=RESTORE_ACTION, kind="database", period="",
                                                 file_name=note["file_name"], sha256=note["sha256"], rows=0, import_id=0))


def _pg_restore(url: str, file: Path, note: dict) -> None:
    """One psql transaction under the writers' lock: drop every table, load the dump, log the restore. Any error rolls
    all of it back (ON_ERROR_STOP), so a failed restore leaves the database as it was."""
    conninfo, env = _libpq(url)
    head = "\n".join([
        r"\set ON_ERROR_STOP on",
        f"SELECT pg_advisory_xact_lock({store.WRITE_LOCK_KEY});",
        # The audit log's sequence as it stands now, read through a catalogue view (the table itself may be gone).
        "SELECT COALESCE(MAX(last_value), 0) AS before_max FROM pg_sequences "
        "WHERE schemaname = current_schema() AND sequencename = 'audit_log_id_seq' \\gset",
        # Every table, not only the backup's: a table made after the backup would keep rows of import ids reused later.
        "DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "LOOP EXECUTE format('DROP TABLE %I CASCADE', t); END LOOP; END $$;",
        "",
    ])
    tail = "\n".join([
        "",
        "RESET search_path;",  # the dump's script empties search_path
        'INSERT INTO audit_log (id, at, "user", action, kind, period, file_name, sha256, rows, import_id) '
        f"SELECT GREATEST(:before_max, COALESCE(MAX(id), 0)) + 1, :'at', :'user', '{RESTORE_ACTION}', 'database', '', "
        ":'file_name', :'sha256', 0, 0 FROM audit_log;",
        "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), (SELECT MAX(id) FROM audit_log));",
        "",
    ])
    psql = [pg_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction", "--file=-", f"--dbname={conninfo}",
            *[f"--variable={k}={note[k]}" for k in ("at", "user", "file_name", "sha256")]]
    sql = _run([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(file)], env, "读取备份").stdout
    _run(psql, env, "恢复", input=head.encode() + sql + tail.encode())


def cmd_backup(args, settings) -> None:
    """Write a consistent snapshot of the database to --out."""
    out = backup(args.db, Path(args.out))
    print(f"已备份 {shown(store.db_url(args.db))} 到 {out}（{out.stat().st_size / 2**20:.1f} MB）")


def confirmed(url: str, file: Path, stream=None) -> bool:
    """Ask on the terminal (or read one line from piped stdin) whether to overwrite the database; True for 'yes'."""
    stream = stream or sys.stdin
    modified = dt.datetime.fromtimestamp(file.stat().st_mtime).isoformat(timespec="seconds")
    print(f"将用备份“{file.name}”（{file.stat().st_size / 2**20:.1f} MB，{modified}）替换数据库 {shown(url)} 中的全部数据；"
          f"备份之后的导入和修改都会丢失。确认恢复请输入 yes：", end="", file=sys.stderr, flush=True)
    return stream.readline().strip().lower() == "yes"


def cmd_restore(args, settings) -> None:
    """Restore a backup over the database after confirmation (--yes: without asking)."""
    url = store.db_url(args.db)
    file = Path(args.file)
    check_backup(url, file)
    if not args.yes and not confirmed(url, file):
        raise BackupError("未确认，数据库没有任何改变。")
    result = restore(url, file, args.user)
    print(f"已从备份“{file.name}”恢复 {shown(url)}：使用中的导入 {result['imports']} 个，操作日志 {result['audit']} 条，"
          f"数据库结构版本 {result['revision']}。")


def add_parsers(sub) -> None:
    """The backup and restore sub-commands."""
    b = sub.add_parser("backup", help="备份数据库（应用运行时也可以）")
    b.add_argument("--out", required=True, help="备份文件")
    b.add_argument("--db")
    r = sub.add_parser("restore", help="用备份替换数据库中的全部数据（需确认）")
    r.add_argument("file")
    r.add_argument("--db")
    r.add_argument("--yes", action="store_true", help="不询问，直接恢复")
    r.add_argument("--user", default="命令行")


COMMANDS = {"backup": cmd_backup, "restore": cmd_restore}
