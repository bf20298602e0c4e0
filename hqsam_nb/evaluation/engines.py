"""Where an evaluation's per-image work runs when not in this process: on a Ray cluster (:class:`RayEngine`,
``hqsam-nb evaluate ... --engine ray``).

An engine turns "these examples of this dataset, and the function that makes one example's record" into a
stream of ``(index, record)`` pairs; :func:`~hqsam_nb.runs.records.run_images` stores each record it
receives in ``results.jsonl`` (appended, ``fsync``-ed) exactly as for a local run (it is the local run's loop),
so resuming, the tables and the plots are the same whatever engine computed them.

:class:`RayEngine`:

* one model per worker: each worker is a Ray actor that loads the pair once (``load_pair``) and keeps it;
* the workers read the images themselves: the :class:`~hqsam_nb.evaluation.datasets.Dataset` (file paths and
  loaders, no pixels) is sent to every worker once, so the dataset (and the checkpoint) must be on a path every
  node sees (a shared file system, or the same copy at the same path on each node);
* each finished record goes back to the driver, which alone writes the output folder; a record that arrives
  twice (Ray re-ran a task after a worker died) is written once, and a task whose worker died is run again,
  so every example ends up in ``results.jsonl`` exactly once;
* resources: ``gpus_per_worker=0`` (the default) asks Ray for no GPU and runs the workers on CPU; a GPU request
  that the cluster cannot meet fails at once with a :class:`ValueError` (never a job waiting forever); each
  worker asks for a share of a CPU small enough to fit (fractional on a small machine) and runs torch with
  that many threads (at least one), so workers do not oversubscribe the cores.

Without ``address`` (and without ``$RAY_ADDRESS``) a Ray instance sized to this machine is started for the run,
bound to the loopback address (nothing listens on other interfaces), dashboard and usage statistics off, and
stopped at the end. With ``address`` it joins a running cluster (``ray start --head`` on one node,
``ray start --address HEAD:6379`` on the others; see the README's "Scaling out").

Ray is an optional dependency (``pip install 'hqsam-nb[ray]'``), imported only when a Ray engine starts.
"""

from __future__ import annotations

import collections
import importlib.util
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..models.provenance import WeightsProvenance
    from ..pair.predictor import PairPredictor
    from .datasets import Dataset, Example

logger = logging.getLogger(__name__)

__all__ = [
    "ENGINES",
    "Engine",
    "ModelDescription",
    "ModelSpec",
    "RayEngine",
    "RayUnavailableError",
    "check_reachable",
    "connect_ray",
]

#: The engines the command line offers (``--engine``).
ENGINES: tuple[str, ...] = ("local", "ray")
#: How to install the optional Ray dependency.
RAY_HINT = "pip install 'hqsam-nb[ray]' (or pip install ray)"
#: Object store of a Ray instance started here: the datasets' file lists and the records, nothing large.
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20
#: Seconds a local Ray instance may take to start (its GCS to listen, its raylet to register). Ray's own 30 s is
#: too short on a loaded 2-core machine (CI), where the raylet waits for its Python agent processes.
LOCAL_START_TIMEOUT_S = 180.0
#: Tries at starting a local Ray instance within that time (a raylet whose agent took more than Ray's fixed 15 s
#: to start aborts; the next try may be luckier).
LOCAL_START_ATTEMPTS = 4
#: Seconds to wait for a cluster's address to accept a connection before saying that nothing answers there.
CONNECT_TIMEOUT_S = 10.0
#: A task whose worker died is tried on this many workers before the run gives up on it.
MAX_ATTEMPTS = 4

#: ``task(pair, example) -> record``: one example's record (a JSON-serialisable dict with its ``"image"`` name).
Task = Callable[["PairPredictor", "Example"], dict]


@dataclass(frozen=True)
class ModelDescription:
    """What the reports say about the model when no pair is loaded in this process (duck-types the
    ``info`` / ``device`` / ``encoder_dtype`` attributes of :class:`~hqsam_nb.pair.PairPredictor`)."""

    info: WeightsProvenance
    sam_info: WeightsProvenance
    device: str
    encoder_dtype: str | None
    #: The workers' pair backend (:data:`hqsam_nb.pair.BACKENDS`): Ray workers run the PyTorch modules.
    backend: str = "torch"


