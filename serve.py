"""What `make run` starts: app.py as an st.App whose start-up warms the imports and the default view.

`streamlit run serve.py` serves exactly the pages of `streamlit run app.py`; the only difference is that the first
visitor after a restart finds the modules imported and the latest wave already ranked. Start-up takes about two
seconds longer; `streamlit run app.py` still works and does the same work on its first visit instead.
"""

import asyncio
import sys
from contextlib import asynccontextmanager

import streamlit as st

from ui.warmup import warm_start


@asynccontextmanager
async def warm_lifespan(_app):
    """Warm up before serving: a first visitor who arrived while imports ran beside the server would wait longer than
    one who arrives after (both compete for the same two cores), so the server answers once it is warm."""
    await asyncio.to_thread(warm_start)
    yield


# One interpreter lock serves every session's script thread and the event loop that sends finished runs. With Python's
# default 5 ms switch interval, a finished run could wait up to 5 ms for another session's script to let go; 1 ms
# took the p50 at 50 sessions from 0.019–0.020 s to 0.016 s (bench/results_load.md, issue 15).
sys.setswitchinterval(0.001)
app = st.App("app.py", lifespan=warm_lifespan)
