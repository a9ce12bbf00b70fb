"""Replicas of the model on a Ray cluster, driven by this process (`--executor ray`).

    ray start --head                      # or an existing cluster: RAY_ADDRESS=ray://host:10001
    assay eval --model hf:./ft --data test.jsonl --executor ray --replicas 4

The cluster is the one at `address` (`--ray-address`), else at $RAY_ADDRESS,
else the one `ray start` runs on this machine, else a local one started for
the run (sized to hold the replicas) and stopped after it.

Each replica is a Ray actor (replica.py) that loads the model once — one GPU
each where the cluster has GPUs, CPUs otherwise; both can be set — and runs
the same backend code as a local run. The work is dealt so that replicas
finish together (dealing.py); results stream back and this process, alone,
commits them through the run's recorder, so resume, the caches and the
statuses work as in a local run. A replica whose process dies is restarted by
Ray (up to `max_restarts` times) and what it had not sent is dealt again among
the others (scheduler.py); a replica must load the very model the driver
fingerprinted, or the run stops before any result is stored.

Ray is an optional extra (`pip install "assay[ray]"`), imported here when used.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assay.data.prompts import Prompt
from assay.exceptions import MissingDependencyError, OptionError, at_least
from assay.executors.dealing import deal_prompts, deal_requests
from assay.executors.replica import GenerateWork, LoglikelihoodWork, Replica, Result
from assay.executors.scheduler import Scheduler, Slot
from assay.models.base import (
    Generation,
    GenerationParams,
    LoglikelihoodCallback,
    LoglikelihoodStats,
    Model,
    ModelOptions,
    ResultCallback,
)
from assay.models.registry import load_model

log = logging.getLogger("assay")

REACH_SECONDS = 10.0
"""Most seconds to wait for a named cluster's port to answer at all."""
CLIENT_SERVER_ATTEMPTS = 4
"""Ray Client connections tried while the head fails to start this driver's server.

That failure is intermittent and Ray's own (ray-project/ray#63202: the proxy forks
the server while gRPC's threads run, and the child dies, here with SIGSEGV). On the
tests' two-node cluster it met one connection in three to ten, each failure costing
Ray's 30 s wait; a new connection forks anew and has always started at the next try."""
_SERVER_DID_NOT_START = "Starting Ray client server failed"
_CLIENT_PORT_HINT = (
    "; a ray:// address names the head's Ray Client port, 10001 unless `ray start "
    "--ray-client-server-port` set another"
)
LOCAL_BACKENDS = ("hf", "gguf", "replay")
"""Backends whose spec may name a local path, made absolute for the replicas."""


@dataclass(frozen=True)
class RayOptions:
    """How to run a model's work on a Ray cluster; one object for the CLI and Python.

    Attributes:
        replicas: Copies of the model, each loaded once and given a share of the work.
        address: The cluster ("host:6379", "ray://host:10001"); None for $RAY_ADDRESS,
            else the cluster `ray start` runs here, else a local one started for the run.
        gpus_per_replica: GPUs each replica holds; None for 1 where the cluster has GPUs
            (and the model's device is not "cpu"), else 0.
        cpus_per_replica: CPUs each replica holds; a CPU replica runs that many threads.
        max_restarts: Times Ray restarts a replica whose process died.
        restart_timeout: Seconds a restarting replica may take to be back before its
            work is left to the others for good.
    """

    replicas: int = 1
    address: str | None = None
    gpus_per_replica: float | None = None
    cpus_per_replica: float = 1.0
    max_restarts: int = 3
    restart_timeout: float = 300.0

    def __post_init__(self) -> None:
        at_least("replicas", self.replicas, 1)
        if self.gpus_per_replica is not None:
            at_least("gpus_per_replica", self.gpus_per_replica, 0)
        if not self.cpus_per_replica > 0:
            raise OptionError("cpus_per_replica", f"must be above 0, got {self.cpus_per_replica}")
        at_least("max_restarts", self.max_restarts, 0)
        at_least("restart_timeout", self.restart_timeout, 0)
        if self.address is not None and not self.address.strip():
            raise OptionError("ray_address", "must not be empty")


