"""Wave labels in time order: "2026年第3季度", "2026年三季度", "2026年上半年", "2026年度" sort by the period they name."""

from __future__ import annotations

import calendar
import datetime as dt
import re

_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_QUARTER = re.compile(r"^\s*(\d{4})\s*年?\s*(?:第\s*)?([1-4一二三四])\s*季度?\s*$")
_SHORT_QUARTER = re.compile(r"^\s*(\d{4})\s*[Qq]\s*([1-4])\s*$")
_HALF = re.compile(r"^\s*(\d{4})\s*年?\s*(上|下)半年\s*$")
_YEAR = re.compile(r"^\s*(\d{4})\s*(?:年度?|年全年)\s*$")


# A survey wave of this century: a label like "0000年第1季度" names no period (and no date can be built for it).
WAVE_YEARS = range(2000, 2100)


def wave_period(label: str) -> tuple[int, int] | None:
    """(year, last month of the period) for a recognised label in WAVE_YEARS, else None."""
    text = str(label)
    if m := _QUARTER.match(text) or _SHORT_QUARTER.match(text):
        period = int(m.group(1)), 3 * _NUMERALS[m.group(2)]
    elif m := _HALF.match(text):
        period = int(m.group(1)), 6 if m.group(2) == "上" else 12
    elif m := _YEAR.match(text):
        period = int(m.group(1)), 13  # a whole year ends with its fourth quarter; it sorts just after it
    else:
        return None
    return period if period[0] in WAVE_YEARS else None


def wave_span(label: str) -> tuple[dt.date, dt.date] | None:
    """First and last day of the period a wave label names (quarter, half year or year), None when not recognised."""
    text = str(label)
    period = wave_period(text)
    if period is None:
        return None
    year, last = period
    months = 12 if last == 13 else 6 if _HALF.match(text) else 3
    last = 12 if last == 13 else last
    return dt.date(year, last - months + 1, 1), dt.date(year, last, calendar.monthrange(year, last)[1])


def wave_sort_key(label: str) -> tuple:
    """Sort key: recognised labels by time, unrecognised ones after them by text."""
    period = wave_period(label)
    return (0, *period, str(label)) if period else (1, 0, 0, str(label))


def sort_waves(labels) -> list[str]:
    """The labels, oldest first."""
    return sorted({str(label) for label in labels}, key=wave_sort_key)


def previous_wave(waves: list[str], wave: str) -> str | None:
    """The wave before `wave` in `waves` (time order), or None for the first."""
    position = waves.index(wave) if wave in waves else 0
    return waves[position - 1] if position > 0 else None
