"""The evaluation engines: the Ray engine on a local 2-CPU Ray gives the plain run's records and tables, resumes,
and loses or repeats no example when a worker or the driver is killed."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import torch_threads
from PIL import Image

from hqsam_nb.evaluate import main
from hqsam_nb.evaluation import engines
from hqsam_nb.evaluation.datasets import image_mask_folder, synthetic_dataset
from hqsam_nb.evaluation.engines import ModelSpec, RayEngine
from hqsam_nb.evaluation.runner import run_evaluation
from hqsam_nb.runs import load_records

SMALL = ((96, 128),)
TIMING = ("encoder_ms", "decode_ms")


def _folder(root: Path, n: int) -> Path:
    """n small synthetic scenes written as images/ + masks/ PNGs: the path the workers read from."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for ex in synthetic_dataset(n=n, sizes=SMALL):
        Image.fromarray(ex.image).save(root / "images" / f"{ex.name}.png")
        Image.fromarray(ex.mask.astype(np.uint8) * 255).save(root / "masks" / f"{ex.name}.png")
    return root


def _csv_without_timings(out: Path) -> list[dict[str, str]]:
    with open(out / "per_image.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(f)]


def _lines(out: Path) -> int:
    path = out / "results.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _names_on_disk(out: Path) -> list[str]:
    return [r["image"] for r in load_records(out)]


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory):
    """A local Ray instance with 2 CPUs and no GPU, on 127.0.0.1, for the tests of this file: its address.
    Its worker processes inherit this environment: a private package cache, as every test has."""
    import ray

    saved = os.environ.get("HQSAM_NB_CACHE")
    os.environ["HQSAM_NB_CACHE"] = str(tmp_path_factory.mktemp("ray_workers_cache"))
    try:
        # A loaded 2-core CI machine: Ray's processes may take minutes to come up; past that, a clear error.
        assert engines.connect_ray(num_cpus=2, start_timeout_s=300)
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("HQSAM_NB_CACHE", None)
        else:
            os.environ["HQSAM_NB_CACHE"] = saved


def test_a_local_ray_that_cannot_start_in_time_fails_with_one_clear_message(monkeypatch) -> None:
    """Ray's own start-up error on a busy machine ("The current node timed out during startup"), every time: a
    bounded number of tries within the time given, then one error that says what happened and what to do."""
    import ray

    calls = []

    def slow_init(**kwargs):
        calls.append(kwargs["address"])
        raise Exception("The current node timed out during startup. This could happen because some of the raylet "
                        "failed to startup or the GCS has become overloaded.")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", slow_init)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(engines.RayUnavailableError, match=r"did not start within 5 s \(4 attempt\(s\); Ray said: "
                                                          r"The current node timed out during startup.*too busy"):
        engines.connect_ray(num_cpus=1, start_timeout_s=5)
    assert calls == ["local"] * engines.LOCAL_START_ATTEMPTS


def _wait_for(condition, timeout: float = 300.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def test_ray_run_equals_the_plain_run_and_a_rerun_computes_nothing(local_ray, tiny_pair, tmp_path: Path) -> None:
    import ray

    assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}  # loopback only
    from hqsam_nb._compat import _raylet_child_alive

    assert _raylet_child_alive() is True  # the raylet is this process's child, as ray_start_wait assumes
    assert ray.cluster_resources().get("GPU", 0) == 0 and ray.cluster_resources()["CPU"] == 2
    data = image_mask_folder(_folder(tmp_path / "data", 3))
    with torch_threads(1):  # as each of the two workers on two cores: the same float bits
        plain = run_evaluation(data, tiny_pair, tmp_path / "plain", progress=False, plots=False)

    engine = RayEngine(ModelSpec("vit_tiny"), workers=2)
    run = run_evaluation(data, None, tmp_path / "ray", progress=False, plots=True, engine=engine)
    assert sorted(run.computed) == sorted(data.names) and len(engine.worker_pids) == 2
    assert [r["image"] for r in run.records] == list(data.names)  # dataset order, whatever order they finished
    for a, b in zip(plain.records, run.records, strict=True):
        assert a["image"] == b["image"] and (a["height"], a["width"]) == (b["height"], b["width"])
        for ra, rb in zip(a["results"], b["results"], strict=True):
            assert ra["setting"] == rb["setting"]
            for metric in ("iou", "biou", "score"):
                for branch, value in ra[metric].items():
                    assert rb[metric][branch] == pytest.approx(value, abs=1e-6)
    assert run.table == plain.table and run.markdown() == plain.markdown()
    # Same rows and columns; numbers to 1e-6 (a worker's torch uses fewer threads, so the last float bits
    # of a logit may differ from the plain run's).
    ray_rows, plain_rows = _csv_without_timings(tmp_path / "ray"), _csv_without_timings(tmp_path / "plain")
    assert [list(r) for r in ray_rows] == [list(r) for r in plain_rows]
    for a, b in zip(ray_rows, plain_rows, strict=True):
        for key, value in b.items():
            if key.split("_")[0] in ("iou", "biou", "score"):
                assert float(a[key]) == pytest.approx(float(value), abs=1e-6), key
            else:
                assert a[key] == value, key
    assert (tmp_path / "ray" / "summary.png").stat().st_size > 0 and (tmp_path / "ray" / "per_image.png").exists()
    summary = json.loads((tmp_path / "ray" / "summary.json").read_text())
    assert summary["engine"].startswith("ray (2 workers") and summary["device"] == "cpu"

    before = (tmp_path / "ray" / "results.jsonl").read_bytes()
    again_engine = RayEngine(ModelSpec("vit_tiny"), workers=2)
    again = run_evaluation(data, None, tmp_path / "ray", progress=False, plots=False, engine=again_engine)
    assert again.computed == [] and again_engine.worker_pids == {}  # no worker was even started
    assert (tmp_path / "ray" / "results.jsonl").read_bytes() == before and again.table == plain.table


