"""Exports of uploaded text: cells that a spreadsheet would run as formulas are neutralised in CSV and Excel downloads."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from analysis.formatting import csv_bytes, export_safe, xlsx_bytes

DANGEROUS = ['=HYPERLINK("http://example.invalid","点我")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]
HARMLESS = ["希望多开课后服务", "<script>alert('x')</script>", "1-2年级", "满意", ""]


@pytest.mark.parametrize("cell", DANGEROUS)
def test_export_safe_prefixes_formula_cells(cell):
    assert export_safe(pd.DataFrame({"意见建议": pd.Series([cell], dtype="str")}))["意见建议"].iloc[0] == "'" + cell


@pytest.mark.parametrize("cell", HARMLESS)
def test_export_safe_leaves_plain_text(cell):
    assert export_safe(pd.DataFrame({"意见建议": [cell]}))["意见建议"].iloc[0] == cell


def test_numbers_and_missing_values_are_untouched():
    frame = pd.DataFrame({"得分": [-1.5, 85.0], "名次": [1, 2], "意见建议": pd.Series([None, "-x"], dtype="str")})
    out = export_safe(frame)
    assert out["得分"].tolist() == [-1.5, 85.0] and out["名次"].tolist() == [1, 2]
    assert pd.isna(out["意见建议"].iloc[0]) and out["意见建议"].iloc[1] == "'-x"


def test_header_cells_are_neutralised_too():
    assert list(export_safe(pd.DataFrame({"=cmd": ["a"]})).columns) == ["'=cmd"]


def test_csv_download_cells():
    rows = list(csv.reader(io.StringIO(csv_bytes(pd.DataFrame({"意见建议": DANGEROUS[:4] + HARMLESS[:2]})).decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["'" + c for c in DANGEROUS[:4]] + HARMLESS[:2]


def test_excel_download_holds_text_never_formulas():
    data = xlsx_bytes({"错误清单": pd.DataFrame({"值": DANGEROUS[:4], "说明": HARMLESS[1:5]})})
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active  # data_only=False: formulas would come back as '=…'
    cells = [sheet.cell(row=r, column=1) for r in range(2, 6)]
    assert [c.value for c in cells] == ["'" + c for c in DANGEROUS[:4]]
    assert all(c.data_type == "s" for c in cells)
    assert sheet.cell(row=3, column=2).value == "1-2年级"