class RayExecutor:
    """The model's work on replicas on a Ray cluster; results back to this process.

    Args:
        model: The model's spec string (the replicas load it by its spec).
        options: How to load and run it; the device is chosen here for every replica.
        ray: Replicas, cluster, resources.
    """

    def __init__(self, model: str | Model, options: ModelOptions, ray: RayOptions) -> None:
        if not isinstance(model, str):
            raise OptionError(
                "executor",
                "ray needs the model as a spec string (each replica loads it), not a Model object",
            )
        self.options = ray
        self._cluster = _Cluster(ray)
        self.gpus = self._gpus_per_replica(options)
        self.replica_options = _replica_options(options, self.gpus)
        # The driver only renders prompts and fingerprints the model: the tokenizer, on its
        # CPU (it may have no GPU), with the replicas' dtype, so that the identities agree.
        self.model = load_model(model, replace(self.replica_options, device="cpu"))
        self.replica_spec = _absolute(model)
        self._scheduler: Scheduler | None = None

    # -- the Executor protocol -------------------------------------------------------------

    def start(self) -> None:
        """Start the replicas and wait until every one has loaded the model."""
        if self._scheduler is not None:
            return
        ray = self._cluster.connect(self._needed_cpus())
        self._check_fit(ray)
        cpus = self.options.cpus_per_replica
        threads = max(1, math.floor(cpus)) if self.replica_options.device == "cpu" else None
        actor = ray.remote(Replica).options(
            num_cpus=cpus,
            num_gpus=self.gpus,
            max_restarts=self.options.max_restarts,
            max_task_retries=0,
            scheduling_strategy="SPREAD",
        )
        slots = [
            Slot(number, actor.remote(self.replica_spec, self.replica_options, threads))
            for number in range(1, self.options.replicas + 1)
        ]
        log.info(
            "ray: %d replica%s of %s (%s each) on %s",
            len(slots),
            "" if len(slots) == 1 else "s",
            self.model.info.spec,
            self._resources(),
            self._cluster.described,
        )
        self._scheduler = Scheduler(
            slots, self.model.info.fingerprint, self.options.restart_timeout
        )
        self._scheduler.wait_until_ready()

    def generate(
        self, prompts: Sequence[Prompt], params: GenerationParams, on_result: ResultCallback
    ) -> None:
        if not prompts:
            return
        self.start()
        lengths = [len(self.model.render(p)) for p in prompts]

        def deal(items: Sequence[int], shards: int) -> list[list[int]]:
            dealt = deal_prompts([lengths[i] for i in items], shards)
            return [[items[k] for k in shard] for shard in dealt]

        def work(items: Sequence[int]) -> GenerateWork:
            return GenerateWork(tuple(prompts[i] for i in items), params)

        def deliver(index: int, result: Result) -> None:
            if isinstance(result, Generation):
                on_result(index, result)

        self._running().run(range(len(prompts)), work, deal, deliver)

    def loglikelihood(
        self,
        requests: Sequence[tuple[str, str]],
        on_result: LoglikelihoodCallback,
        stats: LoglikelihoodStats,
    ) -> None:
        if not requests:
            return
        self.start()

        def deal(items: Sequence[int], shards: int) -> list[list[int]]:
            dealt = deal_requests([requests[i] for i in items], shards)
            return [[items[k] for k in shard] for shard in dealt]

        def work(items: Sequence[int]) -> LoglikelihoodWork:
            return LoglikelihoodWork(tuple(requests[i] for i in items))

        def deliver(index: int, result: Result) -> None:
            if isinstance(result, tuple):
                on_result(index, *result)

        self._running().run(range(len(requests)), work, deal, deliver, stats)

    def close(self) -> None:
        """Stop the replicas; disconnect (and stop a cluster started for the run)."""
        if self._scheduler is not None:
            self._cluster.kill([slot.handle for slot in self._scheduler.slots])
            self._scheduler = None
        self._cluster.disconnect()

    # -- resources -------------------------------------------------------------------------

    def _running(self) -> Scheduler:
        if self._scheduler is None:  # start() sets it, or raised
            raise RuntimeError("the replicas are not started")
        return self._scheduler

    def _gpus_per_replica(self, options: ModelOptions) -> float:
        if self.options.gpus_per_replica is not None:
            return self.options.gpus_per_replica
        if options.device == "cpu":
            return 0.0
        if options.device.startswith("cuda"):
            return 1.0
        return 1.0 if self._cluster.has_gpus() else 0.0

    def _needed_cpus(self) -> int:
        return math.ceil(self.options.replicas * self.options.cpus_per_replica)

    def _resources(self) -> str:
        cpus = f"{self.options.cpus_per_replica:g} CPU"
        return f"{self.gpus:g} GPU, {cpus}" if self.gpus else cpus

    def _check_fit(self, ray: Any) -> None:
        """Refuse at once replicas that the cluster's nodes cannot hold (else Ray waits for
        ever for resources that will not come)."""
        cpus, gpus = self.options.cpus_per_replica, self.gpus
        fits = 0
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        for node in nodes:
            resources = node.get("Resources", {})
            by_cpu = math.floor(resources.get("CPU", 0) / cpus + 1e-9)
            by_gpu = math.floor(resources.get("GPU", 0) / gpus + 1e-9) if gpus else by_cpu
            fits += min(by_cpu, by_gpu)
        if fits < self.options.replicas:
            total = ray.cluster_resources()
            raise OptionError(
                "replicas",
                f"is {self.options.replicas} at {self._resources()} each, but the cluster "
                f"({self._cluster.described}: {len(nodes)} nodes, {total.get('CPU', 0):g} CPUs, "
                f"{total.get('GPU', 0):g} GPUs) holds {fits}: ask for fewer, or for fewer "
                "CPUs or GPUs per replica",
            )


