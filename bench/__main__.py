"""Run every benchmark module (bench/bench_*.py) in turn; each prints its own table."""

import importlib
import platform
import sys
from pathlib import Path

import numpy as np

print(f"机器：{platform.machine()}，{__import__('os').cpu_count()} 核，Python {platform.python_version()}，numpy {np.__version__}")
selected = sys.argv[1:]
for path in sorted(Path(__file__).parent.glob("bench_*.py")):
    if selected and path.stem not in selected:
        continue
    print(f"\n== {path.stem} ==", flush=True)
    importlib.import_module(f"bench.{path.stem}").main()
