"""Shared fixtures: the repo root, settings, a throwaway database built from the bundled mock data, and databases on
both backends (SQLite and PostgreSQL) for the store tests."""

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.data import store
from analysis.data.importing import build_mock_database
from analysis.settings import load_settings
from tests.postgres_support import PG_URL_ENV, copy_database, create_database, drop_database, pg_bin_dir, start_cluster
from tests.shared_views import Recorder
from tests.upload_support import make_base_db

ROOT = Path(__file__).resolve().parents[1]
# The pages that show survey analyses (the hostile-names and county-scenario tests open each one).
SURVEY_PAGES = ["app_pages/overview.py", "app_pages/ranking.py", "app_pages/items.py", "app_pages/groups.py",
                "app_pages/metrics.py", "app_pages/planner.py"]
# Page elements whose text Streamlit renders as Markdown.
MARKDOWN_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success")


def markdown_texts(at) -> list[str]:
    """Every string an AppTest page hands to Streamlit's Markdown renderer (a metric's label, value and delta too)."""
    metrics = [str(part) for m in at.metric for part in (m.label, m.value, m.proto.delta) if part]
    return [str(e.value) for kind in MARKDOWN_KINDS for e in getattr(at, kind)] + metrics


def page_text(at, tables: bool = True) -> str:
    """Everything an AppTest page shows as one string: Markdown elements, metrics and (unless tables=False) tables."""
    parts = markdown_texts(at) + [str(m.value) for m in at.metric] + [m.label for m in at.metric]
    if tables:
        parts += [df.value.to_string() if hasattr(df.value, "to_string") else str(df.value) for df in at.dataframe]
    return "\n".join(parts)


EVERY_VIEW = Recorder()  # every shared view computed in this test run, checked once more at its end


@pytest.fixture(scope="session", autouse=True)
def shared_views_stay_unchanged_for_the_run() -> Iterator[None]:
    """At the end of the run: no view was changed by a later test that read it from the cache."""
    yield
    changed = EVERY_VIEW.changed()
    assert not changed, f"shared views changed in place after they were computed: {changed}"


@pytest.fixture(autouse=True)
def shared_views_stay_unchanged(monkeypatch) -> Iterator[Recorder]:
    """Every test: each shared view computed during it is, at its end, what it was when computed.

    ui/caching.py hands every session the same cached object; a page or helper that changed one in place would change
    it for everyone. This turns such a change, on any path a test exercises, into a failing test.
    """
    from ui import caching

    recorder = Recorder(also=EVERY_VIEW)
    monkeypatch.setattr(caching, "_computed", recorder)
    yield recorder
    changed = recorder.changed()
    assert not changed, f"shared views changed in place after they were computed: {changed}"


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


