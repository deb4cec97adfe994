"""Read uploaded CSV/xlsx bytes into a frame of text cells, whatever Excel on Chinese Windows saved."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

import pandas as pd

from analysis.contract import FileKind

ENCODINGS = (("utf-8-sig", "UTF-8"), ("gb18030", "GBK/GB18030"))
HEADER_SCAN_ROWS = 10


class ReadError(ValueError):
    """A file that cannot be read at all; the message is for the analyst, in Chinese."""


@dataclass
class ReadResult:
    """Text cells with their header mapped to English names, and what was noticed on the way."""

    frame: pd.DataFrame
    encoding: str
    header_row: int  # 1-based line of the header as the analyst sees it in Excel
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def normalise_header(text: str) -> str:
    """Header key that ignores BOM, spaces and full-/half-width forms."""
    text = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "")
    return re.sub(r"\s+", "", text).lower()


def header_lookup(kind: FileKind) -> dict[str, str]:
    """Normalised header or alias → English column name."""
    lookup = {}
    for column in kind.columns:
        for text in (column.header, column.name, *column.aliases):
            lookup.setdefault(normalise_header(text), column.name)
    return lookup


def excel_column_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def sniff_format(data: bytes, file_name: str) -> str:
    """'csv' or 'xlsx' from the bytes themselves; refuse what Excel did not save as either."""
    if not data.strip(b"\xef\xbb\xbf \r\n\t"):
        raise ReadError("文件是空的，没有任何内容。")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ReadError("这是旧版 Excel（.xls）或其他 Office 二进制文件，请在 Excel 中“另存为” .xlsx 或“CSV UTF-8”后再上传。")
    if data[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile as exc:
            raise ReadError("文件已损坏，无法作为 .xlsx 打开。") from exc
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any("Index/" in n or n.endswith(".iwa") for n in names):
            raise ReadError("这是苹果 Numbers 文件，请导出为 .xlsx 或 CSV 后再上传。")
        raise ReadError("这是一个压缩包，不是 .xlsx 或 CSV 文件。")
    if b"\x00" in data[:4096]:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ReadError("文件是 UTF-16 编码，请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后再上传。")
        raise ReadError(f"“{file_name}”不是文本表格（含二进制内容），请上传 CSV 或 .xlsx 文件。")
    return "csv"


def decode_csv(data: bytes) -> tuple[str, str]:
    """Text and the encoding's display name: UTF-8 (with or without BOM) first, then GBK/GB18030."""
    for codec, label in ENCODINGS:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec == "utf-8-sig" and data.startswith(b"\xef\xbb\xbf"):
            label = "UTF-8（带BOM）"
        return text, label
    raise ReadError("无法识别文件编码（既不是 UTF-8 也不是 GBK/GB18030），请在 Excel 中另存为“CSV UTF-8”后再上传。")


def raw_cells_csv(data: bytes) -> tuple[pd.DataFrame, str]:
    """All cells of a CSV as text, no header yet."""
    text, label = decode_csv(data)
    first_line = text.split("\n", 1)[0]
    sep = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        frame = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False, sep=sep,
                            skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f"第 {line.group(1)} 行" if line else "某一行"
        raise ReadError(f"CSV 格式错误：{where}的列数与表头不一致（可能有未加引号的逗号）。") from exc
    except pd.errors.EmptyDataError as exc:
        raise ReadError("文件是空的，没有任何内容。") from exc
    return frame, label


def raw_cells_xlsx(data: bytes, sheet: str | None) -> tuple[pd.DataFrame, str, list[str]]:
    """All cells of one sheet as text, no header yet."""
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise ReadError(f"无法打开 .xlsx 文件：{exc}") from exc
    sheets = list(book.sheet_names)
    chosen = sheet or sheets[0]
    if chosen not in sheets:
        raise ReadError(f"工作表“{chosen}”不存在，可选：{'、'.join(sheets)}")
    frame = book.parse(chosen, header=None, dtype=str, keep_default_na=False)
    # Excel stores numbers; a whole-number float such as '1.0' should read as the code '1'.
    frame = frame.apply(lambda col: col.str.replace(r"^(-?\d+)\.0$", r"\1", regex=True))
    return frame, chosen, sheets


def find_header_row(cells: pd.DataFrame, lookup: dict[str, str], required: tuple[str, ...]) -> int:
    """0-based index of the first row that holds most of the required headers (title rows above are skipped)."""
    best, best_hits = 0, -1
    for index in range(min(HEADER_SCAN_ROWS, len(cells))):
        names = {lookup.get(normalise_header(v)) for v in cells.iloc[index].tolist()}
        hits = len(names & set(required))
        if hits > best_hits:
            best, best_hits = index, hits
        if hits == len(required):
            return index
    return best


def read_upload(data: bytes, file_name: str, kind: FileKind, sheet: str | None = None) -> ReadResult:
    """Bytes of an uploaded file → text cells under English column names, or a ReadError in Chinese."""
    fmt = sniff_format(data, file_name)
    sheets: list[str] = []
    chosen = None
    if fmt == "xlsx":
        cells, chosen, sheets = raw_cells_xlsx(data, sheet)
        encoding = "Excel 工作簿（.xlsx）"
    else:
        cells, encoding = raw_cells_csv(data)
    cells = cells.loc[~(cells == "").all(axis=1)]
    if cells.empty:
        raise ReadError("文件是空的，没有任何内容。")
    lookup = header_lookup(kind)
    header_index = find_header_row(cells, lookup, kind.required)
    header = [str(v) for v in cells.iloc[header_index].tolist()]
    body = cells.iloc[header_index + 1:]
    notices = []
    if header_index:
        notices.append(f"已跳过表头上方的 {header_index} 行标题。")
    mapped, ignored, seen = {}, [], {}
    for position, text in enumerate(header):
        name = lookup.get(normalise_header(text))
        letter = excel_column_letter(position)
        if name is None:
            if text.strip():
                ignored.append(text.strip())
            continue
        if name in seen:
            raise ReadError(f"表头“{text.strip()}”重复出现（第 {seen[name]} 列和第 {letter} 列），请删除其中一列。")
        seen[name] = letter
        mapped[position] = name
    missing = [kind.header_of(c) for c in kind.required if c not in seen]
    if missing:
        raise ReadError(f"缺少必填列：{'、'.join(missing)}（第 {header_index + 1} 行应为表头）。")
    if body.empty:
        raise ReadError("文件只有表头，没有数据行。")
    frame = body[list(mapped)].set_axis(list(mapped.values()), axis=1)
    frame = frame.apply(lambda col: col.str.strip())
    # Row labels are the 1-based line numbers the analyst sees in Excel, so errors point at the right line.
    frame.index = body.index + 1
    frame.index.name = "excel_row"
    return ReadResult(frame, encoding, header_index + 1, chosen, sheets, ignored, notices)
