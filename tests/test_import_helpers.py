"""Helpers shared by the upload tests (a small base database, a fingerprint of everything stored), and their own checks."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from analysis import store
from analysis.importing import commit_import, prepare_import

BAD = Path(__file__).resolve().parent / "fixtures" / "bad"
STORED_WAVE = "2026年第2季度"
NEW_WAVE = "2026年第3季度"
HEADER = "受访者编号,测评批次,县区,总体满意度,权重,乡镇（街道）,意见建议,办学条件"


def survey_csv(n: int, wave: str, county: str = "云溪县", prefix: str = "R", start: int = 1) -> str:
    """n valid survey rows under the usual header (data row k is Excel row k + 1)."""
    answers = ["满意", "比较满意", "一般", "不太满意", "不满意"]
    lines = [HEADER] + [f"{prefix}{i:03d},{wave},{county},{answers[i % 5]},1,城关镇,,满意" for i in range(start, start + n)]
    return "\r\n".join(lines) + "\r\n"


def make_base_db(path: Path | str, settings) -> Path | str:
    """A database (a SQLite path or a server URL) holding one survey wave (2026年第2季度: 35 rows 云溪县 + 35 rows 临江区), imported the analysts' way."""
    engine = store.connect(path)
    text = survey_csv(35, STORED_WAVE) + survey_csv(35, STORED_WAVE, "临江区", "L").split("\r\n", 1)[1]
    plan = prepare_import(text.encode("utf-8-sig"), "基础数据.csv", "responses", settings, engine)
    assert plan.ok, plan.validation.errors
    commit_import(engine, plan, "测试")
    engine.dispose()
    return path


def db_state(target: Path | str) -> dict:
    """Everything that says what is stored: import history, audit log, data version, row counts and a digest of every
    table (on either backend)."""
    engine = store.connect(target)
    state = {
        "history": store.import_history(engine).to_dict("records"),
        "audit": store.audit_entries(engine).to_dict("records"),
        "version": store.data_version(engine),
    }
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        tables = sorted(inspector.get_table_names())
        state["counts"], digest = {}, hashlib.sha256()
        for table in tables:
            # Ordered by every column: a server has no rowid, and the digest must not depend on the read order.
            order = ", ".join(str(k + 1) for k in range(len(inspector.get_columns(table))))
            rows = conn.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY {order}').fetchall()
            state["counts"][table] = len(rows)
            for row in rows:
                digest.update(repr(tuple(row)).encode())
        state["digest"] = digest.hexdigest()
    engine.dispose()
    return state


@pytest.fixture
def base_db(tmp_path, settings, monkeypatch) -> Path:
    """A fresh base database for one test; SATISFACTION_DB points at it so nothing touches data/app.db."""
    path = make_base_db(tmp_path / "app.db", settings)
    monkeypatch.setenv(store.DB_ENV, str(path))
    return path


@pytest.fixture
def any_db(empty_db, settings, monkeypatch) -> str:
    """The base database on SQLite and on PostgreSQL (a path or a URL); SATISFACTION_DB points at it."""
    make_base_db(empty_db, settings)
    monkeypatch.setenv(store.DB_ENV, empty_db)
    return empty_db


def test_base_db_holds_one_wave(base_db):
    state = db_state(base_db)
    assert [(h["period"], h["rows"], h["status"]) for h in state["history"]] == [(STORED_WAVE, 70, "active")]
    assert state["counts"]["data_responses"] == 70
    assert state["version"] == 1


def test_db_state_notices_any_change(base_db):
    before = db_state(base_db)
    with sqlite3.connect(base_db) as conn:
        conn.execute("UPDATE data_responses SET comment = 'x' WHERE excel_row = 2 AND respondent_id = 'R001'")
    after = db_state(base_db)
    assert after["counts"] == before["counts"] and after["history"] == before["history"]
    assert after["digest"] != before["digest"]
