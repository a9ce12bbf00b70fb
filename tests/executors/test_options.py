"""Choosing the executor: options checked where they are defined, the Ray flags refused
without --executor ray, Ray missing named with its install command, local paths made
absolute for replicas on other machines."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.exceptions import MissingDependencyError, OptionError
from assay.executors import LocalExecutor, RayExecutor, RayOptions, open_executor
from assay.executors.ray import CLIENT_SERVER_ATTEMPTS, _absolute, _join, _replica_options
from assay.models.base import ModelOptions


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"replicas": 0}, "replicas"),
        ({"cpus_per_replica": 0}, "cpus_per_replica"),
        ({"gpus_per_replica": -1}, "gpus_per_replica"),
        ({"max_restarts": -1}, "max_restarts"),
        ({"address": " "}, "ray_address"),
    ],
)
def test_bad_ray_options_name_the_option(options: dict[str, object], option: str) -> None:
    with pytest.raises(OptionError) as raised:
        RayOptions(**options)  # type: ignore[arg-type]
    assert raised.value.option == option


def test_local_is_the_default(qa_preds: Path) -> None:
    executor = open_executor(f"replay:{qa_preds}", ModelOptions())
    assert isinstance(executor, LocalExecutor)


def test_ray_needs_a_spec_string(qa_preds: Path) -> None:
    model = open_executor(f"replay:{qa_preds}", ModelOptions()).model
    with pytest.raises(OptionError, match="spec string") as raised:
        open_executor(model, ModelOptions(), RayOptions())
    assert raised.value.option == "executor"


def test_missing_ray_names_the_install_command(
    qa_preds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    executor = open_executor(f"replay:{qa_preds}", ModelOptions(device="cpu"), RayOptions())
    assert isinstance(executor, RayExecutor)
    with pytest.raises(MissingDependencyError, match=r"pip install assay\[ray\]"):
        executor.start()


def test_replicas_get_absolute_paths_and_a_resolved_dtype(tmp_path: Path) -> None:
    assert _absolute("hf:./my-finetune") == f"hf:{Path.cwd() / 'my-finetune'}"
    assert _absolute("smollm2-135m-instruct") == "smollm2-135m-instruct"
    assert _absolute("openai:m@http://h/v1") == "openai:m@http://h/v1"
    on_gpu = _replica_options(ModelOptions(adapter=Path("ad")), gpus=1)
    assert (on_gpu.device, on_gpu.dtype, on_gpu.adapter) == ("cuda", "bfloat16", Path.cwd() / "ad")
    on_cpu = _replica_options(ModelOptions(device="cuda:1"), gpus=0)
    assert (on_cpu.device, on_cpu.dtype) == ("cpu", "float32")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--replicas", "2"], "--replicas applies only with --executor ray"),
        (["--ray-address", "h:1"], "--ray-address applies only with --executor ray"),
        (["--executor", "dask"], "--executor is 'dask'; use local or ray"),
        (["--executor", "ray", "--replicas", "0"], "--replicas must be 1 or more, got 0"),
    ],
)
@pytest.mark.parametrize("command", ["eval", "bench"])
def test_cli_refuses_executor_flags_that_do_not_fit(
    command: str, flags: list[str], message: str, qa_data: Path, qa_preds: Path
) -> None:
    target = ["--data", str(qa_data)] if command == "eval" else ["--tasks", "arc_easy"]
    args = [command, "--model", f"replay:{qa_preds}", *target, *flags]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert message in result.output


class _RayWhoseClientServerDies:
    """Ray's module as `_join` calls it, its head's proxy failing to start this driver's
    server `failures` times: the message a real cluster sent here when the forked server
    died with SIGSEGV (ray-project/ray#63202), which no test can cause at will."""

    def __init__(self, failures: int, message: str) -> None:
        self.failures = failures
        self.message = message
        self.inits = 0
        self.shutdowns = 0

    def init(self, **_: object) -> None:
        self.inits += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionAbortedError(self.message)

    def shutdown(self) -> None:
        self.shutdowns += 1


SERVER_DIED = (
    "Initialization failure from server:\nTraceback (most recent call last):\n"
    "RuntimeError: Starting Ray client server failed. See ray_client_server_23000.err "
    "for detailed logs.\n"
)


def test_a_client_server_that_did_not_start_is_connected_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ray = _RayWhoseClientServerDies(CLIENT_SERVER_ATTEMPTS - 1, SERVER_DIED)
    with caplog.at_level(logging.WARNING, logger="assay"):
        _join(ray, "ray://head:10001")
    assert ray.inits == CLIENT_SERVER_ATTEMPTS
    assert ray.shutdowns == CLIENT_SERVER_ATTEMPTS - 1  # each failed try undone
    assert [r.getMessage() for r in caplog.records] == [
        f"ray://head:10001: Ray Client's server for this driver did not start "
        f"(ray-project/ray#63202); connecting again ({n} of {CLIENT_SERVER_ATTEMPTS})"
        for n in range(2, CLIENT_SERVER_ATTEMPTS + 1)
    ]


def test_client_connections_stop_at_the_last_attempt_or_another_failure() -> None:
    dies_every_time = _RayWhoseClientServerDies(CLIENT_SERVER_ATTEMPTS, SERVER_DIED)
    with pytest.raises(ConnectionAbortedError, match="Starting Ray client server failed"):
        _join(dies_every_time, "ray://head:10001")
    assert dies_every_time.inits == dies_every_time.shutdowns == CLIENT_SERVER_ATTEMPTS
    times_out = _RayWhoseClientServerDies(1, "ray client connection timeout")
    with pytest.raises(ConnectionAbortedError, match="timeout"):
        _join(times_out, "ray://head:10001")
    assert times_out.inits == times_out.shutdowns == 1  # not a failure a new try gets past