def _replica_options(options: ModelOptions, gpus: float) -> ModelOptions:
    """The options every replica loads the model with: a replica holding a GPU sees it as
    "cuda"; "auto" dtype resolved by ModelOptions' rule (bfloat16 on a GPU, else float32);
    an adapter's path made absolute."""
    device = options.device if options.device in ("cpu", "mps") else ("cuda" if gpus else "cpu")
    dtype = options.dtype
    if dtype == "auto":
        dtype = "bfloat16" if device == "cuda" else "float32"
    adapter = options.adapter.expanduser().resolve() if options.adapter else None
    return replace(options, device=device, dtype=dtype, adapter=adapter)


class _Cluster:
    """The connection to Ray: made when first needed, undone by `disconnect`.

    A local cluster is started only when the replicas start, so that a run whose
    outputs are all cached starts nothing.
    """

    def __init__(self, options: RayOptions) -> None:
        self.options = options
        self.described = "a Ray cluster"
        self._ray: Any = None
        self._connected_here = False
        self._none_running = False

    def has_gpus(self) -> bool:
        """Whether the cluster has GPUs (this machine's, for a cluster not started yet)."""
        ray = self._existing()
        if ray is None:
            import torch

            return torch.cuda.is_available()
        return bool(ray.cluster_resources().get("GPU", 0) > 0)

    def connect(self, needed_cpus: int) -> Any:
        """Ray, connected to the cluster; a local one started (to hold `needed_cpus`) if none."""
        ray = self._existing()
        if ray is not None:
            return ray
        ray = _import_ray()
        cpus = max(os.cpu_count() or 1, needed_cpus)
        _init(ray, num_cpus=cpus, include_dashboard=False)
        self.described = f"a local cluster started for this run ({cpus} CPUs)"
        self._connected_here = True
        self._ray = ray
        return ray

    def _existing(self) -> Any:
        """Ray connected to the named or running cluster; None when there is none to join."""
        if self._ray is not None or self._none_running:
            return self._ray
        ray = _import_ray()
        if ray.is_initialized():  # the caller's own connection (a notebook): use it, keep it
            self._ray = ray
            self.described = "the connected Ray cluster"
            return ray
        address = self.options.address or os.environ.get("RAY_ADDRESS") or None
        if address:
            _reachable(address)
            try:
                _join(ray, address)
            except (ConnectionError, ValueError, RuntimeError) as error:
                hint = _CLIENT_PORT_HINT if address.startswith("ray://") else ""
                raise OptionError(
                    "ray_address", f"{address}: no Ray cluster answers there ({error}){hint}"
                ) from None
            self.described = f"the cluster at {address}"
        else:
            try:
                _init(ray, address="auto")
            except ConnectionError:
                self._none_running = True
                return None
            self.described = "the cluster `ray start` runs here"
        self._connected_here = True
        self._ray = ray
        return ray

    def kill(self, handles: list[Any]) -> None:
        if self._ray is None:
            return
        for handle in handles:
            try:
                self._ray.kill(handle, no_restart=True)
            except Exception:  # already gone with its node: nothing left to stop
                continue

    def disconnect(self) -> None:
        if self._ray is not None and self._connected_here:
            self._ray.shutdown()
        self._ray = None
        self._connected_here = False


