"""Named planner scenarios saved in the database."""

from __future__ import annotations

import sqlalchemy as sa

from analysis import store
from analysis.planner import Move, moves_from_json, moves_to_json


def save_scenario(engine: sa.Engine, name: str, wave: str, moves: list[Move], user: str) -> None:
    """Save (or overwrite) a named scenario."""
    if not name.strip():
        raise store.StoreError("请为方案命名。")
    with store.write_transaction(engine) as conn:
        conn.execute(store.scenarios.delete().where(store.scenarios.c.name == name.strip()))
        conn.execute(store.scenarios.insert().values(name=name.strip(), wave=wave, spec_json=moves_to_json(moves),
                                                     saved_at=store.now_text(), saved_by=user))


def load_scenarios(engine: sa.Engine) -> dict[str, list[Move]]:
    """Every saved scenario by name, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(store.scenarios.c.name, store.scenarios.c.spec_json).order_by(store.scenarios.c.id))
        return {name: moves_from_json(spec) for name, spec in rows}


def delete_scenario(engine: sa.Engine, name: str) -> None:
    """Remove a saved scenario."""
    with store.write_transaction(engine) as conn:
        conn.execute(store.scenarios.delete().where(store.scenarios.c.name == name))

