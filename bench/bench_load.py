"""Fifty people open the dashboard at once: simulated sessions over Streamlit's own websocket protocol (issue 15).

`make bench` (or `.venv/bin/python -m bench bench_load`) starts, for every session count, a fresh server on a free
loopback port with its own database built from data/mock, and drives N sessions against it (bench/ws_client.py, no
browser): each session opens the app (GET / for the proxy's cookie, then the websocket), then visits every page twice
in a random order with about one second of thinking between runs. A run is timed from the rerun request to the
server's script_finished. Servers, in the same run:

    hello   `streamlit run bench/hello_page.py`: the smallest page, the reference for the targets
    burn:N  `streamlit run bench/burn_page.py` asked for N ms of CPU a run (?ms=N): a calibration, how much work a
            page may do before its p95 leaves 2× hello's on this machine
    lines:K the same page asked for K more one-line elements (?lines=K) and no extra CPU: how many elements a page
            may send before its p95 leaves 2× hello's (each element is a message Streamlit builds, hashes and sends)
    app     `streamlit run serve.py`, as `make run` starts it (one process)
    serve   `make serve`: nginx and WORKERS processes (scripts/serve_workers.py)
    serve:N `make serve` with N processes (by default also 2 × WORKERS: one process per core is held back by each
            process's interpreter lock, see the README)

Before the load, one session per process visits every page once (not counted), so the load measures cached reruns,
as on a server that has been running. Memory is the peak of the summed resident memory of every process the server
command started (make, the launcher, nginx and the workers), read from /proc every 0.2 s. Options (environment):

    BENCH_LOAD_SESSIONS=5,20,50   session counts
    BENCH_LOAD_TARGETS=hello,burn:2,burn:4,lines:10,lines:30,app,serve,serve:<2 × cores>
    BENCH_LOAD_WORKERS=<cores>    processes for `make serve`
    BENCH_LOAD_RAMP=2             s over which the sessions start (uniformly)
    BENCH_LOAD_THINK=1            s between a session's runs (±20 %)
    BENCH_LOAD_PRIME=1            0: no warm-up visits before the load
    BENCH_LOAD_ROUNDS=3           times hello and the app's targets are measured at the largest session count

On a shared 2-core machine one load's p95 moves by a quarter from one run to the next, so at the largest session count
hello and every app target are measured ROUNDS times, in turn; the targets' verdict takes, for each round, the ratio to
hello of that round, and judges the median of those ratios (every round is listed). Calibrations are measured once.

Results go to bench/results_load.md. Only 127.0.0.1 is contacted; every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bench.machine import machine_text
from bench.ws_client import Session, sticky_cookie
from tests import browser_support as bs

ROOT = bs.ROOT
RESULTS = Path(__file__).with_name("results_load.md")
HELLO = Path(__file__).with_name("hello_page.py")
BURN = Path(__file__).with_name("burn_page.py")
LOGS = ROOT / "data" / "bench" / "load-logs"  # the servers' output (gitignored), for the tracebacks behind any error
RUN_TIMEOUT = 120        # s for one run before it counts as an error
LOAD_TIMEOUT = 900       # s for one whole load (all sessions) before the rest is abandoned
START_TIMEOUT = 240      # s for a server to answer its health check
TARGET_P95 = 3.0         # s, every page at 50 sessions with `make serve`
TARGET_RATIO = 2.0       # p50 and p95 within this multiple of the hello page's
TARGET_MEMORY_MB = 2048
OPEN = "（打开）"
LABELS = {"hello": "hello 页（单进程）", "app": "`streamlit run serve.py`（单进程）", "serve": "`make serve`（nginx + {w} 个进程）"}


class Calibration(NamedTuple):
    """What a calibration target asks of bench/burn_page.py: the query key, the report's words, the page's limit."""
    key: str
    text: str     # what the page does more than hello, in the calibration table
    label: str    # the target's name in the summary
    most: float   # the page clamps to [0, most]; a target outside is refused before any server starts
    whole: bool   # a count, not a duration


CALIBRATIONS = {"burn": Calibration("ms", "{n} ms CPU", "标定页：每次 {n} ms CPU（单进程）", 50, whole=False),
                "lines": Calibration("lines", "{n} 个元素", "标定页：每次多 {n} 个元素（单进程）", 100, whole=True)}


def serve_workers(target: str, default: int) -> int | None:
    """Processes for a `make serve` target ("serve" = BENCH_LOAD_WORKERS, "serve:4" = 4); None for other targets."""
    name, _, count = target.partition(":")
    return None if name != "serve" else int(count) if count else default


def calibration_of(target: str) -> tuple[str, float] | None:
    """A calibration target's kind and amount ("burn:4" = ("burn", 4.0) ms, "lines:20" = ("lines", 20.0)); None for
    other targets."""
    name, _, amount = target.partition(":")
    return (name, float(amount)) if name in CALIBRATIONS else None


def calibration_query(target: str) -> str:
    """The calibration page's query string for a target ("burn:4" = "ms=4"); "" for other targets."""
    kind = calibration_of(target)
    return f"{CALIBRATIONS[kind[0]].key}={kind[1]:g}" if kind else ""


