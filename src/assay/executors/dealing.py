"""Dealing a run's model work into shards, one per replica, so that replicas finish together.

Two kinds of work, two rules:

- Prompts to generate for are dealt by length: sorted longest first and dealt
  in a snake (0, 1, ..., n-1, n-1, ..., 0, ...), so every shard gets the same
  number of prompts (±1), and so the same number of decoding steps, and about
  the same number of prompt tokens to prefill.
- Log-likelihood requests are dealt in units the engine shares work within: all
  requests with one context stay together (the context runs once with every
  continuation behind it), and contexts that share a long prefix (a few-shot
  block, an MMLU subject's header) form one group, so the prefix still runs
  once. Groups larger than a replica's fair share are cut, between contexts,
  into pieces (each pays for the prefix once more: little next to the rest of
  the group); pieces then go, largest first, to the least loaded shard.

Costs are in characters: what matters is their ratio between shards, and
characters track tokens closely enough for that without a tokenizer here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_SHARED_CHARS = 128
"""Fewest characters contexts must share to be kept on one replica (about the 32 tokens
the log-likelihood engine needs before it runs a shared prefix once)."""


def deal_prompts(lengths: Sequence[int], shards: int) -> list[list[int]]:
    """Indices of the prompts, dealt into at most `shards` lists of equal count and length.

    Args:
        lengths: Each prompt's length (characters).
        shards: How many lists (replicas).

    Returns:
        Non-empty lists of indices, each in ascending order.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    count = max(1, min(shards, len(order)))
    dealt: list[list[int]] = [[] for _ in range(count)]
    for position, index in enumerate(order):
        lap, seat = divmod(position, count)
        dealt[seat if lap % 2 == 0 else count - 1 - seat].append(index)
    return [sorted(shard) for shard in dealt if shard]


@dataclass(frozen=True)
class _Context:
    """One distinct context and the indices of the requests that continue it."""

    text: str
    requests: tuple[int, ...]
    continuation_chars: int


def deal_requests(requests: Sequence[tuple[str, str]], shards: int) -> list[list[int]]:
    """Indices of (context, continuation) requests, dealt into at most `shards` lists of
    about equal cost, keeping each context, and contexts that share a long prefix, together.

    Returns:
        Non-empty lists of indices, each in ascending order.
    """
    if not requests:
        return []
    groups = _prefix_groups(_contexts(requests))
    fair = max(1.0, sum(_cost(group) for group in groups) / max(1, shards))
    pieces = [(_cost(piece), piece) for group in groups for piece in _cut(group, fair)]
    pieces.sort(key=lambda costed: costed[0], reverse=True)
    loads = [0.0] * max(1, shards)
    dealt: list[list[int]] = [[] for _ in loads]
    for cost, piece in pieces:
        seat = min(range(len(loads)), key=lambda s: (loads[s], s))
        loads[seat] += cost
        dealt[seat].extend(i for context in piece for i in context.requests)
    return [sorted(shard) for shard in dealt if shard]


def _contexts(requests: Sequence[tuple[str, str]]) -> list[_Context]:
    by_text: dict[str, list[int]] = {}
    for index, (context, _) in enumerate(requests):
        by_text.setdefault(context, []).append(index)
    return [
        _Context(text, tuple(indices), sum(len(requests[i][1]) for i in indices))
        for text, indices in by_text.items()
    ]


def _prefix_groups(contexts: list[_Context]) -> list[list[_Context]]:
    """Runs of lexicographically neighbouring contexts that all share at least
    MIN_SHARED_CHARS leading characters with the run's first context."""
    groups: list[list[_Context]] = []
    for context in sorted(contexts, key=lambda c: c.text):
        if groups and _common_length(groups[-1][0].text, context.text) >= MIN_SHARED_CHARS:
            groups[-1].append(context)
        else:
            groups.append([context])
    return groups


def _cut(group: list[_Context], fair: float) -> list[list[_Context]]:
    """The group in contiguous pieces of at most about `fair` cost each."""
    count = math.ceil(_cost(group) / fair)
    if count <= 1 or len(group) == 1:
        return [group]
    count = min(count, len(group))
    size = math.ceil(len(group) / count)
    return [group[start : start + size] for start in range(0, len(group), size)]


def _cost(group: list[_Context]) -> float:
    """Characters the engine runs for the group: the shared prefix once, then each context's
    own part and its continuations."""
    shared = min(_common_length(group[0].text, c.text) for c in group[1:]) if len(group) > 1 else 0
    return shared + sum(len(c.text) - shared + c.continuation_chars for c in group)


def _common_length(a: str, b: str) -> int:
    """Length of the common prefix, by bisection on slice comparisons (which run in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low
