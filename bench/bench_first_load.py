"""The link goes into the work group: fresh browsers opening the dashboard for the first time (issue 15).

A first visit fetches the page, then ~100 Streamlit scripts, styles and fonts, then runs the script over the
websocket. `make run` (one Streamlit process) sends those files itself, uncompressed; `make serve` has nginx send
them gzipped from a copy (scripts/static_assets.py). For each server, in the system Chromium (Playwright, never
`playwright install`), every visit in its own browser context (empty cache, its own session), until the first screen
is drawn (script idle, first chart shown):

    单次打开      BENCH_FIRST_VISITS visits one after another, at the machine's own speed (loopback)
    手机 4G      the same, throttled as a phone on 4G (BENCH_FIRST_MBIT Mbit/s down, 40 ms round trip)
    同时打开      BENCH_FIRST_BURST visits started together (the link just posted)

Reported: bytes over the wire per visit (transferSize of the page and every file), files, time to the first screen
(median, max), and the servers' CPU per visit (every process the server command started: make, nginx, workers).
Results go to bench/results_first_load.md. Only 127.0.0.1 is contacted; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.bench_load import MakeServe, cpu_seconds, machine_line
from tests import browser_support as bs

ROOT = bs.ROOT
RESULTS = Path(__file__).with_name("results_first_load.md")
LOGS = ROOT / "data" / "bench" / "first-load-logs"
VISIT_TIMEOUT = 120_000  # ms for one visit to draw its first screen
RTT_MS = 40
LABELS = {"run": "`make run`（单进程，Streamlit 发送浏览器文件）", "serve": "`make serve`（nginx 发送 gzip 副本，2 个进程）"}
TRANSFERRED = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const files = performance.getEntriesByType('resource');
    return [files.length + 1, files.reduce((a, e) => a + (e.transferSize || 0), nav ? nav.transferSize || 0 : 0)];
}"""


@dataclass
class Visits:
    server: str
    mode: str
    seconds: list[float] = field(default_factory=list)
    files: list[int] = field(default_factory=list)
    nbytes: list[int] = field(default_factory=list)
    cpu: float = 0.0      # s of the servers' CPU for all these visits
    wall: float = 0.0     # s from the first visit's start to the last one's first screen
    note: str = ""

    @property
    def count(self) -> int:
        return len(self.seconds)


async def visit(browser, url: str, mbit: float | None) -> tuple[float, int, int]:
    """One first visit in a fresh context: seconds to the first screen, files, bytes over the wire."""
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        page = await context.new_page()
        if mbit:
            cdp = await context.new_cdp_session(page)
            await cdp.send("Network.enable")
            rate = mbit * 1e6 / 8  # bytes/s
            await cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": RTT_MS,
                                                                "downloadThroughput": rate, "uploadThroughput": rate / 4})
        start = time.perf_counter()
        await page.goto(url, wait_until="domcontentloaded", timeout=VISIT_TIMEOUT)
        await page.wait_for_selector(bs.IDLE_SELECTOR, state="attached", timeout=VISIT_TIMEOUT)
        await page.wait_for_selector(".js-plotly-plot", state="attached", timeout=VISIT_TIMEOUT)
        seconds = time.perf_counter() - start
        files, nbytes = await page.evaluate(TRANSFERRED)
        return seconds, int(files), int(nbytes)
    finally:
        await context.close()


async def measure_visits(browser, server, label: str, mode: str, count: int, mbit: float | None,
                         together: bool) -> Visits:
    out = Visits(label, mode)
    pid = server.process.pid
    cpu0, start = cpu_seconds(pid), time.perf_counter()
    try:
        if together:
            results = await asyncio.wait_for(asyncio.gather(*(visit(browser, server.base_url + "/", mbit)
                                                              for _ in range(count))), VISIT_TIMEOUT / 1000 * 2)
        else:
            results = [await visit(browser, server.base_url + "/", mbit) for _ in range(count)]
    except Exception as exc:  # a visit that never drew its first screen is a result, not a crash of the benchmark
        out.note = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        return out
    out.wall, out.cpu = time.perf_counter() - start, cpu_seconds(pid) - cpu0
    for seconds, files, nbytes in results:
        out.seconds.append(seconds)
        out.files.append(files)
        out.nbytes.append(nbytes)
    return out


def start_server(kind: str, db: Path, secrets: Path):
    log = LOGS / f"{kind}.log"
    if kind == "serve":
        return MakeServe(db, secrets, log, 2).start()
    return bs.StreamlitServer(db, secrets, log, script=bs.SERVE).start(240)


