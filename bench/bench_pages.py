"""Page speed in a real browser: cold start to first chart, cached reruns, uncached reload after a new wave.

`make bench` (or `.venv/bin/python -m bench bench_pages`) runs the app (serve.py, as `make run` does; app.py for the
second cold start) on a free loopback port against
a database built from the mock data at 1×, 10× and 100× its size, drives the system Chromium through Playwright, and
writes the medians to bench/results_pages.md. Options through the environment:

    BENCH_PAGES_SCALES=1,10,100   data sizes (multiples of the bundled mock survey)
    BENCH_PAGES_RUNS=3            cold starts and uncached reloads per page (1 at 100×)
    BENCH_PAGES_TOGGLES=6         cached reruns per page
    BENCH_PAGES_PROFILE=1         profile pages that miss a target (AppTest + cProfile), 0 to skip
    BENCH_PAGES_LARGE_PAGES=…     page stems measured at 100× (default: every page)

Generated data and databases live in data/bench/ (gitignored) and are reused by later runs.
"""

from __future__ import annotations

import cProfile
import dataclasses
import os
import pstats
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from bench.machine import machine_text
from tests import browser_support as bs

ROOT = bs.ROOT
BENCH_DIR = ROOT / "data" / "bench"
RESULTS = Path(__file__).with_name("results_pages.md")
NEW_WAVE = "2026年第4季度"
VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT = 900_000  # ms; 100× data can take minutes on a cold cache
NAN = float("nan")
MIN_FREE_GB = 8  # a 100× server holds several gigabytes per cached data version; stop before the machine runs short
LARGE = 100      # from this scale on: one run, a fresh server per page, and only the pages in BENCH_PAGES_LARGE_PAGES

TARGET_FIRST_CHART = 3.0   # s from the page request, cold server
TARGET_CACHED = 0.300      # s, rerun after a widget change
TARGET_UNCACHED = 2.0      # s, reload after a new wave, at 10× data

# Records every script-state change from the start of each document, so reload timings see the whole run.
STATE_LOG_JS = """
window.__stLog = [];
new MutationObserver(() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const s = app && app.getAttribute('data-test-script-state');
  const log = window.__stLog;
  if (s && (!log.length || log[log.length - 1][0] !== s)) log.push([s, performance.now()]);
}).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-test-script-state']});
// A rerun is timed from the user's click (the DOM event, not Playwright's call, which first checks the element)
// to the last change of the page after it: new text, redrawn charts, closed menus.
window.__click = 0;
window.__mutated = 0;
document.addEventListener('click', () => { window.__click = performance.now(); }, true);
// st.dataframe's grid draws on a canvas and mirrors its cells for screen readers as the canvas's fallback content,
// refreshed a few hundred ms after the drawing: a browser never shows a canvas's children, so they do not count.
const seen = m => { const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
                    return !(el && el.closest('canvas')); };
new MutationObserver(ms => { if (ms.some(seen)) window.__mutated = performance.now(); })
  .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
QUIET_MS = 300  # the page counts as settled after this long without a DOM change
# Settled: the script is idle and nothing in the document has changed for QUIET_MS since the last change after the
# click. Waiting for a "running" state would hang on a rerun so quick that the browser never shows it.
SETTLED_JS = """quiet => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning' && window.__mutated > window.__click
    && performance.now() - window.__mutated > quiet;
}"""

# A widget that belongs to the page itself (not the sidebar), clicked back and forth: lazy tabs rerun the page and
# draw the chosen section; the planner's toggle reruns the page. Pages not listed have no such widget.
LOCAL_WIDGETS = {
    "ranking": ("tab", ("名次范围", "名次可能性")),
    "items": ("tab", ("先改哪一项", "各分项得分对比")),
    "groups": ("tab", ("不同人群的得分", "各乡镇（街道）得分")),
    "metrics": ("tab", ("班额分布（乡镇与班级）", "班额")),
    "planner": ("toggle", ("假设各县区（含本县）按近 3 期趋势再变化一期",)),
}


# ---------------------------------------------------------------- data


def settings_for_bench():
    """The repo's settings with the upload row limit lifted, so 100× data (3.8 million rows) can be loaded."""
    from analysis.settings import load_settings

    return dataclasses.replace(load_settings(), max_rows=10**9)


