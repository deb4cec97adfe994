"""Helpers for the browser tests and the page benchmark: pages from app.py, a real `streamlit run` server, waits.

Nothing here imports Playwright at module level, so `pytest` can collect the other test modules on a machine
without it; the browser tests ask for it through `require_playwright()`.
"""

from __future__ import annotations

import ast
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
SERVE = ROOT / "serve.py"  # what `make run` starts: app.py with a warm start
MOCK_DIR = ROOT / "data" / "mock"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

CHROMIUM_ENV = "CHROMIUM_PATH"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# No `playwright install` on these machines: the system Chromium, headless, no sandbox (root in CI), no GPU.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

APP_SELECTOR = '[data-testid="stApp"]'
IDLE_SELECTOR = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# CJK families the theme asks for (.streamlit/config.toml); fonts-noto-cjk provides the first on Linux.
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC")


# ---------------------------------------------------------------- pages


@dataclass(frozen=True)
class PageSpec:
    """One st.Page entry of app.py's PAGES list."""

    file: str      # "app_pages/ranking.py"
    title: str     # "排名"
    url_path: str  # "/" for the default page, else "/<stem>"
    default: bool

    @property
    def stem(self) -> str:
        return Path(self.file).stem

    @property
    def source(self) -> str:
        return (ROOT / self.file).read_text(encoding="utf-8")

    @property
    def draws_charts(self) -> bool:
        """True when the page's own source draws a Plotly chart."""
        return "plotly_chart(" in self.source


def _const(node: ast.AST | None):
    return node.value if isinstance(node, ast.Constant) else None


def discover_pages(app: Path = APP) -> list[PageSpec]:
    """The st.Page(...) entries of the PAGES list in app.py, in order (read with ast, not by importing the app)."""
    tree = ast.parse(app.read_text(encoding="utf-8"))
    calls: list[ast.Call] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PAGES" for t in node.targets):
            calls = [n for n in ast.walk(node.value) if isinstance(n, ast.Call)
                     and (getattr(n.func, "attr", None) == "Page" or getattr(n.func, "id", None) == "Page")]
            break
    pages = []
    for call in calls:
        kwargs = {k.arg: _const(k.value) for k in call.keywords if k.arg}
        file = _const(call.args[0]) if call.args else kwargs.get("page")
        if not isinstance(file, str):
            continue  # a callable page: nothing to open by URL
        default = bool(kwargs.get("default"))
        stem = Path(file).stem
        url = "/" if default else "/" + str(kwargs.get("url_path") or stem).strip("/")
        pages.append(PageSpec(file, str(kwargs.get("title") or stem), url, default))
    if not pages:
        raise AssertionError(f"no st.Page(\"app_pages/….py\", title=…) entries found in the PAGES list of {app}")
    return pages


# ---------------------------------------------------------------- data and accounts


def build_database(path: Path, mock_dir: Path = MOCK_DIR, settings=None) -> Path:
    """A fresh SQLite database loaded from mock CSVs through the analysts' import path."""
    from analysis.data.importing import build_mock_database
    from analysis.settings import load_settings
    from analysis.data.store import connect

    engine = connect(path)
    try:
        build_mock_database(engine, settings or load_settings(), mock_dir)
    finally:
        engine.dispose()
    return path


