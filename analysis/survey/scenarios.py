"""Named planner scenarios saved in the database."""

from __future__ import annotations

import sqlalchemy as sa

from analysis.data import store
from analysis.survey.planner import Move, moves_from_json, moves_to_json


MAX_NAME_CHARS = 40


def save_scenario(engine: sa.Engine, name: str, wave: str, moves: list[Move], user: str, overwrite: bool = False) -> str:
    """Save a named scenario, logged; an existing name is refused unless overwrite is asked for. Returns the action."""
    name = name.strip()
    if not name:
        raise store.StoreError("请为方案命名。")
    if len(name) > MAX_NAME_CHARS or any(ord(ch) < 32 for ch in name):
        raise store.StoreError(f"方案名称不能超过 {MAX_NAME_CHARS} 个字，也不能含换行等控制字符。")
    with store.write_transaction(engine) as conn:
        exists = conn.execute(sa.select(store.scenarios.c.id).where(store.scenarios.c.name == name)).first() is not None
        if exists and not overwrite:
            raise store.StoreError(f"已有同名方案“{name}”，未保存。请换一个名称，或勾选“覆盖同名方案”后再保存。")
        conn.execute(store.scenarios.delete().where(store.scenarios.c.name == name))
        conn.execute(store.scenarios.insert().values(name=name, wave=wave, spec_json=moves_to_json(moves),
                                                     saved_at=store.now_text(), saved_by=user))
        action = "scenario_overwrite" if exists else "scenario_save"
        store.log_event_in(conn, action, user, name, kind="scenario")
    return action


def load_scenarios(engine: sa.Engine) -> dict[str, list[Move]]:
    """Every saved scenario by name, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(store.scenarios.c.name, store.scenarios.c.spec_json).order_by(store.scenarios.c.id))
        return {name: moves_from_json(spec) for name, spec in rows}


def delete_scenario(engine: sa.Engine, name: str, user: str = "未记录") -> None:
    """Remove a saved scenario, logged."""
    with store.write_transaction(engine) as conn:
        if conn.execute(store.scenarios.delete().where(store.scenarios.c.name == name)).rowcount:
            store.log_event_in(conn, "scenario_delete", user, name, kind="scenario")

