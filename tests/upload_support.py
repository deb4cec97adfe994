"""Helpers shared by the upload tests: a small base database imported the analysts' way, a fingerprint of everything
stored, and the command line run in-process. The fixtures that use them live in conftest.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

from analysis.cli import main as cli
from analysis.data import store
from analysis.data.importing import commit_import, prepare_import

ROOT = Path(__file__).resolve().parents[1]

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


def raw_db_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log as bytes, to search for anything stored in clear."""
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """The command line in-process: exit code, stdout, stderr."""
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def city_wave_csv(wave: str, answers_by_county: dict[str, list[str]], town: dict[str, str] | None = None,
                  comment: str = "", encoding: str = "utf-8-sig") -> bytes:
    """One wave for the given counties: each county's overall answers in order, its township (城关镇 by default)."""
    lines = [HEADER]
    for c, (county, answers) in enumerate(answers_by_county.items()):
        place = (town or {}).get(county, "城关镇").replace('"', '""')
        note = comment.replace('"', '""')
        lines += [f'W{c:02d}{i:04d},{wave},{county},{a},1,"{place}","{note}",满意' for i, a in enumerate(answers)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def mock_db_with(path: Path, settings, data: bytes, file_name: str) -> Path:
    """The bundled mock database plus one more survey file, imported the analysts' way."""
    from analysis.data.importing import build_mock_database

    engine = store.connect(path)
    build_mock_database(engine, settings, ROOT / "data" / "mock")
    plan = prepare_import(data, file_name, "responses", settings, engine)
    assert plan.ok, plan.validation.errors
    commit_import(engine, plan, "测试")
    engine.dispose()
    return path
