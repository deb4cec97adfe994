"""Hand-built hostile .xlsx workbooks (the attacks of issue 12, item 2), shared by the tests and bench/bench_hostile.py.

Each is a valid zip with the parts openpyxl needs; the sheet XML is written a chunk at a time so that building a
workbook that unpacks to a gigabyte costs megabytes.
"""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

HEADER = ["受访者编号", "测评批次", "县区", "总体满意度"]
ROW = ["R001", "2026年第3季度", "云溪县", "满意"]

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '</Types>')
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '</Relationships>')
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="问卷" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    '</Relationships>')
SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{dimension}<sheetData>')
SHEET_TAIL = '</sheetData></worksheet>'


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def row_xml(number: int, values: list[str], first_column: int = 0) -> str:
    """One <row> of inline strings."""
    cells = "".join(f'<c r="{_letter(first_column + i)}{number}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                    for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


EMPTY_SST = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>')


def workbook(sheet_chunks: Iterable[str], shared_strings: Iterable[str] = (EMPTY_SST,), dimension: str = "") -> bytes:
    """A minimal workbook whose sheet XML and shared-string XML are the given chunks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, text in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS),
                           ("xl/workbook.xml", WORKBOOK), ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)):
            book.writestr(name, text)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(SHEET_HEAD.format(dimension=dimension).encode())
            for chunk in sheet_chunks:
                part.write(chunk.encode("utf-8"))
            part.write(SHEET_TAIL.encode())
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            for chunk in shared_strings:
                part.write(chunk.encode("utf-8"))
    return buffer.getvalue()


def _chunked(lines: Iterator[str], size: int = 20_000) -> Iterator[str]:
    batch = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def far_row(row_index: int = 10_000_000) -> bytes:
    """Header in row 1, one answer at row_index (4.7 KB at 10,000,000: blank rows in between cost nothing to store)."""
    return workbook([row_xml(1, HEADER), row_xml(row_index, ROW)])


def styled_blank_rows(n_rows: int = 5_500_000) -> bytes:
    """A header, one answer, then n_rows formatted but empty rows (Excel's 'format the whole column' accident)."""
    blanks = ('<row s="1" customFormat="1"/>' for _ in range(n_rows))  # no r=: each row follows the one before
    return workbook(itertools.chain([row_xml(1, HEADER), row_xml(2, ROW)], _chunked(blanks)))


def huge_shared_string(n_bytes: int = 2**30) -> bytes:
    """One unused shared string of n_bytes (977 KB compressed at 1 GB)."""
    def chunks() -> Iterator[str]:
        yield '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>'
        block = "a" * (1 << 20)
        for _ in range(n_bytes >> 20):
            yield block
        yield "</t></si></sst>"
    return workbook([row_xml(1, HEADER), row_xml(2, ROW)], chunks())


def wide_dimension() -> bytes:
    """A header and one answer under a <dimension> claiming every cell of the sheet (pads each row to 16,384 cells)."""
    return workbook([row_xml(1, HEADER), row_xml(2, ROW)], dimension='<dimension ref="A1:XFD1048576"/>')


def far_column() -> bytes:
    """A header and one answer whose last cell sits far right of the header, in column XFD."""
    return workbook([row_xml(1, HEADER), row_xml(2, ROW) + row_xml(3, ["x"], first_column=16_383)])
