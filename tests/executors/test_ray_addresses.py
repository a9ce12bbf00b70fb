"""How the driver reaches the cluster (a GCS address, $RAY_ADDRESS, Ray Client's
ray://), on the real two-node cluster, with the replay backend so that replicas start in
seconds: outputs equal a local run's, and a replica's error reaches the user as an
AssayError naming the replica."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from tests.executors.cluster import LocalCluster

import assay
from assay.exceptions import ModelError, OptionError
from assay.executors import RayOptions

pytestmark = pytest.mark.slow


def predictions(run: assay.Run) -> dict[str, str]:
    return {r.example_id: r.prediction for r in run.results}


@pytest.mark.parametrize("how", ["address", "environment", "ray client"])
def test_replicas_answer_as_the_local_model_does(
    how: str,
    local_cluster: LocalCluster,
    qa_data: Path,
    qa_preds: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = f"replay:{qa_preds}"
    local = assay.evaluate(model, qa_data, store=str(tmp_path / "local.db"), progress=False)
    if how == "environment":
        monkeypatch.setenv("RAY_ADDRESS", local_cluster.address)
        ray = RayOptions(replicas=2)
    else:
        address = local_cluster.client_address if how == "ray client" else local_cluster.address
        ray = RayOptions(address=address, replicas=2)
    run = assay.evaluate(
        model, qa_data, store=str(tmp_path / "ray.db"), progress=False, executor=ray
    )
    assert run.info.status == "complete"
    assert predictions(run) == predictions(local)
    assert [r.example_id for r in run.results] == ["q1", "q2", "q3", "q4"]


def test_an_error_on_a_replica_fails_the_run_with_its_message(
    ray_cluster: str, qa_preds: Path, tmp_path: Path
) -> None:
    options = assay.BenchOptions(
        tasks=("arc_easy",),
        limit=2,
        num_fewshot=0,
        data_dir=Path(__file__).resolve().parents[2].parent / "shared" / "data",
        progress=False,
        executor=RayOptions(address=ray_cluster, replicas=2),
    )
    if not Path(str(options.data_dir), "arc").is_dir():
        pytest.skip("the offline benchmark data is not here")
    db = str(tmp_path / "assay.db")
    with pytest.raises(ModelError, match=r"replica \d on .*no log-likelihoods to score"):
        assay.run_bench(f"replay:{qa_preds}", options=options, store=db)
    with assay.open_store(db) as store:
        [info] = store.list_runs()
    assert info.status == "failed" and "no log-likelihoods" in (info.message or "")


def test_a_cluster_that_does_not_answer_is_named(qa_data: Path, tmp_path: Path) -> None:
    ray = RayOptions(address="127.0.0.1:9", replicas=1)
    with pytest.raises(
        OptionError, match=r"127\.0\.0\.1:9: no Ray cluster answers there"
    ) as raised:
        assay.evaluate("smollm2-135m-instruct", qa_data, store=str(tmp_path / "a.db"), executor=ray)
    assert raised.value.option == "ray_address"
    assert not (tmp_path / "a.db").exists()  # refused before a store is created


def test_a_failed_connection_leaves_the_process_free_to_connect(
    local_cluster: LocalCluster, qa_data: Path, qa_preds: Path, tmp_path: Path
) -> None:
    """Ray Client at the GCS port (something listens, but no client server): Ray gives
    up after its own retries, half set up; the next run in this process still connects."""
    model = f"replay:{qa_preds}"
    gcs_port = local_cluster.address.rpartition(":")[2]
    not_a_client_server = RayOptions(address=f"ray://127.0.0.1:{gcs_port}", replicas=2)
    with (
        warnings.catch_warnings(record=True) as warned,
        pytest.raises(OptionError, match=r"no Ray cluster answers there.*port, 10001"),
    ):
        warnings.simplefilter("always")
        assay.evaluate(
            model, qa_data, store=str(tmp_path / "a.db"), progress=False,
            executor=not_a_client_server,
        )  # fmt: skip
    assert not [w for w in warned if "Ray Client" in str(w.message)]  # said once, by assay
    cluster = RayOptions(address=local_cluster.address, replicas=2)
    run = assay.evaluate(
        model, qa_data, store=str(tmp_path / "b.db"), progress=False, executor=cluster
    )
    assert run.info.status == "complete"
    assert [r.example_id for r in run.results] == ["q1", "q2", "q3", "q4"]
