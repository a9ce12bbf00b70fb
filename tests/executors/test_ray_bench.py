"""`assay bench --executor ray` on a real two-node Ray cluster with PostgreSQL as the store:
a few ARC and MMLU questions scored by two replicas choose exactly what a local run
chooses, and their log-likelihoods land in the cache a local re-run reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.postgres import fresh_database

from assay.bench import BenchOptions, run_bench
from assay.executors import RayOptions
from assay.models.base import ModelOptions
from assay.store import open_store

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m-instruct"
TASKS = ("arc_challenge", "mmlu_anatomy", "mmlu_abstract_algebra")


def options(data: Path, executor: RayOptions | None = None) -> BenchOptions:
    return BenchOptions(
        tasks=TASKS,
        num_fewshot=2,  # MMLU's shots are shared by a subject's questions: a prefix to keep
        limit=4,
        data_dir=data,
        model=ModelOptions(dtype="float32", batch_size=8),
        progress=False,
        executor=executor,
    )


def test_two_replicas_choose_what_a_local_run_chooses(shared_data: Path, ray_cluster: str) -> None:
    with fresh_database() as local_url, fresh_database() as ray_url:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as each replica runs; a shared 2-core machine
        try:
            local = run_bench(MODEL, options=options(shared_data), store=local_url)
        finally:
            torch.set_num_threads(threads)
        ray = RayOptions(address=ray_cluster, replicas=2)
        remote = run_bench(MODEL, options=options(shared_data, ray), store=ray_url)
        assert local.status == remote.status == "complete"
        assert remote.stats.generated == 12 and remote.stats.loglikelihood is not None
        assert remote.stats.loglikelihood.requests == 48
        with open_store(local_url) as store:
            mine = {r.example_id: r for r in store.load_run(local.run_id).results}
        with open_store(ray_url) as store:
            theirs = {r.example_id: r for r in store.load_run(remote.run_id).results}
        assert set(mine) == set(theirs) and len(mine) == 12
        for key, result in mine.items():
            assert theirs[key].prediction == result.prediction, key
            assert theirs[key].scores == result.scores, key
            assert theirs[key].metadata["logliks"] == pytest.approx(
                result.metadata["logliks"], abs=1e-4
            )

        again = run_bench(MODEL, options=options(shared_data), store=ray_url)  # local, cached
        assert again.stats.cached == again.stats.requests == 48
