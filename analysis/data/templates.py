"""Blank upload templates with the contract's Chinese headers."""

from __future__ import annotations

import pandas as pd

from analysis.data.contract import file_kind


def template_frame(kind_key: str, items: tuple[str, ...]) -> pd.DataFrame:
    """An empty table with the contract's headers (required ones first, as in the data dictionary)."""
    kind = file_kind(kind_key, items)
    return pd.DataFrame(columns=[c.header for c in kind.columns])


def template_csv(kind_key: str, items: tuple[str, ...]) -> bytes:
    """The template as UTF-8-with-BOM CSV (Excel on Chinese Windows opens it correctly)."""
    return template_frame(kind_key, items).to_csv(index=False).encode("utf-8-sig")
