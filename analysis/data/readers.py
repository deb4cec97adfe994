"""Read uploaded CSV/xlsx bytes into a frame of text cells, whatever Excel on Chinese Windows saved."""

from __future__ import annotations

import codecs
import collections
import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analysis.data.contract import FileKind

UTF8_BOM = b"\xef\xbb\xbf"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"  # .xlsx, Numbers and .zip files all start so
HEADER_SCAN_ROWS = 10
DECODE_BLOCK = 1 << 24  # 16 MB
DISTINCT_SAMPLE = 10_000  # rows looked at to decide whether a column repeats a few values
DISTINCT_FEW = 500
MOJIBAKE_SAMPLE_CHARS = 200_000
MOJIBAKE_MIN_CHARS = 8
MOJIBAKE_RARE_SHARE = 0.2
LABEL_UTF8 = "UTF-8"
LABEL_UTF8_BOM = "UTF-8（带BOM）"
LABEL_GBK = "GBK/GB18030"
LABEL_XLSX = "Excel 工作簿（.xlsx）"
RESAVE_HINT = "请在 Excel 中“另存为”“CSV UTF-8（逗号分隔）”或 .xlsx 后再上传。"
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=float("nan"))
DASHES = re.compile(r"[\u2010-\u2015\u2212\uff5e~]")


def per_distinct(array: pa.Array | pa.ChunkedArray, transform) -> pa.Array | pa.ChunkedArray:
    """transform(array) for a text array, computed once per distinct value when few values repeat (answers, counties)."""
    if len(array) > DISTINCT_SAMPLE * 2 and pc.count_distinct(array.slice(0, DISTINCT_SAMPLE)).as_py() < DISTINCT_FEW:
        encoded = pc.dictionary_encode(array)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        return pc.take(transform(encoded.dictionary), encoded.indices)
    return transform(array)


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
    rows: int = 0  # data rows read (kept when the cells themselves are released after checking)


def normalise_header(text: str) -> str:
    """Header key that ignores BOM, spaces, full-/half-width forms and the kind of dash."""
    text = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").replace("\u200b", "")
    return DASHES.sub("-", re.sub(r"\s+", "", text)).lower()


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
    """'csv' or 'xlsx' from the bytes themselves (not the name); refuse what Excel did not save as either."""
    blank = UTF8_BOM + b" \r\n\t,;"
    if not data[:65536].strip(blank) and not data.strip(blank):  # the whole-file strip copies it: only when the start is blank
        raise ReadError("文件是空的，没有任何内容。")
    if data[:8] == OLE2_MAGIC:
        raise ReadError("这是旧版 Excel（.xls）或其他 Office 二进制文件，" + RESAVE_HINT)
    if data[:4] == ZIP_MAGIC:
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile as exc:
            raise ReadError("文件已损坏（压缩结构不完整），无法作为 .xlsx 打开。请在 Excel 中重新保存后再上传。") from exc
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any(n.startswith("Index/") or n.endswith(".iwa") for n in names):
            raise ReadError("这是苹果 Numbers 文件，请在 Numbers 中“导出为”Excel（.xlsx）或 CSV 后再上传。")
        raise ReadError("这是一个压缩包（.zip 等），不是 .xlsx 或 CSV 文件，请解压后上传其中的表格。")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ReadError("文件是 UTF-16 编码（Excel“Unicode 文本”），" + RESAVE_HINT)
    if data[:5] == b"%PDF-":
        raise ReadError("这是 PDF 文件，不是表格。请上传 CSV 或 .xlsx 文件。")
    if b"\x00" in data[:65536]:
        raise ReadError(f"“{file_name}”不是文本表格（含二进制内容），请上传 CSV 或 .xlsx 文件。")
    return "csv"


def declared_encoding(file_name: str) -> str | None:
    """The encoding a file name claims (e.g. 'x.utf8.csv', '问卷_GBK.csv'), if any."""
    name = file_name.lower()
    if re.search(r"utf-?8", name):
        return LABEL_UTF8
    if re.search(r"gbk|gb2312|gb18030|ansi", name):
        return LABEL_GBK
    return None


