"""Why a page of this app takes ~13 ms a run when the hello page takes ~7 ms: Streamlit's send rhythm (issue 15).

Streamlit's server sends every queued message, then sleeps 5 ms before it sends the next batch; a run ends when its
last message (script_finished) goes out, so its time steps up with each batch its script overruns. This benchmark runs
bench/burn_page.py, a page that burns a chosen amount of CPU, `make run`'s way (one process, uvloop when installed), in
one session with 60 ms between runs, and reports the wall time per run for each amount. Only 127.0.0.1 is contacted;
the loops are bounded. Results go to bench/results_send_rhythm.md.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.bench_load import machine_line
from bench.ws_client import Session
from tests import browser_support as bs

RESULTS = Path(__file__).with_name("results_send_rhythm.md")
PAGE = Path(__file__).with_name("burn_page.py")
BURN_MS = [0, 2, 4, 5, 6, 8, 10, 12, 14, 16, 20]
RUNS = 25      # per amount
GAP = 0.06     # s between runs: a rerun asked for at once would queue behind the last one's sends


async def wall_times(base_url: str) -> dict[int, list[float]]:
    """Seconds per run for each CPU amount, after two runs that warm the page."""
    times: dict[int, list[float]] = {}
    async with Session(base_url) as session:
        for _ in range(2):
            await session.run()
        for ms in BURN_MS:
            for _ in range(RUNS):
                await asyncio.sleep(GAP)
                run = await session.run(query=f"ms={ms}", timeout=30)
                if not run.ok:
                    raise RuntimeError(f"burn page failed at {ms} ms: {run.status} {run.error}")
                times.setdefault(ms, []).append(run.seconds)
    return times


def report(times: dict[int, list[float]], machine: str) -> str:
    """The Markdown report: one row per CPU amount."""
    rows = [f"| {ms} ms | {1000 * np.median(t):.1f} ms | {1000 * np.percentile(t, 10):.1f} ms | "
            f"{1000 * np.percentile(t, 90):.1f} ms |" for ms, t in times.items()]
    return "\n".join([
        "# Streamlit 的发送节奏：脚本用时与一次运行的等待时间（问题 15）", "",
        f"{dt.date.today().isoformat()}；机器：{machine}。", "",
        "由 `make bench`（`.venv/bin/python -m bench bench_send_rhythm`）生成。一个页面（`bench/burn_page.py`）在两行字之间"
        f"消耗指定的 CPU 时间，以 `make run` 的方式（单进程）运行；同一会话每档重跑 {RUNS} 次、间隔 {int(GAP * 1000)} ms，"
        "一次运行从发出重跑请求计时到收到 script_finished。", "",
        "| 脚本消耗的 CPU | p50 | p10 | p90 |", "|---|---|---|---|", *rows, "",
        "读法：服务端发完一批消息后停 5 ms 再发下一批，一次运行要等到脚本结束后的那一批才算完。脚本在约 5 ms 内跑完时，"
        "一次运行与 hello 页一样约 7–8 ms；6–10 ms 时跳到约 13 ms；再往上大致随脚本用时增加。", ""])


def main() -> None:
    machine = machine_line()
    with tempfile.TemporaryDirectory(prefix="bench-rhythm-") as tmp:
        tmp_path = Path(tmp)
        server = bs.StreamlitServer(tmp_path / "unused.db", bs.write_secrets(tmp_path / "secrets.toml"),
                                    tmp_path / "server.log", script=PAGE).start()
        try:
            started = time.perf_counter()
            times = asyncio.run(wall_times(server.base_url))
        finally:
            server.stop()
    for ms, t in times.items():
        print(f"  {ms:>2} ms CPU：p50 {1000 * np.median(t):.1f} ms", flush=True)
    RESULTS.write_text(report(times, machine), encoding="utf-8")
    print(f"已写入 {RESULTS.relative_to(bs.ROOT)}（{time.perf_counter() - started:.0f} s）")