def target_problem(target: str) -> str | None:
    """Why BENCH_LOAD_TARGETS cannot hold this target, in Chinese; None for a valid one (checked before any load, so
    a typo does not end a long run half-way without a report)."""
    name, colon, amount = target.partition(":")
    if name in ("hello", "app") and not colon:
        return None
    if name == "serve":
        return None if not colon or (amount.isdigit() and 1 <= int(amount) <= 64) else "进程数应为 1–64 的整数"
    if name not in CALIBRATIONS:
        return "未知的目标（可用 hello、app、serve、serve:N、" + "、".join(f"{n}:N" for n in CALIBRATIONS) + "）"
    spec = CALIBRATIONS[name]
    try:
        value = float(amount)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= spec.most or (spec.whole and value != int(value)):
        return f"应为 0–{spec.most:g} 之间的{'整数' if spec.whole else '数'}（页面只接受这个范围）"
    return None


def label(target: str, default_workers: int) -> str:
    """A target's name in the report."""
    workers = serve_workers(target, default_workers)
    if workers:
        return LABELS["serve"].format(w=workers)
    kind = calibration_of(target)
    return CALIBRATIONS[kind[0]].label.format(n=f"{kind[1]:g}") if kind else LABELS[target]


# ---------------------------------------------------------------- processes and memory


def session_members(sid: int) -> list[int]:
    """Pids of the processes in session `sid` (a server started with start_new_session: it and all it started)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid:  # fields after the command: state, ppid, pgrp, session
            pids.append(int(entry))
    return pids


def cpu_seconds(sid: int) -> float:
    """CPU time (user + system) used so far by the running processes of session `sid` and their ended children."""
    total = 0
    for pid in session_members(sid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, and cutime, cstime: the CPU of children that ended and were waited for is kept too.
        total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time (user + system) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemorySampler(threading.Thread):
    """Peak of the summed RSS of a process session, sampled every 0.2 s until stopped."""

    def __init__(self, sid: int):
        super().__init__(daemon=True)
        self.sid = sid
        self.peak = 0.0
        self.cpu = 0.0  # s of CPU this thread has used, after its latest sample: not the client's, so subtracted
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.2):
            self.peak = max(self.peak, sum(rss_mb(pid) for pid in session_members(self.sid)))
            self.cpu = time.thread_time()

    def stop(self) -> float:
        self._halt.set()
        self.join(timeout=5)
        return self.peak


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer its health check within {timeout:.0f} s")


class MakeServe:
    """`make serve` on a free port with its own database; stopped with SIGTERM as a supervisor would."""

    def __init__(self, db: Path, secrets: Path, log: Path, workers: int):
        self.db, self.secrets, self.log_path, self.workers = db, secrets, log, workers
        self.port = bs.free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "MakeServe":
        env = os.environ | {"PORT": str(self.port), "WORKERS": str(self.workers), "SATISFACTION_DB": str(self.db),
                            "STREAMLIT_SECRETS_FILES": str(self.secrets), "HOST": "127.0.0.1"}
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(["make", "-s", "serve"], cwd=ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        wait_healthy(self.base_url, self.process, START_TIMEOUT)
        return self

    def worker_urls(self) -> list[str]:
        """Each worker's own address, from its command line (to warm every process, whatever nginx would pick)."""
        urls = []
        for pid in session_members(self.process.pid):
            try:
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--server.port" in args and b"streamlit" in b" ".join(args):
                urls.append(f"http://127.0.0.1:{int(args[args.index(b'--server.port') + 1])}")
        return urls

    def stop(self) -> list[int]:
        """Stop make (it passes SIGTERM on); returns the pids of anything left behind (then killed)."""
        if self.process is None:
            return []
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        time.sleep(0.3)
        left = session_members(self.process.pid)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()
        return left