class Engine(Protocol):
    """Runs a task over examples of a dataset elsewhere and yields ``(index, record)`` as they finish."""

    #: One line for the reports, e.g. ``"ray (2 workers, 0 GPU each)"``.
    label: str

    def describe(self) -> ModelDescription:
        """The model as the reports name it (``.info``, ``.sam_info``, ``.device``, ``.encoder_dtype``)."""
        ...

    def records(self, dataset: Dataset, indices: Sequence[int], task: Task) -> Iterator[tuple[int, dict]]:
        """``(i, task(pair, dataset[i]))`` for every ``i`` in ``indices``, in any order (a pair may come twice
        when a task was re-run; the store keeps the first)."""
        ...


# -- Ray ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSpec:
    """How each worker loads its pair (:func:`~hqsam_nb.pair.load_pair`'s arguments).

    Attributes:
        model: ``"vit_tiny"``, ``"vit_b"``, ``"vit_l"`` or ``"vit_h"``.
        checkpoint: the HQ-SAM file, on a path every node sees; None: resolved on the driver
            (``$HQSAM_NB_CHECKPOINTS``, then the download cache) and that path is given to the workers.
        weights: ``"pretrained"`` or ``"random"`` (seeded: every worker builds the same model).
        encoder_dtype: None (float32), ``"bfloat16"`` or ``"float16"`` (GPU).
    """

    model: str = "vit_tiny"
    checkpoint: str | None = None
    weights: str = "pretrained"
    encoder_dtype: str | None = None

    def __post_init__(self) -> None:
        from ..models.checkpoints import check_model_name

        check_model_name(self.model)
        if self.weights not in ("pretrained", "random"):
            raise ValueError(f"weights={self.weights!r} is not accepted; use 'pretrained' or 'random'")
        if self.encoder_dtype not in (None, "bfloat16", "float16"):
            raise ValueError(f"encoder_dtype={self.encoder_dtype!r} is not accepted; use None, 'bfloat16' or "
                             "'float16'")
        if self.weights == "random" and self.checkpoint is not None:
            raise ValueError("weights='random' builds a random model: do not pass checkpoint= with it")


def _import_ray(*, loopback: bool) -> Any:
    """``import ray``, quietly and locally: usage statistics off; ``loopback=True`` keeps a Ray instance started
    here on 127.0.0.1 (Ray otherwise binds to the machine's network address)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if loopback:
        from .._compat import ray_loopback_only

        ray_loopback_only()
    try:
        import ray
    except ImportError as exc:
        raise ImportError(f"the Ray engine needs Ray, which is not installed: {RAY_HINT}") from exc
    return ray


class RayUnavailableError(ConnectionError):
    """No Ray to run on: nothing answers at the cluster address given, or a local instance did not start in time
    (the message says which, and what to do)."""


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse at once a cluster address where nothing accepts a TCP connection (``ray.init`` would otherwise retry
    for minutes without a word). Addresses without a port (``"auto"``) are left to Ray.

    Raises:
        RayUnavailableError: nothing answers at ``address`` within ``timeout_s``.
    """
    import socket

    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise RayUnavailableError(
            f"no Ray cluster answers at {address} ({exc.strerror or type(exc).__name__} within {timeout_s:g} s): "
            "start one there (ray start --head), check the address (HEAD:6379, or ray://HEAD:10001 for Ray "
            "Client), or leave --address out to start a local instance") from None


