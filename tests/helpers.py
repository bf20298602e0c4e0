"""Small helpers shared by the tests (imported as ``from helpers import ...``; conftest modules are not importable
by name once the notebooks' conftest is collected in the same session)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np


def make_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth synthetic RGB image with an object-like blob, uint8 H x W x 3."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx / w * 200, yy / h * 200, np.full((h, w), 80.0)], axis=-1)
    cy, cx, r = h * 0.5, w * 0.45, min(h, w) * 0.25
    blob = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
    img[blob] = [230, 40, 40]
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


#: Logits of two parity computations agree to this, absolutely (rtol 0).
LOGIT_ATOL = 1e-4
#: Mask pixels allowed to differ, per mask: a handful of float-noise pixels, never a region.
MAX_FLIPPED_PIXELS = 8


def assert_masks_match(masks, expected, logits=None, expected_logits=None, *, atol: float = LOGIT_ATOL,
                       max_pixels: int = MAX_FLIPPED_PIXELS, what: str = "") -> None:
    """THE parity rule of this test suite, for two computations of the same masks that may differ in float
    rounding: ours against the official code, a batch row against a single call, one chunk size against another,
    compiled against eager. Used by every parity test; bit-identity is asserted only between two runs of the SAME
    computation (the same call, same shapes, same process).

    The rule:

    1. ``masks`` and ``expected`` are ``bool`` arrays of the same shape ``(..., H, W)``;
    2. the logits, when given (any shape, e.g. the low-res ``(..., 256, 256)``), are equal within ``atol``
       (absolute, :data:`LOGIT_ATOL` = 1e-4 unless a test says why it needs more);
    3. each ``H x W`` mask differs from its counterpart in at most ``max_pixels`` pixels
       (:data:`MAX_FLIPPED_PIXELS` = 8). With logits within ``atol``, and upsampling a convex combination of
       logits, a pixel can only flip where ``|logit| < atol``: float noise from another summation order
       (shapes, threads, machines), not a difference of behaviour. A real difference flips regions.

    Example::

        assert_masks_match(out.hq.masks, official_masks, out.hq.logits, official_low_res, what="hq")
    """
    masks, expected = np.asarray(masks), np.asarray(expected)
    label = f"{what}: " if what else ""
    assert masks.dtype == bool and expected.dtype == bool, f"{label}masks must be bool, got {masks.dtype}, " \
                                                           f"{expected.dtype}"
    assert masks.shape == expected.shape, f"{label}mask shapes differ: {masks.shape} vs {expected.shape}"
    if logits is not None or expected_logits is not None:
        got, want = np.asarray(logits), np.asarray(expected_logits)
        assert got.shape == want.shape, f"{label}logit shapes differ: {got.shape} vs {want.shape}"
        np.testing.assert_allclose(got, want, atol=atol, rtol=0, err_msg=f"{label}logits differ beyond {atol}")
    if masks.ndim < 2 or masks.size == 0:
        assert np.array_equal(masks, expected), f"{label}masks differ"
        return
    flipped = (masks != expected).reshape(-1, *masks.shape[-2:]).sum(axis=(1, 2))
    worst = int(flipped.argmax())
    assert flipped[worst] <= max_pixels, (
        f"{label}mask {worst} differs in {int(flipped[worst])} pixels (at most {max_pixels} may differ at "
        f"float-noise logits); differing pixels per mask: {flipped.tolist()[:20]}")


@contextlib.contextmanager
def encoder_runs_once(encoder) -> Iterator[list]:
    """Within the block, ``encoder`` (an image-encoder module) computes each distinct input once: a later call with
    a bit-identical input is served the first call's outputs, which the same module on the same input computes
    anyway (the same computation, not a different one). For parity tests that give one image to several predictors
    sharing an encoder (ours, the official HQ and SAM predictors): a vit_b pass costs minutes on a loaded 2-core
    machine. Yields the list of ``(input, outputs)`` actually computed: one entry proves every predictor fed the
    encoder the same tensor, bit for bit (the official preprocessing).
    """
    import torch

    real = encoder.forward
    computed: list = []

    def forward(x):
        for seen, out in computed:
            if seen.shape == x.shape and seen.dtype == x.dtype and torch.equal(seen, x):
                return out
        out = real(x)
        computed.append((x.clone(), out))
        return out

    encoder.forward = forward
    try:
        yield computed
    finally:
        del encoder.forward


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch threads, as a Ray worker given ``n`` CPUs does: the same kernels, so the same
    float bits (another thread count may reorder a reduction and flip a float-noise pixel)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_cli(module: str, *args: str, timeout: float = 300, cwd=None):
    """``python -m <module> args...`` in a fresh interpreter that imports this checkout (``PYTHONPATH``), one torch
    thread; returns the ``subprocess.CompletedProcess`` (text)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def assert_refused_in_one_line(done, *fragments: str) -> str:
    """A command line refused its input as a user should see it: exit status 2, one line on stderr (no traceback)
    that contains each of ``fragments``. Returns the line."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, f"exit {done.returncode}, stderr:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr and len(lines) == 1, f"not one line:\n{done.stderr[-3000:]}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def tree_snapshot(root) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> content): compare two snapshots to see what a run wrote."""
    from pathlib import Path

    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def kill_after_first_record(module: str, args, out, *, torn: bytes, wait: float = 300) -> None:
    """``python -m <module> args...`` in a subprocess (this process's torch threads and import path), killed with
    SIGKILL once ``out/results.jsonl`` holds a record (or after ``wait`` s); if fewer than two records made it, a
    torn line ``torn`` is appended, as a kill in the middle of a write leaves one. Asserts that the run was killed
    mid-way (not finished) with at least one record on disk: what a resumed run must continue from."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import torch

    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", module, *map(str, args)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    results = Path(out) / "results.jsonl"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and results.read_bytes().count(b"\n") >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL  # killed mid-run, not finished
    done = results.read_bytes().count(b"\n")
    assert done >= 1
    if done < 2:
        with open(results, "ab") as f:
            f.write(torn)
