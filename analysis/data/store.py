"""The database (SQLite by default, PostgreSQL by URL; SQLAlchemy 2): imports, soft deletes, an audit log, one
transaction per import, and the schema brought to the newest Alembic revision on connect."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import event

from analysis.data.contract import RESPONSE_COLUMNS, FileKind
from analysis.settings import ROOT

DB_ENV = "SATISFACTION_DB"          # a file path or a URL
DB_URL_ENV = "SATISFACTION_DB_URL"  # a server URL, e.g. postgresql+psycopg://user:pass@host/db
DEFAULT_DB = ROOT / "data" / "app.db"
LOCK_TIMEOUT_S = 30      # a second import waits this long for the first one's write lock
INSERT_CHUNK_ROWS = 20_000  # rows per executemany (COPY batch on PostgreSQL): bounded memory for million-row files
MIGRATIONS = Path(__file__).with_name("migrations")
# The key of PostgreSQL's transaction-level advisory lock that every writer takes (any fixed number; this one is the
# project's start date), the server's counterpart of SQLite's database-wide write lock.
WRITE_LOCK_KEY = 20260516

metadata = sa.MetaData()

imports = sa.Table(
    "imports", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("period", sa.String, nullable=False),  # the wave, or the school year for metrics files
    sa.Column("file_name", sa.String, nullable=False),
    sa.Column("sha256", sa.String, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("status", sa.String, nullable=False),  # active | replaced | deleted
    sa.Column("imported_at", sa.String, nullable=False),
    sa.Column("imported_by", sa.String, nullable=False),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.String, nullable=False),
    sa.Column("user", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),  # import | replace | delete | restore
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("period", sa.String, nullable=False),
    sa.Column("file_name", sa.String, nullable=False),
    sa.Column("sha256", sa.String, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("import_id", sa.Integer, nullable=False),
)

scenarios = sa.Table(
    "scenarios", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, nullable=False, unique=True),
    sa.Column("wave", sa.String, nullable=False),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("saved_at", sa.String, nullable=False),
    sa.Column("saved_by", sa.String, nullable=False),
)

# 问题台账: one row per change of a ledger item (append-only), so its history and who changed what are kept.
ledger_events = sa.Table(
    "ledger_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ledger_id", sa.String, nullable=False, index=True),
    sa.Column("at", sa.String, nullable=False),
    sa.Column("user", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),  # create | update
    sa.Column("fields_json", sa.Text, nullable=False),  # the fields this event set, {column: text or null}
)

# Per import, county, item and answer: respondents, Σ weight and Σ weight², written with the import's rows. An
# import never changes afterwards, so the 分项指标 page reads these few hundred rows instead of ten passes over the
# file's rows (0.6 s at 10× the mock data, 6 s at 100×).
item_counts = sa.Table(
    "item_counts", metadata,
    sa.Column("import_id", sa.Integer, nullable=False, index=True),
    sa.Column("county", sa.String, nullable=False),
    sa.Column("item", sa.String, nullable=False),
    sa.Column("answer", sa.String),  # NULL: the item was left unanswered
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("w_sum", sa.Float, nullable=False),
    sa.Column("w2_sum", sa.Float, nullable=False),
)

ACTION_LABELS = {"import": "导入", "replace": "替换", "delete": "删除", "restore": "恢复", "purge": "彻底删除",
                 "scenario_save": "保存方案", "scenario_overwrite": "覆盖方案", "scenario_delete": "删除方案",
                 "login_failed": "登录失败", "login_locked": "登录被锁定", "restore_backup": "从备份恢复",
                 "ledger_create": "新增台账问题", "ledger_update": "修改台账问题", "ledger_close": "台账问题销号"}
# Logged, but they change no data the pages show: not a new data version (a stream of wrong passwords or scenario
# saves must not empty every cache).
NO_DATA_ACTIONS = ("login_failed", "login_locked", "scenario_save", "scenario_overwrite", "scenario_delete")


LOG = logging.getLogger(__name__)


class StoreError(ValueError):
    """A change the database refuses; the message is in Chinese."""


class DatabaseUnavailable(StoreError):
    """The database does not answer (server down, wrong address or password); the message names no password."""


def db_url(path: str | Path | None = None) -> str:
    """SQLAlchemy URL: an explicit path or URL, else $SATISFACTION_DB, else $SATISFACTION_DB_URL, else data/app.db."""
    target = str(path) if path else os.environ.get(DB_ENV) or os.environ.get(DB_URL_ENV) or str(DEFAULT_DB)
    relative = "://" not in target and not Path(target).is_absolute()
    return _url_for(target, os.getcwd() if relative else "")


@functools.lru_cache(maxsize=64)
def _url_for(target: str, cwd: str) -> str:
    # Cached on the target and, for a relative path, the directory it is resolved in: every page asks for the URL a
    # few times a rerun, and resolving the file path (a filesystem call per path part) was ~0.4 ms of each cached
    # rerun. A symlink on the path is resolved once per process: repointing it needs a restart.
    if "://" not in target:
        return f"sqlite:///{(Path(cwd) / target).resolve()}"
    # psycopg 3 is the driver installed; a bare postgresql:// URL would make SQLAlchemy look for psycopg2.
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", target)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, None for a server URL."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _switch_to_wal(dbapi_connection: sqlite3.Connection) -> None:
    """PRAGMA journal_mode=WAL, retried for up to LOCK_TIMEOUT_S: when several connections open a brand-new file at
    once (workers starting together), SQLite answers "database is locked" at once instead of waiting its busy timeout."""
    deadline, delay = time.monotonic() + LOCK_TIMEOUT_S, 0.01
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(2 * delay, 0.2)


def connect(path: str | Path | None = None) -> sa.Engine:
    """An engine on a database at the newest schema revision (a new database gets every table, an older one is
    upgraded); its write transactions serialise (see write_transaction)."""
    url = db_url(path)
    if not url.startswith("sqlite"):
        # pre_ping: a server restart or an idle timeout must not surface as an error on the next page view.
        engine = sa.create_engine(url, pool_pre_ping=True)
    else:
        engine = sa.create_engine(url, connect_args={"timeout": LOCK_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, emit BEGIN; WAL lets readers go on while an import writes,
            # and synchronous=NORMAL in WAL mode still never leaves a half-written transaction after a crash.
            dbapi_connection.isolation_level = None
            _switch_to_wal(dbapi_connection)
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")
    with connection(engine):  # a database that does not answer says so before any migration is tried
        pass
    _bring_to_head(engine)
    return engine


UNAVAILABLE = ("无法连接数据库：请检查数据库服务是否在运行、地址与口令是否正确（设置 SATISFACTION_DB_URL），然后刷新页面。"
               "具体原因已写入服务器日志。")


def _unavailable(engine: sa.Engine, exc: Exception) -> DatabaseUnavailable:
    """The refusal a visitor sees, which names no address (a URL can carry its password in places no renderer hides,
    and visitors who have not signed in see it); the server log gets the host, port, database and the driver's reason."""
    url = engine.url
    place = url.database if url.get_backend_name() == "sqlite" else f"{url.host}:{url.port or ''}/{url.database}"
    LOG.error("database %s does not answer: %s", place, str(getattr(exc, "orig", None) or exc).splitlines()[0])
    return DatabaseUnavailable(UNAVAILABLE)


