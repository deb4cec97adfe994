"""A minimal Streamlit client over the app's own websocket protocol (/_stcore/stream), for the load benchmark and tests.

It speaks what the browser speaks: connect with the "streamlit" subprotocol, send a BackMsg whose rerun_script is a
ClientState (query string, page script hash, the hashes of cacheable messages already received), and read ForwardMsgs
until script_finished. Widget states are not echoed back, so every run draws each page's default view (the sidebar
keeps its choices in session state). Only loopback URLs are accepted.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlparse

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_MESSAGE = 256 * 1024 * 1024  # a page's largest delta (a big chart) must not close the socket
FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY: "ok", ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile error",
            ForwardMsg.FINISHED_EARLY_FOR_RERUN: "interrupted", ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "ok"}
STICKY_COOKIE = "stroute"  # the cookie `make serve`'s nginx hashes to pick a worker (scripts/serve_workers.py)


@dataclass
class Run:
    """One script run as the client saw it."""

    seconds: float
    status: str                      # "ok", "compile error", "exception", "page not found", "timeout", "closed"
    messages: int = 0
    nbytes: int = 0
    texts: list[str] = field(default_factory=list)  # markdown bodies, select options, menu labels (collect=True)
    menus: dict[str, str] = field(default_factory=dict)  # popover widget id -> label (only with collect=True)
    error: str = ""                  # the first exception the page showed

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _check_loopback(base_url: str) -> None:
    host = urlparse(base_url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"the load client only talks to this machine, not {host!r}")


def sticky_cookie(base_url: str, timeout: float = 10) -> str | None:
    """Open the page as a browser does first (GET /) and return the sticky-route cookie a proxy set, if any."""
    _check_loopback(base_url)
    with urllib.request.urlopen(base_url.rstrip("/") + "/", timeout=timeout) as response:
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == STICKY_COOKIE:
                return f"{STICKY_COOKIE}={rest.split(';', 1)[0]}"
    return None


def _popover(msg: ForwardMsg):
    """The popover a delta opens (its label and widget id), or None."""
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "add_block":
        return None
    return msg.delta.add_block.popover if msg.delta.add_block.WhichOneof("type") == "popover" else None


def _texts(msg: ForwardMsg, popover=None) -> list[str]:
    """Readable text of a delta: markdown bodies, metric labels and values, select options, the label of the popover
    it opens (`popover`, as _popover read it)."""
    if popover is not None:
        return [popover.label]
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return []
    element = msg.delta.new_element
    kind = element.WhichOneof("type")
    if kind is None:
        return []
    inner = getattr(element, kind)
    out = []
    for name in ("body", "label", "value"):
        value = getattr(inner, name, None)
        if isinstance(value, str) and value:
            out.append(value)
    for name in ("options",):
        values = getattr(inner, name, None)
        if values is not None and not isinstance(values, str):
            out.extend(str(v) for v in values)
    return out


class Session:
    """One browser tab: a websocket, the session's cached-message hashes and the app's pages."""

    def __init__(self, base_url: str, *, cookie: str | None = None, collect: bool = False):
        _check_loopback(base_url)
        parsed = urlparse(base_url)
        self.ws_url = f"ws://{parsed.netloc}/_stcore/stream"
        self.cookie = cookie
        self.collect = collect
        self.pages: dict[str, str] = {}    # url path ("" for the default page) -> page script hash
        self.main_hash = ""
        self.session_id = ""
        self._cache: dict[str, ForwardMsg] = {}  # hash -> cacheable message, as the frontend's ForwardMsgCache
        self._ws = None

    async def __aenter__(self) -> "Session":
        headers = {"Cookie": self.cookie} if self.cookie else None
        self._ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=MAX_MESSAGE,
                                            additional_headers=headers, open_timeout=30, ping_interval=None)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def run(self, page_hash: str = "", timeout: float = 120, query: str = "",
                  opened: tuple[str, ...] = ()) -> Run:
        """Ask for a run of one page (by its script hash; "" = the page the URL names, here the default) with a query
        string ("ms=5") and wait for script_finished. The time is from sending the request to receiving script_finished.

        `opened` names popovers (by widget id, see Run.menus) to open, as a click on them would; every other widget
        of the page is sent at its default."""
        msg = BackMsg()
        state = msg.rerun_script
        for widget_id in opened:
            widget = state.widget_states.widgets.add()
            widget.id, widget.bool_value = widget_id, True
        state.query_string = query
        state.page_script_hash = page_hash
        state.cached_message_hashes.extend(self._cache)
        state.context_info.timezone = "Asia/Shanghai"
        state.context_info.locale = "zh-CN"
        state.context_info.url = self.ws_url.replace("ws://", "http://").replace("/_stcore/stream", "/")
        start = time.perf_counter()
        await self._ws.send(msg.SerializeToString())
        run = Run(0.0, "timeout")
        deadline = start + timeout
        try:
            while True:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                raw = await asyncio.wait_for(self._ws.recv(), remaining)
                if isinstance(raw, str):
                    continue
                run.messages += 1
                run.nbytes += len(raw)
                fwd = ForwardMsg()
                fwd.ParseFromString(raw)
                if fwd.WhichOneof("type") == "ref_hash" or fwd.ref_hash:
                    fwd = self._cache.get(fwd.ref_hash, fwd)
                elif fwd.metadata.cacheable and fwd.hash:
                    self._cache[fwd.hash] = fwd
                kind = fwd.WhichOneof("type")
                if kind == "new_session":
                    self.main_hash = fwd.new_session.main_script_hash
                    self.session_id = fwd.new_session.initialize.session_id
                elif kind == "navigation":
                    self.pages = {p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages}
                elif kind == "page_not_found":
                    run.status = "page not found"
                elif kind == "delta":
                    element = fwd.delta.new_element if fwd.delta.WhichOneof("type") == "new_element" else None
                    if element is not None and element.WhichOneof("type") == "exception" and run.status == "timeout":
                        run.status = "exception"
                        run.error = f"{element.exception.type}: {element.exception.message}"
                    if self.collect:
                        popover = _popover(fwd)
                        run.texts.extend(_texts(fwd, popover))
                        if popover is not None and popover.id:
                            run.menus[popover.id] = popover.label
                elif kind == "script_finished":
                    if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        continue  # a rerun this session asked for itself (on_change="rerun"): the next one ends it
                    if run.status == "timeout":
                        run.status = FINISHED.get(fwd.script_finished, f"status {fwd.script_finished}")
                    break
        except asyncio.TimeoutError:
            run.status = "timeout"
        except websockets.ConnectionClosed:
            run.status = "closed"
        run.seconds = time.perf_counter() - start
        return run


def menu_id(run: Run, key: str) -> str | None:
    """The widget id of the popover with this key in a run (Streamlit ends a keyed widget's id with "-" and the key)."""
    return next((widget_id for widget_id in run.menus if widget_id.endswith(f"-{key}")), None)


async def render_texts(base_url: str, page_path: str = "", timeout: float = 120, open_menu: str | None = None) -> Run:
    """Open the app as a new browser tab would (GET /, then the websocket) and return one page's run with its texts;
    with open_menu (a popover's key), the run after a click on that popover."""
    cookie = await asyncio.to_thread(sticky_cookie, base_url)
    async with Session(base_url, cookie=cookie, collect=True) as session:
        run = await session.run(timeout=timeout)
        if page_path and run.ok:
            run = await session.run(session.pages[page_path], timeout=timeout)
        if open_menu and run.ok:
            widget_id = menu_id(run, open_menu)
            if widget_id is None:
                run.status, run.error = "no menu", f"no popover with the key {open_menu!r}"
                return run
            run = await session.run(session.pages.get(page_path, ""), timeout=timeout, opened=(widget_id,))
        return run
