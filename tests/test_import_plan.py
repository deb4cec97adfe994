"""The one call the upload page makes: prepare_import returns a plan (or refuses), and workbook_sheets says which
sheets a file has, by content."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from analysis.data import store
from analysis.data.importing import UploadRefused, file_sha256, prepare_import, workbook_sheets
from analysis.data.readers import ReadError

CSV = "受访者编号,测评批次,县区,总体满意度,备注栏\r\nR001,2026年第3季度,云溪县,满意,x\r\nR002,2026年第3季度,云溪县,一般,y\r\n"


def _xlsx(*names: str) -> bytes:
    book = openpyxl.Workbook()
    book.active.title = names[0]
    for name in names[1:]:
        book.create_sheet(name)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "hello")
    return out.getvalue()


@pytest.mark.parametrize(("data", "expected"), [
    (_xlsx("说明", "问卷"), ["说明", "问卷"]),
    (CSV.encode("utf-8"), []),        # a CSV has no sheets
    (_zip(), []),                     # a plain zip is no workbook: prepare_import explains
    (b"PK\x03\x04broken", []),       # a damaged archive likewise
])
def test_workbook_sheets_by_content(settings, data, expected) -> None:
    assert workbook_sheets(data, settings) == expected


def test_prepare_import_plan_and_refusals(settings, tmp_path) -> None:
    engine = store.connect(tmp_path / "app.db")
    data = CSV.encode("utf-8")
    plan = prepare_import(data, "问卷.csv", "responses", settings, engine)
    assert plan.ok and len(plan.validation.frame) == 2 and plan.sha256 == file_sha256(data)
    assert plan.read.frame.empty  # the raw cells are dropped once checked
    assert any("备注栏" in w for w in plan.validation.warnings)  # the unknown column is named, once
    assert sum("备注栏" in w for w in plan.validation.warnings) == 1
    # A digest the caller already has is used as is (no second pass over the bytes).
    assert prepare_import(data, "问卷.csv", "responses", settings, engine, sha256="abc").sha256 == "abc"
    with pytest.raises(UploadRefused, match="超过上传上限") as refused:
        prepare_import(data, "问卷.csv", "responses", settings, engine, max_bytes=10)
    assert isinstance(refused.value, ReadError)  # callers that catch unreadable files catch refusals too
    with pytest.raises(UploadRefused, match="未知的文件类型"):
        prepare_import(data, "问卷.csv", "nonsense", settings, engine)
    engine.dispose()