def connection(engine: sa.Engine) -> sa.Connection:
    """engine.connect(); a failure to reach the database becomes DatabaseUnavailable."""
    try:
        return engine.connect()
    except sa.exc.OperationalError as exc:
        raise _unavailable(engine, exc) from exc


def _bring_to_head(engine: sa.Engine) -> None:
    """Upgrade the schema when it is not at the newest revision (one cheap query when it is)."""
    if schema_revision(engine) != head_revision():
        upgrade(engine)


def schema_revision(engine: sa.Engine) -> str | None:
    """The database's Alembic revision; None for a new database or one made before migrations existed."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def stored_revision(path: str | Path | None = None) -> str | None:
    """The revision of a database as it is, without upgrading it (None for a new database or an older release's)."""
    url = db_url(path)
    if sqlite_path(url) is not None and not sqlite_path(url).exists():
        return None
    engine = sa.create_engine(url)
    try:
        return schema_revision(engine)
    finally:
        engine.dispose()


def _alembic_config():
    from alembic.config import Config  # imported here: a database already at head never needs Alembic

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision in analysis/data/migrations/versions: revisions are numbered and each file is named after its
    number (NNNN_what.py), so the file names tell without loading Alembic (0.2 s) in every process."""
    return max(path.name.split("_")[0] for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


_UPGRADE_LOCK = threading.Lock()  # Alembic's op/context proxies are module globals: one migration per process at a time


def upgrade(engine: sa.Engine) -> str:
    """Run the pending migrations in one write transaction (two processes upgrading at once run them once); the
    revision reached."""
    from alembic import command

    config = _alembic_config()
    with _UPGRADE_LOCK, write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return schema_revision(engine)


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that holds the write lock from its first statement, so two imports never interleave."""
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            _take_write_lock(conn)
        yield conn


def _take_write_lock(conn: sa.Connection) -> None:
    """PostgreSQL: the advisory lock every writer takes, released with the transaction; refused after LOCK_TIMEOUT_S."""
    # Row locks alone would let two imports of one new wave both find it absent; one lock for all writers mirrors
    # SQLite, where the whole database has one writer at a time.
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_S}s'")
    try:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
    except sa.exc.OperationalError as exc:
        raise StoreError(f"数据库正忙（另一个导入或修改仍在进行，已等待 {LOCK_TIMEOUT_S} 秒），未做任何修改，请稍后再试。") from exc
    conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")