@pytest.fixture
def own_db(mock_db, tmp_path, monkeypatch) -> Path:
    """The app on a private copy of the mock database, for a test that changes it."""
    path = tmp_path / "app.db"
    with sqlite3.connect(mock_db) as source, sqlite3.connect(path) as target:
        source.backup(target)
    monkeypatch.setenv(store.DB_ENV, str(path))
    return path


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a PostgreSQL server the tests may create databases on: CI's ($SATISFACTION_TEST_PG_URL), else a throwaway
    cluster started from the local binaries. Without either the PostgreSQL cases skip with the reason, but fail in CI."""
    if os.environ.get(PG_URL_ENV):
        yield os.environ[PG_URL_ENV]
        return
    bindir, cluster = pg_bin_dir(), None
    reason = (f"PostgreSQL is not installed (no initdb/pg_ctl found); `apt-get install postgresql` "
              f"or set {PG_URL_ENV} to run the PostgreSQL cases")
    if bindir is not None:
        try:
            cluster = start_cluster(bindir)
        except (RuntimeError, OSError) as exc:
            reason = f"could not start a throwaway PostgreSQL cluster from {bindir}: {exc}"
    if cluster is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}", pytrace=False)
        pytest.skip(reason)
    yield cluster.url
    cluster.stop()


@pytest.fixture(params=BACKENDS)
def empty_db(request, tmp_path) -> Iterator[str]:
    """A new empty database on each backend: a SQLite file path, or the URL of a new PostgreSQL database (dropped after)."""
    if request.param == "sqlite":
        yield str(tmp_path / "app.db")
        return
    server = request.getfixturevalue("pg_server")
    url = create_database(server)
    yield url
    drop_database(server, url)


@pytest.fixture(scope="session")
def mock_pg(pg_server, settings) -> str:
    """A PostgreSQL database loaded with the bundled mock data (built once per run; tests must not change it)."""
    url = create_database(pg_server)
    engine = store.connect(url)
    build_mock_database(engine, settings, ROOT / "data" / "mock")
    engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def mock_any(request) -> str:
    """The mock database on each backend (shared: read only)."""
    return str(request.getfixturevalue("mock_db" if request.param == "sqlite" else "mock_pg"))


@pytest.fixture
def private_copy(request, tmp_path):
    """copy(target): a private copy of a database on either backend, for a test that changes it (dropped after)."""
    made = []

    def copy(target: str) -> str:
        if "://" not in target:
            return str(shutil.copyfile(target, tmp_path / "copy.db"))
        server = request.getfixturevalue("pg_server")
        made.append(copy_database(server, target))
        return made[-1]

    yield copy
    for url in made:
        drop_database(request.getfixturevalue("pg_server"), url)


@pytest.fixture
def local_request(monkeypatch):
    """Every AppTest run looks like a browser on this machine (AppTest has no browser connection, so no peer address)."""
    from ui import auth

    monkeypatch.setattr(auth, "request_peer", lambda: ("127.0.0.1", {"host": "127.0.0.1:8501"}))


@pytest.fixture
def base_db(tmp_path, settings, monkeypatch) -> Path:
    """A fresh base database for one test; SATISFACTION_DB points at it so nothing touches data/app.db."""
    path = make_base_db(tmp_path / "app.db", settings)
    monkeypatch.setenv(store.DB_ENV, str(path))
    return path


@pytest.fixture
def any_db(empty_db, settings, monkeypatch) -> str:
    """The base database on SQLite and on PostgreSQL (a path or a URL); SATISFACTION_DB points at it."""
    make_base_db(empty_db, settings)
    monkeypatch.setenv(store.DB_ENV, empty_db)
    return empty_db


def run_page(db, page: str, monkeypatch, wave: str | None = None):
    """A fresh AppTest of app.py on database `db`, switched to `page` (and `wave`), after one run; caches cleared."""
    from streamlit.testing.v1 import AppTest

    from analysis.data import store
    from ui import state
    from ui.caching import clear_views

    monkeypatch.setenv(store.DB_ENV, str(db))
    clear_views()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    if wave:
        at.session_state[state.WAVE] = wave
    return at.switch_page(page).run()


def staff_accounts() -> dict:
    """A leader and an analyst as .streamlit/secrets.toml's [accounts] would hold them."""
    from analysis.accounts import hash_password

    return {"王局长": {"password_hash": hash_password("leader-pass-1"), "role": "leader"},
            "小李": {"password_hash": hash_password("analyst-pass-1"), "role": "analyst"}}


def run_script(script: str, accounts: dict | None = None, session: dict | None = None):
    """An AppTest of a small script with these accounts in its secrets and this session state, after one clean run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(script, default_timeout=30)
    if accounts:
        at.secrets["accounts"] = accounts
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def text_values(at) -> list[str]:
    """The st.text outputs of a run."""
    return [t.value for t in at.text]


def download_menus(at) -> list[str]:
    """The session-state keys of the 下载 menus (lazy popovers) an AppTest page draws, in page order."""
    keys, blocks = [], [at._tree]
    while blocks:
        block = blocks.pop(0)
        proto = getattr(block, "proto", None)
        if getattr(proto, "DESCRIPTOR", None) is not None and proto.DESCRIPTOR.name == "Block" \
                and proto.WhichOneof("type") == "popover" and proto.popover.label == "下载":
            keys.append(proto.popover.id.split("-", 2)[2])  # a keyed element's id ends with its key
        blocks.extend(getattr(block, "children", {}).values())
    return keys


def open_download_menus(at):
    """Open every 下载 menu on the page (what a click on each sends) and rerun; returns the AppTest."""
    keys = download_menus(at)
    assert keys, "no 下载 menu on this page"
    for key in keys:
        at.session_state[key] = True
    return at.run()
