"""Log-likelihood of continuations: what multiple-choice benchmarks need, computed once per prefix.

The context/continuation split follows lm-evaluation-harness: trailing
whitespace of the context moves to the continuation, the context tokens are
`tok(context)` and the continuation tokens are the rest of
`tok(context + continuation)`.

Why this is fast: the harness runs every (context, continuation) pair as its own
full sequence, so a 25-shot question with four choices costs four full prompts.
Here the work is a prefix tree, computed once per node:

1. Requests with the same context are grouped; each context is run once, and
   all its continuations ride in the same sequence behind it ("tree
   attention": each continuation sees the context and itself, never its
   siblings, and its positions continue the context's).
2. Contexts that share a long prefix (the MMLU subject header and its five
   shots, TruthfulQA's fixed six-shot prompt) run that prefix once; its keys
   and values are handed, unchanged, to every batch of contexts behind it.
3. Contexts are batched by length with a token and attention budget, so
   padding is small and memory stays bounded on long few-shot prompts.

Only the positions that predict a continuation token go through the output
layer. Log-likelihoods equal per-pair scoring (:func:`score_pairs`, kept as
the reference and the fallback for architectures without 4D-mask support) to
float32 rounding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from assay.models.base import LoglikelihoodCallback, LoglikelihoodStats
from assay.models.continuous_batching import SUPPORTED_MODEL_TYPES, cache_argument
from assay.models.tree_attention import causal_head, tree_attention_on

MIN_SHARED_PREFIX = 32
"""Fewest tokens contexts must share before the shared part is run once for all of them."""
TOKEN_BUDGET = 4096
"""Most tokens (rows x width, padding included) in one forward pass."""
ATTENTION_BUDGET = 2**27
"""Most attention scores (rows x heads x queries x keys) in one forward pass (512 MB in float32)."""
PREFIX_CHUNK = 2048
"""A long shared prefix is run in chunks of this many tokens."""


def split_request(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of the context and of the continuation, the harness's way.

    The tokenizer adds its default special tokens (a BOS where it has one), as
    the current harness does.
    """
    if context == "":
        prefix = tokenizer.bos_token_id
        prefix = prefix if prefix is not None else tokenizer.eos_token_id
        return [prefix], list(tokenizer(continuation).input_ids)
    spaces = len(context) - len(context.rstrip())
    if spaces:
        continuation = context[-spaces:] + continuation
        context = context[:-spaces]
    whole = list(tokenizer(context + continuation).input_ids)
    context_ids = list(tokenizer(context).input_ids)
    return whole[: len(context_ids)], whole[len(context_ids) :]


def fast_path_supported(model: Any) -> bool:
    """Whether the model's attention takes prepared 4D masks and a duck-typed cache."""
    config = getattr(model, "config", None)
    return getattr(config, "model_type", None) in SUPPORTED_MODEL_TYPES and hasattr(
        model, "get_decoder"
    )


def score_continuations(
    model: Any,
    tokenizer: Any,
    requests: Sequence[tuple[str, str]],
    *,
    batch_size: int,
    stats: LoglikelihoodStats | None = None,
    on_result: LoglikelihoodCallback | None = None,
) -> list[tuple[float, bool]]:
    """Summed log-probability of each continuation and whether greedy decoding would produce it.

    Args:
        model: A transformers causal LM in eval mode.
        tokenizer: Its tokenizer.
        requests: (context, continuation) pairs.
        batch_size: Most contexts in one forward pass.
        stats: Filled with token counts when given.
        on_result: Called with (request index, log-probability, is greedy) as each
            request's batch finishes, so callers can store results as they come.
    """
    pairs = [split_request(tokenizer, c, x) for c, x in requests]
    pairs = [_fit(ctx, cont, _context_length(model)) for ctx, cont in pairs]
    results = _Results(len(pairs), on_result)
    _score_all(model, pairs, results, batch_size, stats)
    return results.values


@dataclass(frozen=True)
class TokenScores:
    """One continuation token by token: each token's log-probability, and where it stands,
    the likeliest tokens as (token id, log-probability), likeliest first."""

    logprobs: tuple[float, ...]
    top: tuple[tuple[tuple[int, float], ...], ...]


