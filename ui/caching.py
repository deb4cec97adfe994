"""The UI's cache of computed views: one value per argument set, shared by every session and handed out uncopied."""

from __future__ import annotations

import functools
import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

F = TypeVar("F", bound=Callable[..., Any])

_VIEWS: list = []  # every shared view's cached function, for clear_views()
_PLAIN = frozenset({str, int, bool, type(None)})
MISSING = object()  # what _Memo.get returns for a key it does not hold (None is a view's value like any other)


def _computed(name: str, args: tuple, value: object) -> None:
    """Called with each newly computed view; tests/test_shared_views.py swaps it for a recorder."""


def plain_key(values: tuple) -> tuple | None:
    """A dict key for arguments made of text, whole numbers, flags, None, finite floats and tuples of these, each
    with its type (Python counts 1, 1.0 and True as one key); None for any other argument."""
    key = []
    for value in values:
        kind = type(value)
        if kind in _PLAIN:
            key.append((kind, value))
        elif kind is float and value - value == 0:  # finite: NaN never equals itself, so a dict could not find it
            key.append((kind, value.hex()))  # hex tells -0.0 from 0.0, as Streamlit's hash does
        elif kind is tuple:
            inner = plain_key(value)
            if inner is None:
                return None
            key.append((kind, inner))
        else:
            return None
    return tuple(key)


def by_name(func: Callable[..., Any]) -> Callable[[tuple, dict], dict]:
    """Turns a call's positional arguments into named ones, by the signature read once here.

    Streamlit names each positional argument of a cached call by inspecting the function's signature again, once per
    argument and call (~20 µs each, a sixth of a replayed section's cost); named arguments skip that, and the key is
    the same (Streamlit hashes the pairs of name and value either way)."""
    params = list(inspect.signature(func).parameters.values())
    names = [p.name for p in params]
    if any(p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params):
        return lambda args, kwargs: None  # *args, **kwargs or positional-only: keep the call as it is

    def bind(args: tuple, kwargs: dict) -> dict | None:
        if len(args) > len(names) or any(name in kwargs for name in names[:len(args)]):
            return None  # a wrong call: let the function raise its own TypeError
        return dict(zip(names, args)) | kwargs

    return bind


def named_call(cached: Callable[..., Any], func: Callable[..., Any]) -> Callable[..., Any]:
    """`cached` (func under st.cache_resource) called with every argument by name."""
    bind = by_name(func)

    def call(*args, **kwargs):
        named = bind(args, kwargs)
        return cached(*args, **kwargs) if named is None else cached(**named)

    return call


class _Memo:
    """Recently read values by plain argument key, at most `size` of them (all when None); safe across threads."""

    def __init__(self, size: int | None) -> None:
        self.size, self.entries, self.lock, self.generation = size, OrderedDict(), threading.Lock(), 0

    def get(self, key: tuple) -> object:
        """The value held for a key, or MISSING."""
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return MISSING
            self.entries.move_to_end(key)
            return entry[2]

    def put(self, key: tuple, args: tuple, kwargs: dict, value: object, generation: int) -> list[tuple[tuple, dict]]:
        """Hold a value read with these arguments, unless a clear came after `generation` was read (the value may
        predate it); the arguments of the least recently read values dropped to stay within the size."""
        with self.lock:
            if generation != self.generation:
                return []
            self.entries[key] = (args, kwargs, value)
            self.entries.move_to_end(key)
            dropped = []
            while self.size is not None and len(self.entries) > self.size:
                dropped.append(self.entries.popitem(last=False)[1][:2])
            return dropped

    def clear(self) -> None:
        """Drop every value; a read that missed before this stores nothing."""
        with self.lock:
            self.entries.clear()
            self.generation += 1