def test_a_killed_worker_loses_and_repeats_nothing(local_ray, tmp_path: Path) -> None:
    data = image_mask_folder(_folder(tmp_path / "data", 5))
    out = tmp_path / "run"
    engine = RayEngine(ModelSpec("vit_tiny"), workers=2)
    killed: list[int] = []

    def kill_a_worker() -> None:
        _wait_for(lambda: _lines(out) >= 1 and len(engine.worker_pids) == 2)
        killed.append(engine.worker_pids[0])
        os.kill(killed[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_a_worker, daemon=True)
    killer.start()
    run = run_evaluation(data, None, out, progress=False, plots=False, engine=engine)
    killer.join(timeout=60)
    assert killed, "the worker was not killed"
    names = _names_on_disk(out)
    assert sorted(names) == sorted(data.names)  # every example, each exactly once
    assert len(set(names)) == len(names) == len(data)
    assert all("results" in r for r in run.records)


def test_a_killed_driver_resumes(local_ray, tmp_path: Path) -> None:
    data_dir = _folder(tmp_path / "data", 5)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "hqsam_nb.evaluate", "--data", str(data_dir), "--model", "vit_tiny",
           "--out", str(out), "--no-plots", "-q", "--engine", "ray", "--address", local_ray, "--workers", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    driver = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _lines(out) >= 1 or driver.poll() is not None)
    finally:
        driver.send_signal(signal.SIGKILL)  # no cleanup, no atexit: as a lost machine or an OOM kill
        _, err = driver.communicate(timeout=60)
    assert driver.returncode == -signal.SIGKILL, err.decode()[-2000:]
    done_before = len(load_records(out))
    assert 1 <= done_before < 5

    # 300 + 60 + 480 s of bounded waits stay below pytest-timeout's 900 s, so a hang ends with this test's own
    # message (resuming took 131 s for the whole test at load 10 on 2 cores).
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=480)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    match = re.search(r"(\d+) images \((\d+) computed now\)", resumed.stderr)
    assert match and (int(match[1]), int(match[2])) == (5, 5 - done_before), resumed.stderr[-2000:]
    names = _names_on_disk(out)
    assert sorted(names) == sorted(p.stem for p in (data_dir / "images").iterdir()) and len(set(names)) == 5


def test_a_gpu_request_on_a_cpu_cluster_fails_at_once(local_ray, tmp_path: Path) -> None:
    data = image_mask_folder(_folder(tmp_path / "data", 1))
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="asks for GPUs, but the Ray cluster has none"):
        run_evaluation(data, None, tmp_path / "run", progress=False, plots=False,
                       engine=RayEngine(ModelSpec("vit_tiny"), gpus_per_worker=1))
    assert time.perf_counter() - t0 < 30
    assert main(["--data", str(tmp_path / "data"), "--out", str(tmp_path / "cli"), "--engine", "ray",
                 "--gpus-per-worker", "1", "-q", "--no-plots"]) == 2


def _fake_ray(cpus: list[float], gpus: list[float]) -> SimpleNamespace:
    nodes = [{"Alive": True, "Resources": {"CPU": c, "GPU": g}} for c, g in zip(cpus, gpus, strict=True)]
    return SimpleNamespace(nodes=lambda: nodes,
                           cluster_resources=lambda: {"CPU": sum(cpus), **({"GPU": sum(gpus)} if sum(gpus) else {})})


def test_resource_plan_fractional_cpus_and_gpu_checks() -> None:
    plan = RayEngine(workers=3)._plan(_fake_ray([2], [0]))
    assert plan == (3, pytest.approx(2 / 3))  # three workers on a 2-core machine: a fraction of a CPU each
    assert RayEngine()._plan(_fake_ray([2], [0])) == (1, 2.0)  # CPU default: one worker per node, all its cores
    assert RayEngine()._plan(_fake_ray([16, 16], [0, 0])) == (2, 16.0)
    assert RayEngine(gpus_per_worker=1)._plan(_fake_ray([16, 8], [4, 2])) == (6, 4.0)  # one per GPU
    assert RayEngine(gpus_per_worker=0.5)._plan(_fake_ray([16], [1]))[0] == 2  # two share a GPU
    with pytest.raises(ValueError, match=r"3 worker\(s\) x 1 GPU = 3 GPUs, but the Ray cluster has 2"):
        RayEngine(workers=3, gpus_per_worker=1)._plan(_fake_ray([8], [2]))