def looks_like_mojibake(text: str) -> bool:
    """True when GB18030-decoded text is mostly characters a Chinese file would not hold (Latin-1 or UTF-8 junk)."""
    counts = collections.Counter(ch for ch in text[:MOJIBAKE_SAMPLE_CHARS] if ord(ch) > 127)
    total = sum(counts.values())
    if total < MOJIBAKE_MIN_CHARS:
        return False
    rare = 0
    for ch, n in counts.items():
        try:
            ch.encode("gb2312")  # GB2312 holds every character in everyday simplified Chinese
        except UnicodeEncodeError:
            rare += n
    return rare / total > MOJIBAKE_RARE_SHARE


def _transcode(body: bytes, codec: str) -> bytearray:
    """body re-encoded from codec to UTF-8 a block at a time (a whole decoded copy of a big file costs GBs of text)."""
    decoder = codecs.getincrementaldecoder(codec)()
    out = bytearray()
    for start in range(0, len(body), DECODE_BLOCK):
        out += decoder.decode(body[start:start + DECODE_BLOCK], final=False).encode("utf-8")
    out += decoder.decode(b"", final=True).encode("utf-8")
    return out


def _check_utf8(body: bytes) -> None:
    """Raise UnicodeDecodeError (position in body) unless body is UTF-8; checked a block at a time to spare memory."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(body), DECODE_BLOCK):
        try:
            decoder.decode(body[start:start + DECODE_BLOCK], final=False)
        except UnicodeDecodeError as exc:
            raise UnicodeDecodeError("utf-8", body, start + exc.start, start + exc.end, exc.reason) from None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise UnicodeDecodeError("utf-8", body, len(body) - 1, len(body), exc.reason) from None


def utf8_payload(data: bytes, file_name: str) -> tuple[bytes | bytearray, str, list[str]]:
    """The file as UTF-8 bytes without BOM, the encoding's display name, and notices (e.g. a misleading name)."""
    has_bom = data.startswith(UTF8_BOM)
    body = data[len(UTF8_BOM):] if has_bom else data
    try:
        _check_utf8(body)
        payload, label = body, (LABEL_UTF8_BOM if has_bom else LABEL_UTF8)
    except UnicodeDecodeError as exc:
        before = body[:exc.start]
        if has_bom or any(b > 127 for b in before[-1_000_000:]):
            # Valid UTF-8 Chinese before the bad byte: two files of different encodings pasted together.
            line = before.count(b"\n") + 1
            raise ReadError(f"文件前面是 UTF-8 编码，但第 {line} 行附近出现了其他编码（GBK 等）的字符，"
                            f"可能是把不同编码的文件拼接在一起。" + RESAVE_HINT) from exc
        try:
            payload = _transcode(body, "gb18030")
        except UnicodeDecodeError as exc2:
            raise ReadError("无法识别文件编码（既不是 UTF-8 也不是 GBK/GB18030）。" + RESAVE_HINT) from exc2
        if looks_like_mojibake(payload[:MOJIBAKE_SAMPLE_CHARS * 3].decode("utf-8", "ignore")):
            raise ReadError("无法识别文件编码：按 GBK/GB18030 读出的是乱码（可能是西文 Latin-1 等编码）。" + RESAVE_HINT)
        label = LABEL_GBK
    notices = []
    claimed = declared_encoding(file_name)
    if claimed and not label.startswith(claimed):
        notices.append(f"文件名标注为 {claimed} 编码，但内容实际是 {label} 编码，已按 {label} 读取。")
    return payload, label, notices


# Far more than any survey export, in a CSV or a sheet: a stray cell in column XFD would make every row 16,384 wide, and
# reading a 2 MB CSV of 100,000 columns took a minute and 2 GB, so wider files are refused before they are parsed.
MAX_COLUMNS = 1_024


