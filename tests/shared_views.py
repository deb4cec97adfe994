"""The guard for shared views (ui/caching.py): a fingerprint of a view's value, and a recorder of computed views."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from typing import Any

import numpy as np
import pandas as pd


def fingerprint(value: Any) -> bytes:
    """A digest of a value's content (not of pandas' internal layout, which a read may consolidate)."""
    digest = hashlib.sha256()
    _feed(digest, value)
    return digest.digest()


def _feed(digest, value: Any) -> None:
    if isinstance(value, pd.DataFrame):
        digest.update(pickle.dumps((type(value).__name__, list(value.columns), [str(t) for t in value.dtypes], value.attrs)))
        _feed(digest, value.index)
        for column in range(value.shape[1]):
            _feed(digest, value.iloc[:, column])
    elif isinstance(value, pd.Series):
        digest.update(pickle.dumps(("Series", value.name, str(value.dtype), value.attrs)))
        _feed(digest, value.index)
        digest.update(pickle.dumps(value.to_numpy(dtype=object).tolist()))
    elif isinstance(value, pd.Index):
        digest.update(pickle.dumps((type(value).__name__, value.name, str(value.dtype))))
        digest.update(pickle.dumps(value.to_numpy(dtype=object).tolist()))
    elif isinstance(value, np.ndarray):
        digest.update(pickle.dumps((value.dtype.str, value.shape, value.flags.writeable)))
        digest.update(value.tobytes())
    elif isinstance(value, dict):
        digest.update(b"dict%d" % len(value))
        for key, item in value.items():
            _feed(digest, key)
            _feed(digest, item)
    elif isinstance(value, (list, tuple)):
        digest.update(b"%s%d" % (type(value).__name__.encode(), len(value)))
        for item in value:
            _feed(digest, item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        digest.update(type(value).__qualname__.encode())
        for field in dataclasses.fields(value):
            _feed(digest, field.name)
            _feed(digest, getattr(value, field.name))
    else:
        digest.update(pickle.dumps(value))


class Recorder:
    """Collects each newly computed shared view with its fingerprint; `changed()` names those that differ now."""

    def __init__(self, also: Recorder | None = None) -> None:
        self.views: list[tuple[str, tuple, Any, bytes]] = []
        self.also = also  # a longer-lived recorder that keeps each view too

    def __call__(self, name: str, args: tuple, value: Any) -> None:
        self.views.append((name, args, value, fingerprint(value)))
        if self.also is not None:
            self.also.views.append(self.views[-1])

    def changed(self) -> list[str]:
        return [f"{name}{args!r}" for name, args, value, before in self.views if fingerprint(value) != before]
