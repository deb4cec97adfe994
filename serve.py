"""What `make run` starts: app.py as an st.App whose start-up warms the imports and the default view.

`streamlit run serve.py` serves exactly the pages of `streamlit run app.py`; the only difference is that the first
visitor after a restart finds the modules imported and the latest wave already ranked. Start-up takes about two
seconds longer; `streamlit run app.py` still works and does the same work on its first visit instead.
"""

import asyncio
from contextlib import asynccontextmanager

import streamlit as st

from ui.warmup import freeze_heap, warm_start


@asynccontextmanager
async def warm_lifespan(_app):
    """Warm up before serving: a first visitor who arrived while imports ran beside the server would wait longer than
    one who arrives after (both compete for the same two cores), so the server answers once it is warm."""
    await asyncio.to_thread(warm_start)
    freeze_heap()
    yield


app = st.App("app.py", lifespan=warm_lifespan)
