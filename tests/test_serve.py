"""`make serve`: two Streamlit processes behind nginx (issue 15).

Starts the real `make serve` (WORKERS=2) on a free loopback port with its own database, checks the health check and
the sticky cookie through nginx, renders a page through nginx over the websocket, imports a new wave through the
command line and sees it on the next run in a session of each worker, then stops make with SIGTERM and checks that no
process is left. The bureau server's nginx site file is checked by `nginx -t`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from bench.bench_load import session_members
from bench.ws_client import Session, render_texts, sticky_cookie
from tests import browser_support as bs

ROOT = bs.ROOT
NEW_WAVE = "2026年第4季度"
WAVE_LABEL = "测评批次"
START_TIMEOUT = 180


def nginx_or_reason() -> str | None:
    if shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK):
        return None
    return "nginx is not installed (apt-get install -y nginx; .ci/run installs it)"


@pytest.fixture
def need_nginx():
    reason = nginx_or_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have nginx: {reason}")
        print(f"skipping: {reason}")
        pytest.skip(reason)


def new_wave_csv(path: Path) -> Path:
    """The bundled survey's latest wave relabelled as a new wave, with new respondent ids."""
    frame = pd.read_csv(bs.MOCK_DIR / "responses.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    latest = frame[frame[WAVE_LABEL] == frame[WAVE_LABEL].iloc[-1]].copy()
    latest[WAVE_LABEL] = NEW_WAVE
    latest["受访者编号"] = "N" + latest["受访者编号"]
    latest.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def wave_options(run) -> list[str]:
    return [t for t in run.texts if t.endswith("季度")]


def worker_urls(make_pid: int) -> list[str]:
    urls = []
    for pid in session_members(make_pid):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(args) and b"--server.port" in args:
            urls.append(f"http://127.0.0.1:{int(args[args.index(b'--server.port') + 1])}")
    return sorted(urls)


def wait_health(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"make serve exited with {proc.returncode}\n{log.read_text(errors='replace')[-3000:]}"
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"no health answer through nginx within {START_TIMEOUT} s\n{log.read_text(errors='replace')[-3000:]}")


def test_make_serve_two_workers_share_the_database(need_nginx, tmp_path):
    db = bs.build_database(tmp_path / "app.db")
    secrets = bs.write_secrets(tmp_path / "secrets.toml")  # no accounts: loopback mode, as `make run`
    log = tmp_path / "serve.log"
    port = bs.free_port()
    env = os.environ | {"PORT": str(port), "WORKERS": "2", "HOST": "127.0.0.1", "SATISFACTION_DB": str(db),
                        "STREAMLIT_SECRETS_FILES": str(secrets)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(["make", "-s", "serve"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_health(url, proc, log)
        with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as response:
            assert response.read().strip() == b"ok"
        cookie = sticky_cookie(url)
        assert cookie and cookie.startswith("stroute=") and len(cookie) > len("stroute=") + 16, cookie
        workers = worker_urls(proc.pid)
        assert len(workers) == 2, workers

        # Through nginx: the websocket upgrade works and the page renders the stored waves.
        through_proxy = asyncio.run(render_texts(url, "ranking"))
        assert through_proxy.ok, through_proxy
        assert NEW_WAVE not in wave_options(through_proxy) and len(wave_options(through_proxy)) >= 2

        async def before_and_after():
            sessions = [Session(w, collect=True) for w in workers]
            try:
                for s in sessions:
                    await s.__aenter__()
                before = [await s.run() for s in sessions]
                imported = await asyncio.to_thread(
                    subprocess.run, [sys.executable, "-m", "analysis", "import", str(new_wave_csv(tmp_path / "new.csv")),
                                     "--kind", "responses", "--db", str(db)], cwd=ROOT, capture_output=True, text=True,
                    timeout=120)
                after = [await s.run() for s in sessions]  # the same sessions, their next run
                return before, imported, after
            finally:
                for s in sessions:
                    await s.__aexit__()

        before, imported, after = asyncio.run(before_and_after())
        assert imported.returncode == 0, imported.stderr
        for worker, run in zip(workers, before):
            assert run.ok and NEW_WAVE not in wave_options(run), (worker, run.status, wave_options(run))
        for worker, run in zip(workers, after):
            assert run.ok, (worker, run)
            assert NEW_WAVE in wave_options(run), (worker, wave_options(run))
        fresh = asyncio.run(render_texts(url))
        assert fresh.ok and NEW_WAVE in wave_options(fresh)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                pass
        time.sleep(0.5)
        left = session_members(proc.pid)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert not left, f"processes left after SIGTERM: {left}\n{log.read_text(errors='replace')[-2000:]}"
    assert "已停止 nginx 与全部进程" in log.read_text(errors="replace")


def test_deploy_site_passes_nginx_check(need_nginx, tmp_path):
    """The bureau server's site file, included in an http block as Debian's nginx.conf does, passes `nginx -t`."""
    site = ROOT / "deploy" / "nginx" / "satisfaction.conf"
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n"
                    f"client_body_temp_path {tmp_path}/cb; proxy_temp_path {tmp_path}/px;\ninclude {site};\n}}\n")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(main), "-e", "stderr"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_deploy_units_match_the_upstream():
    """Every worker port the systemd target starts is a server of the nginx upstream, and the other way round."""
    import re

    site = (ROOT / "deploy" / "nginx" / "satisfaction.conf").read_text(encoding="utf-8")
    target = (ROOT / "deploy" / "systemd" / "satisfaction.target").read_text(encoding="utf-8")
    upstream = set(re.findall(r"server 127\.0\.0\.1:(\d+);", site))
    wanted = set(re.findall(r"satisfaction-worker@(\d+)\.service", target))
    assert upstream and upstream == wanted
    unit = (ROOT / "deploy" / "systemd" / "satisfaction-worker@.service").read_text(encoding="utf-8")
    assert "--server.port %i" in unit and "--server.address 127.0.0.1" in unit and "serve.py" in unit