def too_wide(row_number: int) -> ReadError:
    """The refusal for a CSV row with more than MAX_COLUMNS cells."""
    return ReadError(f"文件第 {row_number} 行有超过 {MAX_COLUMNS:,} 列的内容（表格右侧可能有多余的分隔符或单元格），"
                     "请删除多余的列后再上传。")


def _separator(payload: bytes) -> str:
    """Tab for tab-separated text (Excel's 'Unicode text'), else comma."""
    first_line = bytes(payload[:65536]).split(b"\n", 1)[0]
    return "\t" if b"\t" in first_line and b"," not in first_line else ","


def _arrow_cells(payload: bytes | bytearray, sep: str) -> pd.DataFrame | None:
    """All cells as text with pyarrow (fast path); None when some row's width differs from the first row's."""
    first = next(csv.reader(io.StringIO(bytes(payload[:65536]).split(b"\n", 1)[0].decode("utf-8", "replace")), delimiter=sep), [])
    width = max(len(first), 1)
    if width > MAX_COLUMNS:
        raise too_wide(1)
    uneven = []

    def _note(_row) -> str:
        uneven.append(1)
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(payload)),
        read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True, ignore_empty_lines=False,
                                         invalid_row_handler=_note),
        convert_options=pacsv.ConvertOptions(column_types={f"f{i}": pa.large_string() for i in range(width)},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    if uneven or table.num_columns != width:
        return None
    # Trim one column at a time, dropping each untrimmed column as we go: a second full copy of a big file costs GBs.
    # large_string is what pandas' text dtype holds, so the trimmed buffers are handed over without a copy.
    raw = [table.column(i) for i in range(width)]
    del table
    columns = {}
    for i in range(width):
        columns[i] = pd.Series(pd.array(per_distinct(raw[i], pc.utf8_trim_whitespace), dtype=TEXT_DTYPE))
        raw[i] = None
    return pd.DataFrame(columns)


LONG_LINE_BYTES = 1 << 20  # no row of a survey table comes near 1 MB


def long_line_error(payload: bytes | bytearray) -> ReadError | None:
    """A Chinese explanation when some line is over 1 MB (a file without line breaks, or not a table); else None.
    Only looked for once parsing has failed, so a good file pays nothing for it."""
    cells = np.frombuffer(payload, dtype=np.uint8)
    bounds = np.concatenate(([-1], np.flatnonzero(cells == 10), [len(cells)]))
    lengths = np.diff(bounds) - 1
    line = int(lengths.argmax())
    if lengths[line] <= LONG_LINE_BYTES:
        return None
    whole = "整个文件只有这一行，没有换行符；" if len(lengths) <= 2 else ""
    return ReadError(f"文件第 {line + 1} 行长达 {lengths[line] / 2**20:,.1f} MB，远超表格正常的一行（{whole}可能不是逐行保存的"
                     f"表格，或换行符丢失）。请在 Excel 中打开检查后，另存为“CSV UTF-8（逗号分隔）”或 .xlsx 再上传。")


def _python_cells(payload: bytes | bytearray, sep: str) -> pd.DataFrame:
    """All cells as text when rows differ in width (title rows, short or long rows); slower but tolerant."""
    text = bytes(payload).decode("utf-8")
    width, done = 1, 0
    try:
        for row in csv.reader(io.StringIO(text), delimiter=sep):
            if len(row) > MAX_COLUMNS:
                raise too_wide(done + 1)
            width, done = max(width, len(row)), done + 1
    except csv.Error as exc:  # a cell over 128 KB: a quote opened and never closed swallows the rows below it
        if long_line := long_line_error(payload):
            raise long_line from exc
        raise ReadError(f"CSV 格式错误：第 {done + 1} 行有未配对的引号（从该处起的内容都被当成了一个单元格），请检查该行。") from exc
    del text
    frame = pd.read_csv(io.BytesIO(payload), header=None, names=range(width), dtype="str", keep_default_na=False,
                        na_filter=False, sep=sep, skip_blank_lines=False, engine="c")
    return frame.fillna("").apply(lambda col: col.str.strip())


def raw_cells_csv(data: bytes, file_name: str = "") -> tuple[pd.DataFrame, str, list[str]]:
    """All cells of a CSV as text (row label = Excel row − 1), the encoding's name and notices."""
    payload, label, notices = utf8_payload(data, file_name)
    sep = _separator(payload)
    try:
        frame = _arrow_cells(payload, sep)
        if frame is None:
            frame = _python_cells(payload, sep)
    except (pa.ArrowInvalid, pd.errors.ParserError, csv.Error) as exc:
        if long_line := long_line_error(payload):
            raise long_line from exc
        quote = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if quote:  # pandas counts records from 0, Excel rows from 1
            raise ReadError(f"CSV 格式错误：第 {int(quote.group(1)) + 1} 行有未配对的引号（从该处到文件末尾都被当成了一个单元格），"
                            f"请检查该行。") from exc
        raise ReadError(f"CSV 格式错误，无法解析（可能有未配对的引号或不一致的分隔符）：{str(exc)[:120]}") from exc
    return frame, label, notices


EXCEL_MAX_ROWS = 1_048_576  # the last row of an Excel sheet: a row index beyond it is not a workbook Excel saved
XLSX_MAX_CELLS = 30_000_000  # rows × columns held while reading (a 1M-row, 20-column survey is 20M)
XLSX_RATIO_FLOOR = 1 << 20  # entries smaller than 1 MB unpacked are never a bomb, whatever their ratio


@dataclass(frozen=True)
class XlsxLimits:
    """How big a workbook may get once unpacked and read (settings [upload] and survey.max_rows)."""

    max_unpacked_bytes: int = 200 * 2**20
    max_ratio: float = 100.0
    max_rows: int = 2_000_000


def check_xlsx_archive(data: bytes, limits: XlsxLimits) -> None:
    """Refuse a workbook whose entries unpack to more than the limit or at an extreme ratio, before any XML is parsed.

    Python's zipfile never inflates an entry past the size its directory declares, so the declared sizes are a bound."""
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as exc:
        raise ReadError("无法打开 .xlsx 文件（文件可能已损坏），请在 Excel 中重新保存后再上传。") from exc
    total = sum(e.file_size for e in entries)
    if total > limits.max_unpacked_bytes:
        raise ReadError(f"该 .xlsx 文件解压后有 {total / 2**20:,.0f} MB，超过上限 {limits.max_unpacked_bytes / 2**20:,.0f} MB"
                        f"（设置项 upload.xlsx_max_unpacked_mb），可能含大量空白格式行或异常内容。"
                        f"请在 Excel 中删除多余的行后另存为 CSV UTF-8 再上传。")
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > XLSX_RATIO_FLOOR and ratio > limits.max_ratio:
            raise ReadError(f"该 .xlsx 文件中的“{entry.filename}”压缩比异常（{ratio:,.0f} 倍，上限 {limits.max_ratio:g} 倍，"
                            f"设置项 upload.xlsx_max_ratio），疑似恶意构造的文件，已拒绝。请另存为 CSV UTF-8 再上传。")


def _open_workbook(data: bytes, limits: XlsxLimits):
    """openpyxl's streaming (read-only) workbook of cached values, after the archive passed the size checks."""
    check_xlsx_archive(data, limits)
    import openpyxl  # imported here: only .xlsx uploads need it

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise ReadError("无法打开 .xlsx 文件（文件可能已损坏），请在 Excel 中重新保存后再上传。") from exc


def xlsx_sheet_names(data: bytes, limits: XlsxLimits | None = None) -> list[str]:
    """Sheet names of an .xlsx workbook, in order."""
    book = _open_workbook(data, limits or XlsxLimits())
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _cell_text(value) -> str:
    """A cell value as the text pandas' read_excel(dtype=str) gave: whole-number floats without '.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _stream_rows(sheet, chosen: str, limits: XlsxLimits) -> tuple[list[int], list[list[str]]]:
    """Filled rows of one sheet (Excel row − 1, texts), streamed; blank rows count towards the limit but are not kept."""
    last_row = min(limits.max_rows, EXCEL_MAX_ROWS)
    positions: list[int] = []
    rows: list[list[str]] = []
    width = 0
    sheet.reset_dimensions()  # a hostile <dimension ref="A1:XFD1048576"> would pad every row to 16,384 cells
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if number > last_row:
            if number > EXCEL_MAX_ROWS:
                raise ReadError(f"工作表“{chosen}”的行号超过 Excel 的上限 {EXCEL_MAX_ROWS:,} 行（含空白行），"
                                f"不是 Excel 保存的正常文件，已拒绝。请在 Excel 中删除多余的行后重新保存。")
            raise ReadError(f"工作表“{chosen}”超过 {limits.max_rows:,} 行（含空白行；设置项 survey.max_rows），"
                            f"请删除多余的空白行或拆分后分批上传。")
        if not values:
            continue
        last = len(values)
        while last and (values[last - 1] is None or (isinstance(values[last - 1], str) and not values[last - 1].strip())):
            last -= 1
        if not last:
            continue
        if last > MAX_COLUMNS:
            raise ReadError(f"工作表“{chosen}”第 {number} 行有超过 {MAX_COLUMNS:,} 列的内容（最右到第 "
                            f"{excel_column_letter(last - 1)} 列），请删除表格右侧多余的单元格后再上传。")
        texts = ["" if v is None else _cell_text(v) for v in values[:last]]
        width = max(width, len(texts))
        if width * (len(rows) + 1) > XLSX_MAX_CELLS:
            raise ReadError(f"工作表“{chosen}”的行数 × 列数超过 {XLSX_MAX_CELLS:,} 个单元格（到第 {number} 行、{width} 列），"
                            f"请删除多余的列或拆分后分批上传。")
        positions.append(number - 1)
        rows.append(texts)
    return positions, rows


def raw_cells_xlsx(data: bytes, sheet: str | None,
                   limits: XlsxLimits | None = None) -> tuple[pd.DataFrame, str, list[str]]:
    """All filled cells of one sheet as text (cached values of formulas, never the formulas), no header yet; streamed,
    so a workbook's size on screen, not its claimed row indexes or padding, decides the memory it takes."""
    limits = limits or XlsxLimits()
    book = _open_workbook(data, limits)
    try:
        sheets = list(book.sheetnames)
        chosen = sheet or sheets[0]
        if chosen not in sheets:
            raise ReadError(f"工作表“{chosen}”不存在，可选：{'、'.join(sheets)}")
        try:
            positions, rows = _stream_rows(book[chosen], chosen, limits)
        except ReadError:
            raise
        except Exception as exc:  # malformed sheet XML
            raise ReadError(f"工作表“{chosen}”内容已损坏，无法读取。请在 Excel 中重新保存后再上传。") from exc
    finally:
        book.close()
    width = max((len(r) for r in rows), default=0)
    frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], index=positions, columns=range(width), dtype=object)
    # A code typed as text '1.0' reads as '1', like a number cell (what read_excel(dtype=str) gave before).
    frame = frame.astype(TEXT_DTYPE).fillna("").apply(lambda col: col.str.replace(r"^(-?\d+)\.0$", r"\1", regex=True))
    return frame, chosen, sheets


