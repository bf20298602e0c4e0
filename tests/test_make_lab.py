"""The README's first command: `make lab` starts JupyterLab on localhost with token authentication, also as root.

The test runs the Makefile's own `lab` recipe (``make -o install lab``: the install step is taken as done, the
packages are already in this environment) on a free loopback port, with a timeout, and checks that the tokened URL
it prints answers, that the API refuses a request without the token, that the server listens on 127.0.0.1 only,
and, when run as root, that the one line about ``--allow-root`` was printed. Then it stops the server.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_starts_a_tokened_localhost_server(tmp_path: Path) -> None:
    port = _free_port()
    venv = Path(sys.executable).parent.parent  # this environment: the Makefile's $(VENV)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "OMP_NUM_THREADS": "1"}
    env.pop("JUPYTER_TOKEN", None)
    log = tmp_path / "lab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "-o", "install", "lab", f"VENV={venv}",
             f"LAB_FLAGS=--no-browser --port={port} --ServerApp.port_retries=0"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 180
        while url is None and time.monotonic() < deadline:
            assert proc.poll() is None, f"make lab exited with {proc.returncode}:\n{log.read_text()}"
            found = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=([0-9a-f]+)", log.read_text())
            url = found and found.group(0)
            time.sleep(0.5)
        text = log.read_text()
        assert url, f"no tokened URL within 180 s:\n{text}"
        token = url.rsplit("=", 1)[1]
        assert len(token) >= 32
        root_lines = [line for line in text.splitlines() if "--allow-root" in line]
        if os.geteuid() == 0:
            assert root_lines == ["make lab: running as root, so JupyterLab gets --allow-root "
                                  "(still localhost only, token on)"], text
        else:
            assert not root_lines, text
        assert _get(url) == 200
        assert _get(f"http://127.0.0.1:{port}/api/status?token={token}") == 200
        assert _get(f"http://127.0.0.1:{port}/api/status") == 403       # no token: refused
        assert _get(f"http://127.0.0.1:{port}/api/contents?token=wrong") == 403
        # localhost only: the port is not open on another address of this machine
        others = {ai[4][0] for ai in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
        for addr in others:
            with socket.socket() as s:
                s.settimeout(2)
                assert s.connect_ex((addr, port)) != 0, f"JupyterLab also answers on {addr}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
