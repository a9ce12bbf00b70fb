"""Dealing work into shards: equal counts and lengths for prompts; contexts, and contexts
that share a few-shot prefix, kept on one replica; big groups cut to keep shards even."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assay.executors.dealing import MIN_SHARED_CHARS, deal_prompts, deal_requests


def test_prompts_are_dealt_in_equal_counts_and_lengths() -> None:
    lengths = [100, 90, 80, 70, 60, 50, 40, 30]
    shards = deal_prompts(lengths, 2)
    assert sorted(i for s in shards for i in s) == list(range(8))
    assert [len(s) for s in shards] == [4, 4]
    totals = [sum(lengths[i] for i in s) for s in shards]
    assert totals == [260, 260]  # the snake: 100+70+60+30, 90+80+50+40


def test_fewer_prompts_than_shards_leave_no_empty_shard() -> None:
    assert deal_prompts([5, 9], 4) == [[1], [0]]
    assert deal_prompts([], 3) == []


@given(st.lists(st.integers(0, 500), max_size=60), st.integers(1, 6))
def test_every_prompt_is_dealt_once(lengths: list[int], shards: int) -> None:
    dealt = deal_prompts(lengths, shards)
    assert sorted(i for s in dealt for i in s) == list(range(len(lengths)))
    sizes = [len(s) for s in dealt]
    assert not sizes or max(sizes) - min(sizes) <= 1


def subject(name: str) -> str:
    """An MMLU-like few-shot block: long, shared by every question of the subject."""
    return f"The following are multiple choice questions about {name}.\n\n" + "Q? A\n\n" * 40


def questions(prefix: str, count: int, tag: str) -> list[tuple[str, str]]:
    return [(f"{prefix}{tag} question {i}?", f" {c}") for i in range(count) for c in "ABCD"]


def test_a_context_and_its_few_shot_group_stay_on_one_replica() -> None:
    anatomy = questions(subject("anatomy"), 3, "anatomy")
    algebra = questions(subject("algebra"), 3, "algebra")
    requests = anatomy + algebra
    shards = deal_requests(requests, 2)
    assert len(shards) == 2
    for shard in shards:
        subjects = {requests[i][0].split("about ")[1].split(".")[0] for i in shard}
        assert len(subjects) == 1  # each subject's shared prefix runs on one replica only
        contexts = {requests[i][0] for i in shard}
        assert sum(len(s) for s in shards) == len(requests)
        assert all(sum(requests[i][0] == c for i in shard) == 4 for c in contexts)


def test_a_group_bigger_than_a_fair_share_is_cut_between_contexts() -> None:
    requests = questions(subject("anatomy"), 10, "anatomy")  # one group, 40 requests
    shards = deal_requests(requests, 2)
    assert sorted(len(s) for s in shards) == [20, 20]
    for shard in shards:  # every context's four choices together
        assert len({requests[i][0] for i in shard}) * 4 == len(shard)


def test_contexts_that_share_little_are_balanced_one_by_one() -> None:
    requests = [(f"Question: {i} " + "x" * (10 * i), " yes") for i in range(1, 9)]
    assert len("Question: ") < MIN_SHARED_CHARS  # too little shared to keep them together
    shards = deal_requests(requests, 2)
    costs = [sum(len(requests[i][0]) for i in s) for s in shards]
    assert abs(costs[0] - costs[1]) <= 20


@given(
    st.lists(
        st.tuples(st.sampled_from(["", "a" * 200, "b" * 150]), st.text(max_size=8), st.text()),
        max_size=40,
    ),
    st.integers(1, 5),
)
def test_every_request_is_dealt_once_with_its_context(
    rows: list[tuple[str, str, str]], shards: int
) -> None:
    requests = [(prefix + own, continuation) for prefix, own, continuation in rows]
    dealt = deal_requests(requests, shards)
    assert sorted(i for s in dealt for i in s) == list(range(len(requests)))
    assert len(dealt) <= shards
    home = {}
    for number, shard in enumerate(dealt):
        for i in shard:
            assert home.setdefault(requests[i][0], number) == number