def find_header_row(cells: pd.DataFrame, lookup: dict[str, str], required: tuple[str, ...]) -> int:
    """Row position of the first row that holds most of the required headers (title rows above are skipped)."""
    best, best_hits = 0, -1
    for position in range(min(HEADER_SCAN_ROWS, len(cells))):
        names = {lookup.get(normalise_header(v)) for v in cells.iloc[position].tolist()}
        hits = len(names & set(required))
        if hits > best_hits:
            best, best_hits = position, hits
        if hits == len(required):
            return position
    return best


def _map_header(header: list[str], kind: FileKind) -> tuple[dict[int, str], list[str]]:
    """Column position → English name, and the ignored header texts; a repeated column is a ReadError."""
    lookup = header_lookup(kind)
    mapped, ignored, seen = {}, [], {}
    for position, text in enumerate(header):
        name = lookup.get(normalise_header(text))
        letter = excel_column_letter(position)
        if name is None:
            if text.strip():
                ignored.append(text.strip())
            continue
        if name in seen:
            first, first_text = seen[name]
            raise ReadError(f"表头重复：第 {first} 列“{first_text}”和第 {letter} 列“{text.strip()}”都是"
                            f"“{kind.header_of(name)}”，请删除其中一列。")
        seen[name] = (letter, text.strip())
        mapped[position] = name
    return mapped, ignored