# ---------------------------------------------------------------- load


@dataclass
class Record:
    session: int
    page: str
    seconds: float
    status: str
    error: str = ""


@dataclass
class Load:
    target: str
    sessions: int
    records: list[Record] = field(default_factory=list)
    wall: float = float("nan")
    peak_mb: float = float("nan")
    server_cpu: float = float("nan")  # s of CPU the server's processes used during the load (not the warm-up)
    client_cpu: float = float("nan")  # s of CPU the simulated sessions used during the load (this process, less
                                      # the memory sampler)
    leftovers: list[int] = field(default_factory=list)
    note: str = ""
    round: int = 1  # which measurement of this target at this session count (BENCH_LOAD_ROUNDS)

    def times(self, page: str | None = None) -> np.ndarray:
        rows = [r.seconds for r in self.records if r.status in ("ok", "exception") and (page is None or r.page == page)]
        return np.array(rows, dtype=float)

    @property
    def errors(self) -> list[Record]:
        return [r for r in self.records if r.status != "ok"]

    def stat(self, page: str | None = None) -> dict:
        t = self.times(page)
        if not len(t):
            return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
        return {"n": len(t), "p50": float(np.percentile(t, 50)), "p95": float(np.percentile(t, 95)), "max": float(t.max())}

    @property
    def cpu_ms_per_run(self) -> float:
        """Server CPU per run during the load, in ms: what one rerun costs the server, whatever the queueing."""
        return 1000 * self.server_cpu / len(self.records) if self.records else float("nan")

    @property
    def client_ms_per_run(self) -> float:
        """The load client's CPU per run, in ms: it shares the cores with the server, so it must stay small."""
        return 1000 * self.client_cpu / len(self.records) if self.records else float("nan")

    @property
    def runs_per_s(self) -> float:
        return len(self.records) / self.wall if self.wall == self.wall and self.wall > 0 else float("nan")


async def one_session(index: int, base_url: str, page_paths: list[str], visits: int, ramp: float, think: float,
                      deadline: float, out: list[Record], titles: dict[str, str], query: str = "") -> None:
    rng = random.Random(1000 + index)
    await asyncio.sleep(rng.uniform(0, ramp))
    try:
        cookie = await asyncio.to_thread(sticky_cookie, base_url)
        async with Session(base_url, cookie=cookie) as session:
            run = await session.run(timeout=RUN_TIMEOUT, query=query)
            out.append(Record(index, OPEN, run.seconds, run.status, run.error))
            if not run.ok and not session.pages and not session.main_hash:
                return
            pages = session.pages or {"": session.main_hash}
            order = [p for p in page_paths if p in pages] or list(pages)
            plan = [order[i % len(order)] for i in range(visits * len(page_paths))]  # hello: as many runs as the app
            rng.shuffle(plan)
            for path in plan:
                if time.monotonic() > deadline:
                    out.append(Record(index, titles.get(path, path), float("nan"), "abandoned"))
                    continue
                await asyncio.sleep(think * rng.uniform(0.8, 1.2))
                run = await session.run(pages[path], timeout=RUN_TIMEOUT, query=query)
                out.append(Record(index, titles.get(path, path or "hello"), run.seconds, run.status, run.error))
    except Exception as exc:  # a refused or dropped connection is an error of the load, not of the benchmark
        out.append(Record(index, OPEN, float("nan"), "connect", f"{type(exc).__name__}: {exc}"[:200]))


