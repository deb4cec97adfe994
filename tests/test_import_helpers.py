"""db_state, which the upload tests use to show a refused file changed nothing, must notice any change."""

from __future__ import annotations

import sqlite3

from tests.upload_support import db_state


def test_db_state_notices_any_change(base_db):
    before = db_state(base_db)
    with sqlite3.connect(base_db) as conn:
        conn.execute("UPDATE data_responses SET comment = 'x' WHERE excel_row = 2 AND respondent_id = 'R001'")
    after = db_state(base_db)
    assert after["counts"] == before["counts"] and after["history"] == before["history"]
    assert after["digest"] != before["digest"]