def _is_loopback(address: str) -> bool:
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def connect_ray(address: str | None = None, *, num_cpus: int | None = None,
                start_timeout_s: float = LOCAL_START_TIMEOUT_S) -> bool:
    """Connect this process to Ray: the running connection, else the cluster at ``address`` (or
    ``$RAY_ADDRESS``), else a new local instance (``num_cpus``: default all of this machine's, and its GPUs).

    Args:
        start_timeout_s: how long a new local instance may take to come up (:data:`LOCAL_START_TIMEOUT_S`).

    Returns:
        True when this call started a local instance (the caller shuts it down with ``ray.shutdown()``).

    Raises:
        RayUnavailableError: nothing answers at ``address``, or a local instance did not start within
            ``start_timeout_s`` (the message says which and what to do).
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    ray = _import_ray(loopback=address is None or _is_loopback(address))
    if ray.is_initialized():
        return False
    if address is not None:
        check_reachable(address)
        logger.info("joining the Ray cluster at %s", address)
        ray.init(address=address, namespace="hqsam_nb", log_to_driver=True)
        return False
    import torch

    from .._compat import ray_start_wait

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cpus = num_cpus or os.cpu_count() or 1
    logger.info("starting a local Ray instance (%d CPUs, %d GPUs; loopback only, no dashboard)", cpus, gpus)
    deadline = time.monotonic() + start_timeout_s
    for attempt in range(1, LOCAL_START_ATTEMPTS + 1):
        try:  # address="local": always a new instance (never a cluster that `ray start` left on this machine)
            with ray_start_wait(max(1.0, deadline - time.monotonic())):
                ray.init(address="local", num_cpus=cpus, num_gpus=gpus, include_dashboard=False,
                         namespace="hqsam_nb", object_store_memory=LOCAL_OBJECT_STORE_BYTES, log_to_driver=True)
            return True
        except Exception as exc:  # Ray raises a bare Exception when its processes start too slowly
            if "timed out during startup" not in str(exc):
                raise
            ray.shutdown()
            if attempt == LOCAL_START_ATTEMPTS or time.monotonic() >= deadline:
                raise RayUnavailableError(
                    f"a local Ray instance did not start within {start_timeout_s:g} s ({attempt} attempt(s); Ray "
                    f"said: {str(exc).splitlines()[0]}). The machine is too busy for Ray's processes to start: "
                    "Ray's raylet gives its agent processes a fixed 15 s. Try again when it is less loaded, give "
                    "more time (start_timeout_s), or use the local engine") from None
            logger.warning("the local Ray instance did not start in time (a busy machine); trying again (%d of "
                           "%d)", attempt + 1, LOCAL_START_ATTEMPTS)
    raise AssertionError("unreachable")


class _Worker:
    """One Ray actor: a pair loaded once, the dataset's loaders, the task; ``run(i)`` reads example ``i`` from
    the dataset's path and returns ``(pid, record)``. (Made a Ray actor class by :class:`RayEngine`.)"""

    def __init__(self, spec: ModelSpec, device: str, threads: int, dataset: Dataset, task: Task) -> None:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        import torch

        torch.set_num_threads(threads)
        from ..pair.predictor import load_pair

        self.pair = load_pair(spec.model, checkpoint=spec.checkpoint, device=device, weights=spec.weights,
                              encoder_dtype=spec.encoder_dtype)
        self.dataset, self.task, self.threads = dataset, task, threads

    def hello(self) -> dict[str, Any]:
        import ray

        return {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(),
                "device": str(self.pair.device), "threads": self.threads}

    def run(self, index: int) -> tuple[int, dict]:
        return os.getpid(), self.task(self.pair, self.dataset[index])


