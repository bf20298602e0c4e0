"""The notebooks' figure check (notebooks/conftest.py): a cell that creates a figure and shows no image fails.

Runs nbval, as CI does, on two tiny generated notebooks with the real notebooks/conftest.py beside them: one
shows its figures (as a cell's value, with display(), through pyplot, and as an inlined GIF), one draws a
figure and hides it with a trailing ';'. A report file a library run saves (``save_figure(..., report=True)``)
is not asked to be shown.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path: Path, cells: list[str]) -> None:
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": src}
                    for src in cells],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")


def test_a_cell_that_draws_without_showing_fails(tmp_path: Path) -> None:
    shutil.copy(ROOT / "notebooks" / "conftest.py", tmp_path / "conftest.py")
    setup = "from hqsam_nb.drawing.figures import new_figure\nimport numpy as np"
    _notebook(tmp_path / "good.ipynb", [
        setup,
        "fig = new_figure((2, 2)); fig.subplots().plot([0, 1])\nfig",
        "from IPython.display import display\nfor _ in range(2):\n    display(new_figure((2, 2)))",
        "import matplotlib.pyplot as plt\nplt.plot([0, 1]); plt.show()",
        "print('no figure here')",
        "from hqsam_nb.io.exports import save_figure\nimport tempfile, os\n"
        "save_figure(os.path.join(tempfile.mkdtemp(), 'r.png'), new_figure((2, 2)), report=True)",
    ])
    _notebook(tmp_path / "bad.ipynb", [setup, "fig = new_figure((2, 2)); fig.subplots().plot([0, 1]);"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HQSAM_NB_CHECKPOINTS": str(tmp_path), "OMP_NUM_THREADS": "1"}
    for name in ("IPYTHONDIR", "MPLBACKEND"):  # the kernels' own defaults: pyplot shows inline
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "-q", "--rootdir", str(tmp_path),
         "-o", "addopts=", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert "1 failed, 7 passed" in out, out
    assert "bad.ipynb::Cell 1" in out and "created 1 matplotlib figure(s) but shows 0 image(s)" in out, out