async def drive(base_url: str, sessions: int, page_paths: list[str], titles: dict[str, str], ramp: float,
                think: float, query: str = "") -> tuple[list[Record], float]:
    out: list[Record] = []
    start = time.monotonic()
    deadline = start + LOAD_TIMEOUT
    tasks = [one_session(i, base_url, page_paths, 2, ramp, think, deadline, out, titles, query) for i in range(sessions)]
    await asyncio.wait_for(asyncio.gather(*tasks), LOAD_TIMEOUT + RUN_TIMEOUT + 30)
    return out, time.monotonic() - start


async def prime(urls: list[str], page_paths: list[str]) -> None:
    """One session per process visits every page once, so the load meets warm caches."""
    for url in urls:
        async with Session(url) as session:
            await session.run(timeout=RUN_TIMEOUT)
            for path in page_paths:
                if path in session.pages:
                    await session.run(session.pages[path], timeout=RUN_TIMEOUT)


def measure(target: str, sessions: int, db: Path, secrets: Path, logs: Path, workers: int, page_paths: list[str],
            titles: dict[str, str], ramp: float, think: float, warm: bool, turn: int = 1) -> Load:
    load = Load(target, sessions, round=turn)
    serving = serve_workers(target, workers)
    log = logs / (f"{target.replace(':', '-')}-{sessions}" + (f"-round{turn}" if turn > 1 else "") + ".log")
    if serving:
        server = MakeServe(db, secrets, log, serving)
    else:
        script = HELLO if target == "hello" else BURN if calibration_of(target) else bs.SERVE
        server = bs.StreamlitServer(db, secrets, log, script=script)
    app = target == "app" or serving  # the dashboard's pages; hello and the calibrations are one-page references
    started = time.perf_counter()
    try:
        server.start(START_TIMEOUT) if not serving else server.start()
    except Exception as exc:
        load.note = f"服务未能启动：{str(exc).splitlines()[0][:200]}"
        if serving:
            server.stop()
        return load
    sampler = MemorySampler(server.process.pid)
    sampler.start()
    try:
        print(f"    {target}：启动 {time.perf_counter() - started:.1f} s", flush=True)
        if warm:
            urls = server.worker_urls() if serving else [server.base_url]
            asyncio.run(prime(urls, page_paths if app else []))
        cpu0, own0, sampler0 = cpu_seconds(server.process.pid), own_cpu_seconds(), sampler.cpu
        query = calibration_query(target)
        load.records, load.wall = asyncio.run(drive(server.base_url, sessions, page_paths,
                                                    titles if app else {}, ramp, think, query))
        load.server_cpu = cpu_seconds(server.process.pid) - cpu0
        load.client_cpu = own_cpu_seconds() - own0 - (sampler.cpu - sampler0)
    except Exception as exc:
        load.note = f"负载中断：{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        try:
            load.peak_mb = sampler.stop()
        finally:
            left = server.stop() or []
            load.leftovers = left + [pid for pid in session_members(server.process.pid) if pid not in left]
    return load


# ---------------------------------------------------------------- report


def fmt(seconds: float) -> str:
    """Seconds for the report: three decimals below 0.1 s, where the 2× targets are decided."""
    return "—" if seconds != seconds else f"{seconds:.3f} s" if seconds < 0.1 else f"{seconds:.2f} s"


def fmt_ms(ms: float) -> str:
    """A time already in milliseconds: 10.4 ms."""
    return "—" if ms != ms else f"{ms:.1f} ms"


def machine_line() -> str:
    """The machine, the event loop and nginx, for the load results."""
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().replace("nginx version: ", "")
    try:
        import uvloop  # Streamlit serves on it when installed (requirements.txt): it sets TCP_NODELAY

        loop = f"uvloop {uvloop.__version__}"
    except ImportError:
        loop = "无 uvloop（asyncio）"
    return f"{machine_text()}，{loop}，{nginx or 'nginx 未安装'}；客户端与服务在同一台机器上"


