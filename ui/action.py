"""Cached reads for the 整改跟踪 page: work orders (with their item), home visits and the 问题台账, keyed on the data
version (every import and every ledger change is an audit entry, so it bumps the version)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import action, ledger, store
from analysis.contract import HOME_VISITS, PETITIONS
from ui import data


@st.cache_data(show_spinner=False, max_entries=4)
def orders(data_version: str) -> pd.DataFrame:
    """Active work orders with the survey item their 诉求内容 names."""
    frame = store.load_kind(data.engine(), PETITIONS)
    return frame.assign(item=action.classify_orders(frame["content"], data.settings().comment_keywords))


@st.cache_data(show_spinner=False, max_entries=4)
def visits(data_version: str) -> pd.DataFrame:
    """Active 教师全员大家访 rows."""
    return store.load_kind(data.engine(), HOME_VISITS)


@st.cache_data(show_spinner=False, max_entries=4)
def problems(data_version: str) -> pd.DataFrame:
    """The 问题台账 as it stands."""
    return ledger.current_ledger(data.engine())


@st.cache_data(show_spinner=False, max_entries=4)
def history(data_version: str) -> pd.DataFrame:
    """Every ledger change, newest first."""
    return ledger.read_events(data.engine()).iloc[::-1].reset_index(drop=True)