class RayEngine:
    """The per-image work on Ray actors, one pair per actor (see the module docstring).

    Args:
        model: a :class:`ModelSpec` (or a model name with the defaults).
        address: a Ray cluster (``"HEAD:6379"``, ``"ray://HEAD:10001"``); None: ``$RAY_ADDRESS``, else a local
            instance for this run (or the connection this process already has).
        workers: how many actors; None: one per ``gpus_per_worker`` GPUs in the cluster when GPUs are asked
            for, else one per node.
        gpus_per_worker: GPUs per actor (0: CPU workers; fractions share a GPU, e.g. 0.5).
        in_flight: tasks queued on each actor (2 keeps a worker busy while its last result travels back).
        start_timeout_s: how long the workers may take to start and load their model before the run fails.

    Attributes:
        worker_pids: actor slot -> the process id that last answered for it (a restarted actor gets a new one).
        restarts: how many times a task came back from a dead or restarting worker and was run again.
        timings: of the last :meth:`records` call: ``start_s`` (connecting, starting the workers, loading their
            models) and ``run_s`` (first task sent to last record received), in seconds.
    """

    def __init__(self, model: ModelSpec | str = "vit_tiny", *, address: str | None = None,
                 workers: int | None = None, gpus_per_worker: float = 0.0, in_flight: int = 2,
                 start_timeout_s: float = 600.0) -> None:
        if isinstance(model, str):
            model = ModelSpec(model)
        if not isinstance(model, ModelSpec):
            raise TypeError(f"model must be a ModelSpec or a model name, got {type(model).__name__}")
        if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
            raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
        if not isinstance(gpus_per_worker, (int, float)) or math.isnan(gpus_per_worker) or gpus_per_worker < 0:
            raise ValueError(f"gpus_per_worker must be >= 0 (0: CPU workers), got {gpus_per_worker!r}")
        if gpus_per_worker > 1 and gpus_per_worker != int(gpus_per_worker):
            raise ValueError(f"gpus_per_worker above 1 must be a whole number (Ray's rule), got {gpus_per_worker}")
        if not isinstance(in_flight, int) or in_flight < 1:
            raise ValueError(f"in_flight must be a positive integer, got {in_flight!r}")
        if importlib.util.find_spec("ray") is None:
            raise ImportError(f"the Ray engine needs Ray, which is not installed: {RAY_HINT}")
        self.spec, self.address, self.workers = model, address, workers
        self.gpus_per_worker, self.in_flight, self.start_timeout_s = float(gpus_per_worker), in_flight, start_timeout_s
        self.worker_pids: dict[int, int] = {}
        self.restarts = 0
        self.timings: dict[str, float] = {}
        self._description: ModelDescription | None = None

    @property
    def device(self) -> str:
        return "cuda" if self.gpus_per_worker > 0 else "cpu"

    @property
    def label(self) -> str:
        n = "auto" if self.workers is None else str(self.workers)
        return f"ray ({n} workers, {self.gpus_per_worker:g} GPU each)"

    def describe(self) -> ModelDescription:
        """The model the workers load, resolved here without loading it (the checkpoint path, whether it
        is the official file)."""
        if self._description is None:
            from ..models.checkpoints import resolve_checkpoint
            from ..models.provenance import WeightsProvenance, read_provenance

            spec = self.spec
            if spec.weights == "random":
                info = WeightsProvenance("random", spec.model, True, details={"seed": 0})  # load_pair's seed
            else:
                resolved = resolve_checkpoint(spec.model, checkpoint=spec.checkpoint)
                info = read_provenance(resolved.path, model=spec.model, hq=True)
            self._description = ModelDescription(info, info.for_sam(), self.device, spec.encoder_dtype)
        return self._description

    # -- resources ------------------------------------------------------------------------------------------
    def _plan(self, ray: Any) -> tuple[int, float]:
        """``(workers, cpus per worker)`` for this cluster; a ValueError when the GPU request cannot be met."""
        resources = ray.cluster_resources()
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        gpus, cpus = float(resources.get("GPU", 0)), float(resources.get("CPU", 0))
        g = self.gpus_per_worker
        if g > 0 and gpus == 0:
            raise ValueError(f"--gpus-per-worker {g:g} asks for GPUs, but the Ray cluster has none (CPU only: "
                             f"{cpus:g} CPUs on {len(nodes)} node(s)); use --gpus-per-worker 0 for CPU workers, "
                             "or add GPU nodes")
        workers = self.workers or (int(gpus // g) if g > 0 else max(1, len(nodes)))
        if workers < 1 or workers * g > gpus + 1e-9:
            fit = int(gpus // g) if g > 0 else 0
            raise ValueError(f"{workers} worker(s) x {g:g} GPU = {workers * g:g} GPUs, but the Ray cluster has "
                             f"{gpus:g}; use --workers {max(fit, 1)} or a smaller --gpus-per-worker")
        if cpus <= 0:
            raise ValueError("the Ray cluster reports no CPUs; is any node alive? (ray status)")
        smallest = min((float(n["Resources"].get("CPU", 0)) for n in nodes), default=cpus) or cpus
        per_worker = min(cpus / workers, smallest)
        if per_worker >= 1:
            per_worker = float(math.floor(per_worker))
        return workers, per_worker

    # -- the run --------------------------------------------------------------------------------------------
    def records(self, dataset: Dataset, indices: Sequence[int], task: Task) -> Iterator[tuple[int, dict]]:
        """Run ``task`` on ``dataset[i]`` for each ``i`` on the workers; yield ``(i, record)`` as they finish
        (twice for a task that Ray ran twice, which the store writes once).

        Raises:
            ValueError: a GPU request the cluster cannot meet. RuntimeError: the workers did not start, or an
                example killed every worker it was given to. Any exception the task raised (e.g. a
                :class:`~hqsam_nb.evaluation.datasets.DatasetError` for an unreadable file), as itself.
        """
        indices = list(indices)
        if not indices:
            return
        spec = self.spec
        if spec.weights == "pretrained" and spec.checkpoint is None:  # every worker loads the file resolved here
            path = self.describe().info.path
            spec = ModelSpec(spec.model, str(path), spec.weights, spec.encoder_dtype)
        t0 = time.perf_counter()
        owned = connect_ray(self.address)
        ray = _import_ray(loopback=False)
        actors: list[Any] = []
        try:
            workers, cpus = self._plan(ray)
            threads = max(1, int(cpus))
            logger.info("Ray: %d worker(s), each %g CPU (%d torch thread(s)) and %g GPU, %d example(s)",
                        workers, cpus, threads, self.gpus_per_worker, len(indices))
            actor_class = ray.remote(_Worker).options(
                num_cpus=cpus, num_gpus=self.gpus_per_worker, max_restarts=MAX_ATTEMPTS,
                max_task_retries=MAX_ATTEMPTS, max_concurrency=1)
            # By value (file paths and loaders, no pixels): each restart of an actor gets them again from its spec.
            actors = [actor_class.remote(spec, self.device, threads, dataset, task)
                      for _ in range(min(workers, len(indices)))]
            self._wait_started(ray, actors, cpus)
            t1 = time.perf_counter()
            self.timings = {"start_s": t1 - t0}
            yield from self._dispatch(ray, actors, indices, dataset)
            self.timings["run_s"] = time.perf_counter() - t1
        finally:
            for actor in actors:
                ray.kill(actor, no_restart=True)
            if owned:
                ray.shutdown()

    def _wait_started(self, ray: Any, actors: list[Any], cpus: float) -> None:
        hellos = [a.hello.remote() for a in actors]
        ready, pending = ray.wait(hellos, num_returns=len(hellos), timeout=self.start_timeout_s)
        if pending:
            raise RuntimeError(
                f"{len(pending)} of {len(actors)} Ray workers did not start within {self.start_timeout_s:g} s "
                f"(each asks for {cpus:g} CPU and {self.gpus_per_worker:g} GPU, and loads {self.spec.model}); "
                f"the cluster has {ray.cluster_resources()}. See `ray status`")
        try:
            infos = ray.get(ready)
        except ray.exceptions.RayActorError as exc:
            raise RuntimeError(f"a Ray worker failed while loading the model: {exc}") from None
        for slot, info in enumerate(infos):
            self.worker_pids[slot] = info["pid"]
        logger.info("Ray workers ready: %s", ", ".join(f"pid {i['pid']} on {i['device']} ({i['threads']} thr)"
                                                        for i in infos))

    def _dispatch(self, ray: Any, actors: list[Any], indices: list[int],
                  dataset: Dataset) -> Iterator[tuple[int, dict]]:
        todo = collections.deque(indices)
        attempts: collections.Counter[int] = collections.Counter()
        alive = set(range(len(actors)))
        in_flight: dict[Any, tuple[int, int]] = {}  # object ref -> (actor slot, example index)

        def submit(slot: int) -> None:
            i = todo.popleft()
            attempts[i] += 1
            in_flight[actors[slot].run.remote(i)] = (slot, i)

        for _ in range(self.in_flight):
            for slot in sorted(alive):
                if todo:
                    submit(slot)
        while in_flight:
            (ref,), _ = ray.wait(list(in_flight), num_returns=1)
            slot, i = in_flight.pop(ref)
            try:
                pid, record = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the task itself failed: the same error here
                raise exc.as_instanceof_cause() from None
            except ray.exceptions.RayActorError as exc:
                self.restarts += 1
                if isinstance(exc, ray.exceptions.ActorDiedError) or attempts[i] >= MAX_ATTEMPTS:
                    alive.discard(slot)
                if attempts[i] >= MAX_ATTEMPTS:
                    raise RuntimeError(f"example {dataset.names[i]!r} was tried on {attempts[i]} workers and each "
                                       f"died ({type(exc).__name__}: {exc}); is it too large for a worker's "
                                       "memory?") from None
                logger.warning("Ray worker %d died or restarted with example %r in hand; running it again "
                               "(%s)", slot, dataset.names[i], type(exc).__name__)
                todo.appendleft(i)
                if not alive:
                    raise RuntimeError(f"every Ray worker died; {len(todo)} example(s) not done. Run the same "
                                       "command again to continue") from None
                target = slot if slot in alive else min(alive, key=lambda s: sum(v[0] == s for v in
                                                                                 in_flight.values()))
                submit(target)
                continue
            self.worker_pids[slot] = pid
            if todo and slot in alive:
                submit(slot)
            yield i, record

