"""Import benchmark: 1,000,000 survey rows (GB18030 CSV) end to end, against pyarrow's raw parse of the same file.

Run with `make bench` or `.venv/bin/python -m bench bench_import`. Each measurement runs in a fresh process, so its
peak memory (ru_maxrss) is that step's alone. Figures go to stdout and bench/results_import.md. Not a timed test.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "bench" / "responses_1m_gb18030.csv"
RESULTS = Path(__file__).with_name("results_import.md")
ROWS = 1_000_000
MOCK_SCALE = 27  # 27 × 37,899 mock rows per scale unit > 1,000,000; the first million are kept
TARGET_SECONDS = 30.0
TARGET_MB = 2048.0
REPEAT = int(os.environ.get("BENCH_REPEAT", "2"))

# Child programs: each prints one JSON line with its timings and its own peak memory.
PARSE_CHILD = """
import json, resource, sys, time
import pyarrow.csv as pacsv
start = time.perf_counter()
table = pacsv.read_csv(sys.argv[1], read_options=pacsv.ReadOptions(encoding="gb18030"))
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "rows": table.num_rows, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}))
"""

IMPORT_CHILD = """
import json, resource, sys, time
from pathlib import Path
from analysis.data import store
from analysis.data.importing import commit_import, prepare_import
from analysis.settings import load_settings
settings = load_settings()
engine = store.connect(sys.argv[2])
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu_before = usage.ru_utime + usage.ru_stime
start = time.perf_counter()
data = Path(sys.argv[1]).read_bytes()
plan = prepare_import(data, Path(sys.argv[1]).name, "responses", settings, engine)
prepared = time.perf_counter()
assert plan.ok, plan.validation.errors.head()
records = commit_import(engine, plan, "基准测试")
done = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": done - start, "prepare": prepared - start, "commit": done - prepared,
                  "rows": sum(r["rows"] for r in records), "encoding": plan.read.encoding,
                  "cpu": usage.ru_utime + usage.ru_stime - cpu_before, "peak_mb": usage.ru_maxrss / 1024}))
"""


def ensure_data(path: Path = DATA) -> Path:
    """Write the benchmark file once (deterministic mock responses, GB18030 as Excel on Chinese Windows saves)."""
    if path.exists():
        return path
    sys.path.insert(0, str(ROOT))
    from analysis.data.contract import responses_kind
    from analysis.data.mock import mock_responses, to_contract_headers
    from analysis.settings import load_settings

    settings = load_settings()
    print(f"生成 {ROWS:,} 行基准数据（只需一次）：{path.relative_to(ROOT)} …", flush=True)
    frame = mock_responses(settings, scale=MOCK_SCALE).head(ROWS)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    to_contract_headers(frame, responses_kind(settings.items)).to_csv(partial, index=False, encoding="gb18030", lineterminator="\r\n")
    partial.rename(path)
    return path


def run_child(code: str, *args: str) -> dict:
    """One measurement in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def best_of(runs: list[dict]) -> dict:
    """The fastest run, with the highest peak memory seen over all runs."""
    best = min(runs, key=lambda r: r["seconds"])
    return best | {"peak_mb": max(r["peak_mb"] for r in runs)}


def measure(path: Path) -> tuple[dict, dict]:
    """pyarrow's raw parse and the full import (prepare + commit into a new SQLite file), best of REPEAT each."""
    parses, imports = [], []
    for _ in range(REPEAT):
        parses.append(run_child(PARSE_CHILD, str(path)))
        with tempfile.TemporaryDirectory() as tmp:
            imports.append(run_child(IMPORT_CHILD, str(path), str(Path(tmp) / "bench.db")))
    return best_of(parses), best_of(imports)


def measure_postgres(path: Path) -> tuple[dict | None, str]:
    """The same import into a throwaway local PostgreSQL cluster (COPY), best of REPEAT; None and why when absent."""
    sys.path.insert(0, str(ROOT))
    from tests.postgres_support import create_database, pg_bin_dir, start_cluster

    bindir = pg_bin_dir()
    if bindir is None:
        return None, "本机没有 PostgreSQL（/usr/lib/postgresql/*/bin），未测"
    cluster = start_cluster(bindir)
    try:
        runs = [run_child(IMPORT_CHILD, str(path), create_database(cluster.url)) for _ in range(REPEAT)]
        version = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True).stdout.split()[2]
        return best_of(runs), f"PostgreSQL {version}，本机临时集群（fsync 关闭）"
    finally:
        cluster.stop()


def report(path: Path, parse: dict, full: dict, pg: dict | None = None, pg_note: str = "") -> str:
    """The results as a markdown table with the verdict against the targets."""
    size_mb = path.stat().st_size / 2**20
    ratio = full["seconds"] / parse["seconds"]
    ok_time = "达标" if full["seconds"] <= TARGET_SECONDS else "未达标"
    ok_mem = "达标" if full["peak_mb"] <= TARGET_MB else "未达标"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "# 导入基准（bench/bench_import.py）",
        "",
        f"- 机器：{platform.machine()}，{os.cpu_count()} 核，Python {platform.python_version()}；开始时负载（1/5/15 分钟）：{load}",
        f"- 文件：{path.name}，{full['rows']:,} 行，{size_mb:.1f} MB，编码 {full['encoding']}；每项取 {REPEAT} 次中最快的一次，内存取最高值",
        f"- 测量时间：{time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "| 步骤 | 秒（墙钟） | CPU 秒 | 峰值内存 (MB) | 说明 |",
        "|---|---:|---:|---:|---|",
        f"| pyarrow.csv.read_csv 原始解析 | {parse['seconds']:.2f} | {parse['cpu']:.2f} | {parse['peak_mb']:.0f} | 只解析，不检查、不存储 |",
        f"| prepare_import（读取 + 检查） | {full['prepare']:.2f} | — | — | 编码识别、表头映射、pandera 检查、隐私打码 |",
        f"| commit_import（写入 SQLite） | {full['commit']:.2f} | — | — | 一个事务，每批 20,000 行 executemany |",
        f"| **导入合计** | **{full['seconds']:.2f}** | {full['cpu']:.2f} | **{full['peak_mb']:.0f}** | "
        f"目标 ≤ {TARGET_SECONDS:.0f} 秒（{ok_time}），≤ {TARGET_MB:.0f} MB（{ok_mem}） |",
        *([f"| commit_import（写入 PostgreSQL，COPY） | {pg['commit']:.2f} | — | — | {pg_note} |",
           f"| **导入合计（PostgreSQL）** | **{pg['seconds']:.2f}** | {pg['cpu']:.2f} | **{pg['peak_mb']:.0f}** | "
           f"同一文件，同样的读取与检查 |"] if pg else [f"| PostgreSQL | — | — | — | {pg_note} |"]),
        "",
        f"导入合计是原始解析的 {ratio:.1f} 倍（墙钟），{full['cpu'] / parse['cpu']:.1f} 倍（CPU 秒）；"
        "峰值内存是整个进程的 ru_maxrss（含 Python 与各库本身约 150 MB）。",
        "CPU 秒为该进程的 user+sys 时间：pyarrow 多线程时可大于墙钟，机器被其他进程占用时墙钟会大于 CPU 秒。",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Generate the data if needed, measure, print the table and write bench/results_import.md."""
    path = ensure_data()
    parse, full = measure(path)
    pg, pg_note = measure_postgres(path)
    text = report(path, parse, full, pg, pg_note)
    print(text)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"已写入 {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
