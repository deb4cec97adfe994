"""Chinese number conventions: 第5名, 83.4%, scores to two decimals; safe cells for CSV/Excel export."""

from __future__ import annotations

import html
import datetime as dt
import io
import math
import re
import unicodedata

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
# What a spreadsheet may skip before reading a formula: spaces of any width, line breaks, tabs, zero-width marks.
FORMULA_LEAD = re.compile(r"^[\s\u3000\u00a0\ufeff\u200b]+")
# Control characters Excel's XML and Word cannot hold (tab and line breaks are kept).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


# Every character Markdown (CommonMark + GFM) or Streamlit's directives (:red[…], :material/x:) give a meaning to;
# a backslash before any ASCII punctuation makes it literal and renders as the character alone.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def escape_markdown(text: str) -> str:
    """Text from data (county, township, wave names, comments) escaped so st.markdown shows it literally."""
    # Line breaks would start new blocks (a heading, a list); a space keeps the text on one line.
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text).replace("\r", " ").replace("\n", " "))


def fmt_rank(rank) -> str:
    """第5名 (or — when unknown)."""
    if rank is None or (isinstance(rank, float) and math.isnan(rank)) or rank is pd.NA:
        return "—"
    return f"第{int(rank)}名"


def fmt_rank_of(rank, total: int) -> str:
    """第5名/共11."""
    return f"{fmt_rank(rank)}/共{total}"


def fmt_pct(share, digits: int = 1) -> str:
    """83.4% from 0.834."""
    if share is None or share is pd.NA or (isinstance(share, float) and math.isnan(share)):
        return "—"
    return f"{share * 100:.{digits}f}%"


def pct_columns(frame: pd.DataFrame, columns: dict[str, str]) -> dict[str, list[str]]:
    """Shares of a table as 83.4% strings, under the names given (column → name), for tables shown and downloaded."""
    return {name: [fmt_pct(v) for v in frame[column]] for column, name in columns.items() if column in frame.columns}


def pct_text(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The frame with these share columns as 83.4% strings (same names; columns it lacks are left out)."""
    return frame.assign(**pct_columns(frame, {c: c for c in columns}))


def met_text(flags) -> list[str]:
    """达标 / 未达标 for each target flag (— where it cannot be judged)."""
    return ["—" if pd.isna(flag) else "达标" if flag else "未达标" for flag in flags]


def fmt_score(score, digits: int = 2) -> str:
    """85.73."""
    if score is None or score is pd.NA or (isinstance(score, float) and math.isnan(score)):
        return "—"
    return f"{score:.{digits}f}"


def today_text(today: dt.date | None = None) -> str:
    """A date as official documents write it: 2026年11月29日."""
    today = today or dt.date.today()
    return f"{today.year}年{today.month}月{today.day}日"


# Beijing time: the bureau reads every timestamp in it; China keeps no daylight saving, so a fixed offset is exact
# and needs no time-zone database on the server.
BEIJING = dt.timezone(dt.timedelta(hours=8), "北京时间")


def fmt_time(stamp, zone: dt.tzinfo = BEIJING) -> str:
    """A stored ISO timestamp as '2026-11-29 15:42' in Beijing time; a stamp without offset is the server's local time."""
    if stamp is None or stamp is pd.NA or (isinstance(stamp, float) and math.isnan(stamp)) or str(stamp).strip() == "":
        return "—"
    try:
        moment = dt.datetime.fromisoformat(str(stamp).strip())
    except ValueError:
        return str(stamp)  # not ours to reinterpret: shown as stored
    # astimezone() on a naive time reads it as the server's local zone, which is how store.now_text() wrote it.
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def fmt_p(p) -> str:
    """A p-value to four decimals; below 0.0001 as <0.0001 (never a bare 0)."""
    if p is None or p is pd.NA or (isinstance(p, float) and math.isnan(p)):
        return "—"
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"


def pp_change(share_change) -> str | None:
    """A change of a share as '+7 个百分点' with an ASCII sign (st.metric reads its arrow from a leading '-'); None when
    it is unknown, so no delta is drawn rather than 'nan'."""
    if share_change is None or share_change is pd.NA or (isinstance(share_change, float) and math.isnan(share_change)):
        return None
    return f"{share_change * 100:+.0f} 个百分点"


def fmt_signed(value, digits: int = 2, unit: str = "") -> str:
    """+0.85 or −0.31."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:+.{digits}f}{unit}".replace("-", "−")


def fmt_rank_set(low, high) -> str:
    """第3–8名, or 第1名 when the set is a single place (— when there is none)."""
    if pd.isna(low) or pd.isna(high):
        return "—"
    return f"第{int(low)}名" if int(low) == int(high) else f"第{int(low)}–{int(high)}名"


def label_escape(text) -> str:
    """Text from a file escaped for plotly labels, titles and hover text (plotly renders <b>, <a href>, <br>)."""
    return html.escape(str(text), quote=True)


def clean_cell(value):
    """A text cell without control characters Excel and Word cannot store."""
    return CONTROL_CHARS.sub("", value) if isinstance(value, str) else value


def neutralise_cell(value):
    """A text cell that a spreadsheet will not run as a formula (also after leading spaces or a full-width ＝)."""
    if not isinstance(value, str):
        return value
    value = clean_cell(value)
    head = unicodedata.normalize("NFKC", FORMULA_LEAD.sub("", value)[:1])
    if value.startswith(FORMULA_PREFIXES) or (head and head in FORMULA_PREFIXES[:4]):
        return "'" + value
    return value


def safe_sheet_name(name, taken: set[str] | None = None) -> str:
    """An Excel sheet name: no [ ] : * ? / \\ or control characters, not blank, at most 31 characters, unique."""
    text = SHEET_FORBIDDEN.sub("_", CONTROL_CHARS.sub("", str(name))).strip().strip("'") or "表"
    text = text[:31]
    taken = taken if taken is not None else set()
    candidate, n = text, 2
    while candidate.lower() in taken:
        suffix = f"_{n}"
        candidate, n = text[:31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def export_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot become formulas in Excel (CSV injection)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
            out[column] = out[column].map(neutralise_cell, na_action="ignore")
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8-with-BOM CSV that Excel on Chinese Windows opens correctly."""
    return export_safe(frame).to_csv(index=False).encode("utf-8-sig")


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An Excel workbook with one sheet per table (names made valid for Excel: see safe_sheet_name)."""
    buffer = io.BytesIO()
    taken: set[str] = set()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            export_safe(frame).to_excel(writer, sheet_name=safe_sheet_name(name, taken), index=False)
    return buffer.getvalue()
