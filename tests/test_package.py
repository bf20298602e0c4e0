"""The package surface: every public name resolves, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import hqsam_nb


def test_every_public_name_resolves() -> None:
    assert sorted(set(hqsam_nb.__all__)) == sorted(hqsam_nb.__all__)
    for name in hqsam_nb.__all__:
        assert getattr(hqsam_nb, name) is not None, name


def test_import_does_not_load_widgets_or_pyplot() -> None:
    code = ("import sys, hqsam_nb; heavy = [m for m in ('ipycanvas', 'matplotlib.pyplot', 'hqsam_nb.evaluate') "
            "if m in sys.modules]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