def mock_dir(scale: int, settings) -> Path:
    """Mock CSVs at a scale: the bundled ones at 1×, generated into data/bench/scaleN/ otherwise."""
    if scale == 1:
        return bs.MOCK_DIR
    from analysis.data.mock import write_mock

    out = BENCH_DIR / f"scale{scale}"
    done = out / ".complete"
    if not done.exists():
        start = time.perf_counter()
        print(f"  生成 {scale}× 示例数据到 {out.relative_to(ROOT)} …", flush=True)
        write_mock(settings, out, seed=2026, scale=scale)
        done.write_text("ok\n")
        print(f"  生成用时 {time.perf_counter() - start:.0f} s", flush=True)
    return out


def base_database(scale: int, settings) -> Path:
    """A database built from the scale's mock data (kept in data/bench/ for the next run)."""
    path = BENCH_DIR / f"scale{scale}.db"
    done = path.with_suffix(".db.complete")
    if not done.exists():
        source = mock_dir(scale, settings)
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        start = time.perf_counter()
        print(f"  建库 {path.relative_to(ROOT)} …", flush=True)
        bs.build_database(path, source, settings)
        done.write_text("ok\n")
        print(f"  建库用时 {time.perf_counter() - start:.0f} s", flush=True)
    from analysis.data import store
    from analysis.data.contract import responses_kind

    engine = store.connect(path)
    try:  # a database kept from an earlier run gains the indexes the current schema has (as an import would add them)
        with store.write_transaction(engine) as conn:
            store.ensure_data_table(conn, responses_kind(settings.items))
    finally:
        engine.dispose()
    return path


