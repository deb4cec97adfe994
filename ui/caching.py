"""The UI's cache of computed views: one value per argument set, shared by every session and handed out uncopied."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

F = TypeVar("F", bound=Callable[..., Any])

_VIEWS: list = []  # every shared view's cached function, for clear_views()


def _computed(name: str, args: tuple, value: object) -> None:
    """Called with each newly computed view; tests/test_shared_views.py swaps it for a recorder."""


def shared_view(max_entries: int | None = None, show_spinner: bool | str = False) -> Callable[[F], F]:
    """Cache a view function's value, keyed by its arguments, for every session at once; callers only read it.

    st.cache_data unpickles a fresh copy on every call. A cached rerun makes 5–15 such calls, and the copies were
    about 3 ms of a rerun's ~22 ms of server CPU. A meeting's fifty sessions read the same views, so they share one
    object instead. st.cache_resource does the sharing; no code may change a view's value in place (an autouse
    fixture in tests/conftest.py checks, in every test, that each view computed is still what it was when computed).
    """
    def decorate(func: F) -> F:
        @functools.wraps(func)
        def compute(*args, **kwargs):
            value = func(*args, **kwargs)
            _computed(func.__qualname__, args, value)
            return value

        cached = st.cache_resource(max_entries=max_entries, show_spinner=show_spinner)(compute)
        _VIEWS.append(cached)
        return cached  # type: ignore[return-value]

    return decorate


def clear_views() -> None:
    """Forget every cached view (engines and other resources stay): for tests and benchmarks that change settings."""
    for cached in _VIEWS:
        cached.clear()
