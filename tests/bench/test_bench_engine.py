"""The shared-prefix log-likelihood engine against plain per-pair scoring, on the real bundled model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assay.bench import DataSource, build_questions, get_task
from assay.models.base import LoglikelihoodStats, ModelOptions
from assay.models.loglikelihood import score_continuations, score_pairs, split_request


@pytest.fixture(scope="module")
def model() -> Any:
    from assay.models.registry import load_model

    loaded = load_model("smollm2-135m-instruct", ModelOptions(dtype="float32", device="cpu"))
    loaded.load()
    return loaded


@pytest.fixture(scope="module")
def requests(shared_data: Path) -> list[tuple[str, str]]:
    """Real prompts: ARC with shots, HellaSwag, two MMLU questions sharing their header and
    shot, a TruthfulQA question whose mc2 answers share their first tokens."""
    source = DataSource(shared_data)
    out: list[tuple[str, str]] = []
    for name, shots, count in (
        ("arc_challenge", 2, 1),
        ("hellaswag", 0, 2),
        ("mmlu_anatomy", 1, 2),
        ("truthfulqa_mc1", 0, 1),
        ("truthfulqa_mc2", 0, 1),
    ):
        task = get_task(name)
        docs = [task.process(doc) for doc in source.load(task.eval_data())[:count]]
        spec = task.fewshot_data()
        pool = [task.process(doc) for doc in source.load(spec)] if shots and spec else []
        for question in build_questions(task, docs, pool, shots):
            out += question.requests
    out.append(("", "Hello"))  # an empty context scores after the BOS/EOS token, as in the harness
    return out


@pytest.fixture(scope="module")
def per_pair(model: Any, requests: list[tuple[str, str]]) -> list[tuple[float, bool]]:
    return score_pairs(model.model, model.tokenizer, requests, batch_size=8)


@pytest.mark.slow
def test_shared_context_scoring_equals_per_pair_scoring(
    model: Any,
    requests: list[tuple[str, str]],
    per_pair: list[tuple[float, bool]],
    batch_of_8: Scored,
) -> None:
    fast, stats = batch_of_8
    for (ll_fast, greedy_fast), (ll_ref, greedy_ref) in zip(fast, per_pair, strict=True):
        assert ll_fast == pytest.approx(ll_ref, abs=1e-4)
        assert greedy_fast == greedy_ref
    # each context ran once, the MMLU header + shot once for both questions, and answers
    # that start alike share those tokens: exactly the prefix tree's tokens were run
    assert stats.computed_tokens == stats.tree_tokens < stats.pair_tokens / 3


Scored = tuple[list[tuple[float, bool]], LoglikelihoodStats]


@pytest.fixture(scope="module")
def batch_of_8(model: Any, requests: list[tuple[str, str]]) -> Scored:
    stats = LoglikelihoodStats()
    scored = score_continuations(model.model, model.tokenizer, requests, batch_size=8, stats=stats)
    return scored, stats


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [1, 32])
def test_scores_do_not_depend_on_batch_size(
    model: Any,
    requests: list[tuple[str, str]],
    batch_of_8: Scored,
    batch_size: int,
) -> None:
    reference, _ = batch_of_8
    other = score_continuations(model.model, model.tokenizer, requests, batch_size=batch_size)
    for (a, greedy_a), (b, greedy_b) in zip(reference, other, strict=True):
        assert a == pytest.approx(b, abs=1e-4)
        assert greedy_a == greedy_b


@pytest.mark.slow
def test_the_split_moves_trailing_whitespace_to_the_continuation(model: Any) -> None:
    tokenizer = model.tokenizer
    context, continuation = split_request(tokenizer, "Answer: ", "B")
    assert tokenizer.decode(context) == "Answer:"
    assert tokenizer.decode(continuation) == " B"


def test_contexts_sharing_a_long_prefix_run_it_once_and_the_rest_batch_together() -> None:
    from assay.models.loglikelihood import MIN_SHARED_PREFIX, _Context, _prefix_groups

    header = tuple(range(1000, 1000 + 2 * MIN_SHARED_PREFIX))
    subject = [_Context((*header, 7, q), []) for q in range(3)]
    loners = [_Context((q, 1, 2), []) for q in range(2)]
    groups = _prefix_groups([loners[0], *subject, loners[1]])
    assert [(len(prefix), len(members)) for prefix, members in groups] == [
        (len(header) + 1, 3),  # header and the shared token 7; each keeps its own last token
        (0, 2),
    ]


def test_continuations_that_start_alike_share_their_tokens_and_last_tokens_are_not_run() -> None:
    from assay.models.loglikelihood import _Context, _Segment

    context = _Context((1, 2, 3), [(0, [7, 8, 9]), (1, [7, 8, 5, 6]), (2, [4]), (3, [7])])
    segment = _Segment.of(context, shared=1)
    assert segment.own == [2, 3]
    assert segment.nodes == [(7, -1), (8, 0), (5, 1)]  # 7 -> 8 -> {9, 5 -> 6}; 4 only predicted
    assert [(t.request, t.predictors) for t in segment.targets] == [
        (0, [-1, 0, 1]),
        (1, [-1, 0, 1, 2]),
        (2, [-1]),
        (3, [-1]),
    ]


def test_the_least_work_counts_the_prefix_tree_its_attention_and_its_scored_positions() -> None:
    from assay.models.loglikelihood import _count_requests

    stats = LoglikelihoodStats()
    _count_requests([([1, 2, 3], [4, 5]), ([1, 2, 3], [4, 6]), ([1, 2, 9], [7])], stats)
    # run sequences (1,2,3,4) twice and (1,2,9): tokens 1,2,3,4 then 9 at position 2
    assert (stats.pair_tokens, stats.tree_tokens) == (11, 5)
    assert stats.tree_attended == (1 + 2 + 3 + 4) + 3
    # predicted from: the end of (1,2,3) and its 4 (shared by both answers), the end of (1,2,9)
    assert stats.scored_positions == 3