def data_table_name(kind_key: str) -> str:
    """Table holding the rows of one file kind."""
    return f"data_{kind_key}"


def ensure_data_table(conn: sa.Connection, kind: FileKind) -> None:
    """Create the kind's table, or add columns for items added to the settings since."""
    name = data_table_name(kind.key)
    inspector = sa.inspect(conn)
    wanted = ["import_id", "excel_row"] + [c.name for c in kind.columns if c.name != "phone"]
    real = _real_type(conn)
    if not inspector.has_table(name):
        cols = ", ".join(f'"{c}" {"INTEGER" if c in ("import_id", "excel_row") else (real if _numeric(kind, c) else "TEXT")}' for c in wanted)
        conn.exec_driver_sql(f'CREATE TABLE "{name}" ({cols})')
        # Pages read one import, one county (all waves) or one wave (all counties); these keep that under a second at
        # 10×. (Migration 0001 gave tables made before migrations existed the same indexes.)
        for suffix, column in DATA_INDEXES.items():
            if suffix == "import" or kind.key == "responses":
                conn.exec_driver_sql(f'CREATE INDEX "ix_{name}_{suffix}" ON "{name}" ({column})')
    else:
        # Items added to the settings since: a column per item is the settings' shape, not a schema revision.
        have = {c["name"] for c in inspector.get_columns(name)}
        for column in wanted:
            if column not in have:
                conn.exec_driver_sql(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {real if _numeric(kind, column) else "TEXT"}')


DATA_INDEXES = {"import": "import_id", "county": "county", "wave": "wave"}  # index suffix → column


def _real_type(conn: sa.Connection) -> str:
    # PostgreSQL's REAL is 4 bytes (weights would lose digits); SQLite's REAL is already an 8-byte double.
    return "DOUBLE PRECISION" if conn.dialect.name == "postgresql" else "REAL"


def _numeric(kind: FileKind, name: str) -> bool:
    return any(c.name == name and c.dtype in ("int", "float") for c in kind.columns)


def now_text() -> str:
    """Local time as stored in the audit log."""
    return dt.datetime.now().isoformat(timespec="seconds")


def active_periods(conn: sa.Connection, kind_key: str) -> dict[str, int]:
    """Active period → import id for one kind."""
    rows = conn.execute(sa.select(imports.c.period, imports.c.id).where(imports.c.kind == kind_key, imports.c.status == "active"))
    return {period: import_id for period, import_id in rows}


def find_same_file(engine: sa.Engine, sha256: str, kind_key: str) -> list[dict]:
    """Active imports of the same bytes (same SHA-256)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(imports).where(imports.c.sha256 == sha256, imports.c.kind == kind_key, imports.c.status == "active"))
        return [dict(r._mapping) for r in rows]


def _log(conn: sa.Connection, action: str, user: str, record: dict) -> None:
    conn.execute(audit_log.insert().values(at=now_text(), user=user, action=action, kind=record["kind"], period=record["period"],
                                           file_name=record["file_name"], sha256=record["sha256"], rows=record["rows"],
                                           import_id=record["id"]))


def bulk_insert_sql(conn: sa.Connection, table: str, columns: list[str]) -> str:
    """The statement insert_rows runs: COPY on PostgreSQL (several times faster than row inserts), else INSERT."""
    names = ", ".join(_quote(c) for c in columns)
    if conn.dialect.name == "postgresql":
        return f"COPY {_quote(table)} ({names}) FROM STDIN"
    return f'INSERT INTO {_quote(table)} ({names}) VALUES ({", ".join("?" for _ in columns)})'


def insert_rows(conn: sa.Connection, sql: str, rows: list[tuple]) -> None:
    """One executemany (or COPY) of plain tuples (a separate function so tests can slow it down and kill the process)."""
    if sql.startswith("COPY"):
        # psycopg's COPY runs on the connection SQLAlchemy holds, inside the import's transaction.
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    conn.exec_driver_sql(sql, rows)


def row_tuples(table: pa.Table, rows: np.ndarray, import_id: int, excel_rows: np.ndarray,
               chunk_rows: int | None = None) -> Iterator[list[tuple]]:
    """(import_id, excel_row, *cells) tuples of plain Python values (None for missing) for the given rows, a chunk at a time."""
    chunk_rows = chunk_rows or INSERT_CHUNK_ROWS
    for start in range(0, len(rows), chunk_rows):
        part = rows[start:start + chunk_rows]
        contiguous = part[-1] - part[0] + 1 == len(part)  # one wave per file is the rule: then a slice, no copy
        chunk = table.slice(int(part[0]), len(part)) if contiguous else table.take(pa.array(part))
        columns = [[import_id] * len(part), excel_rows[part].tolist()] + [python_values(column) for column in chunk.columns]
        yield list(zip(*columns))


def python_values(column: pa.ChunkedArray) -> list:
    """A column as a list of Python values; repeated texts (answers, counties) share one str object instead of a million."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column.to_pylist()
    encoded = column.combine_chunks().dictionary_encode()
    values = np.array(encoded.dictionary.to_pylist() + [None], dtype=object)
    return values[encoded.indices.fill_null(len(values) - 1).to_numpy()].tolist()


def store_frame(engine: sa.Engine, frame: pd.DataFrame, kind: FileKind, *, file_name: str, sha256: str,
                user: str, replace: bool = False) -> list[dict]:
    """Store validated rows in one transaction, one import per wave or year; refuse overlaps unless replacing."""
    period_col = kind.period
    periods = sorted(frame[period_col].dropna().unique().tolist())
    if not periods:
        raise StoreError(f"文件中没有任何{kind.header_of(period_col)}，未导入任何数据。")
    records = []
    with write_transaction(engine) as conn:
        ensure_data_table(conn, kind)
        stored = active_periods(conn, kind.key)
        overlap = [p for p in periods if p in stored]
        if overlap and not replace:
            raise StoreError(f"数据库中已有 {'、'.join(overlap)} 的{kind.label}数据，未导入任何数据；"
                             f"如需替换，请勾选“我确认替换已有批次”（命令行加 --replace）。")
        table = data_table_name(kind.key)
        data_columns = [c for c in frame.columns if c != "phone"]
        sql = bulk_insert_sql(conn, table, ["import_id", "excel_row"] + data_columns)
        # Arrow shares the text buffers with the frame, so rows are copied out only a chunk at a time.
        cells = pa.Table.from_pandas(frame[data_columns], preserve_index=False)
        excel_rows = frame.index.to_numpy(dtype="int64")
        period_values = frame[period_col]
        for period in periods:
            rows = np.flatnonzero((period_values == period).to_numpy(dtype=bool, na_value=False))
            action = "import"
            if period in stored:
                conn.execute(imports.update().where(imports.c.id == stored[period]).values(status="replaced"))
                action = "replace"
            result = conn.execute(imports.insert().values(kind=kind.key, period=period, file_name=file_name, sha256=sha256,
                                                          rows=len(rows), status="active", imported_at=now_text(), imported_by=user))
            import_id = result.inserted_primary_key[0]
            for chunk in row_tuples(cells, rows, import_id, excel_rows):
                insert_rows(conn, sql, chunk)
            if kind.key == "responses":
                counts = [{"import_id": import_id, "county": c, "item": i, "answer": None if pd.isna(a) else str(a),
                           "n": int(n), "w_sum": float(w), "w2_sum": float(w2)}
                          for c, i, a, n, w, w2 in counts_by_item(frame.iloc[rows], survey_items(kind))
                          .itertuples(index=False, name=None)]
                if counts:
                    conn.execute(item_counts.insert(), counts)
            record = {"id": import_id, "kind": kind.key, "period": period, "file_name": file_name, "sha256": sha256, "rows": len(rows)}
            _log(conn, action, user, record)
            records.append(record | {"action": action})
    return records


def set_status(engine: sa.Engine, import_id: int, status: str, user: str) -> dict:
    """Soft-delete ('deleted') or restore ('active') one import, logged; restoring displaces the active one."""
    if status not in ("active", "deleted"):
        raise StoreError(f"未知的状态“{status}”")
    with write_transaction(engine) as conn:
        row = conn.execute(sa.select(imports).where(imports.c.id == import_id)).first()
        if row is None:
            raise StoreError(f"找不到编号为 {import_id} 的导入记录")
        record = dict(row._mapping)
        if record["status"] == "purged":
            raise StoreError(f"导入记录 #{import_id}（{record['period']}）已彻底删除，数据已不存在，无法恢复。")
        if record["status"] == status:
            raise StoreError(f"导入记录 #{import_id}（{record['period']}）已经是“{'使用中' if status == 'active' else '已删除'}”状态，未做任何修改。")
        if status == "active":
            conn.execute(imports.update().where(imports.c.kind == record["kind"], imports.c.period == record["period"],
                                                imports.c.status == "active").values(status="replaced"))
        conn.execute(imports.update().where(imports.c.id == import_id).values(status=status))
        _log(conn, "restore" if status == "active" else "delete", user, record)
    return record


def _rows_of(import_id: int | None) -> str:
    """The WHERE clause choosing the active rows, or one import's rows (whatever its status)."""
    return "WHERE d.import_id = :import_id" if import_id is not None else "WHERE i.status = 'active'"


def load_kind(engine: sa.Engine, kind: FileKind, columns: list[str] | None = None, where: dict[str, str] | None = None,
              import_id: int | None = None) -> pd.DataFrame:
    """Active rows of one kind, or one import's rows (optionally only some columns, or rows matching column = value),
    no bookkeeping columns."""
    name = data_table_name(kind.key)
    wanted = [c.name for c in kind.columns if c.name != "phone" and (columns is None or c.name in columns)]
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(name):
            return pd.DataFrame(columns=wanted)
        have = {c["name"] for c in sa.inspect(conn).get_columns(name)}
        selected = [c for c in wanted if c in have]
        # Reading only the needed columns and rows is what keeps a page fast after a new wave at 10× the data.
        sql = f'SELECT {", ".join(f"d.{_quote(c)}" for c in selected)} FROM {_quote(name)} d JOIN imports i ON i.id = d.import_id {_rows_of(import_id)}'
        params = {} if import_id is None else {"import_id": import_id}
        for k, (column, value) in enumerate((where or {}).items()):
            sql += f" AND d.{_quote(column)} = :p{k}"
            params[f"p{k}"] = value
        frame = pd.read_sql(sa.text(sql), conn, params=params)
    return frame


def answer_counts(engine: sa.Engine, kind: FileKind, column: str = "overall", import_id: int | None = None) -> pd.DataFrame:
    """Per wave, county and answer: respondents, Σ weight and Σ weight² (all a county score and its SE need), over the
    active rows or one import's rows."""
    name = data_table_name(kind.key)
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(name):
            return pd.DataFrame(columns=["wave", "county", column, "n", "w_sum", "w2_sum"])
        col = _quote(column)
        sql = (f"SELECT d.wave AS wave, d.county AS county, d.{col} AS {col}, COUNT(*) AS n, SUM(d.weight) AS w_sum, "
               f"SUM(d.weight * d.weight) AS w2_sum FROM {_quote(name)} d JOIN imports i ON i.id = d.import_id "
               f"{_rows_of(import_id)} GROUP BY d.wave, d.county, d.{col}")
        return pd.read_sql(sa.text(sql), conn, params={} if import_id is None else {"import_id": import_id})


ITEM_COUNT_COLUMNS = ["county", "item", "answer", "n", "w_sum", "w2_sum"]


def survey_items(kind: FileKind) -> tuple[str, ...]:
    """The item columns of the survey kind (those after the fixed response columns)."""
    fixed = {c.name for c in RESPONSE_COLUMNS}
    return tuple(c.name for c in kind.columns if c.name not in fixed)


def counts_by_item(responses: pd.DataFrame, items: tuple[str, ...]) -> pd.DataFrame:
    """Per county, item and answer (unanswered included): respondents, Σ weight and Σ weight², like SQL's GROUP BY."""
    rows = responses.assign(_w2=responses["weight"] ** 2)
    parts = [rows.groupby(["county", item], dropna=False, sort=True)
             .agg(n=("weight", "size"), w_sum=("weight", "sum"), w2_sum=("_w2", "sum"))
             .reset_index().rename(columns={item: "answer"}).assign(item=item)
             for item in items if item in rows.columns]
    return pd.concat(parts, ignore_index=True)[ITEM_COUNT_COLUMNS] if parts else pd.DataFrame(columns=ITEM_COUNT_COLUMNS)


def stored_item_counts(engine: sa.Engine, import_id: int, items: tuple[str, ...]) -> pd.DataFrame | None:
    """The item counts written with an import, or None for an import stored before they were kept."""
    with engine.connect() as conn:
        frame = pd.read_sql(sa.select(*[item_counts.c[c] for c in ITEM_COUNT_COLUMNS])
                            .where(item_counts.c.import_id == import_id), conn)
    if frame.empty:
        return None
    return frame[frame["item"].isin(items)].reset_index(drop=True)


def item_answer_counts(engine: sa.Engine, kind: FileKind, items: tuple[str, ...], wave: str,
                       import_id: int | None = None) -> pd.DataFrame:
    """Per county, item and answer in one wave: respondents, Σ weight and Σ weight², over the active rows or one
    import's rows (for one import, the counts written with it when there are any)."""
    name = data_table_name(kind.key)
    columns = ITEM_COUNT_COLUMNS
    if import_id is not None and items:
        stored = stored_item_counts(engine, import_id, items)
        if stored is not None:
            return stored
    with engine.connect() as conn:
        if not items or not sa.inspect(conn).has_table(name):
            return pd.DataFrame(columns=columns)
        have = {c["name"] for c in sa.inspect(conn).get_columns(name)}
        parts = [f"SELECT d.county AS county, :i{k} AS item, d.{_quote(item)} AS answer, COUNT(*) AS n, SUM(d.weight) AS w_sum, "
                 f"SUM(d.weight * d.weight) AS w2_sum FROM {_quote(name)} d JOIN imports i ON i.id = d.import_id "
                 f"{_rows_of(import_id)} AND d.wave = :wave GROUP BY d.county, d.{_quote(item)}"
                 for k, item in enumerate(items) if item in have]
        if not parts:
            return pd.DataFrame(columns=columns)
        params = {"wave": wave, **{f"i{k}": item for k, item in enumerate(items)}}
        if import_id is not None:
            params["import_id"] = import_id
        return pd.read_sql(sa.text(" UNION ALL ".join(parts)), conn, params=params)


def combine_counts(parts: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """Counts of several imports added up per key (n, Σ weight and Σ weight² are sums over disjoint rows)."""
    frames = [p for p in parts if len(p)]
    if not frames:
        return parts[0] if parts else pd.DataFrame(columns=[*keys, "n", "w_sum", "w2_sum"])
    return pd.concat(frames, ignore_index=True).groupby(keys, as_index=False, sort=True)[["n", "w_sum", "w2_sum"]].sum()


def active_imports(engine: sa.Engine, kind_key: str) -> list[tuple[int, str, str, int]]:
    """(id, SHA-256, period, rows) of the kind's active imports. An import's rows never change after it is stored
    (replacing or deleting only changes its status), so these identify its content."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(imports.c.id, imports.c.sha256, imports.c.period, imports.c.rows)
                            .where(imports.c.kind == kind_key, imports.c.status == "active").order_by(imports.c.id))
        return [(int(i), str(sha), str(period), int(n)) for i, sha, period, n in rows]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def import_history(engine: sa.Engine) -> pd.DataFrame:
    """Every import with its status, newest first."""
    with engine.connect() as conn:
        return pd.read_sql(sa.select(imports).order_by(imports.c.id.desc()), conn)


def audit_entries(engine: sa.Engine) -> pd.DataFrame:
    """The audit log, newest first."""
    with engine.connect() as conn:
        return pd.read_sql(sa.select(audit_log).order_by(audit_log.c.id.desc()), conn)


# Built once: every rerun asks for the data version (and two pages for the log's), NOT IN is a chain of != because its
# expanding parameter costs SQLAlchemy more than the query costs the database.
_LOG_VERSION = sa.select(sa.func.coalesce(sa.func.max(audit_log.c.id), 0))
_DATA_VERSION = _LOG_VERSION.where(sa.and_(*(audit_log.c.action != action for action in NO_DATA_ACTIONS)))


@functools.lru_cache(maxsize=16)
def _compiled_read(statement: sa.Select, dialect: sa.Dialect) -> tuple[str, object]:
    """A prebuilt statement as the driver's SQL text and parameters (a list or a dict, as its paramstyle wants)."""
    compiled = statement.compile(dialect=dialect)
    params = compiled.params
    return str(compiled), [params[name] for name in compiled.positiontup] if compiled.positiontup else params


def _read_scalar(engine: sa.Engine, statement: sa.Select) -> int:
    """One number from a prebuilt read, on a pooled driver connection: a SQLAlchemy connection would also send BEGIN
    and ROLLBACK (sqlite) through its own layers, ~5× the query's cost on every rerun of every page. The pool still
    pings a PostgreSQL connection before handing it out; a database that does not answer raises DatabaseUnavailable."""
    sql, params = _compiled_read(statement, engine.dialect)
    try:
        raw = engine.raw_connection()
    except (sa.exc.OperationalError, engine.dialect.loaded_dbapi.OperationalError) as exc:  # the driver's, unwrapped
        raise _unavailable(engine, exc) from exc
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(sql, params)
            value = cursor.fetchone()[0]
        finally:
            cursor.close()
    except engine.dialect.loaded_dbapi.OperationalError as exc:
        # The server went away between the pool's ping and the query: drop that connection, say so in Chinese.
        raw.invalidate()
        raise _unavailable(engine, exc) from exc
    finally:
        raw.close()  # back to the pool, which rolls back a driver transaction (PostgreSQL) as SQLAlchemy would
    return int(value)


def log_version(engine: sa.Engine) -> int:
    """The newest audit entry of any kind (sign-in failures and scenarios included): the cache key of the log itself."""
    return _read_scalar(engine, _LOG_VERSION)


def data_version(engine: sa.Engine) -> int:
    """A number that changes with every stored change of data, used as the cache key."""
    return _read_scalar(engine, _DATA_VERSION)  # every page asks this first, so it is where a dead database shows


def log_event(engine: sa.Engine, action: str, user: str, detail: str = "", kind: str = "") -> None:
    """An audit entry that is not about one import (sign-ins, planner scenarios); detail goes in the file-name column."""
    with write_transaction(engine) as conn:
        log_event_in(conn, action, user, detail, kind)


def log_event_in(conn: sa.Connection, action: str, user: str, detail: str = "", kind: str = "") -> None:
    """log_event inside the caller's transaction."""
    conn.execute(audit_log.insert().values(at=now_text(), user=user, action=action, kind=kind, period="",
                                           file_name=detail, sha256="", rows=0, import_id=0))


def purge_import(engine: sa.Engine, import_id: int, user: str) -> dict:
    """Remove a deleted or replaced import's rows for good (logged), then compact the database file."""
    with write_transaction(engine) as conn:
        row = conn.execute(sa.select(imports).where(imports.c.id == import_id)).first()
        if row is None:
            raise StoreError(f"找不到编号为 {import_id} 的导入记录")
        record = dict(row._mapping)
        if record["status"] == "active":
            raise StoreError(f"导入记录 #{import_id}（{record['period']}）正在使用中，请先删除（软删除）后再彻底删除。")
        name = data_table_name(record["kind"])
        if record["status"] != "purged":  # purged already: only the rewrite below is done again
            if sa.inspect(conn).has_table(name):
                conn.execute(sa.text(f"DELETE FROM {_quote(name)} WHERE import_id = :i"), {"i": import_id})
            conn.execute(item_counts.delete().where(item_counts.c.import_id == import_id))
            conn.execute(imports.update().where(imports.c.id == import_id).values(status="purged"))
            _log(conn, "purge", user, record)
    try:
        compact(engine, [name, item_counts.name])
    except sa.exc.DBAPIError as exc:
        LOG.error("rewrite after purging import %s failed: %s", import_id, exc)
        raise StoreError(f"导入记录 #{import_id} 的数据行已删除，但数据库存储未能改写（数据库忙或空间不足），被删除的文字可能仍在数据库文件中。"
                         f"请稍后在服务器上运行 python -m analysis purge {import_id} 重做改写（已删除的行不受影响）。") from exc
    return record


def compact(engine: sa.Engine, tables: list[str]) -> None:
    """Rewrite the storage that held deleted rows, so their text cannot be read back from the database's files."""
    # A deleted row's bytes stay on disk until the storage is rewritten: SQLite keeps them in the file's free pages
    # (and the WAL), PostgreSQL in dead tuples that plain VACUUM or autovacuum only marks reusable. So SQLite rewrites
    # the file (VACUUM) and PostgreSQL the purged tables (VACUUM FULL; outside a transaction, as it must be).
    if engine.dialect.name != "sqlite":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # VACUUM FULL locks the table against every read: give up after 10 s rather than stall the pages behind a
            # long import (the purge then says to try again).
            conn.exec_driver_sql("SET lock_timeout = '10s'")
            for table in tables:
                if sa.inspect(conn).has_table(table):
                    conn.exec_driver_sql(f"VACUUM FULL {_quote(table)}")
        return
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # VACUUM in WAL mode writes through the WAL file too
    finally:
        raw.close()


def stored_waves(engine: sa.Engine) -> pd.DataFrame:
    """One row per active wave or year and kind: wave, kind, rows, imported_at."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(imports.c.period, imports.c.kind, imports.c.rows, imports.c.imported_at)
                            .where(imports.c.status == "active"))
        frame = pd.DataFrame([tuple(r) for r in rows], columns=["wave", "kind", "rows", "imported_at"])
    # Sorted here, by code point: a server's ORDER BY follows its collation, which orders Chinese text differently.
    return frame.sort_values(["kind", "wave"], ignore_index=True)
