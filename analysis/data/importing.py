"""Upload pipeline: read → map headers → validate → (analyst confirms) → store in one transaction."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from analysis.data import store
from analysis.data.contract import KIND_KEYS, FileKind, file_kind
from analysis.data.duplicates import KEY_COLUMNS, DuplicateWave, duplicate_waves
from analysis.data.readers import ZIP_MAGIC, ReadError, ReadResult, XlsxLimits, read_upload, xlsx_sheet_names
from analysis.data.validate import Validation, validate_frame
from analysis.formatting import fmt_time
from analysis.settings import Settings
from analysis.survey.basis import coverage_warnings


LOG = logging.getLogger(__name__)


@dataclass
class ImportPlan:
    """Everything an analyst sees before confirming an import; nothing has been written yet."""

    kind: FileKind
    file_name: str
    sha256: str
    read: ReadResult
    validation: Validation
    overlap: list[str] = field(default_factory=list)
    same_file: list[dict] = field(default_factory=list)
    duplicates: list[DuplicateWave] = field(default_factory=list)  # waves repeating another wave's questionnaires

    @property
    def ok(self) -> bool:
        """True when the rows may be stored."""
        return self.validation.ok

    @property
    def periods(self) -> list[str]:
        """Waves (or school years) in the file."""
        return sorted(self.validation.frame[self.kind.period].dropna().unique().tolist())

    def preview(self, rows: int = 10) -> pd.DataFrame:
        """The first rows as the analyst wrote them: Excel row number first, then the file's columns under Chinese headers."""
        frame = self.validation.frame.head(rows)
        # Only contract columns: anything the pipeline adds for itself (the index's excel_row and the like) stays hidden.
        shown = [c.name for c in self.kind.columns if c.name in frame.columns]
        out = frame[shown].rename(columns=self.kind.header_of)
        out.insert(0, "Excel 行号", frame.index.to_numpy())
        return out.reset_index(drop=True)

    def counts(self) -> pd.DataFrame:
        """Rows per wave and county (or per year and township) for the preview."""
        frame = self.validation.frame
        keys = [self.kind.period, "county" if "county" in frame.columns else "township"]
        keys = [k for k in keys if k in frame.columns]
        return frame.groupby(keys).size().rename("行数").reset_index().rename(columns={c: self.kind.header_of(c) for c in keys})


def file_sha256(data: bytes) -> str:
    """SHA-256 of the uploaded bytes, to recognise the same file twice."""
    return hashlib.sha256(data).hexdigest()


def xlsx_limits(settings: Settings) -> XlsxLimits:
    """The workbook limits the settings ask for."""
    sec = settings.security
    return XlsxLimits(sec.xlsx_max_unpacked_mb * 2**20, float(sec.xlsx_max_ratio), settings.max_rows)


def size_text(n_bytes: int) -> str:
    """'12.3 MB' for a byte count."""
    return f"{n_bytes / 2**20:.1f} MB"


class UploadRefused(ReadError):
    """A readable file the upload limits refuse (too large, too many rows, an unknown kind); nothing is written."""


def workbook_sheets(data: bytes, settings: Settings) -> list[str]:
    """The sheet names when the bytes are a workbook (by content, not name: an .xlsx renamed .csv still has sheets);
    [] for anything else, or for a workbook that cannot be opened (prepare_import then says why)."""
    if not data.startswith(ZIP_MAGIC):
        return []
    try:
        return xlsx_sheet_names(data, xlsx_limits(settings))
    except ReadError:
        return []


def read_within_limits(data: bytes, file_name: str, kind: FileKind, settings: Settings, sheet: str | None = None,
                       max_bytes: int | None = None) -> ReadResult:
    """A file read under every upload limit the settings set (size, a workbook's unpacked size and ratio, rows), the
    same for every uploader: survey and metrics files here, ledger files in analysis.data.ledger."""
    if max_bytes is not None and len(data) > max_bytes:
        raise UploadRefused(f"文件大小 {size_text(len(data))} 超过上传上限 {max_bytes / 2**20:.0f} MB，"
                            f"请拆分成几个文件分批上传（或由管理员用命令行 python -m analysis import 导入）。")
    read = read_upload(data, file_name, kind, sheet, xlsx_limits(settings))
    if len(read.frame) > settings.max_rows:
        raise UploadRefused(f"文件有 {len(read.frame):,} 行数据，超过上限 {settings.max_rows:,} 行（设置项 survey.max_rows），"
                            f"请拆分后分批上传。")
    return read


def prepare_import(data: bytes, file_name: str, kind_key: str, settings: Settings, engine: sa.Engine,
                   sheet: str | None = None, max_bytes: int | None = None, sha256: str | None = None) -> ImportPlan:
    """Read and check a file against the contract and the database; writes nothing.

    Raises ReadError for an unreadable file and UploadRefused (a ReadError) for one the limits refuse; `sha256` is the
    file's digest when the caller already has it (hashing 200 MB takes ~0.3 s).
    """
    if kind_key not in KIND_KEYS:
        raise UploadRefused(f"未知的文件类型“{kind_key}”，可选：{'、'.join(KIND_KEYS)}")
    kind = file_kind(kind_key, settings.items)
    read = read_within_limits(data, file_name, kind, settings, sheet, max_bytes)
    validation = validate_frame(read.frame, kind, settings)
    # The checked rows are all the plan needs from here on; dropping the raw cells halves what a waiting plan holds.
    read = replace(read, frame=read.frame.iloc[0:0])
    warnings = list(validation.warnings)
    if read.ignored_columns:
        warnings.append(f"以下列不在数据规范中，已忽略（不会存储）：{'、'.join(read.ignored_columns)}")
    if kind.key == "responses" and validation.ok:
        published = store.load_kind(engine, file_kind("published", settings.items), columns=["wave", "county", "score"])
        warnings.extend(coverage_warnings(validation.frame, settings.counties, published))
        stored_keys = store.load_kind(engine, kind, columns=["wave", *KEY_COLUMNS])
        duplicates = duplicate_waves(validation.frame, stored_keys)
    else:
        duplicates = []
    validation = replace(validation, warnings=warnings)
    sha = sha256 or file_sha256(data)
    periods = validation.frame[kind.period].dropna().unique().tolist() if kind.period in validation.frame else []
    with engine.connect() as conn:
        stored = store.active_periods(conn, kind.key)
    return ImportPlan(kind, file_name, sha, read, validation, sorted(p for p in periods if p in stored),
                      store.find_same_file(engine, sha, kind.key), duplicates)