_QUIET: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
"""Ray's own notes stay out of the terminal (as transformers' do); errors still show."""


def _init(ray: Any, **options: Any) -> None:
    """`ray.init`, undone if it fails: a failed Ray Client connection leaves Ray half
    set up in this process, and the next `ray.init` (the next run in a notebook, a
    retry with another address) would die on a bare AssertionError inside Ray."""
    try:
        ray.init(**options, **_QUIET)
    except BaseException:
        ray.shutdown()
        raise


def _join(ray: Any, address: str) -> None:
    """Connect to the cluster at `address`, past Ray Client's intermittent failure to
    start a server for this driver (CLIENT_SERVER_ATTEMPTS)."""
    for attempt in range(1, CLIENT_SERVER_ATTEMPTS + 1):
        try:
            with warnings.catch_warnings():
                # Ray warns before it raises; the error assay raises says it, once.
                warnings.filterwarnings("ignore", message="Ray Client connection timed out")
                _init(ray, address=address)
            return
        except ConnectionError as error:
            if _SERVER_DID_NOT_START not in str(error) or attempt == CLIENT_SERVER_ATTEMPTS:
                raise
            log.warning(
                "%s: Ray Client's server for this driver did not start "
                "(ray-project/ray#63202); connecting again (%d of %d)",
                address,
                attempt + 1,
                CLIENT_SERVER_ATTEMPTS,
            )


def _reachable(address: str) -> None:
    """Refuse at once an address nothing listens on (Ray itself retries for minutes)."""
    target = address.removeprefix("ray://").rstrip("/")
    host, colon, port = target.rpartition(":")
    if not colon or not port.isdigit():
        return  # "auto", a name Ray resolves itself: left to Ray
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_SECONDS).close()
    except OSError as error:
        raise OptionError(
            "ray_address", f"{address}: no Ray cluster answers there ({error.strerror or error})"
        ) from None


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise MissingDependencyError("assay[ray]", "the Ray executor") from error
    return ray


def _absolute(spec: str) -> str:
    """The spec with a local path made absolute: a replica's working folder is not ours."""
    prefix, colon, target = spec.partition(":")
    if (
        colon
        and prefix in LOCAL_BACKENDS
        and (target.startswith((".", "/", "~")) or Path(target).exists())
    ):
        return f"{prefix}:{Path(target).expanduser().resolve()}"
    return spec