def score_tokens(
    model: Any,
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    *,
    batch_size: int,
    top: int = 1,
    stats: LoglikelihoodStats | None = None,
) -> list[TokenScores]:
    """Token by token, the continuation of each (context ids, continuation ids) pair, through
    the same prefix tree as :func:`score_continuations`: what a server needs to echo a
    prompt's log-probabilities (`assay serve`). Pairs must fit the model's context.

    Args:
        model: A transformers causal LM in eval mode.
        pairs: Token ids; each context at least one token.
        batch_size: Most contexts in one forward pass.
        top: How many likeliest tokens to give at each position (at least 1).
        stats: Filled with token counts when given.
    """
    listed = [(list(ctx), list(cont)) for ctx, cont in pairs]
    results = _Results(len(listed), None, top=max(1, top))
    _score_all(model, listed, results, batch_size, stats)
    return results.details


def _score_all(
    model: Any,
    pairs: list[tuple[list[int], list[int]]],
    results: _Results,
    batch_size: int,
    stats: LoglikelihoodStats | None,
) -> None:
    stats = stats if stats is not None else LoglikelihoodStats()
    _count_requests(pairs, stats)
    for index, (_, continuation) in enumerate(pairs):
        if not continuation:  # nothing to score: probability 1, and greedy
            results[index] = (0.0, True)
    if not fast_path_supported(model):
        _score_pairs_tokens(model, pairs, results, batch_size=batch_size, stats=stats)
    else:
        _TreeScorer(model, batch_size, stats).run(pairs, results)


class _Results:
    """Each request's (log-probability, is greedy), reported to a callback as it is set; and,
    when `top` is given, each request's tokens one by one (TokenScores)."""

    def __init__(self, size: int, on_result: LoglikelihoodCallback | None, *, top: int = 0) -> None:
        self.values: list[tuple[float, bool]] = [(0.0, True)] * size
        self.on_result = on_result
        self.top = top
        self.details = [TokenScores((), ())] * size

    def __setitem__(self, index: int, value: tuple[float, bool]) -> None:
        self.values[index] = value
        if self.on_result is not None:
            self.on_result(index, *value)

    def set_tokens(
        self, index: int, logprobs: list[float], top_ids: list[list[int]], top: list[list[float]]
    ) -> None:
        """Record one request's tokens: their log-probabilities and each position's likeliest."""
        self.details[index] = TokenScores(
            tuple(logprobs),
            tuple(
                tuple(zip(ids, values, strict=True))
                for ids, values in zip(top_ids, top, strict=True)
            ),
        )


def score_pairs(
    model: Any, tokenizer: Any, requests: Sequence[tuple[str, str]], *, batch_size: int
) -> list[tuple[float, bool]]:
    """Per-pair scoring, the harness's way: every (context, continuation) as one full sequence."""
    pairs = [split_request(tokenizer, c, x) for c, x in requests]
    pairs = [_fit(ctx, cont, _context_length(model)) for ctx, cont in pairs]
    results = _Results(len(pairs), None)
    _score_pairs_tokens(model, pairs, results, batch_size=batch_size, stats=LoglikelihoodStats())
    return results.values


# -- the prefix-tree scorer ---------------------------------------------------------------


@dataclass
class _Context:
    """One distinct context and the continuations scored after it."""

    ids: tuple[int, ...]
    continuations: list[tuple[int, list[int]]]  # (request index, token ids)


@dataclass
class _Target:
    """One request's continuation tokens and the nodes whose outputs predict them."""

    request: int
    tokens: list[int]
    predictors: list[int]  # node indices in the segment's trie; -1: the context's last token


@dataclass
class _Segment:
    """What one context puts in a row: its tokens after the shared prefix, then a trie of the
    continuations' input tokens (a continuation's last token is only predicted, never run)."""

    own: list[int]
    nodes: list[tuple[int, int]]  # (token, parent node; -1: the context's last token)
    targets: list[_Target]

    @classmethod
    def of(cls, context: _Context, shared: int) -> _Segment:
        nodes: list[tuple[int, int]] = []
        index: dict[tuple[int, int], int] = {}
        targets: list[_Target] = []
        for request, tokens in context.continuations:
            parent, predictors = -1, [-1]
            for token in tokens[:-1]:
                if (token, parent) not in index:
                    index[token, parent] = len(nodes)
                    nodes.append((token, parent))
                parent = index[token, parent]
                predictors.append(parent)
            targets.append(_Target(request, tokens, predictors[: len(tokens)]))  # none if empty
        return cls(list(context.ids[shared:]), nodes, targets)

    @property
    def length(self) -> int:
        return len(self.own) + len(self.nodes)