def shared_view(max_entries: int | None = None, show_spinner: bool | str = False) -> Callable[[F], F]:
    """Cache a view function's value, keyed by its arguments, for every session at once; callers only read it.

    st.cache_data unpickles a fresh copy on every call. A cached rerun makes 5–15 such calls, and the copies were
    about 3 ms of a rerun's ~22 ms of server CPU. A meeting's fifty sessions read the same views, so they share one
    object instead. st.cache_resource does the sharing; no code may change a view's value in place (an autouse
    fixture in tests/conftest.py checks, in every test, that each view computed is still what it was when computed).

    A read whose arguments are plain values (version, wave, county, item names) is answered from a dict in front of
    st.cache_resource: Streamlit builds its key by inspecting the signature and hashing every argument, ~60 µs a call
    and 6–13 calls a rerun. Anything else, and every first read, goes through st.cache_resource, which computes a value
    once even when fifty sessions ask for it together. So a view must not call st.* (a memo hit replays nothing), and
    only `clear()` on the view or clear_views() forgets views: st.cache_resource.clear() and the app menu's "Clear
    cache" (hidden by toolbarMode "minimal") leave the memo as it is.
    """
    def decorate(func: F) -> F:
        @functools.wraps(func)
        def compute(*args, **kwargs):
            value = func(*args, **kwargs)
            _computed(func.__qualname__, args + tuple(kwargs.values()), value)  # named in signature order (by_name)
            return value

        resource = st.cache_resource(max_entries=max_entries, show_spinner=show_spinner)(compute)
        cached, forget = named_call(resource, func), named_call(resource.clear, func)
        memo = _Memo(max_entries)

        @functools.wraps(func)
        def view(*args, **kwargs):
            key = plain_key(args)
            if kwargs and key is not None:
                named = plain_key(tuple(kwargs.items()))
                key = None if named is None else (key, named)
            if key is None:
                return cached(*args, **kwargs)
            value = memo.get(key)
            if value is MISSING:
                generation = memo.generation  # read before the value: a clear after this makes put store nothing
                value = cached(*args, **kwargs)
                # What the memo drops goes from st.cache_resource too (which a hit never touches, so its own order of
                # use is stale): a view read only with plain arguments holds at most max_entries values in all.
                for old_args, old_kwargs in memo.put(key, args, kwargs, value, generation):
                    forget(*old_args, **old_kwargs)
            return value

        def clear() -> None:
            resource.clear()  # first: a read between the two clears must not refill the memo from the old cache
            memo.clear()

        view.clear = clear  # type: ignore[attr-defined]
        _VIEWS.append(view)
        return view  # type: ignore[return-value]

    return decorate


def sent_section(max_entries: int | None = None, hash_funcs: dict | None = None) -> Callable[[F], F]:
    """Cache what a section of a page sends, not only what it computes: the first call with some arguments draws, and
    Streamlit records the elements it drew; every later call with those arguments, in any session, replays the
    recorded elements without running the function.

    Drawing is most of a cached rerun: building each element's protobuf, a chart's JSON, a table's Arrow bytes. A
    replayed chart, table and caption cost ~0.4 ms where drawing them cost ~1.1 ms (README, 速度). So a
    section may only draw what its arguments (version, wave, county, …) and the settings decide: no widgets (keyed
    expanders, buttons, downloads, inputs), no st.stop, no session state, no signed-in role, no clock. Guards that stop
    a page run before the section; tests/test_sent_sections.py checks the rules in the source. `hash_funcs` is
    Streamlit's: how to hash an argument type more cheaply than Streamlit would.
    """
    def decorate(func: F) -> F:
        resource = st.cache_resource(max_entries=max_entries, show_spinner=False, hash_funcs=hash_funcs)(func)
        section = functools.wraps(func)(named_call(resource, func))
        section.clear = resource.clear  # type: ignore[attr-defined]
        _VIEWS.append(section)  # clear_views() forgets what was sent, as it forgets views
        return section  # type: ignore[return-value]

    return decorate


def clear_views() -> None:
    """Forget every cached view and sent section (engines and other resources stay): for tests and benchmarks that change
    settings."""
    for view in _VIEWS:
        view.clear()
