"""数据管理's record tables: every kind and action the audit log holds reads in Chinese."""

import re

from analysis.data import store
from ui import records


def test_the_audit_log_names_every_kind_in_chinese(app_db):
    """The bundled data's log (imports, 问题台账 entries from the mock ledger) has no English kind left on the page."""
    view = records.audit_view(str(store.log_version(store.connect(app_db))))
    assert "问题台账" in set(view["类型"])
    english = [v for v in list(view["类型"]) + list(view["操作"]) if re.search(r"[A-Za-z]", str(v))]
    assert not english, english