def working_copy(base: Path) -> Path:
    """A copy of the base database that this run may change."""
    run = base.with_name(base.stem + "-run.db")
    for stale in (run, Path(f"{run}-wal"), Path(f"{run}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(base, run)
    return run


def new_wave_file(scale: int, settings, variant: str = "A") -> Path:
    """One more wave at the scale: the mock generator's latest wave, relabelled, as a GBK CSV like a vendor's.
    Variants differ in their respondent ids, so each is a different file (another SHA-256) with the same size."""
    from analysis.data.contract import responses_kind
    from analysis.data.mock import WAVES, to_contract_headers, wave_responses

    path = BENCH_DIR / f"new_wave_scale{scale}_{variant}.csv"
    if not path.exists():
        rng = np.random.default_rng(7)
        frames = [wave_responses(rng, settings, len(WAVES) - 1).assign(
            respondent_id=lambda f, k=k: f"N{variant}{k}-" + f["respondent_id"]) for k in range(scale)]
        frame = pd.concat(frames, ignore_index=True).assign(wave=NEW_WAVE)
        path.parent.mkdir(parents=True, exist_ok=True)
        to_contract_headers(frame, responses_kind(settings.items)).to_csv(path, index=False, encoding="gbk")
    return path


def response_rows(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT COUNT(*) FROM data_responses d JOIN imports i ON i.id = d.import_id WHERE i.status = 'active'")).scalar_one())


# ---------------------------------------------------------------- browser measurements


def state_log(page) -> list:
    return page.evaluate("() => window.__stLog || []")


def script_time(log: list, since: float = 0.0) -> float | None:
    """Seconds from the first 'running' to the last 'notRunning' after `since` (ms, page clock)."""
    runs = [t for s, t in log if s == "running" and t >= since]
    ends = [t for s, t in log if s == "notRunning" and t >= since]
    if not runs or not ends:
        return None
    return (max(ends) - min(runs)) / 1000


def wait_drawn(page, expect_charts: bool) -> None:
    bs.wait_idle(page, TIMEOUT)
    if expect_charts:
        bs.wait_first_chart(page, TIMEOUT)
    bs.wait_charts(page, TIMEOUT)


# The two ways to start the app: what `make run` does (serve.py warms imports and the default view at start-up),
# and plain `streamlit run app.py`, whose first visitor pays for both.
ENTRIES = {"make run（serve.py）": bs.SERVE, "streamlit run app.py": bs.APP}


def cold_start(browser, db: Path, secrets: Path, runs: int, script: Path = bs.SERVE) -> list[dict]:
    """Fresh server process each run: start → health, then page request at once → first chart drawn."""
    out = []
    for run in range(runs):
        server = bs.StreamlitServer(db, secrets, bs.ARTIFACTS / "logs" / "bench-server.log", script=script)
        start = time.perf_counter()
        server.start(timeout=300)
        healthy = time.perf_counter()
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        context.add_init_script(STATE_LOG_JS)
        page = context.new_page()
        try:
            requested = time.perf_counter()
            page.goto(server.url("/"), wait_until="commit", timeout=TIMEOUT)
            bs.wait_first_chart(page, TIMEOUT)
            drawn = time.perf_counter()
            # Phases on the page's clock (0 = navigation start): frontend up and session open, script run, drawing.
            chart_at = page.evaluate("() => performance.now()")
            log = state_log(page)
            problems = bs.problems(page)
            if problems:
                raise RuntimeError(f"overview shows errors: {problems}")
        finally:
            context.close()
            server.stop()
        running = min((t for s, t in log if s == "running"), default=NAN)
        finished = min((t for s, t in log if s == "notRunning" and t >= running), default=NAN)
        phases = {"to_script": running / 1000, "script": (finished - running) / 1000, "to_chart": (chart_at - finished) / 1000}
        out.append({"server": healthy - start, "first_chart": drawn - requested, "total": drawn - start} | phases)
        print(f"    冷启动 {run + 1}（{script.name}）: 服务启动 {healthy - start:.2f} s，请求→首图 {drawn - requested:.2f} s"
              f"（前端与会话 {phases['to_script']:.2f} s，脚本 {phases['script']:.2f} s，画图 {phases['to_chart']:.2f} s）", flush=True)
    return out


def other_county(settings) -> str:
    return next(c for c in settings.counties if c != settings.home_county)


def click_and_settle(page, target) -> tuple[float, float | None]:
    """Click `target`; seconds from the click event to the settled page, and the script's share as the browser saw it."""
    bs.watch_reruns(page)
    target.click()
    page.wait_for_function(SETTLED_JS, arg=QUIET_MS, polling=50, timeout=TIMEOUT)
    seconds = page.evaluate("() => (window.__mutated - window.__click) / 1000")
    watch = page.evaluate("() => ({states: window.__stWatch.states, times: window.__stWatch.times})")
    runs = [t for s, t in zip(watch["states"], watch["times"]) if s != "notRunning"]
    ends = [t for s, t in zip(watch["states"], watch["times"]) if s == "notRunning"]
    return seconds, ((max(ends) - min(runs)) / 1000 if runs and ends else None)


def cached_reruns(page, settings, toggles: int) -> tuple[list[float], list[float]]:
    """Toggle 本县 to another county and back (a whole-page rerun); the first round fills the caches and is not counted."""
    counties = [other_county(settings), settings.home_county]
    walls, scripts = [], []
    for i in range(toggles + 2):
        bs.open_choices(page)  # the sidebar menu closes after each choice
        bs.selectbox(page, "本县").click()
        option = page.get_by_role("option", name=counties[i % 2], exact=True)
        option.wait_for(state="visible")
        wall, script = click_and_settle(page, option)
        if i >= 2:
            walls.append(wall)
            scripts.append(script if script is not None else NAN)
    return walls, scripts


def local_reruns(page, spec: bs.PageSpec, toggles: int) -> list[float]:
    """The page's own widget (LOCAL_WIDGETS) clicked back and forth; empty when the page has none."""
    kind, names = LOCAL_WIDGETS.get(spec.stem, (None, ()))
    if kind is None:
        return []
    main = page.get_by_test_id("stMain")
    targets = ([main.get_by_role("tab", name=name, exact=True) for name in names] if kind == "tab"
               else [main.get_by_text(names[0], exact=True)] * 2)
    walls = []
    for i in range(toggles + 2):
        wall, _ = click_and_settle(page, targets[i % len(targets)])
        if i >= 2:
            walls.append(wall)
    return walls


class VersionBumper:
    """Makes the data version change as an analyst's upload does: every bump imports a new wave's file in place of
    the previous one (replace), so each uncached measurement finds one import no cache has seen, with the same
    amount of data each time (two files of the same size, alternating)."""

    def __init__(self, db: Path, scale: int, settings):
        from analysis.data import store

        self.engine = store.connect(db)
        self.settings = settings
        self.files = [new_wave_file(scale, settings, variant) for variant in ("A", "B")]
        self.count = 0
        start = time.perf_counter()
        self.bump()
        self.import_seconds = time.perf_counter() - start

    def bump(self) -> None:
        from analysis.data.importing import import_path

        plan, _records = import_path(self.files[self.count % 2], "responses", self.settings, self.engine, user="基准测试",
                                     replace=True)
        if not plan.ok:
            raise RuntimeError(f"new wave refused: {plan.validation.errors.head()}")
        self.count += 1
        # The app keeps a replaced file's rows (it can be restored); the bench's copy of the database drops them, so
        # that twenty replacements do not leave every later page reading a table grown by twenty waves.
        with self.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM data_responses WHERE import_id IN "
                                 "(SELECT id FROM imports WHERE status = 'replaced' AND kind = 'responses')"))


def uncached_reload(page, spec: bs.PageSpec, url: str, bumper: VersionBumper, runs: int) -> tuple[list[float], list[float]]:
    """New data version, then reload the page: every cache is cold for it."""
    walls, scripts = [], []
    for _ in range(runs):
        bumper.bump()
        start = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=TIMEOUT)
        wait_drawn(page, spec.draws_charts)
        walls.append(time.perf_counter() - start)
        scripts.append(script_time(state_log(page)))
        if bs.problems(page):
            raise RuntimeError(f"{spec.file} shows errors: {bs.problems(page)}")
    return walls, scripts


