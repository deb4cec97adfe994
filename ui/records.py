"""The 数据管理 page's record tables (import history, audit log) as shown, cached on their versions, and drawn once."""

from __future__ import annotations

import pandas as pd

from analysis.data import store
from analysis.data.contract import KIND_KEYS, LEDGER, file_kind
from analysis.formatting import fmt_time
from ui import data
from ui.caching import sent_section, shared_view
from ui.widgets import show_table

KIND_LABELS = {key: file_kind(key, ()).label for key in KIND_KEYS}
STATUS_LABELS = {"active": "使用中", "replaced": "已被替换", "deleted": "已删除", "purged": "已彻底删除"}
# Every kind the audit log names: the file kinds, the 问题台账 (kept as audited events, not imports), plans, backups.
LOG_KIND_LABELS = KIND_LABELS | {LEDGER.key: LEDGER.label, "scenario": "推演方案", "database": "整个数据库", "": ""}
HISTORY_HEADERS = {"id": "编号", "kind": "类型", "period": "批次/年度", "file_name": "文件名", "sha256": "SHA-256", "rows": "行数",
                   "status": "状态", "imported_at": "导入时间", "imported_by": "导入人"}
AUDIT_HEADERS = {"id": "编号", "at": "时间", "user": "操作人", "action": "操作", "kind": "类型", "period": "批次/年度",
                 "file_name": "文件名", "sha256": "SHA-256", "rows": "行数", "import_id": "导入编号"}


def hash_last(frame: pd.DataFrame) -> pd.DataFrame:
    """The long SHA-256 column last, so status and row counts stay on screen."""
    return frame[[c for c in frame.columns if c != "SHA-256"] + ["SHA-256"]]


# Cached views: formatting every row's time and labels again on each rerun was a fifth of this page's run.
@shared_view(show_spinner=False, max_entries=4)
def history_view(data_version: str) -> pd.DataFrame:
    """Every import with Chinese labels and local times, SHA-256 last."""
    history = data.import_history(data_version)
    return hash_last(history.assign(kind=history["kind"].map(KIND_LABELS), status=history["status"].map(STATUS_LABELS),
                                    imported_at=history["imported_at"].map(fmt_time)).rename(columns=HISTORY_HEADERS))


@shared_view(show_spinner=False, max_entries=4)
def import_labels(data_version: str) -> dict[int, str]:
    """Each import's label in the delete/restore and purge choosers: '#3 调查问卷 2026年第3季度（使用中，433 行）'."""
    history = data.import_history(data_version)
    return {int(r.id): f"#{r.id} {KIND_LABELS[r.kind]} {r.period}（{STATUS_LABELS[r.status]}，{int(r.rows):,} 行）"
            for r in history.itertuples()}


@shared_view(show_spinner=False, max_entries=4)
def import_statuses(data_version: str) -> dict[int, str]:
    """Each import's status by id, in the import history's order (the choosers' options and what their buttons may do)."""
    history = data.import_history(data_version)
    return {int(i): str(s) for i, s in zip(history["id"], history["status"])}


@shared_view(show_spinner=False, max_entries=4)
def audit_view(log_key: str) -> pd.DataFrame:
    """The audit log with Chinese labels and local times, SHA-256 last."""
    audit = data.audit_entries(log_key)
    return hash_last(audit.assign(action=audit["action"].map(lambda a: store.ACTION_LABELS.get(a, a)),
                                  kind=audit["kind"].map(lambda k: LOG_KIND_LABELS.get(k, k)),
                                  at=audit["at"].map(fmt_time)).rename(columns=AUDIT_HEADERS))


# Sent sections: the tables' Arrow bytes are built once per version, not on every visit (ui/caching.sent_section).
@sent_section(max_entries=4)
def history_table(data_version: str) -> None:
    """The import history as a table."""
    show_table(history_view(data_version), width="stretch")


@sent_section(max_entries=4)
def audit_table(log_key: str) -> None:
    """The audit log as a table."""
    show_table(audit_view(log_key), width="stretch")