def summary_rows(loads: list[Load], workers: int) -> list[str]:
    rows = ["| 会话数 | 服务方式 | 运行次数 | runs/s | p50 | p95 | max | 错误 | 服务 CPU/次 | 客户端 CPU/次 | 峰值内存 |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for load in [l for l in loads if l.round == 1]:
        s = load.stat()
        rows.append(f"| {load.sessions} | {label(load.target, workers)} | {len(load.records)} | "
                    f"{load.runs_per_s:.1f} | {fmt(s['p50'])} | {fmt(s['p95'])} | {fmt(s['max'])} | {len(load.errors)} | "
                    f"{fmt_ms(load.cpu_ms_per_run)} | {fmt_ms(load.client_ms_per_run)} | {load.peak_mb:,.0f} MB |")
    return rows


def round_ratios(loads: list[Load], target: str, sessions: int, stat: str) -> list[float]:
    """For each round at this session count: the target's p50 or p95 over hello's in the same round."""
    hello = {l.round: l.stat()[stat] for l in loads if l.target == "hello" and l.sessions == sessions and len(l.times())}
    return [l.stat()[stat] / hello[l.round] for l in sorted(loads, key=lambda l: l.round)
            if l.target == target and l.sessions == sessions and hello.get(l.round, 0) > 0]


def verdict(loads: list[Load], workers: int) -> list[str]:
    """The issue's targets at the largest session count: zero errors, p50 and p95 within 2× hello (the median over the
    rounds of each round's ratio), every page's p95 ≤ 3 s, memory < 2 GB."""
    top = max((l.sessions for l in loads), default=0)
    at_top = [l for l in loads if l.sessions == top]
    out = []
    for target in dict.fromkeys(l.target for l in at_top if l.target != "hello" and not calibration_of(l.target)):
        rounds = [l for l in at_top if l.target == target]
        ratios = {stat: round_ratios(loads, target, top, stat) for stat in ("p50", "p95")}
        if not ratios["p95"]:
            continue
        errors = sum(len(l.errors) for l in rounds)
        worst = max(((l.stat(page)["p95"], page) for l in rounds for page in {r.page for r in l.records}),
                    default=(float("nan"), ""))
        peak = max(l.peak_mb for l in rounds)
        checks = [("零错误", errors == 0, f"{errors} 个错误")]
        for stat, values in ratios.items():
            middle = float(np.median(values))
            checks.append((f"{stat} ≤ {TARGET_RATIO:g}× hello", middle <= TARGET_RATIO,
                           f"中位 {middle:.1f}×；各轮 " + "、".join(f"{v:.1f}×" for v in values)))
        checks += [(f"每页 p95 ≤ {TARGET_P95:g} s", worst[0] <= TARGET_P95, f"最慢 {worst[1]} {fmt(worst[0])}"),
                   ("内存 < 2 GB", peak < TARGET_MEMORY_MB, f"{peak:,.0f} MB")]
        out.append(f"- {top} 个会话，{label(target, workers)}，{len(rounds)} 轮：" + "；".join(
            f"{name} {'✅' if good else '❌'}（{detail}）" for name, good, detail in checks))
    return out


def rounds_table(loads: list[Load], workers: int) -> list[str]:
    """Every round at the largest session count, with each target's ratio to hello in the same round."""
    top = max((l.sessions for l in loads), default=0)
    repeated = [l for l in loads if l.sessions == top and not calibration_of(l.target)]
    if max((l.round for l in repeated), default=1) < 2:
        return []
    hello = {l.round: l.stat() for l in repeated if l.target == "hello"}
    rows = []
    for load in sorted(repeated, key=lambda l: l.round):
        s, h = load.stat(), hello.get(load.round)
        ratio = (f"{s['p50'] / h['p50']:.1f}× | {s['p95'] / h['p95']:.1f}×" if h and h["p50"] > 0 and h["p95"] > 0
                 else "— | —")
        rows.append(f"| {load.round} | {label(load.target, workers)} | {fmt(s['p50'])} | {fmt(s['p95'])} | {ratio} | "
                    f"{len(load.errors)} | {fmt_ms(load.cpu_ms_per_run)} |")
    return ["", f"## 各轮（{top} 个会话）", "",
            "同一台机器上前后两次负载的 p95 可以差四分之一，所以最大会话数下 hello 与应用轮流测几轮；"
            "每轮的倍数是它除以同一轮的 hello，目标按各轮倍数的中位数判断。", "",
            "| 轮 | 服务方式 | p50 | p95 | p50 / hello | p95 / hello | 错误 | 服务 CPU/次 |",
            "|---|---|---|---|---|---|---|---|"] + rows


def calibration(loads: list[Load]) -> list[str]:
    """For each session count: what the one-page references (hello, burn:N, lines:K) reach, as multiples of hello's
    p95."""
    # Against the hello of the same round: at the largest session count hello is measured again in later rounds,
    # while a calibration is measured only in the first.
    hello = {(l.sessions, l.round): l.stat() for l in loads if l.target == "hello" and len(l.times())}
    rows = []
    for load in sorted((l for l in loads if calibration_of(l.target)), key=lambda l: (l.sessions, calibration_of(l.target))):
        h, s = hello.get((load.sessions, load.round)), load.stat()
        kind, amount = calibration_of(load.target)
        ratio = f"{s['p95'] / h['p95']:.1f}×" if h and h["p95"] > 0 and s["p95"] == s["p95"] else "—"
        rows.append(f"| {load.sessions} | {CALIBRATIONS[kind].text.format(n=f'{amount:g}')} | {fmt_ms(load.cpu_ms_per_run)} | "
                    f"{fmt(s['p50'])} | {fmt(s['p95'])} | {ratio} |")
    if not rows:
        return []
    return ["", "## 标定：页面多做多少 CPU、多发多少元素，p95 就离开 2× hello", "",
            "`bench/burn_page.py` 在两行字之间占用指定的 CPU 时间，或多写指定行数的文字（每行是一个元素、一条消息），"
            "单进程，与 hello 同样的负载；“p95 / hello”为它的 p95 除以同一会话数下 hello 页的 p95。", "",
            "| 会话数 | 页面多出 | 服务 CPU/次 | p50 | p95 | p95 / hello |", "|---|---|---|---|---|---|"] + rows


def where(load: Load) -> str:
    """Which load a note is about."""
    return f"{load.sessions} 个会话，{load.target}" + (f"，第 {load.round} 轮" if load.round > 1 else "")


def report(loads: list[Load], workers: int, machine: str, settings_text: str, client_cpu: float) -> str:
    date = dt.date.today().isoformat()
    lines = ["# 多人同时打开（websocket 负载，问题 15）", "", f"{date}；机器：{machine}。", "",
             "由 `make bench`（`.venv/bin/python -m bench bench_load`）生成。" + settings_text, "",
             "## 汇总", ""] + summary_rows(loads, workers)
    lines += ["", "## 目标（最大会话数）", ""] + (verdict(loads, workers) or ["- （缺 hello 或应用的结果，无法判断）"])
    lines += rounds_table(loads, workers)
    lines += calibration(loads)
    for load in loads:
        if load.target == "hello" or calibration_of(load.target) or load.round > 1:
            continue
        lines += ["", f"## {load.sessions} 个会话，{label(load.target, workers)}：各页", "",
                  "| 页面 | 次数 | p50 | p95 | max |", "|---|---|---|---|---|"]
        for page in sorted({r.page for r in load.records}, key=lambda p: (p != OPEN, p)):
            s = load.stat(page)
            lines.append(f"| {page} | {s['n']} | {fmt(s['p50'])} | {fmt(s['p95'])} | {fmt(s['max'])} |")
    notes = []
    for load in loads:
        if load.note:
            notes.append(f"{where(load)}：{load.note}")
        if load.errors:
            kinds = {}
            for r in load.errors:
                kinds.setdefault(f"{r.status} {r.error}".strip(), []).append(r.page)
            for kind, pages in kinds.items():
                notes.append(f"{where(load)}：{len(pages)} 次 {kind[:160]}（{'、'.join(sorted(set(pages)))}）")
        if load.leftovers:
            notes.append(f"{where(load)}：停止后仍有进程 {load.leftovers}（已强制结束）")
    if any(load.errors for load in loads):
        notes.append(f"错误的完整信息在服务日志 {LOGS.relative_to(ROOT)}/ 中。")
    notes.append(f"负载客户端（同一台机器、同一个 Python 进程）共用 CPU {client_cpu:.0f} s。")
    lines += ["", "## 说明", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main() -> None:
    counts = [int(s) for s in os.environ.get("BENCH_LOAD_SESSIONS", "5,20,50").split(",") if s.strip()]
    workers = int(os.environ.get("BENCH_LOAD_WORKERS") or os.cpu_count() or 1)
    default_targets = f"hello,burn:2,burn:4,lines:10,lines:30,app,serve,serve:{2 * workers}"
    targets = [t.strip() for t in os.environ.get("BENCH_LOAD_TARGETS", default_targets).split(",") if t.strip()]
    for target in targets:
        if (problem := target_problem(target)) is not None:
            raise SystemExit(f"BENCH_LOAD_TARGETS 里的 {target!r}：{problem}")
    ramp = float(os.environ.get("BENCH_LOAD_RAMP", "2"))
    think = float(os.environ.get("BENCH_LOAD_THINK", "1"))
    warm = os.environ.get("BENCH_LOAD_PRIME", "1") != "0"
    rounds = max(1, int(os.environ.get("BENCH_LOAD_ROUNDS", "3")))
    if any(serve_workers(t, workers) for t in targets) and not shutil.which("nginx") \
            and not os.access("/usr/sbin/nginx", os.X_OK):
        print("跳过 make serve：未安装 nginx（apt-get install -y nginx）")
        targets = [t for t in targets if not serve_workers(t, workers)]
    specs = bs.discover_pages()
    page_paths = [spec.url_path.strip("/") for spec in specs]
    titles = {spec.url_path.strip("/"): spec.title for spec in specs}
    machine = machine_line()
    print(machine, flush=True)
    loads: list[Load] = []
    own0 = own_cpu_seconds()
    LOGS.mkdir(parents=True, exist_ok=True)
    for stale in LOGS.glob("*.log"):
        stale.unlink()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        tmp_path = Path(tmp)
        secrets = bs.write_secrets(tmp_path / "secrets.toml")  # no accounts: the loopback mode of `make run`
        db = bs.build_database(tmp_path / "app.db")
        plan = [(count, 1, targets) for count in counts]
        repeated = [t for t in targets if not calibration_of(t)]
        if counts and len(repeated) > 1:  # a round needs hello and at least one app target
            plan += [(max(counts), r, repeated) for r in range(2, rounds + 1)]
        for count, turn, turn_targets in plan:
            print(f"\n  == {count} 个会话" + (f"，第 {turn} 轮" if turn > 1 else "") + " ==", flush=True)
            for target in turn_targets:
                load = measure(target, count, db, secrets, LOGS, workers, page_paths, titles, ramp, think, warm, turn)
                s = load.stat()
                print(f"    {target}：{len(load.records)} 次，{load.runs_per_s:.1f} runs/s，p50 {fmt(s['p50'])}，"
                      f"p95 {fmt(s['p95'])}，max {fmt(s['max'])}，错误 {len(load.errors)}，"
                      f"服务 CPU {fmt_ms(load.cpu_ms_per_run)}/次，客户端 CPU {fmt_ms(load.client_ms_per_run)}/次，"
                      f"峰值内存 {load.peak_mb:,.0f} MB" + (f"；{load.note}" if load.note else ""), flush=True)
                loads.append(load)
    client_cpu = own_cpu_seconds() - own0
    settings_text = (f"每个会话先打开应用，再把 {len(page_paths)} 个页面各访问 2 次（随机顺序，hello 页访问同样次数），"
                     f"两次运行之间思考 {think:g} s（±20%）；各会话在 {ramp:g} s 内均匀开始；"
                     "一次运行从发出重跑请求计时到收到 script_finished；p50/p95/max 含打开。"
                     + ("负载前每个进程先把每页访问一次（不计入），所以测的是缓存后的重跑。" if warm else "")
                     + f"`make serve` 用 {workers} 个进程。内存为服务命令启动的全部进程（含 make、启动脚本与 nginx）"
                     "常驻内存之和的峰值，每 0.2 s 从 /proc 读取；服务 CPU/次为负载期间这些进程用的 CPU 时间除以运行次数；"
                     "客户端 CPU/次为模拟会话的本进程在负载期间用的 CPU 时间除以运行次数（它与服务共用这台机器的核）。")
    text = report(loads, workers, machine, settings_text, client_cpu)
    RESULTS.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"已写入 {RESULTS.relative_to(ROOT)}")
