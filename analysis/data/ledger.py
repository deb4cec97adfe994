"""问题台账 (issue ledger): problems kept as append-only, audited events; the ledger is the events folded in order.

A ledger is edited (measures, deadlines, 销号), unlike an import; keeping every change as an event makes the audit
trail the data itself. The table is created on the first write, like the per-kind data tables.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from analysis.data import store
from analysis.data.contract import LEDGER
from analysis.data.importing import read_within_limits
from analysis.data.validate import Validation, validate_frame
from analysis.settings import Settings

# The table is part of the store's schema (migration 0002); the ledger is its only writer.
ledger_events = store.ledger_events

FIELDS = [c.name for c in LEDGER.columns]
LEDGER_COLUMNS = FIELDS + ["updated_at", "updated_by"]
ACTION_KIND = "ledger"


def _has_table(conn: sa.Connection) -> bool:
    return sa.inspect(conn).has_table(ledger_events.name)


def read_events(engine: sa.Engine, ledger_id: str | None = None) -> pd.DataFrame:
    """Every ledger event (or one problem's), oldest first."""
    columns = [c.name for c in ledger_events.columns]
    with engine.connect() as conn:
        if not _has_table(conn):
            return pd.DataFrame(columns=columns)
        query = sa.select(ledger_events).order_by(ledger_events.c.id)
        if ledger_id is not None:
            query = query.where(ledger_events.c.ledger_id == ledger_id)
        return pd.read_sql(query, conn)


def fold_events(events: pd.DataFrame) -> pd.DataFrame:
    """The ledger as it stands: per problem, each field's last value set, with who changed it last and when."""
    rows: dict[str, dict] = {}
    for event in events.itertuples(index=False):
        row = rows.setdefault(event.ledger_id, {name: None for name in FIELDS})
        row.update(json.loads(event.fields_json))
        row.update(ledger_id=event.ledger_id, updated_at=event.at, updated_by=event.user)
    frame = pd.DataFrame(list(rows.values()), columns=LEDGER_COLUMNS)
    return frame.astype({c: "object" for c in LEDGER_COLUMNS}).reset_index(drop=True)


def current_ledger(engine: sa.Engine) -> pd.DataFrame:
    """The ledger as it stands (one row per problem, in the order they were entered)."""
    return fold_events(read_events(engine))


def check_rows(rows: pd.DataFrame, settings: Settings) -> Validation:
    """Ledger rows (English column names, text cells; index = the row number shown in messages) against the contract."""
    cells = rows.reindex(columns=[c for c in FIELDS if c in rows.columns]).astype("object")
    return validate_frame(cells.where(cells.notna(), None), LEDGER, settings)


def _clean(value) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) or pd.isna(value) else str(value)


def next_ids(taken: set[str], count: int, today: dt.date) -> list[str]:
    """count new 台账编号 'TZ2026-001', … not yet taken (numbered on from the year's highest)."""
    prefix = f"TZ{today.year}-"
    used = [int(t[len(prefix):]) for t in taken if t.startswith(prefix) and t[len(prefix):].isdigit()]
    start = max(used, default=0) + 1
    return [f"{prefix}{k:03d}" for k in range(start, start + count)]


def add_problems(engine: sa.Engine, rows: pd.DataFrame, settings: Settings, user: str) -> tuple[Validation, list[str]]:
    """Check new problems and store them in one transaction (an empty 台账编号 gets the next free number);
    nothing is stored when any row fails or an ID already exists."""
    rows = rows.copy()
    taken = set(current_ledger(engine)["ledger_id"])
    if "ledger_id" not in rows.columns:
        rows["ledger_id"] = None
    blank = rows["ledger_id"].isna() | (rows["ledger_id"].astype("string").str.strip() == "")
    rows.loc[blank, "ledger_id"] = next_ids(taken | set(rows["ledger_id"].dropna()), int(blank.sum()), dt.date.today())
    checked = check_rows(rows, settings)
    if not checked.ok:
        return checked, []
    clash = sorted(set(checked.frame["ledger_id"]) & taken)
    if clash:
        raise store.StoreError(f"台账编号 {'、'.join(clash)} 已在问题台账中，未新增任何问题；修改已有问题请在台账中编辑。")
    ids = []
    with store.write_transaction(engine) as conn:
        ledger_events.create(conn, checkfirst=True)
        at = store.now_text()
        for record in checked.frame.to_dict("records"):
            fields = {name: _clean(record.get(name)) for name in FIELDS}
            conn.execute(ledger_events.insert().values(ledger_id=fields["ledger_id"], at=at, user=user, action="create",
                                                       fields_json=json.dumps(fields, ensure_ascii=False)))
            store.log_event_in(conn, "ledger_create", user, f"{fields['ledger_id']}：{fields['problem'][:40]}", ACTION_KIND)
            ids.append(fields["ledger_id"])
    return checked, ids


def update_problem(engine: sa.Engine, ledger_id: str, changes: dict, settings: Settings, user: str) -> tuple[Validation, dict]:
    """Apply changes to one problem after checking the whole row again; stores one event with the changed fields.
    Closing (整改状态 → 已销号) without a 销号日期 takes today's date."""
    ledger = current_ledger(engine)
    match = ledger[ledger["ledger_id"] == ledger_id]
    if match.empty:
        raise store.StoreError(f"问题台账中没有编号为“{ledger_id}”的问题。")
    row = {name: match.iloc[0][name] for name in FIELDS} | {k: v for k, v in changes.items() if k in FIELDS and k != "ledger_id"}
    if row.get("state") == "已销号" and not _clean(row.get("closed")):
        row["closed"] = dt.date.today().isoformat()
    checked = check_rows(pd.DataFrame([row], index=[1]), settings)
    if not checked.ok:
        return checked, {}
    new = {name: _clean(checked.frame.iloc[0].get(name)) for name in FIELDS}
    old = {name: _clean(match.iloc[0][name]) for name in FIELDS}
    changed = {k: v for k, v in new.items() if v != old[k]}
    if not changed:
        return checked, {}
    action = "ledger_close" if changed.get("state") == "已销号" else "ledger_update"
    with store.write_transaction(engine) as conn:
        conn.execute(ledger_events.insert().values(ledger_id=ledger_id, at=store.now_text(), user=user, action="update",
                                                   fields_json=json.dumps(changed, ensure_ascii=False)))
        detail = "；".join(f"{LEDGER.header_of(k)}：{old[k] or '（空）'} → {v or '（空）'}" for k, v in changed.items())
        store.log_event_in(conn, action, user, f"{ledger_id} {detail}"[:500], ACTION_KIND)
    return checked, changed


def import_ledger(engine: sa.Engine, data: bytes, file_name: str, settings: Settings, user: str) -> tuple[Validation, list[str]]:
    """A ledger file (CSV or .xlsx with the 问题台账 headers) read under the settings' upload limits, checked and added
    through the upload pipeline."""
    read = read_within_limits(data, file_name, LEDGER, settings)
    return add_problems(engine, read.frame, settings, user)


def import_ledger_path(engine: sa.Engine, path: Path, settings: Settings, user: str) -> tuple[Validation, list[str]]:
    """import_ledger for a file on disk (the bundled mock ledger)."""
    path = Path(path)
    return import_ledger(engine, path.read_bytes(), path.name, settings, user)