def write_secrets(path: Path, accounts: dict[str, tuple[str, str]] | None = None) -> Path:
    """A secrets.toml with [accounts.NAME] password_hash/role for {name: (password, role)}; none → no accounts."""
    from analysis.accounts import hash_password

    lines = ["# written by tests/browser_support.py"]
    for name, (password, role) in (accounts or {}).items():
        lines += [f"[accounts.{name}]", f'password_hash = "{hash_password(password)}"', f'role = "{role}"', ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- the server


def free_port() -> int:
    """A port nobody listens on right now (loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerError(RuntimeError):
    """The Streamlit server did not come up; the message ends with its log."""


class StreamlitServer:
    """`streamlit run app.py` (or another entry, such as `make run`'s serve.py) on a free loopback port with its own
    database and secrets file."""

    def __init__(self, db_path: Path, secrets_path: Path, log_path: Path, extra_env: dict[str, str] | None = None,
                 script: Path = APP):
        self.script = Path(script)
        self.db_path = Path(db_path)
        self.secrets_path = Path(secrets_path)
        self.log_path = Path(log_path)
        self.extra_env = extra_env or {}
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def command(self) -> list[str]:
        return [sys.executable, "-m", "streamlit", "run", str(self.script),
                "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(self.port),
                "--browser.gatherUsageStats", "false", "--secrets.files", str(self.secrets_path)]

    def start(self, timeout: float = 90) -> "StreamlitServer":
        """Start the server and wait until /_stcore/health answers; retries on a port taken meanwhile."""
        last = None
        for _attempt in range(3):
            self.port = free_port()
            env = os.environ | {"SATISFACTION_DB": str(self.db_path), "PYTHONUNBUFFERED": "1"} | self.extra_env
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")
            self.process = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                self.wait_healthy(timeout)
                return self
            except ServerError as exc:
                last = exc
                self.stop()
                if "already in use" not in str(exc):
                    break
        raise last

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"streamlit exited with code {self.process.returncode}\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("/_stcore/health"), timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.05)
        raise ServerError(f"streamlit did not answer {self.url('/_stcore/health')} within {timeout:.0f} s\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "--- server log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate our own server process (by its pid), then kill it if it lingers."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "StreamlitServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------- the browser


def find_chromium() -> str | None:
    """$CHROMIUM_PATH, else a system Chromium/Chrome, else None."""
    candidates = [os.environ.get(CHROMIUM_ENV, "")] + list(CHROMIUM_CANDIDATES)
    candidates += [shutil.which(n) or "" for n in ("chromium", "chromium-browser", "google-chrome")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def missing_browser_reason() -> str | None:
    """Why browser tests cannot run here, or None when Playwright and Chromium are both present."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install -r requirements-dev.txt)"
    if find_chromium() is None:
        return (f"no Chromium found (looked at ${CHROMIUM_ENV} and {', '.join(CHROMIUM_CANDIDATES)}); "
                "install it with `apt-get install chromium fonts-noto-cjk` — never `playwright install`")
    return None


def launch_chromium(playwright):
    """The system Chromium through Playwright."""
    return playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)


@contextmanager
def browser_page(chromium, viewport: dict, **options):
    """A page in a fresh browser context (its own cookies, so its own Streamlit session), closed afterwards; options
    go to new_context (accept_downloads=True)."""
    context = chromium.new_context(viewport=viewport, locale="zh-CN", **options)
    try:
        yield context.new_page()
    finally:
        context.close()


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until the app has run its script and is idle (data-test-script-state="notRunning")."""
    page.wait_for_selector(IDLE_SELECTOR, state="attached", timeout=timeout)


def open_page(page, url: str, *, expect_charts: bool = False, timeout: float = 60_000) -> None:
    """Load a URL (a new Streamlit session) and wait until its first script run is finished and drawn.

    With expect_charts, also wait for the first Plotly chart: the chart component is lazy-loaded, so the
    script can be "notRunning" while no chart element exists yet.
    """
    page.goto(url, wait_until="domcontentloaded", timeout=timeout)
    wait_idle(page, timeout)
    if expect_charts:
        wait_first_chart(page, timeout)
    wait_charts(page, timeout)


# A MutationObserver records every change of the script state (with its time), so a rerun that is over before
# Python polls is not missed.
_WATCH_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (window.__stWatch) window.__stWatch.observer.disconnect();
  // The state at the start counts: an action taken while a run is already going ends with that run's
  // "notRunning" only, and would otherwise never count as a rerun.
  const watch = {states: [app.getAttribute('data-test-script-state')], times: [performance.now()], start: performance.now()};
  watch.observer = new MutationObserver(() => {
    watch.states.push(app.getAttribute('data-test-script-state')); watch.times.push(performance.now()); });
  watch.observer.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  window.__stWatch = watch;
}"""
_RERUN_DONE_JS = """() => {
  const w = window.__stWatch, app = document.querySelector('[data-testid="stApp"]');
  return !!w && w.states.some(s => s !== 'notRunning') && app.getAttribute('data-test-script-state') === 'notRunning';
}"""


def watch_reruns(page) -> None:
    """Start recording script-state changes (call before the action that triggers a rerun)."""
    page.evaluate(_WATCH_JS)


def wait_rerun(page, timeout: float = 60_000) -> None:
    """After watch_reruns() and an action: wait until a rerun has started and finished, and charts are drawn."""
    page.wait_for_function(_RERUN_DONE_JS, polling="raf", timeout=timeout)
    wait_charts(page, timeout)


def script_seconds(page) -> float:
    """Seconds between the first "running" and the last "notRunning" of the watched rerun, as the browser saw them."""
    watch = page.evaluate("() => ({states: window.__stWatch.states, times: window.__stWatch.times})")
    states, times = watch["states"], watch["times"]
    start = next(t for s, t in zip(states, times) if s != "notRunning")
    end = max(t for s, t in zip(states, times) if s == "notRunning")
    return (end - start) / 1000


def rerun(page, action, timeout: float = 60_000) -> None:
    """Do `action()` (a click, an upload…) and wait for the rerun it triggers to finish."""
    wait_idle(page, timeout)  # act on an idle page, so the run that ends the wait is the one the action started
    watch_reruns(page)
    action()
    wait_rerun(page, timeout)


# A Plotly chart counts as drawn when its svg has trace groups (scatter, bar, box…) or a heatmap layer in it.
# Plotly is lazy-loaded by the frontend: "notRunning" can come before the chart elements exist at all.
_MARKS = "svg.main-svg .trace, svg.main-svg .hm, svg.main-svg .contourlayer g, svg.main-svg .pielayer g"
_CHART_STATS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]')).map(el => {
  const box = el.getBoundingClientRect(), svg = el.querySelector('svg.main-svg');
  return {visible: box.width > 0 && box.height > 0, svg_width: svg ? Math.round(svg.getBoundingClientRect().width) : 0,
          marks: el.querySelectorAll('%s').length,
          title: (el.querySelector('.gtitle') || {}).textContent || ''};
})""" % _MARKS
_DRAWN_JS = """el => { const svg = el.querySelector('svg.main-svg');
  return !!svg && svg.getBoundingClientRect().width > 0 && el.querySelectorAll('%s').length > 0; }""" % _MARKS
_VISIBLE_JS = "el => { const box = el.getBoundingClientRect(); return box.width > 0 && box.height > 0; }"
_CHARTS_DRAWN_JS = """() => {
  if (document.querySelector('[data-testid="stApp"]').getAttribute('data-test-script-state') !== 'notRunning') return false;
  const charts = Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]')).filter(%s);
  return charts.every(%s);
}""" % (_VISIBLE_JS, _DRAWN_JS)
_FIRST_CHART_JS = """() => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]')).filter(%s).some(%s)""" % (
    _VISIBLE_JS, _DRAWN_JS)


