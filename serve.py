"""What `make run` starts: app.py as an st.App whose start-up warms the imports and the default view.

`streamlit run serve.py` serves exactly the pages of `streamlit run app.py`; the only difference is that the first
visitor after a restart finds the modules imported and the latest wave already ranked.
"""

import threading
from contextlib import asynccontextmanager

import streamlit as st

from ui.warmup import warm_start


@asynccontextmanager
async def warm_lifespan(_app):
    """Start warming in a thread and serve at once (the health check must not wait for it)."""
    threading.Thread(target=warm_start, name="warm-start", daemon=True).start()
    yield


app = st.App("app.py", lifespan=warm_lifespan)