class _PrefixCache:
    """Keys and values of a shared prefix, given to every row of a batch and never changed.

    Attention layers call ``update`` with the new tokens' keys and values and get
    back the prefix's (expanded along the batch) followed by the new ones. While
    recording (the prefix's own forward passes) the result is kept.
    """

    def __init__(self, layers: int) -> None:
        self.keys: list[torch.Tensor | None] = [None] * layers
        self.values: list[torch.Tensor | None] = [None] * layers
        self.recording = True

    def update(
        self,
        key_states: torch.Tensor,
        value_states: torch.Tensor,
        layer_idx: int,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        keys, values = self.keys[layer_idx], self.values[layer_idx]
        if keys is not None and values is not None:
            rows = key_states.shape[0]
            key_states = torch.cat([keys.expand(rows, -1, -1, -1), key_states], dim=2)
            value_states = torch.cat([values.expand(rows, -1, -1, -1), value_states], dim=2)
        if self.recording:
            self.keys[layer_idx], self.values[layer_idx] = key_states, value_states
        return key_states, value_states


class _Rows:
    """A forward pass being laid out: token ids, positions, the (row, query, key) mask, and
    where each target's predicting outputs sit."""

    def __init__(self, rows: int, width: int, shared: int) -> None:
        self.shared = shared
        self.input_ids = torch.zeros((rows, width), dtype=torch.long)
        self.positions = torch.zeros((rows, width), dtype=torch.long)
        self.allowed = torch.zeros((rows, width, shared + width), dtype=torch.bool)
        self.allowed[:, :, :shared] = True
        # Padding sees only itself, so that no row of the mask is empty.
        self.allowed[:, :, shared:].diagonal(dim1=1, dim2=2).fill_(True)
        self.gather: list[tuple[_Target, list[tuple[int, int]]]] = []
        self.tokens = 0

    def place(self, row: int, segment: _Segment, own_at: int, nodes_at: int) -> None:
        """Put `segment` in `row`: its own tokens from column `own_at`, its trie from `nodes_at`."""
        shared = self.shared  # key columns: the shared prefix's, then this row's
        n = len(segment.own)
        own = slice(own_at, own_at + n)
        own_keys = slice(shared + own_at, shared + own_at + n)
        self.input_ids[row, own] = torch.tensor(segment.own)
        self.positions[row, own] = torch.arange(shared, shared + n)
        self.allowed[row, own, own_keys] = torch.ones(n, n, dtype=torch.bool).tril()
        depth: list[int] = []
        for i, (token, parent) in enumerate(segment.nodes):
            column = nodes_at + i
            depth.append(1 + (depth[parent] if parent >= 0 else 0))
            self.input_ids[row, column] = token
            self.positions[row, column] = shared + n - 1 + depth[i]
            # A node sees what its parent sees (the context and the parent's ancestors), the
            # parent, and itself: one row copy, not a walk up the trie (long tries are chains).
            if parent >= 0:
                self.allowed[row, column] = self.allowed[row, nodes_at + parent]
            else:
                self.allowed[row, column, own_keys] = True
            self.allowed[row, column, shared + column] = True
        last = own_at + n - 1
        for target in segment.targets:
            columns = [last if p < 0 else nodes_at + p for p in target.predictors]
            self.gather.append((target, [(row, c) for c in columns]))
        self.tokens += segment.length


class _TreeScorer:
    """Scores requests context by context, sharing long common prefixes across contexts.

    Contexts that share nothing are laid out one per row, the context first (its
    mask is plainly causal, so attention takes the causal fast path, see
    models/tree_attention.py) and its continuation trie behind it. Contexts
    behind a shared prefix are short; several are packed into each row, so
    there is little padding.
    """

    def __init__(self, model: Any, batch_size: int, stats: LoglikelihoodStats) -> None:
        self.model = model
        self.decoder = model.get_decoder()
        self.head = model.get_output_embeddings()
        config = model.config
        self.softcap = getattr(config, "final_logit_softcapping", None)
        self.layers = config.num_hidden_layers
        self.heads = config.num_attention_heads
        layer_types = getattr(config, "layer_types", None) or []
        self.window: int | None = (
            config.sliding_window if any(t == "sliding_attention" for t in layer_types) else None
        )
        self.batch_size = max(1, batch_size)
        self.device = next(model.parameters()).device
        self.stats = stats

    def run(self, pairs: list[tuple[list[int], list[int]]], results: _Results) -> None:
        contexts = _group_by_context(pairs)
        self.stats.contexts = len(contexts)
        with torch.inference_mode(), tree_attention_on(self.model):
            for prefix, members in _prefix_groups(contexts):
                segments = [_Segment.of(c, len(prefix)) for c in members]
                if prefix:
                    cache = self._run_prefix(prefix)
                    for batch in self._packed_batches(segments, len(prefix)):
                        self._score(batch, cache, None, results)
                else:
                    nothing = _PrefixCache(self.layers)
                    nothing.recording = False
                    for rows, head in self._causal_batches(segments):
                        self._score(rows, nothing, head, results)

    def _run_prefix(self, prefix: tuple[int, ...]) -> _PrefixCache:
        cache = _PrefixCache(self.layers)
        for start in range(0, len(prefix), PREFIX_CHUNK):
            chunk = list(prefix[start : start + PREFIX_CHUNK])
            width = len(chunk)
            positions = torch.arange(start, start + width, device=self.device)[None, :]
            key_positions = torch.arange(start + width, device=self.device)[None, :]
            allowed = key_positions[:, None, :] <= positions[:, :, None]
            ids = torch.tensor([chunk], device=self.device)
            with causal_head(width if start == 0 else None):
                self._forward(ids, positions, allowed, cache, key_positions=key_positions)
            self.stats.computed_tokens += width
            self.stats.padded_tokens += width
        cache.recording = False
        return cache

    def _fits(self, rows: int, width: int, shared: int) -> bool:
        return (
            rows <= self.batch_size
            and rows * width <= TOKEN_BUDGET
            and rows * self.heads * width * (shared + width) <= ATTENTION_BUDGET
        )

    def _causal_batches(self, segments: list[_Segment]) -> Iterator[tuple[_Rows, int]]:
        """One context per row, longest first; each batch with the width of its context part."""
        ordered = sorted(segments, key=lambda s: (-len(s.own), -len(s.nodes)))
        batch: list[_Segment] = []
        for segment in [*ordered, None]:
            if segment is not None:
                grown = [*batch, segment]
                width = len(grown[0].own) + max(len(s.nodes) for s in grown)
                if not batch or self._fits(len(grown), width, 0):
                    batch = grown
                    continue
            head = len(batch[0].own)
            rows = _Rows(len(batch), head + max(len(s.nodes) for s in batch), 0)
            for row, member in enumerate(batch):
                rows.place(row, member, 0, head)
            yield rows, head
            batch = [segment] if segment is not None else []

    def _packed_batches(self, segments: list[_Segment], shared: int) -> Iterator[_Rows]:
        """Several contexts per row, first fit, longest first; of row widths from the longest
        context's to twice that, the one with the least padding."""
        ordered = sorted(segments, key=lambda s: -s.length)
        longest = ordered[0].length
        widths = sorted({longest + longest * step // 8 for step in range(9)})
        packings = [(width, self._pack(ordered, width, shared)) for width in widths]
        width, batches = min(packings, key=lambda p: sum(len(rows) for rows in p[1]) * p[0])
        for rows in batches:
            layout = _Rows(len(rows), width, shared)
            for row, members in enumerate(rows):
                column = 0
                for member in members:
                    layout.place(row, member, column, column + len(member.own))
                    column += member.length
            yield layout

    def _pack(self, ordered: list[_Segment], width: int, shared: int) -> list[list[list[_Segment]]]:
        """Batches of rows of segments, each row at most `width` tokens, within the budgets."""
        batches: list[list[list[_Segment]]] = []
        while ordered:
            rows: list[list[_Segment]] = []
            free: list[int] = []
            rest: list[_Segment] = []
            for segment in ordered:
                row = next((r for r, room in enumerate(free) if room >= segment.length), None)
                if row is None and (not rows or self._fits(len(rows) + 1, width, shared)):
                    rows.append([])
                    free.append(width)
                    row = len(rows) - 1
                if row is None:
                    rest.append(segment)
                    continue
                rows[row].append(segment)
                free[row] -= segment.length
            batches.append(rows)
            ordered = rest
        return batches

    def _score(
        self,
        rows: _Rows,
        cache: _PrefixCache,
        causal: int | None,
        results: _Results,
    ) -> None:
        shared = rows.shared
        count, width = rows.input_ids.shape
        self.stats.computed_tokens += rows.tokens
        self.stats.padded_tokens += count * width
        positions = rows.positions.to(self.device)
        key_positions = torch.cat([torch.arange(shared).expand(count, shared), rows.positions], 1)
        with causal_head(causal):
            hidden = self._forward(
                rows.input_ids.to(self.device),
                positions,
                rows.allowed.to(self.device),
                cache,
                key_positions=key_positions.to(self.device),
            )
        # Continuations that start alike are predicted from the same places: one output each.
        distinct = list(dict.fromkeys(place for _, at in rows.gather for place in at))
        if not distinct:
            return
        index = torch.tensor(distinct, device=self.device)
        logits = self._logits(hidden[index[:, 0], index[:, 1]]).float()
        # log_softmax, not logits - logsumexp: the harness's arithmetic, which matches to 1e-5.
        logprobs = torch.log_softmax(logits, -1)
        slot = {place: i for i, place in enumerate(distinct)}
        picks = torch.tensor([slot[place] for _, at in rows.gather for place in at])
        tokens = torch.tensor([t for target, _ in rows.gather for t in target.tokens])
        picks, tokens = picks.to(self.device), tokens.to(self.device)
        chosen = logprobs[picks, tokens].tolist()
        hits = (logits.argmax(-1)[picks] == tokens).tolist()
        top_values: list[list[float]] = []
        top_ids: list[list[int]] = []
        if results.top:
            values, ids = logprobs.topk(results.top, dim=-1)
            top_values, top_ids = values[picks].tolist(), ids[picks].tolist()
        cursor = 0
        for target, at in rows.gather:
            span = slice(cursor, cursor + len(at))
            if results.top:
                results.set_tokens(target.request, chosen[span], top_ids[span], top_values[span])
            results[target.request] = (sum(chosen[span]), all(hits[span]))
            cursor += len(at)

    def _forward(
        self,
        input_ids: torch.Tensor,
        positions: torch.Tensor,
        allowed: torch.Tensor,
        cache: _PrefixCache,
        *,
        key_positions: torch.Tensor,
    ) -> torch.Tensor:
        """Final hidden states of a forward pass with an explicit (rows, queries, keys) mask."""
        mask: Any = _additive(allowed[:, None], self.model.dtype)
        if self.window is not None:
            near = positions[:, :, None] - key_positions[:, None, :] < self.window
            mask = {
                "full_attention": mask,
                "sliding_attention": _additive((allowed & near)[:, None], self.model.dtype),
            }
        out = self.decoder(
            input_ids=input_ids,
            position_ids=positions,
            attention_mask=mask,
            use_cache=True,
            **cache_argument(self.decoder, cache),
        )
        self.stats.forwards += 1
        return out.last_hidden_state

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.head(hidden)
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A boolean mask as the additive float mask attention adds to its scores: converted once
    here, not again in every layer."""
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill_(
        ~allowed, torch.finfo(dtype).min
    )


def _group_by_context(pairs: list[tuple[list[int], list[int]]]) -> list[_Context]:
    contexts: dict[tuple[int, ...], _Context] = {}
    for index, (ctx, cont) in enumerate(pairs):
        key = tuple(ctx)
        if key not in contexts:
            contexts[key] = _Context(key, [])
        contexts[key].continuations.append((index, cont))
    return list(contexts.values())


def _prefix_groups(contexts: list[_Context]) -> list[tuple[tuple[int, ...], list[_Context]]]:
    """Runs of (lexicographically) neighbouring contexts that share a long prefix, with it.

    A context joins the run while the run's common prefix stays at least
    MIN_SHARED_PREFIX tokens and, from the third member on, at least half of
    what the run shared before;
    every context keeps one token of its own, which predicts its continuations.
    """
    ordered = sorted(contexts, key=lambda c: c.ids)
    groups: list[tuple[tuple[int, ...], list[_Context]]] = []
    members: list[_Context] = []
    shared = 0
    for context in ordered:
        if members:
            joined = min(shared, _common_length(members[-1].ids, context.ids), len(context.ids) - 1)
            if joined >= MIN_SHARED_PREFIX and (len(members) == 1 or 2 * joined >= shared):
                members.append(context)
                shared = joined
                continue
            groups.append((members[0].ids[: _worth(shared, len(members))], members))
        members, shared = [context], len(context.ids) - 1
    if members:
        groups.append((members[0].ids[: _worth(shared, len(members))], members))
    return _merge_unshared(groups)


def _merge_unshared(
    groups: list[tuple[tuple[int, ...], list[_Context]]],
) -> list[tuple[tuple[int, ...], list[_Context]]]:
    """Contexts that share nothing worth running once are batched together, as one group."""
    shared = [g for g in groups if g[0]]
    alone = [c for prefix, members in groups if not prefix for c in members]
    return [*shared, ((), alone)] if alone else shared


def _worth(shared: int, members: int) -> int:
    """The shared prefix length to run once: none for a lone context or a short prefix."""
    return shared if members > 1 and shared >= MIN_SHARED_PREFIX else 0


def _common_length(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def _count_requests(pairs: list[tuple[list[int], list[int]]], stats: LoglikelihoodStats) -> None:
    """Pair tokens (what per-pair scoring runs), and the prefix tree's size, attention and
    scored positions: the least work any scorer must do."""
    sequences = sorted(tuple([*c, *x][:-1]) for c, x in pairs)
    stats.requests += len(pairs)
    stats.pair_tokens += sum(len(s) for s in sequences)
    previous: tuple[int, ...] = ()
    for sequence in sequences:
        common, length = _common_length(previous, sequence), len(sequence)
        stats.tree_tokens += length - common
        stats.tree_attended += (length * (length + 1) - common * (common + 1)) // 2
        previous = sequence
    predicting: dict[tuple[int, ...], set[tuple[int, ...]]] = {}
    for context, continuation in pairs:
        starts = predicting.setdefault(tuple(context), set())
        starts.update(tuple(continuation[:i]) for i in range(len(continuation)))
    stats.scored_positions += sum(len(starts) for starts in predicting.values())


def _context_length(model: Any) -> int:
    config = getattr(model, "config", None)
    return int(getattr(config, "max_position_embeddings", 0) or 2048)


def _fit(context: list[int], continuation: list[int], limit: int) -> tuple[list[int], list[int]]:
    """Cut the context from the left so that the scored sequence fits, as the harness does."""
    excess = len(context) + len(continuation) - 1 - limit
    return (context[excess:] if excess > 0 else context), continuation


def _score_pairs_tokens(
    model: Any,
    pairs: list[tuple[list[int], list[int]]],
    results: _Results,
    *,
    batch_size: int,
    stats: LoglikelihoodStats,
) -> None:
    scored = [i for i, (_, continuation) in enumerate(pairs) if continuation]
    order = sorted(scored, key=lambda i: -len(pairs[i][0]) - len(pairs[i][1]))
    device = next(model.parameters()).device
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            sequences = [(pairs[i][0] + pairs[i][1])[:-1] for i in batch]
            width = max(len(s) for s in sequences)
            input_ids = torch.zeros((len(batch), width), dtype=torch.long)
            for row, ids in enumerate(sequences):
                input_ids[row, : len(ids)] = torch.tensor(ids)
            logits = model(input_ids=input_ids.to(device)).logits
            stats.forwards += 1
            stats.computed_tokens += sum(len(s) for s in sequences)
            stats.padded_tokens += len(batch) * width
            for row, index in enumerate(batch):
                continuation = pairs[index][1]
                end = len(sequences[row])
                span = torch.log_softmax(logits[row, end - len(continuation) : end].float(), dim=-1)
                target = torch.tensor(continuation, device=device)
                chosen = span.gather(-1, target[:, None])[:, 0]
                greedy = bool((span.argmax(dim=-1) == target).all())
                if results.top:
                    top_values, top_ids = span.topk(results.top, dim=-1)
                    results.set_tokens(
                        index, chosen.tolist(), top_ids.tolist(), top_values.tolist()
                    )
                results[index] = (float(chosen.sum()), greedy)
