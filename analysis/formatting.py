"""Chinese number conventions: 第5名, 83.4%, scores to two decimals; safe cells for CSV/Excel export."""

from __future__ import annotations

import io
import math

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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


def fmt_score(score, digits: int = 2) -> str:
    """85.73."""
    if score is None or score is pd.NA or (isinstance(score, float) and math.isnan(score)):
        return "—"
    return f"{score:.{digits}f}"


def fmt_signed(value, digits: int = 2, unit: str = "") -> str:
    """+0.85 or −0.31."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:+.{digits}f}{unit}".replace("-", "−")


def fmt_rank_set(low, high) -> str:
    """第3–8名, or 第1名 when the set is a single place."""
    return f"第{int(low)}名" if int(low) == int(high) else f"第{int(low)}–{int(high)}名"


def neutralise_cell(value):
    """A text cell that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


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
    """An Excel workbook with one sheet per table (names cut to Excel's 31 characters)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            export_safe(frame).to_excel(writer, sheet_name=name[:31], index=False)
    return buffer.getvalue()
