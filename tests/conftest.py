"""Shared fixtures: the repo root, settings, and a throwaway database built from the bundled mock data."""

from pathlib import Path

import pytest

from analysis import store
from analysis.importing import build_mock_database
from analysis.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def settings():
    """The repo's settings.toml."""
    return load_settings(ROOT / "settings.toml")


@pytest.fixture(scope="session")
def mock_db(tmp_path_factory, settings) -> Path:
    """A database file loaded with the bundled mock data through the import path (built once per run)."""
    path = tmp_path_factory.mktemp("db") / "app.db"
    build_mock_database(store.connect(path), settings, ROOT / "data" / "mock")
    return path


@pytest.fixture
def app_db(mock_db, monkeypatch) -> Path:
    """Point the app at the mock database for one test."""
    monkeypatch.setenv(store.DB_ENV, str(mock_db))
    return mock_db