def available_gb() -> float:
    """MemAvailable from /proc/meminfo, in GB (inf where unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("inf")


def measure_page(page, spec: bs.PageSpec, url: str, settings, bumper: VersionBumper, runs: int, toggles: int) -> dict:
    page.goto(url, wait_until="commit", timeout=TIMEOUT)
    wait_drawn(page, spec.draws_charts)  # fills the caches of this version for this page
    if bs.problems(page):
        raise RuntimeError("; ".join(bs.problems(page))[:300])
    start = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=TIMEOUT)
    wait_drawn(page, spec.draws_charts)
    opened = time.perf_counter() - start
    cached, cached_script = cached_reruns(page, settings, toggles)
    local = local_reruns(page, spec, toggles)
    uncached, uncached_script = uncached_reload(page, spec, url, bumper, runs)
    return {"page": spec, "open": opened, "cached": statistics.median(cached), "local": statistics.median(local) if local else NAN,
            "cached_script": statistics.median(cached_script), "uncached": statistics.median(uncached),
            "uncached_script": statistics.median([s for s in uncached_script if s is not None] or [NAN])}


def page_figures(browser, db: Path, secrets: Path, scale: int, settings, runs: int, toggles: int,
                 only: set[str] | None = None, server_per_page: bool = False) -> tuple[list[dict], float]:
    """Open, cached rerun and uncached reload for every page of app.py (or the stems in `only`).

    Each new data version leaves the survey cached once more (up to max_entries), so at 100× a server grows by
    gigabytes per page; `server_per_page` starts a fresh server for each page, and pages are skipped when the
    machine runs short of memory.
    """
    bumper = VersionBumper(db, scale, settings)
    log = bs.ARTIFACTS / "logs" / "bench-server.log"
    server = None
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    context.add_init_script(STATE_LOG_JS)
    page = context.new_page()
    rows = []
    try:
        for spec in bs.discover_pages():
            if only is not None and spec.stem not in only:
                continue
            if server is not None and server_per_page:
                server.stop()
                server = None
            if available_gb() < MIN_FREE_GB:
                rows.append({"page": spec, "error": f"跳过：可用内存不足 {MIN_FREE_GB} GB"})
                print(f"    {spec.title}：跳过（可用内存 {available_gb():.1f} GB）", flush=True)
                continue
            if server is None:
                server = bs.StreamlitServer(db, secrets, log, script=bs.SERVE).start(timeout=300)
            try:
                row = measure_page(page, spec, server.url(spec.url_path), settings, bumper, runs, toggles)
            except Exception as exc:  # one broken page must not cost the other pages' figures
                print(f"    {spec.title}（{spec.url_path}）：测量失败 {exc!r}"[:400], flush=True)
                rows.append({"page": spec, "error": "测量失败：" + str(exc).splitlines()[0][:200]})
                if server.process.poll() is not None:
                    server.stop()
                    server = None
                continue
            rows.append(row)
            print(f"    {spec.title}（{spec.url_path}）：打开 {row['open']:.2f} s；切换本县 {row['cached'] * 1000:.0f} ms"
                  f"（脚本 {row['cached_script'] * 1000:.0f} ms）；页内控件 {fmt_ms(row['local'])}；新批次后重载 {row['uncached']:.2f} s"
                  f"（脚本 {row['uncached_script']:.2f} s）", flush=True)
    finally:
        context.close()
        if server is not None:
            server.stop()
        bumper.engine.dispose()
    return rows, bumper.import_seconds


# ---------------------------------------------------------------- where the time goes


PROJECT_FILES = re.compile(r"/(app_pages|ui|analysis)/[^/]+\.py")
# Streamlit's element calls worth naming: they include serialising figures and tables for the browser.
ELEMENT_CALLS = {"plotly_chart", "dataframe", "data_editor", "download_button", "table"}


def profile_page(spec: bs.PageSpec, db: Path, cached: bool, limit: int = 12) -> str:
    """cProfile of one script run of the page under AppTest (same process, same caches as the app would use)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    from ui.caching import clear_views

    os.environ["SATISFACTION_DB"] = str(db)
    holder: dict = {}
    original = LocalScriptRunner._run_script_thread

    def profiled(self):  # the script runs in its own thread: profile that thread
        profiler = holder.get("profiler")
        return profiler.runcall(original, self) if profiler else original(self)

    LocalScriptRunner._run_script_thread = profiled
    try:
        clear_views()  # with their memo in front of st.cache_resource
        st.cache_resource.clear()  # and engines
        at = AppTest.from_file(str(bs.APP), default_timeout=TIMEOUT / 1000)
        at.run()
        if not spec.default:
            at.switch_page(spec.file)
            at.run()
        if not cached:
            clear_views()
        start = time.perf_counter()
        at.run()
        plain = time.perf_counter() - start
        if not cached:
            clear_views()
        holder["profiler"] = cProfile.Profile()
        at.run()
    finally:
        LocalScriptRunner._run_script_thread = original
    if at.exception:  # e.g. the code changed under a long run: a profile of a failed page would mislead
        return "剖析失败：页面报错 " + str(at.exception[0].message).splitlines()[0][:200]
    stats = pstats.Stats(holder["profiler"])
    total = max(v[3] for v in stats.stats.values())
    rows = []
    for (file, line, func), (_cc, _nc, _tt, cum, _callers) in stats.stats.items():
        match = PROJECT_FILES.search(file)
        if match and func != "<module>":
            rows.append((cum, f"{match.group(0).lstrip('/')}:{line} {func}"))
        elif "/streamlit/elements/" in file and func in ELEMENT_CALLS:
            rows.append((cum, f"st.{func}（Streamlit，含序列化）"))
    rows.sort(reverse=True)
    lines = [f"AppTest 脚本运行 {plain * 1000:.0f} ms（不计分析器）；cProfile 下 {total * 1000:.0f} ms，其中累计耗时最多的项目函数："]
    lines += [f"    {cum * 1000:7.0f} ms  {name}" for cum, name in rows[:limit]]
    return "\n".join(lines)


