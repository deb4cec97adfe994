"""Peak memory and time of reading hostile .xlsx workbooks (issue 12, item 2), each in a fresh process.

Target: every workbook under 1 MB is refused (or read) with a peak under 500 MB. Writes bench/results_hostile.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [  # (label, builder in tests/hostile_xlsx.py, arguments)
    ("第二行在第 10,000,000 行", "far_row", [10_000_000]),
    ("第二行在第 100,000,000 行", "far_row", [100_000_000]),
    ("5,500,000 个带格式的空行", "styled_blank_rows", [5_500_000]),
    ("一个 1 GB 的未用共享字符串", "huge_shared_string", [2**30]),
    ("表格范围声称 A1:XFD1048576", "wide_dimension", []),
    ("一个单元格在 XFD 列", "far_column", []),
]
CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from tests import hostile_xlsx
data = getattr(hostile_xlsx, sys.argv[1])(*json.loads(sys.argv[2]))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from analysis.data.contract import responses_kind
from analysis.data.readers import ReadError, read_upload
start = time.perf_counter()
try:
    read_upload(data, "x.xlsx", responses_kind(("办学条件",)))
    outcome = "读入"
except ReadError as exc:
    outcome = "拒绝：" + str(exc)[:40]
print(json.dumps({{"bytes": len(data), "seconds": time.perf_counter() - start, "outcome": outcome,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "before_mb": base / 1024}}))
"""


def main() -> None:
    lines = ["| 工作簿 | 文件大小 | 读取耗时 | 进程峰值内存 | 结果 |", "|---|---|---|---|---|"]
    for label, builder, args in CASES:
        out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), builder, json.dumps(args)],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        lines.append(f"| {label} | {r['bytes'] / 1024:,.1f} KB | {r['seconds']:.2f} s | {r['peak_mb']:,.0f} MB | {r['outcome']} |")
        print(lines[-1], flush=True)
    text = "\n".join(["峰值为整个进程（含构建该工作簿本身与导入 pandas 等）；目标：低于 500 MB。", "", *lines, ""])
    (Path(__file__).parent / "results_hostile.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
