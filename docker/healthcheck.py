#!/usr/bin/env python3
"""Docker HEALTHCHECK for the hqsam-nb image: exit 0 when the server in the container answers HTTP.

The image serves either JupyterLab (default command, port ``$JUPYTER_PORT``, 8888) or the Voila app (port
``$HQSAM_NB_VOILA_PORT``, 8866).
Each port is asked for ``GET /api`` without following redirects: JupyterLab answers 200 (its version, no
token needed), Voila with ``--token`` answers 302 (to its login page). Any answer below 500 means the server
is up; a refused connection, a timeout or a 5xx means it is not. The check never opens a notebook, so it
starts no kernel.
"""

from __future__ import annotations

import http.client
import os
import sys


def answers(port: int, timeout: float = 3.0) -> bool:
    """True when an HTTP server on 127.0.0.1:port answers ``GET /api`` with a status below 500."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/api")
        return connection.getresponse().status < 500
    except OSError:
        return False
    finally:
        connection.close()


def main() -> int:
    ports = {int(os.environ.get("JUPYTER_PORT", "8888")), int(os.environ.get("HQSAM_NB_VOILA_PORT", "8866"))}
    return 0 if any(answers(port) for port in sorted(ports)) else 1


if __name__ == "__main__":
    sys.exit(main())
