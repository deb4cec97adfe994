"""The machine a benchmark ran on, as the results files and the README state it."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine_text() -> str:
    """CPU model, cores, memory, Python and Streamlit versions: 'AMD EPYC …，2 核，内存 24 GB；Python 3.11.7，Streamlit 1.67.0'."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f}"
    except (ValueError, OSError):
        mem = "—"
    import streamlit

    return f"{cpu}，{os.cpu_count()} 核，内存 {mem} GB；Python {platform.python_version()}，Streamlit {streamlit.__version__}"
