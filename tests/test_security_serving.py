"""Issue 12, item 1, through real servers: the write check follows where the request comes from, whether the app is
served by `streamlit run` or as an ASGI app (`uvicorn serve:app --host 0.0.0.0`). A small client speaks Streamlit's
websocket protocol from this machine's loopback and from its network address."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT


PROBE = """
import streamlit as st
from ui import auth
st.text(f"can_change={auth.can_change_data()}")
"""
ASGI = """
import sys, uvicorn, streamlit as st
uvicorn.run(st.App(sys.argv[1]), host="0.0.0.0", port=int(sys.argv[2]), log_level="warning")
"""


def network_address() -> str | None:
    """This machine's address on its network (no packet is sent), or None when it has only loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") else address


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _probe(url: str) -> list[str]:
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None) as ws:
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_script_hash = ""
        await ws.send(msg.SerializeToString())
        texts = []
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(await asyncio.wait_for(ws.recv(), 30))
            if forward.WhichOneof("type") == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                if element.WhichOneof("type") == "text":
                    texts.append(element.text.body)
            if forward.WhichOneof("type") == "script_finished":
                return texts


def probe(host: str, port: int) -> list[str]:
    return asyncio.run(_probe(f"ws://{host}:{port}/_stcore/stream"))


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode(errors="replace")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("server did not start")


@pytest.fixture
def probe_script(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text(PROBE, encoding="utf-8")
    return path


def serve(command: list[str], port: int):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SATISFACTION_DB": os.environ.get("SATISFACTION_DB", "")}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_ready(port, process)
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def test_asgi_app_on_all_interfaces_refuses_writes_from_the_network(probe_script, base_db):
    """The attack: config.toml says 127.0.0.1 but uvicorn listens on 0.0.0.0; another host must not write."""
    other = network_address()
    if other is None:
        pytest.skip("this machine has no network address besides loopback; cannot connect from 'another host'")
    port = free_port()
    process = serve([sys.executable, "-c", ASGI, str(probe_script), str(port)], port)
    try:
        assert probe(other, port) == ["can_change=False"]
        assert probe("127.0.0.1", port) == ["can_change=True"]
    finally:
        stop(process)


def test_streamlit_run_on_loopback_allows_this_machine(probe_script, base_db):
    port = free_port()
    process = serve([sys.executable, "-m", "streamlit", "run", str(probe_script), "--server.address", "127.0.0.1",
                     "--server.port", str(port), "--server.headless", "true"], port)
    try:
        assert probe("127.0.0.1", port) == ["can_change=True"]
    finally:
        stop(process)


def test_streamlit_run_on_the_network_refuses_even_this_machine(probe_script, base_db):
    port = free_port()
    process = serve([sys.executable, "-m", "streamlit", "run", str(probe_script), "--server.address", "0.0.0.0",
                     "--server.port", str(port), "--server.headless", "true"], port)
    try:
        assert probe("127.0.0.1", port) == ["can_change=False"]
        other = network_address()
        if other is not None:
            assert probe(other, port) == ["can_change=False"]
    finally:
        stop(process)