FIRST_RUN_CODE = r"""
import cProfile, json, os, pstats, re, sys, time
import streamlit, streamlit.web.server  # the server has loaded these before it answers the health check
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.local_script_runner import LocalScriptRunner
profiler = cProfile.Profile() if sys.argv[2] == "profile" else None
original = LocalScriptRunner._run_script_thread
if profiler:
    LocalScriptRunner._run_script_thread = lambda self: profiler.runcall(original, self)
at = AppTest.from_file(sys.argv[1], default_timeout=900)
start = time.perf_counter()
at.run()
out = {"seconds": time.perf_counter() - start, "errors": [str(e.message)[:200] for e in at.exception]}
if profiler:
    stats = pstats.Stats(profiler).stats
    total = max(v[3] for v in stats.values())
    out["import_share"] = sum(v[3] for (f, l, n), v in stats.items() if n == "_find_and_load") / total
    own = [(v[3] / total, re.sub(r".*/(app_pages|ui|analysis)/", r"\1/", f) + f":{l} {n}") for (f, l, n), v in stats.items()
           if re.search(r"/(app_pages|ui|analysis)/[^/]+[.]py$", f) and n != "<module>"]
    out["top"] = sorted(own, reverse=True)[:6]
print(json.dumps(out))
"""


def first_run(db: Path) -> dict:
    """The default page's first script run in a fresh process (AppTest, no browser competing for the CPU): its
    time, and from a profiled second process the share spent importing modules and the costliest project functions."""
    import json
    import subprocess

    env = os.environ | {"SATISFACTION_DB": str(db)}
    results = {}
    for mode in ("plain", "profile"):
        done = subprocess.run([sys.executable, "-c", FIRST_RUN_CODE, str(bs.APP), mode], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=True)
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seconds": results["plain"]["seconds"], "import_share": results["profile"]["import_share"],
            "top": results["profile"]["top"]}


