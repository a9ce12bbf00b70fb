"""The options `assay eval` and `assay bench` share to choose where the model runs."""

from __future__ import annotations

from typing import Annotated

import typer

from assay.exceptions import OptionError
from assay.executors import RayOptions

ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Where the model runs: local (this process) or ray (replicas on a Ray cluster; "
        'pip install "assay[ray]"). Either way this process alone writes the store.',
    ),
]
ReplicasOption = Annotated[
    int | None,
    typer.Option(help="With --executor ray: copies of the model, each given a share (default 1)."),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="With --executor ray: the cluster (host:6379 or ray://host:10001). Default "
        "$RAY_ADDRESS, else the cluster `ray start` runs here, else a local one for the run.",
    ),
]
GpusPerReplicaOption = Annotated[
    float | None,
    typer.Option(
        help="With --executor ray: GPUs per replica (default 1 where the cluster has GPUs, else 0)."
    ),
]
CpusPerReplicaOption = Annotated[
    float | None,
    typer.Option(help="With --executor ray: CPUs per replica, its threads on a CPU (default 1)."),
]


def executor_options(
    executor: str,
    replicas: int | None,
    ray_address: str | None,
    gpus_per_replica: float | None,
    cpus_per_replica: float | None,
) -> RayOptions | None:
    """RayOptions for `--executor ray`, None for local; the Ray flags refused without it."""
    if executor == "local":
        given = {
            "replicas": replicas,
            "ray_address": ray_address,
            "gpus_per_replica": gpus_per_replica,
            "cpus_per_replica": cpus_per_replica,
        }
        for option, value in given.items():
            if value is not None:
                raise OptionError(option, "applies only with --executor ray")
        return None
    if executor != "ray":
        raise OptionError("executor", f"is '{executor}'; use local or ray")
    return RayOptions(
        replicas=1 if replicas is None else replicas,
        address=ray_address,
        gpus_per_replica=gpus_per_replica,
        cpus_per_replica=1.0 if cpus_per_replica is None else cpus_per_replica,
    )