def same_file_text(plan: ImportPlan) -> str:
    """'这个文件（SHA-256 相同）已于 … 导入过' for a file seen before, else ''."""
    if not plan.same_file:
        return ""
    first = plan.same_file[0]
    return f"这个文件（SHA-256 相同）已于 {fmt_time(first['imported_at'])} 以“{first['file_name']}”导入过（导入编号 #{first['id']}）。"


def commit_import(engine: sa.Engine, plan: ImportPlan, user: str, replace: bool = False) -> list[dict]:
    """Store a checked plan in one transaction; refuses a plan with blocking errors or an unconfirmed overlap."""
    if not plan.ok:
        raise store.StoreError(f"文件有 {len(plan.validation.errors):,} 处错误，未导入任何数据。")
    try:
        return store.store_frame(engine, plan.validation.frame, plan.kind, file_name=plan.file_name, sha256=plan.sha256,
                                 user=user, replace=replace)
    except store.StoreError as exc:
        raise store.StoreError(" ".join(filter(None, [same_file_text(plan), str(exc)]))) from exc
    except sa.exc.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise store.StoreError(f"数据库正忙（另一个导入仍在进行，已等待 {store.LOCK_TIMEOUT_S} 秒），未导入任何数据，请稍后再试。") from exc
        if "full" in str(exc).lower() or "no space" in str(exc).lower():
            # The driver's message holds the SQL and the rows being written: never shown, only this sentence.
            raise store.StoreError("服务器磁盘空间已满，未导入任何数据。请管理员清理磁盘后再试。") from None
        LOG.error("import of %s failed", plan.file_name, exc_info=True)  # the server log, never the page
        raise store.StoreError("写入数据库失败，未导入任何数据。错误详情已写入服务器日志，请联系管理员。") from exc


def import_path(path: Path, kind_key: str, settings: Settings, engine: sa.Engine, user: str,
                sheet: str | None = None, replace: bool = False) -> tuple[ImportPlan, list[dict]]:
    """Import a file from disk in one step (command line and the bundled mock data)."""
    path = Path(path)
    plan = prepare_import(path.read_bytes(), path.name, kind_key, settings, engine, sheet)
    if not plan.ok:
        return plan, []
    return plan, commit_import(engine, plan, user, replace)


def summary_line(plan: ImportPlan, records: list[dict]) -> str:
    """One Chinese line describing a finished import."""
    rows = sum(r["rows"] for r in records)
    periods = "、".join(r["period"] for r in records)
    replaced = sum(r["action"] == "replace" for r in records)
    extra = f"（替换 {replaced} 个批次）" if replaced else ""
    return f"已导入{plan.kind.label} {rows:,} 行：{periods}{extra}；编码 {plan.read.encoding}；SHA-256 {plan.sha256[:12]}…"


def error_text(plan: ImportPlan, limit: int = 50) -> str:
    """The error table as plain Chinese lines for stderr."""
    errors = plan.validation.errors
    lines = [f"第 {r.行号} 行，列“{r.列}”，值“{r.值}”：{r.问题}" for r in errors.head(limit).itertuples()]
    if len(errors) > limit:
        lines.append(f"……另有 {len(errors) - limit} 处错误")
    return "\n".join([f"文件“{plan.file_name}”有 {len(errors)} 处错误，未导入任何数据："] + lines)


MOCK_KINDS = ("responses", "published", "preschool", "compulsory", "classes", "petitions", "home_visits")
OPTIONAL_MOCK_KINDS = ("petitions", "home_visits")  # issue 14: a mock folder written before them still loads


def build_mock_database(engine: sa.Engine, settings: Settings, mock_dir: Path) -> list[str]:
    """Load the bundled mock files through the same import path analysts use (and the starting 问题台账)."""
    from analysis.data import ledger  # here: ledger imports the reader and validator this module also uses

    lines = []
    user = "系统（示例数据）"
    for kind_key in MOCK_KINDS:
        path = Path(mock_dir) / f"{kind_key}.csv"
        if kind_key in OPTIONAL_MOCK_KINDS and not path.exists():
            continue
        plan, records = import_path(path, kind_key, settings, engine, user=user)
        if not plan.ok:
            raise store.StoreError(error_text(plan))
        lines.append(summary_line(plan, records))
    ledger_path = Path(mock_dir) / "ledger.csv"
    if ledger_path.exists():
        checked, ids = ledger.import_ledger_path(engine, ledger_path, settings, user)
        if not checked.ok:
            raise store.StoreError(f"示例问题台账有误：{checked.errors.to_dict('records')}")
        lines.append(f"已导入问题台账 {len(ids)} 项")
    return lines