def test_bad_engine_arguments_are_refused(monkeypatch, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        RayEngine(workers=0)
    with pytest.raises(ValueError, match="gpus_per_worker must be >= 0"):
        RayEngine(gpus_per_worker=-1)
    with pytest.raises(TypeError, match="ModelSpec or a model name"):
        RayEngine(model=3)
    common = ["--data", "synthetic", "-n", "1", "--out", str(tmp_path / "o"), "-q", "--no-plots"]
    assert main([*common, "--workers", "2"]) == 2  # Ray options without --engine ray
    assert main([*common, "--engine", "ray", "--device", "cuda"]) == 2  # CPU workers but a GPU device
    monkeypatch.setattr(engines.importlib.util, "find_spec", lambda name: None)  # Ray not installed
    with pytest.raises(ImportError, match=r"pip install 'hqsam-nb\[ray\]'"):
        RayEngine()
    assert main([*common, "--engine", "ray"]) == 2
    assert not (tmp_path / "o").exists()


def test_a_cluster_address_where_nothing_answers_fails_at_once_in_one_line(tmp_path: Path) -> None:
    """--engine ray --address 127.0.0.1:1 once waited ~590 s without a word (Ray retries its GCS connection)."""
    from helpers import assert_refused_in_one_line, run_cli

    start = time.monotonic()
    with pytest.raises(engines.RayUnavailableError, match=r"no Ray cluster answers at 127\.0\.0\.1:1"):
        engines.check_reachable("127.0.0.1:1", timeout_s=5)
    done = run_cli("hqsam_nb.evaluate", "--data", "synthetic", "-n", "1", "--weights", "random", "--out",
                   tmp_path / "out", "-q", "--no-plots", "--engine", "ray", "--address", "127.0.0.1:1", timeout=240)
    assert_refused_in_one_line(done, "no Ray cluster answers at 127.0.0.1:1", "ray start --head")
    assert time.monotonic() - start < 200 and not (tmp_path / "out").exists()


def test_the_plain_engine_needs_no_ray() -> None:
    code = ("import sys, hqsam_nb, hqsam_nb.evaluation.runner; from hqsam_nb.evaluation.engines import RayEngine; "
            "print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "False", done.stderr[-2000:]


def test_the_coco_protocol_on_ray_gives_the_plain_files(local_ray, tmp_path: Path) -> None:
    from hqsam_nb.io.synthetic_coco import write_synthetic_coco

    syn = write_synthetic_coco(tmp_path / "syn", n_images=2, size=(128, 160), seed=4)
    cli = ["--data", "coco", "--annotations", str(syn["annotations"]), "--images", str(syn["images"]),
           "--detections", str(syn["detections"]), "--model", "vit_tiny", "--weights", "random", "-q"]
    # The plain run with one torch thread, as each of the two workers on two cores: same kernels, same float
    # bits, so the files must be byte-identical (with 2 threads a random-weight logit near 0 may flip a pixel).
    with torch_threads(1):
        assert main([*cli, "--out", str(tmp_path / "plain")]) == 0
    assert main([*cli, "--out", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2"]) == 0
    for name in ("coco_results_sam.json", "coco_results_hq.json", "coco_results_fused.json", "coco_metrics.json",
                 "coco_table.md"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name
    assert sorted(_names_on_disk(tmp_path / "ray")) == sorted(_names_on_disk(tmp_path / "plain"))
    assert json.loads((tmp_path / "ray" / "run.json").read_text())["engine"].startswith("ray (2 workers")


def test_the_ytvis_protocol_on_ray_gives_the_plain_files(local_ray, tiny_pair, tmp_path: Path) -> None:
    from hqsam_nb.video import open_ytvis, run_ytvis_evaluation, write_synthetic_ytvis

    syn = write_synthetic_ytvis(tmp_path / "syn", n_videos=2, n_frames=1, size=(96, 128), seed=1)
    dataset = open_ytvis(syn["annotations"], syn["frames"], syn["results"])
    with torch_threads(1):  # one thread, as each of the two workers on two cores
        plain = run_ytvis_evaluation(dataset, tiny_pair, tmp_path / "plain", progress=False)
    ray_run = run_ytvis_evaluation(dataset, None, tmp_path / "ray", progress=False,
                                   engine=RayEngine(ModelSpec("vit_tiny"), workers=2))
    assert sorted(ray_run.computed) == sorted(plain.computed) == sorted(dataset.names)
    for name in ("ytvis_results_sam.json", "ytvis_results_hq.json", "ytvis_results_fused.json", "ytvis_metrics.json",
                 "ytvis_table.md"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name
    assert [r["encoder_passes"] for r in ray_run.records] == [r["encoder_passes"] for r in plain.records] == [1, 1]