def _overflow_error(body: pd.DataFrame, width: int) -> None:
    """A data row with filled cells to the right of the header: an unquoted comma shifted its cells."""
    if body.shape[1] <= width:
        return
    extra = body.iloc[:, width:]
    bad = (extra != "").any(axis=1)
    if bad.any():
        rows = (body.index[bad.to_numpy()] + 1).tolist()
        listed = "、".join(f"第 {r} 行" for r in rows[:5]) + ("等" if len(rows) > 5 else "")
        raise ReadError(f"{listed}的单元格比表头多（表头只有 {width} 列），可能是内容里有未加引号的逗号，请检查这些行。")


def skipped_rows_notice(titles: int, header_row: int) -> str:
    """'已跳过表头上方的 2 行（1 行标题、1 行空行）…': every row above the header is counted, blank ones named as such."""
    blanks = header_row - 1 - titles  # blank rows were dropped before the header search, so they are not in `titles`
    detail = f"（{titles} 行标题、{blanks} 行空行），" if blanks > 0 else "标题（"
    return f"已跳过表头上方的 {header_row - 1} 行{detail}表头在第 {header_row} 行" + ("。" if blanks > 0 else "）。")


def read_upload(data: bytes, file_name: str, kind: FileKind, sheet: str | None = None,
                limits: XlsxLimits | None = None) -> ReadResult:
    """Bytes of an uploaded file → text cells under English column names, or a ReadError in Chinese."""
    fmt = sniff_format(data, file_name)
    sheets: list[str] = []
    chosen = None
    notices: list[str] = []
    if fmt == "xlsx":
        cells, chosen, sheets = raw_cells_xlsx(data, sheet, limits)
        encoding = LABEL_XLSX
    else:
        cells, encoding, notices = raw_cells_csv(data, file_name)
    filled = (cells != "").any(axis=1).to_numpy()
    if not filled.all():
        cells = cells.loc[filled]  # blank rows are skipped but keep their Excel row numbers
    if cells.empty:
        raise ReadError("文件是空的，没有任何内容。" if fmt == "csv" else f"工作表“{chosen}”是空的，没有任何内容。")
    lookup = header_lookup(kind)
    position = find_header_row(cells, lookup, kind.required)
    header_row = int(cells.index[position]) + 1
    header = [str(v) for v in cells.iloc[position].tolist()]
    while header and not header[-1].strip():
        header.pop()
    body = cells.iloc[position + 1:]
    if position:
        notices.append(skipped_rows_notice(position, header_row))
    mapped, ignored = _map_header(header, kind)
    missing = [kind.header_of(c) for c in kind.required if c not in mapped.values()]
    if missing:
        hint = f"本工作簿有多个工作表（{'、'.join(sheets)}），请确认选择了正确的工作表。" if len(sheets) > 1 else ""
        raise ReadError(f"缺少必填列：{'、'.join(missing)}（第 {header_row} 行被识别为表头）。{hint}"
                        f"必填列为：{'、'.join(kind.header_of(c) for c in kind.required)}。")
    if body.empty:
        raise ReadError("文件只有表头，没有数据行。")
    _overflow_error(body, len(header))
    frame = body[list(mapped)].set_axis(list(mapped.values()), axis=1)  # cells are already trimmed by the readers above
    # Row labels are the 1-based row numbers the analyst sees in Excel, so errors point at the right row.
    frame.index = pd.Index(body.index.to_numpy() + 1, name="excel_row")
    return ReadResult(frame, encoding, header_row, chosen, sheets, ignored, notices, rows=len(frame))
