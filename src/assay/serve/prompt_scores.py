"""Log-probabilities of prompt tokens (``echo`` with ``logprobs`` on /v1/completions), through
the prefix-tree engine, so that prompts sent together share their common tokens.

A benchmark client sends a question's context and each context + choice; concurrent
clients send many questions behind the same few-shot header. The prompts of a batch
form a token trie; each edge of the compressed trie (a run of tokens without a branch)
becomes one (context, continuation) pair for :func:`score_tokens`: the context is
everything before the edge, the continuation the edge itself. So every distinct prompt
token is scored once, and the engine shares contexts as it does for `assay bench`.

The first token of a prompt has no log-probability (nothing predicts it), as in
OpenAI's and vLLM's answers. Where a prompt ends, the likeliest next tokens are given
too (``next_top``): a prompt that ends on a leaf gets a placeholder token appended to
its edge, only predicted, never run, whose position gives that distribution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.models.base import LoglikelihoodStats
from assay.models.loglikelihood import TokenScores, score_tokens

SIBLING_BUDGET = 2048
"""Most continuation tokens behind one context in one engine pass: the engine lays a context's
continuations side by side in one row, so a wide fan-out is split over several passes."""
PLACEHOLDER = 0
"""The token appended to a leaf edge to read the distribution after the prompt; never run."""

Top = tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class PromptScores:
    """One prompt's tokens with their log-probabilities.

    Attributes:
        tokens: The prompt's token ids.
        logprobs: Per token, its log-probability; None for the first.
        top: Per token, the likeliest tokens at its position (empty for the first).
        next_top: The likeliest tokens after the whole prompt.
    """

    tokens: tuple[int, ...]
    logprobs: tuple[float | None, ...]
    top: tuple[Top, ...]
    next_top: Top


@dataclass(eq=False)
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    ends: bool = False
    where: tuple[int, int] | None = (
        None  # (pair, offset in its continuation) that scores this token
    )
    after: tuple[int, int] | None = None  # where the placeholder after a leaf is scored


def score_prompts(
    model: Any,
    prompts: Sequence[Sequence[int]],
    *,
    top: int,
    batch_size: int,
    stats: LoglikelihoodStats | None = None,
) -> list[PromptScores]:
    """Every token of every prompt scored once, with the `top` likeliest tokens per position.

    Args:
        model: A transformers causal LM in eval mode.
        prompts: Token ids, each at least one token, each within the model's context.
        top: Likeliest tokens to give per position (at least 1).
        batch_size: Most contexts in one forward pass.
        stats: Filled with the engine's token counts when given.
    """
    root = _Node()
    for prompt in prompts:
        node = root
        for token in prompt:
            node = node.children.setdefault(token, _Node())
        node.ends = True
    pairs: list[tuple[list[int], list[int]]] = []
    _edges(root, pairs)
    scores: list[TokenScores] = [TokenScores((), ())] * len(pairs)
    for passes in _passes(pairs):
        scored = score_tokens(
            model, [pairs[i] for i in passes], batch_size=batch_size, top=top, stats=stats
        )
        for index, result in zip(passes, scored, strict=True):
            scores[index] = result
    return [_assemble(root, prompt, pairs, scores) for prompt in prompts]


def _edges(root: _Node, pairs: list[tuple[list[int], list[int]]]) -> None:
    """Append one pair per edge of the trie under `root`, marking where each token is scored
    (depth first, with a stack: a hostile batch may branch thousands of levels deep)."""
    stack: list[tuple[_Node, list[int]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        for token, child in node.children.items():
            tokens, end = [token], child
            chain = [child]
            while len(end.children) == 1 and not end.ends:
                token, end = next(iter(end.children.items()))
                tokens.append(token)
                chain.append(end)
            if path:
                context, continuation, scored = path, list(tokens), chain
            else:  # a first token has nothing before it: it is the context
                context, continuation, scored = tokens[:1], tokens[1:], chain[1:]
            index = len(pairs)
            for offset, member in enumerate(scored):
                member.where = (index, offset)
            if end.ends and not end.children:
                end.after = (index, len(continuation))
                continuation.append(PLACEHOLDER)
            if continuation:
                pairs.append((context, continuation))
            if end.children:
                stack.append((end, path + tokens))


def _passes(pairs: list[tuple[list[int], list[int]]]) -> list[list[int]]:
    """Pair indices per engine pass: behind one context, at most SIBLING_BUDGET tokens a pass."""
    passes: list[list[int]] = []
    load: dict[tuple[tuple[int, ...], int], int] = {}
    for index, (context, continuation) in enumerate(pairs):
        key = tuple(context)
        round_ = 0
        while load.get((key, round_), 0) and load[key, round_] + len(continuation) > SIBLING_BUDGET:
            round_ += 1
        load[key, round_] = load.get((key, round_), 0) + len(continuation)
        while len(passes) <= round_:
            passes.append([])
        passes[round_].append(index)
    return passes


def _assemble(
    root: _Node,
    prompt: Sequence[int],
    pairs: list[tuple[list[int], list[int]]],
    scores: list[TokenScores],
) -> PromptScores:
    logprobs: list[float | None] = []
    tops: list[Top] = []
    node = root
    for token in prompt:
        node = node.children[token]
        if node.where is None:
            logprobs.append(None)
            tops.append(())
            continue
        pair, offset = node.where
        logprobs.append(scores[pair].logprobs[offset])
        tops.append(scores[pair].top[offset])
    # Another prompt goes on from here (its next token is predicted here), or a placeholder.
    after = next(iter(node.children.values())).where if node.children else node.after
    next_top = scores[after[0]].top[after[1]] if after is not None else ()
    return PromptScores(tuple(prompt), tuple(logprobs), tuple(tops), next_top)