# ---------------------------------------------------------------- report


def machine_line(browser_version: str) -> str:
    """The machine and the browser, for the page results."""
    return f"{machine_text()}，Chromium {browser_version}（无头）；服务与浏览器在同一台机器上"


def ok(value: float, target: float | None) -> str:
    if target is None or value != value:
        return "—"
    return "✅" if value <= target else "❌"


def fmt_ms(seconds: float) -> str:
    """A time in seconds, shown in whole milliseconds: 1,234 ms."""
    return "—" if seconds != seconds else f"{seconds * 1000:,.0f} ms"


def fmt_s(seconds: float) -> str:
    return "—" if seconds != seconds else f"{seconds:.2f} s"


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return NAN


def report(machine: str, sizes: dict, cold: dict, pages: dict, imports: dict, notes: list[str], profiles: list[str],
           cold_parts: dict, loads: list[tuple[str, float]] | None = None) -> str:
    load_text = ""
    if loads:
        load_text = ("运行期间系统负载（1 分钟平均；超过核数说明有别的程序在争用 CPU，数字会偏慢）："
                     + "，".join(f"{when} {value:.1f}" for when, value in loads) + "。")
    lines = ["# 页面速度（浏览器实测）", "", f"机器：{machine}。{load_text}", "",
             "由 `make bench`（`.venv/bin/python -m bench bench_pages`）生成。每个数字是多次测量的中位数。"
             "打开与重载从请求页面计时，到脚本状态回到 notRunning 且所有可见图表画出为止；重跑从点击事件（浏览器里的 click，"
             f"不含 Playwright 找元素的时间）计时，到页面最后一次变化为止（此后 {QUIET_MS} ms 内不再变化才算完成；"
             "表格画在 canvas 上，其内供读屏软件用的隐藏副本要晚几百毫秒才更新，浏览器从不显示 canvas 的子元素，故不计入）。", "",
             "## 冷启动：新服务进程 → 首页第一张图", "",
             "健康检查一通过就请求页面。后三列把“请求→第一张图”按浏览器时钟分开：前端加载并建立会话（到脚本开始运行）、首次脚本运行"
             "（`streamlit run app.py` 要在此时导入应用的模块并计算全部批次的名次概率；`make run` 的 serve.py 在启动时就在后台做了）、"
             "脚本结束到第一张图画出（Plotly 懒加载与绘制）。", "",
             "| 启动方式 | 数据量 | 问卷行数 | 次数 | 启动服务→健康检查 | 请求页面→第一张图 | 目标 ≤ 3 s | 前端与会话 | 首次脚本运行 | 画图 |",
             "|---|---|---:|---:|---:|---:|:---:|---:|---:|---:|"]
    for scale, entries in cold.items():
        for label, runs in entries.items():
            first = statistics.median(r["first_chart"] for r in runs)
            med = {k: statistics.median(r.get(k, NAN) for r in runs) for k in ("server", "to_script", "script", "to_chart")}
            lines.append(f"| {label} | {scale}× | {sizes[scale]:,} | {len(runs)} | {fmt_s(med['server'])} | {fmt_s(first)} | "
                         f"{ok(first, TARGET_FIRST_CHART)} | {fmt_s(med['to_script'])} | {fmt_s(med['script'])} | {fmt_s(med['to_chart'])} |")
    for scale, part in cold_parts.items():
        top = "、".join(f"{name}（{share:.0%}）" for share, name in part["top"][:4])
        lines += ["", f"{scale}× `streamlit run app.py` 的首次脚本运行单独测（新进程里用 AppTest 跑总览，没有浏览器争用 CPU）：{fmt_s(part['seconds'])}，"
                  f"其中约 {part['import_share']:.0%} 是导入模块（pandas、scipy.stats、plotly、pyarrow 等），"
                  f"其余是计算；累计耗时最多的项目函数：{top}（cProfile 占比）。"]
    lines += ["", "## 各页面", "",
              "服务用 `make run` 的 serve.py 启动。“打开”：缓存已热时新会话打开页面；“切换本县”：侧边栏“本县”换到另一县区或换回，"
              "整页重跑（各县区结果均已缓存），括号内为浏览器看到的脚本运行时间（running → notRunning）；"
              "“页内控件”：页面自己的控件来回切换（排名、分项指标、群体与乡镇、办学指标为分页标签，目标推演为“按趋势”开关），"
              "标签只运行打开的那一页；“新批次后重载”：导入一个新批次的文件（替换上一次的同一批次，数据量不变）后重新加载页面，"
              "括号内为脚本运行时间。此时按数据版本缓存的结果全部失效；按导入记录缓存的汇总（每次导入的行一经写入不再改变）和"
              "按得分内容缓存的名次模拟对旧批次仍然有效，新文件的行要重新读取和汇总。", "",
              "| 页面 | 数据量 | 打开 | 切换本县 | 目标 ≤ 300 ms | 页内控件 | 目标 ≤ 300 ms | 新批次后重载 | 目标 ≤ 2 s（10×） |",
              "|---|---|---:|---:|:---:|---:|:---:|---:|:---:|"]
    for scale, rows in pages.items():
        for row in rows:
            spec = row["page"]
            if row.get("error"):
                lines.append(f"| {spec.title}（{spec.url_path}） | {scale}× | {row['error']} | | | | | | |")
                continue
            lines.append(
                f"| {spec.title}（{spec.url_path}） | {scale}× | {fmt_s(row['open'])} | {fmt_ms(row['cached'])}（{fmt_ms(row['cached_script'])}） | "
                f"{ok(row['cached'], TARGET_CACHED)} | {fmt_ms(row['local'])} | {ok(row['local'], TARGET_CACHED)} | "
                f"{fmt_s(row['uncached'])}（{fmt_s(row['uncached_script'])}） | {ok(row['uncached'], TARGET_UNCACHED) if scale == 10 else '—'} |")
    if imports:
        lines += ["", "新批次导入（`analysis.data.importing.import_path`，GBK CSV，读取+校验+写库，不在上表计时内）：" + "；".join(
            f"{scale}× {sec:.1f} s" for scale, sec in imports.items()) + "。"]
    if notes:
        lines += ["", "## 说明", ""] + [f"- {n}" for n in notes]
    if profiles:
        lines += ["", "## 未达标页面的耗时分布（AppTest + cProfile，服务端）", "", "```"] + profiles + ["```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    reason = bs.missing_browser_reason()
    if reason:
        print(f"跳过页面基准：{reason}")
        return
    from playwright.sync_api import sync_playwright

    scales = [int(s) for s in os.environ.get("BENCH_PAGES_SCALES", "1,10,100").split(",") if s.strip()]
    runs = int(os.environ.get("BENCH_PAGES_RUNS", "3"))
    toggles = int(os.environ.get("BENCH_PAGES_TOGGLES", "6"))
    want_profiles = os.environ.get("BENCH_PAGES_PROFILE", "1") != "0"
    everything = ",".join(spec.stem for spec in bs.discover_pages())
    large_pages = {p.strip() for p in os.environ.get("BENCH_PAGES_LARGE_PAGES", everything).split(",") if p.strip()}
    settings = settings_for_bench()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    secrets = bs.write_secrets(BENCH_DIR / "secrets.toml")  # no accounts: the loopback mode of `make run`
    sizes, cold, pages, imports, notes, profiles = {}, {}, {}, {}, [], []
    loads = [("开始", load_average())]
    with sync_playwright() as playwright:
        browser = bs.launch_chromium(playwright)
        machine = machine_line(browser.version)
        print(machine, flush=True)
        for scale in scales:
            print(f"\n  == {scale}× ==", flush=True)
            scale_runs = runs if scale < LARGE else 1
            started = time.perf_counter()
            base = base_database(scale, settings)
            db = working_copy(base)
            from analysis.data import store

            engine = store.connect(db)
            sizes[scale] = response_rows(engine)
            engine.dispose()
            try:
                cold[scale] = {label: cold_start(browser, db, secrets, scale_runs, script) for label, script in ENTRIES.items()}
                large = scale >= LARGE
                pages[scale], imports[scale] = page_figures(browser, db, secrets, scale, settings, scale_runs,
                                                            2 if large else toggles, large_pages if large else None, large)
            except Exception as exc:
                print(f"  {scale}× 测量失败：{exc!r}", flush=True)
                notes.append(f"{scale}× 测量失败：{str(exc).splitlines()[0][:200]}")
                cold.pop(scale, None)
                pages.pop(scale, None)
            loads.append((f"{scale}× 结束", load_average()))
            print(f"  {scale}× 用时 {time.perf_counter() - started:.0f} s；系统负载 {loads[-1][1]:.1f}", flush=True)
        browser.close()
    if any(scale >= LARGE for scale in scales):
        notes.append(f"{LARGE}× 起：冷启动与新批次后重载各只测 1 次、切换与页内控件各 2 次（导入一个新批次约 10 秒），"
                     f"每个页面用新的服务进程；测的页面：{'、'.join(sorted(large_pages))}（BENCH_PAGES_LARGE_PAGES 可改）。"
                     f"建库时放宽了 settings.toml 的 max_rows（200 万行）上限。其余数据量各测 {runs} 次、缓存重跑 {toggles} 次。")
    cold_parts = {}
    if want_profiles:
        for scale in cold:
            first = statistics.median(r["first_chart"] for r in cold[scale][next(iter(ENTRIES))])
            if first > TARGET_FIRST_CHART and scale <= 10:
                print(f"\n  分解 {scale}× 首次脚本运行 …", flush=True)
                try:
                    cold_parts[scale] = first_run(base_database(scale, settings))
                    print(f"  {cold_parts[scale]}", flush=True)
                except Exception as exc:
                    print(f"  分解失败：{exc!r}", flush=True)
        missed = {}
        for scale in pages:
            for row in pages[scale]:
                if row.get("cached", NAN) > TARGET_CACHED and scale == 1:
                    missed.setdefault((row["page"].file, True), (row["page"], scale))
                if row.get("uncached", NAN) > TARGET_UNCACHED and scale == 10:
                    missed.setdefault((row["page"].file, False), (row["page"], scale))
        for (file, cached), (spec, scale) in sorted(missed.items(), key=lambda kv: (not kv[0][1], kv[0][0])):
            base = base_database(scale, settings)
            label = f"{spec.title}（{spec.file}），{scale}×，{'缓存重跑' if cached else '未缓存（清空缓存后）'}"
            print(f"\n  剖析 {label} …", flush=True)
            try:
                text = profile_page(spec, base, cached)
            except Exception as exc:  # a profile is a bonus; never lose the measured table to it
                text = f"剖析失败：{exc!r}"
            print(text, flush=True)
            profiles += [f"# {label}", text, ""]
    text = report(machine, sizes, cold, pages, imports, notes, profiles, cold_parts, loads)
    RESULTS.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"已写入 {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