def wait_charts(page, timeout: float = 60_000) -> None:
    """Wait until every visible Plotly chart has drawn its marks (two animation frames after, for the paint)."""
    page.wait_for_function(_CHARTS_DRAWN_JS, polling="raf", timeout=timeout)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def wait_first_chart(page, timeout: float = 60_000) -> None:
    """Wait until the first Plotly chart is visible with drawn marks."""
    page.wait_for_function(_FIRST_CHART_JS, polling="raf", timeout=timeout)


def chart_stats(page) -> list[dict]:
    """Per Plotly chart: visible, number of drawn marks, svg width."""
    return page.evaluate(_CHART_STATS_JS)


def problems(page) -> list[str]:
    """Texts of exception boxes and error alerts on the page."""
    found = []
    for selector in ('[data-testid="stException"]', '[data-testid="stAlertContentError"]'):
        found += [f"{selector}: {text.strip()[:500]}" for text in page.locator(selector).all_inner_texts()]
    return found


def platform_fonts(page, selector: str) -> list[dict]:
    """Fonts Chromium actually used to draw the text of the first element matching selector (DevTools protocol)."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("DOM.enable")
        session.send("CSS.enable")
        root = session.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            return []
        return session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        session.detach()


def sidebar_nav(page, title: str):
    """The sidebar navigation link of a page, by its title."""
    return page.get_by_test_id("stSidebarNavLink").filter(has_text=title)


def go_to(page, title: str, timeout: float = 60_000) -> None:
    """Switch page through the sidebar navigation (keeps the session, so a sign-in holds)."""
    rerun(page, lambda: sidebar_nav(page, title).first.click(), timeout)


def selectbox(page, label: str, *, sidebar: bool = True):
    """A selectbox by its label text; the sidebar's own are in its menu, whose body the browser draws outside the
    sidebar (see open_choices)."""
    scope = page.get_by_test_id("stSidebar").or_(page.get_by_test_id("stPopoverBody")) if sidebar \
        else page.get_by_test_id("stMain")
    return scope.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True)).first


def selectbox_value(page, label: str, *, sidebar: bool = True) -> str:
    """The shown value of a selectbox."""
    box = selectbox(page, label, sidebar=sidebar)
    return box.get_by_role("combobox").input_value() or box.inner_text()


def choice_menu(page):
    """The sidebar menu holding 测评批次 and 本县; its label names the wave and county every page shows."""
    return page.get_by_test_id("stSidebar").get_by_test_id("stPopover")


def open_choices(page, timeout: float = 60_000) -> None:
    """Open the sidebar menu unless it is open (opening reruns the page, which then draws the two selectboxes)."""
    if selectbox(page, "本县").count() == 0:
        rerun(page, lambda: choice_menu(page).get_by_role("button").first.click(), timeout)
    selectbox(page, "本县").wait_for(state="visible", timeout=timeout)


def retried(page, act, took, what: str, *, attempts: int = 3, first: float = 15_000, last: float = 60_000,
            before_retry=None) -> None:
    """Do `act(timeout_ms)` until it finishes without a Playwright timeout, at most `attempts` times.

    A click that lands while a run is still drawing (sign-in ends with a second run of its own) can be lost: the run
    redraws the element under it and nothing happens (seen in CI as a 60 s timeout). So an attempt gets `first` ms, the
    last one `last`; between attempts the page is left to finish its run, `before_retry()` undoes what a lost click
    left open, and `took()` says whether the earlier attempt took after all (then there is nothing to repeat). Only a
    Playwright timeout is retried; any other error, and the last attempt's timeout, fail the test."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(1, attempts + 1):
        wait_idle(page, last)
        if attempt > 1 and took():
            return
        try:
            act(last if attempt == attempts else first)
            return
        except PlaywrightTimeout:
            if attempt == attempts:
                raise
            print(f"{what}: nothing within {first / 1000:g} s on attempt {attempt}, trying again", flush=True)
            if before_retry is not None:
                before_retry()


def choose(page, label: str, option: str, *, sidebar: bool = True, timeout: float = 60_000, attempts: int = 3) -> None:
    """Open a selectbox, pick an option and wait for the rerun; a pick that starts no rerun within 15 s is made again
    (retried). Once the selectbox shows the option, the pick has taken and the run it started is waited for."""
    def pick(wait: float) -> None:
        selectbox(page, label, sidebar=sidebar).click(timeout=wait)
        rerun(page, lambda: page.get_by_role("option", name=option, exact=True).click(timeout=wait), wait)

    def took() -> bool:
        if selectbox_value(page, label, sidebar=sidebar) != option:
            return False
        wait_charts(page, timeout)
        return True

    retried(page, pick, took, f"choose({label!r}, {option!r})", attempts=attempts, first=15_000, last=timeout,
            before_retry=lambda: page.keyboard.press("Escape"))  # close the list if it is still open