async def run_all(kinds: list[str], visits: int, burst: int, mbit: float) -> list[Visits]:
    from playwright.async_api import async_playwright

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-first-") as tmp:
        tmp_path = Path(tmp)
        secrets = bs.write_secrets(tmp_path / "secrets.toml")
        db = bs.build_database(tmp_path / "app.db")
        async with async_playwright() as playwright:
            browser = await bs.launch_chromium(playwright)  # the same launch as the browser tests (async here)
            try:
                for kind in kinds:
                    server = await asyncio.to_thread(start_server, kind, db, secrets)
                    try:
                        await visit(browser, server.base_url + "/", None)  # the server's own first run, not counted
                        for mode, count, rate, together in (("单次打开", visits, None, False),
                                                            (f"手机 4G（{mbit:g} Mbit/s，往返 {RTT_MS} ms）", visits, mbit, False),
                                                            (f"{burst} 人同时打开", burst, None, True)):
                            result = await measure_visits(browser, server, LABELS[kind], mode, count, rate, together)
                            print(f"    {kind} · {mode}：{summary_cells(result)}", flush=True)
                            results.append(result)
                    finally:
                        await asyncio.to_thread(server.stop)
            finally:
                await browser.close()
    return results


def summary_cells(v: Visits) -> str:
    if not v.count:
        return f"未完成：{v.note}"
    return (f"{v.count} 次，每次 {statistics.median(v.nbytes) / 1e6:.2f} MB、{statistics.median(v.files):.0f} 个文件，"
            f"首屏 {statistics.median(v.seconds):.2f} s（最慢 {max(v.seconds):.2f} s），服务 CPU {v.cpu / v.count * 1000:.0f} ms/次")


def report(results: list[Visits], machine: str, visits: int, burst: int) -> str:
    lines = ["# 首次打开（浏览器文件由谁发送，问题 15）", "",
             f"{dt.date.today().isoformat()}；机器：{machine}；浏览器：系统 Chromium（无头），视口 390×844（手机）。", "",
             "由 `make bench`（`.venv/bin/python -m bench bench_first_load`）生成。每次打开都是新的浏览器上下文（无缓存、"
             "新会话），计时从打开网址到首屏画完（脚本运行结束且第一张图出现）。“传输”是页面与全部文件在网络上的字节数"
             "（performance 的 transferSize）；服务 CPU 是服务命令启动的全部进程（make、nginx、Streamlit 进程）在这些"
             "打开期间用的 CPU 时间除以打开次数。每台服务先被打开一次（不计入）。", "",
             "| 服务方式 | 情形 | 次数 | 每次传输 | 文件数 | 首屏 p50 | 首屏 最慢 | 全部画完 | 服务 CPU/次 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for v in results:
        if not v.count:
            lines.append(f"| {v.server} | {v.mode} | 0 | — | — | — | — | — | {v.note} |")
            continue
        lines.append(f"| {v.server} | {v.mode} | {v.count} | {statistics.median(v.nbytes) / 1e6:.2f} MB | "
                     f"{statistics.median(v.files):.0f} | {statistics.median(v.seconds):.2f} s | {max(v.seconds):.2f} s | "
                     f"{v.wall:.2f} s | {v.cpu / v.count * 1000:.0f} ms |")
    lines += ["", "“全部画完”是从第一次打开开始到最后一次首屏画完的时间（依次打开时为各次之和）。",
              f"单次打开与手机 4G 各 {visits} 次，同时打开 {burst} 次。"]
    return "\n".join(lines) + "\n"


def main() -> None:
    reason = bs.missing_browser_reason()
    if reason:
        print(f"跳过首次打开基准：{reason}")
        return
    kinds = ["run", "serve"]
    if not (shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK)):
        print("跳过 make serve：未安装 nginx（apt-get install -y nginx）")
        kinds = ["run"]
    visits = int(os.environ.get("BENCH_FIRST_VISITS", "5"))
    burst = int(os.environ.get("BENCH_FIRST_BURST", "10"))
    mbit = float(os.environ.get("BENCH_FIRST_MBIT", "20"))
    LOGS.mkdir(parents=True, exist_ok=True)
    machine = machine_line()
    print(machine, flush=True)
    results = asyncio.run(run_all(kinds, visits, burst, mbit))
    text = report(results, machine, visits, burst)
    RESULTS.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"已写入 {RESULTS.relative_to(ROOT)}")
