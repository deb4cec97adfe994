"""Schema migrations (Alembic, run from code): the migrated schema is the store's, and a database made by the previous
release (tests/fixtures/previous_release.db, made by that release's code: see make_previous_release.py) upgrades
without losing a row."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from analysis.cli import main as cli
from analysis.data import store
from analysis.survey.scenarios import load_scenarios
from tests.conftest import ROOT
from tests.upload_support import survey_csv

PREVIOUS = ROOT / "tests" / "fixtures" / "previous_release.db"


def test_a_new_database_gets_exactly_the_store_tables(empty_db):
    engine = store.connect(empty_db)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), store.metadata) == []
    assert store.schema_revision(engine) == store.head_revision() == "0002"


def test_the_head_from_the_file_names_is_alembics_single_head():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(store._alembic_config())
    assert script.get_heads() == [store.head_revision()]
    assert all(Path(rev.path).name.startswith(rev.revision + "_") for rev in script.walk_revisions())


def every_row(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, read with sqlite3 (independently of the store)."""
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}


def test_the_previous_release_database_upgrades_without_data_loss(tmp_path, capsys, settings):
    path = Path(shutil.copyfile(PREVIOUS, tmp_path / "app.db"))
    before = every_row(path)
    assert "alembic_version" not in before
    assert cli.main(["init-db", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [f"数据库结构已更新到版本 0002（原为 无版本记录）：{path}", f"数据库已有数据，跳过示例数据载入：{path}"]
    after = every_row(path)
    assert after.pop("alembic_version") == [("0002",)]
    assert after.pop("ledger_events") == []  # 0002 adds the ledger's (empty) event table
    assert after == before  # every table, every row, in order
    # What the fixture script stored, as it printed it: three survey waves (the last replaced by 110 rows), the
    # published table's first import deleted, one scenario.
    engine = store.connect(path)
    waves = store.stored_waves(engine)
    assert waves.query("kind == 'responses'")[["wave", "rows"]].values.tolist() == [
        ["2026年第1季度", 132], ["2026年第2季度", 132], ["2026年第3季度", 110]]
    assert waves.query("kind == 'published'")["wave"].tolist() == ["2025年第3季度", "2025年第4季度", "2026年第1季度", "2026年第2季度", "2026年第3季度"]
    assert store.audit_entries(engine)["action"].value_counts().to_dict() == {"import": 3 + 6 + 3 + 3 + 3, "replace": 1, "delete": 1}
    assert [(m.item, m.from_answer, m.to_answer, m.share) for m in load_scenarios(engine)["农村课后服务提升"]] == [("课后服务", "一般", "满意", 0.1)]
    # and it goes on working: the next import lands beside the old rows
    assert cli.main(["import", str(_write(tmp_path, survey_csv(5, "2026年第4季度"))), "--kind", "responses", "--db", str(path)]) == 0
    assert store.stored_waves(engine).query("kind == 'responses'")["rows"].tolist() == [132, 132, 110, 5]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wave4.csv"
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_init_db_upgrades_a_database_without_a_revision_on_either_backend(any_db, capsys):
    with sa.create_engine(store.db_url(any_db)).begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")
    assert store.stored_revision(any_db) is None
    assert cli.main(["init-db", "--db", any_db]) == 0
    assert "数据库结构已更新到版本 0002（原为 无版本记录）" in capsys.readouterr().out
    assert store.stored_revision(any_db) == "0002"
    assert cli.main(["init-db", "--db", any_db]) == 0  # at head: nothing to say about the schema
    assert capsys.readouterr().out.startswith("数据库已有数据，跳过示例数据载入")


def test_a_password_in_the_url_is_never_printed(monkeypatch, capsys):
    from analysis.data.backup import shown

    assert shown("postgresql+psycopg://app:s3cret@db.example:5432/satisfaction") == "postgresql+psycopg://app:***@db.example:5432/satisfaction"


def test_downgrading_to_base_and_upgrading_again_round_trips(any_db):
    """Every revision can be undone: to base leaves no store table, and upgrading again rebuilds the same schema."""
    from alembic import command

    engine = store.connect(any_db)
    config = store._alembic_config()
    with store.write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    with engine.connect() as conn:
        left = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
    assert not left & {t.name for t in store.metadata.sorted_tables}, left
    assert store.upgrade(engine) == store.head_revision()
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        assert {t.name for t in store.metadata.sorted_tables} <= set(inspector.get_table_names())
        # The store's own tables match its metadata exactly (the per-kind data tables are not part of it).
        diffs = compare_metadata(MigrationContext.configure(conn), store.metadata)
        assert [d for d in diffs if not str(d).count("data_")] == []
        if inspector.has_table("data_responses"):
            assert "ix_data_responses_county" in {ix["name"] for ix in inspector.get_indexes("data_responses")}
