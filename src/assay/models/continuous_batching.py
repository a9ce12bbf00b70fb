"""Continuous batching for a transformers causal LM.

Why not `model.generate` on padded batches: on a CPU every decode step costs
about the same whether a row still needs tokens or finished long ago, so a
static batch runs as long as its longest answer with most rows idle. Here every
sequence owns a *slot* in a preallocated key/value cache with its own length;
a finished sequence leaves its slot at once and the next prompt takes it, so
every step works on sequences that still need tokens. Nothing is padded during
decoding (each slot's positions start at 0, the attention mask hides the slots'
unused tail), and prompts are prefilled in length-sorted groups with right
padding, which causal attention makes harmless.

Supported: decoder-only models whose attention layers call
``past_key_values.update(k, v, layer_idx)`` and accept a prepared 4D mask
(Llama, Mistral, Qwen 2/3, Gemma 2/3, Phi-3 and their kin). Sliding-window
layers get their own mask; sequences longer than the window fall back to
``model.generate``.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

SUPPORTED_MODEL_TYPES = frozenset(
    {"llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text", "phi3", "olmo2", "granite"}
)
SLOT_CACHE_BYTES = 2 * 1024**3
PREFILL_TOKEN_BUDGET = 4096
SHORTEST_COMPILED_CACHE = 512
"""A compiled decode step's cache holds a power of two positions, this many at least."""

log = logging.getLogger("assay")


@dataclass
class SequenceOutput:
    """What the engine produced for one prompt."""

    tokens: list[int]
    finish_reason: str
    seconds: float


@dataclass(frozen=True)
class TokenLogprobs:
    """How likely a generated token was, before sampling changed anything (log_softmax of
    the logits), and the likeliest tokens at its position, likeliest first."""

    logprob: float
    top: tuple[tuple[int, float], ...] = ()


TokenCallback = Callable[[int, int, TokenLogprobs | None], bool | None]
"""Called with (prompt index, token id, its log-probabilities when asked for) as each token
is chosen; returning False stops that sequence (its client went away)."""


@dataclass
class _Row:
    index: int
    prompt_len: int
    started: float
    generator: torch.Generator | None
    tokens: list[int] = field(default_factory=list)
    cancelled: bool = False


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen: greedy when temperature is 0."""

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def choose(self, logits: torch.Tensor, rows: Sequence[_Row]) -> list[int]:
        if self.temperature <= 0:
            return logits.argmax(dim=-1).tolist()
        probs = torch.softmax(logits.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            keep = sorted_probs.cumsum(dim=-1) - sorted_probs < self.top_p
            sorted_probs = sorted_probs * keep
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        return [
            int(torch.multinomial(probs[i], 1, generator=row.generator))
            for i, row in enumerate(rows)
        ]


class SlotCache:
    """A key/value cache with one slot per sequence in flight, each with its own length.

    Active sequences always occupy slots ``0..n-1`` so the model sees a plain
    view of the buffers; when a sequence finishes, the last active one moves
    into its slot.
    """

    def __init__(
        self,
        layers: int,
        slots: int,
        kv_heads: int,
        max_len: int,
        head_dim: int,
        dtype: torch.dtype,
        device: torch.device,
        *,
        full_view: bool = False,
    ) -> None:
        shape = (slots, kv_heads, max_len, head_dim)
        self.full_view = full_view
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(layers)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(layers)]
        self.lengths = torch.zeros(slots, dtype=torch.long, device=device)
        self.view_len = 0
        # Row (slot, head) of the buffers seen as (slots * kv_heads * max_len, head_dim),
        # at position 0; a step writes at these plus each slot's position.
        heads = torch.arange(kv_heads, device=device)
        self._row_starts = (
            torch.arange(slots, device=device)[:, None] * kv_heads + heads
        ) * max_len
        self._write_rows = torch.zeros(0, dtype=torch.long, device=device)

    def prepare_step(self, n: int) -> torch.Tensor:
        """Set up a decode step for slots 0..n-1; returns the new tokens' positions."""
        positions = self.lengths[:n].clone()
        self._write_rows = (self._row_starts[:n] + positions[:, None]).reshape(-1)
        # A full view keeps every step's shapes the same (a compiled step's); the mask
        # hides the positions not written yet.
        self.view_len = self.keys[0].shape[2] if self.full_view else int(positions.max()) + 1
        return positions

    def update(
        self,
        key_states: torch.Tensor,
        value_states: torch.Tensor,
        layer_idx: int,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Called by each attention layer with the step's new keys and values.

        One index_copy_ per buffer on its flat view: advanced indexing on the 4D buffer
        (keys[rows, :, positions, :]) was a tenth of a batched decode step."""
        n, heads, _, dim = key_states.shape
        keys, values = self.keys[layer_idx], self.values[layer_idx]
        keys.view(-1, dim).index_copy_(0, self._write_rows, key_states.reshape(n * heads, dim))
        values.view(-1, dim).index_copy_(0, self._write_rows, value_states.reshape(n * heads, dim))
        return keys[:n, :, : self.view_len], values[:n, :, : self.view_len]

    def finish_step(self, n: int) -> None:
        self.lengths[:n] += 1

    def load(self, slot: int, prefill: Any, row: int, length: int) -> None:
        """Copy one prefilled sequence (row of a DynamicCache) into a slot."""
        for layer, (keys, values) in enumerate(zip(self.keys, self.values, strict=True)):
            keys[slot, :, :length] = prefill.layers[layer].keys[row, :, :length]
            values[slot, :, :length] = prefill.layers[layer].values[row, :, :length]
        self.lengths[slot] = length

    def move(self, source: int, target: int) -> None:
        length = int(self.lengths[source])
        for keys, values in zip(self.keys, self.values, strict=True):
            keys[target, :, :length] = keys[source, :, :length]
            values[target, :, :length] = values[source, :, :length]
        self.lengths[target] = length


@dataclass(frozen=True)
class StopRule:
    """When a sequence is done: an end token, a stop string, or the token budget."""

    eos_ids: frozenset[int]
    max_new_tokens: int
    stop_strings: tuple[str, ...] = ()
    decode: Callable[[list[int]], str] | None = None

    def check(self, tokens: list[int]) -> str | None:
        if tokens and tokens[-1] in self.eos_ids:
            return "stop"
        if self.stop_strings and self.decode is not None:
            text = self.decode(tokens)
            if any(stop in text for stop in self.stop_strings):
                return "stop"
        if len(tokens) >= self.max_new_tokens:
            return "length"
        return None


class CompiledDecode:
    """The model compiled by torch.compile (Inductor) for decode steps of one sequence.

    Shapes are static: the cache is viewed whole at every step (SlotCache.full_view)
    and holds a power of two positions, so a graph serves every step of every prompt
    up to its length and a longer prompt compiles one more. Symbolic shapes, which
    would serve every length with one graph (and batches with a second), compiled two
    to nine times slower on the bundled model (125 to 500 s against 57 s on 2 cores),
    and sizes equal by chance became guards that failed later.
    """

    def __init__(self, model: Any) -> None:
        self.forward = torch.compile(model, dynamic=False)
        self.lengths: set[int] = set()

    def cache_length(self, needed: int) -> int:
        """The cache length for sequences of up to `needed` positions."""
        length = max(SHORTEST_COMPILED_CACHE, 1 << max(needed - 1, 0).bit_length())
        if length not in self.lengths:
            log.info("compiling the decode step for %d positions (minutes)", length)
            self.lengths.add(length)
        return length


def engine_supports(model: Any, longest_sequence: int) -> bool:
    """Whether continuous batching can run this model on sequences this long."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) not in SUPPORTED_MODEL_TYPES:
        return False
    window = getattr(config, "sliding_window", None)
    layer_types = getattr(config, "layer_types", None) or []
    has_sliding = any(kind == "sliding_attention" for kind in layer_types)
    return not (has_sliding and window is not None and longest_sequence > window)


class ContinuousBatcher:
    """Runs many prompts through a model with a fixed number of slots.

    Args:
        model: A transformers causal LM in eval mode.
        batch_size: Most sequences in flight at once.
        on_token: Told of every token as it is chosen (for streaming); may stop a sequence.
        logprobs: Also compute each chosen token's log-probability and this many likeliest
            alternatives (0: the chosen token's only); None computes nothing.
        decode: A CompiledDecode that decode steps call instead of the model (one
            sequence at a time: batch_size 1); prefill always runs the model itself.
    """

    def __init__(
        self,
        model: Any,
        batch_size: int,
        *,
        on_token: TokenCallback | None = None,
        logprobs: int | None = None,
        decode: CompiledDecode | None = None,
    ) -> None:
        if decode is not None and batch_size != 1:
            raise ValueError("a compiled decode step runs one sequence at a time")
        self.model = model
        self.compiled = decode
        self.decode: Callable[..., Any] = model if decode is None else decode.forward
        self.batch_size = batch_size
        self.on_token = on_token
        self.logprobs = logprobs
        config = model.config
        self.layers = config.num_hidden_layers
        self.kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
        self.head_dim = (
            getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        )
        parameter = next(model.parameters())
        self.dtype, self.device = parameter.dtype, parameter.device
        layer_types = getattr(config, "layer_types", None) or []
        self.sliding_window = (
            config.sliding_window if any(t == "sliding_attention" for t in layer_types) else None
        )
        self._cache_keyword = next(iter(cache_argument(model, None)))

    def run(
        self,
        prompts: Sequence[list[int]],
        stop: StopRule,
        sampling: Sampling,
        on_done: Callable[[int, SequenceOutput], None],
    ) -> None:
        """Generate for every prompt (token ids); on_done(index, output) as each finishes."""
        if not prompts:
            return
        max_len = max(len(p) for p in prompts) + stop.max_new_tokens
        if self.compiled is not None:
            max_len = self.compiled.cache_length(max_len)
        slots = self._slot_count(max_len)
        cache = SlotCache(
            self.layers,
            slots,
            self.kv_heads,
            max_len,
            self.head_dim,
            self.dtype,
            self.device,
            full_view=self.compiled is not None,
        )
        queue = sorted(range(len(prompts)), key=lambda i: len(prompts[i]), reverse=True)
        active: list[_Row] = []
        last_tokens = torch.zeros(slots, dtype=torch.long, device=self.device)
        admit_threshold = max(1, slots // 8)

        with torch.inference_mode():
            while queue or active:
                free = slots - len(active)
                if queue and (free >= admit_threshold or not active):
                    group, queue = queue[:free], queue[free:]
                    self._admit(group, prompts, active, cache, last_tokens, sampling)
                    self._retire(active, cache, last_tokens, stop, on_done)
                    continue
                self._decode_step(active, cache, last_tokens, sampling)
                self._retire(active, cache, last_tokens, stop, on_done)

    def _slot_count(self, max_len: int) -> int:
        bytes_per_slot = (
            2 * self.layers * self.kv_heads * max_len * self.head_dim * self.dtype.itemsize
        )
        return max(1, min(self.batch_size, SLOT_CACHE_BYTES // bytes_per_slot))

    def _admit(
        self,
        group: list[int],
        prompts: Sequence[list[int]],
        active: list[_Row],
        cache: SlotCache,
        last_tokens: torch.Tensor,
        sampling: Sampling,
    ) -> None:
        """Prefill a length-sorted group of prompts, in chunks that fit the token budget."""
        start = 0
        while start < len(group):
            longest = len(prompts[group[start]])
            size = max(1, min(len(group) - start, PREFILL_TOKEN_BUDGET // max(longest, 1)))
            chunk = group[start : start + size]
            start += size
            rows = [
                _Row(
                    index=i,
                    prompt_len=len(prompts[i]),
                    started=time.perf_counter(),
                    generator=_generator(sampling, i),
                )
                for i in chunk
            ]
            logits, prefill_cache = self._prefill([prompts[i] for i in chunk])
            first = sampling.choose(logits, rows)
            self._report(logits, rows, first)
            for row_in_chunk, row in enumerate(rows):
                slot = len(active)
                cache.load(slot, prefill_cache, row_in_chunk, row.prompt_len)
                row.tokens.append(first[row_in_chunk])
                last_tokens[slot] = first[row_in_chunk]
                active.append(row)

    def _prefill(self, prompts: list[list[int]]) -> tuple[torch.Tensor, Any]:
        from transformers import DynamicCache

        lengths = [len(p) for p in prompts]
        width = max(lengths)
        pad = 0
        input_ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        for row, ids in enumerate(prompts):
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        input_ids = input_ids.to(self.device)
        last = torch.tensor(lengths, device=self.device) - 1
        prefill_cache = DynamicCache(config=self.model.config)
        hidden = self.model.model(
            input_ids=input_ids, use_cache=True, **cache_argument(self.model, prefill_cache)
        ).last_hidden_state
        rows = torch.arange(len(prompts), device=self.device)
        logits = self.model.lm_head(hidden[rows, last])
        softcap = getattr(self.model.config, "final_logit_softcapping", None)
        if softcap:
            logits = torch.tanh(logits / softcap) * softcap
        return logits, prefill_cache

    def _decode_step(
        self, active: list[_Row], cache: SlotCache, last_tokens: torch.Tensor, sampling: Sampling
    ) -> None:
        n = len(active)
        positions = cache.prepare_step(n)
        keys = torch.arange(cache.view_len, device=self.device)
        visible = keys[None, :] <= positions[:, None]
        mask: Any = visible[:, None, None, :]
        if self.sliding_window is not None:
            near = keys[None, :] > positions[:, None] - self.sliding_window
            mask = {"full_attention": mask, "sliding_attention": (visible & near)[:, None, None, :]}
        out = self.decode(
            input_ids=last_tokens[:n, None],
            position_ids=positions[:, None],
            attention_mask=mask,
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_keyword: cache},
        )
        cache.finish_step(n)
        chosen = sampling.choose(out.logits[:, -1], active)
        self._report(out.logits[:, -1], active, chosen)
        for slot, row in enumerate(active):
            row.tokens.append(chosen[slot])
            last_tokens[slot] = chosen[slot]

    def _report(self, logits: torch.Tensor, rows: Sequence[_Row], chosen: list[int]) -> None:
        """Tell on_token of the tokens just chosen, with their log-probabilities if asked."""
        if self.on_token is None:
            return
        details: list[TokenLogprobs | None] = [None] * len(rows)
        if self.logprobs is not None:
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            picked = logprobs.gather(-1, torch.tensor(chosen, device=logits.device)[:, None])
            values, ids = logprobs.topk(self.logprobs, dim=-1)
            for i, (value, row_values, row_ids) in enumerate(
                zip(picked[:, 0].tolist(), values.tolist(), ids.tolist(), strict=True)
            ):
                details[i] = TokenLogprobs(value, tuple(zip(row_ids, row_values, strict=True)))
        for row, token, detail in zip(rows, chosen, details, strict=True):
            if self.on_token(row.index, token, detail) is False:
                row.cancelled = True

    @staticmethod
    def _retire(
        active: list[_Row],
        cache: SlotCache,
        last_tokens: torch.Tensor,
        stop: StopRule,
        on_done: Callable[[int, SequenceOutput], None],
    ) -> None:
        """Report finished sequences and compact the survivors into the low slots."""
        for slot in range(len(active) - 1, -1, -1):
            row = active[slot]
            reason = "cancelled" if row.cancelled else stop.check(row.tokens)
            if reason is None:
                continue
            on_done(
                row.index, SequenceOutput(row.tokens, reason, time.perf_counter() - row.started)
            )
            last = len(active) - 1
            if slot != last:
                cache.move(last, slot)
                last_tokens[slot] = last_tokens[last]
                active[slot] = active[last]
            active.pop()


def cache_argument(model: Any, cache: Any) -> dict[str, Any]:
    """The key/value cache as a keyword argument: `cache` since transformers 5.24,
    `past_key_values` before (still accepted there, with a deprecation warning)."""
    parameters = inspect.signature(model.forward).parameters
    return {"cache" if "cache" in parameters else "past_key_values": cache}


def _generator(sampling: Sampling, index: int) -> torch.Generator | None:
    """A per-prompt generator, so a sampled output does not depend on its batch."""
    if sampling.temperature <= 0:
        return None
    # Modulo 2**64: a seed of any size (negative too) gives a valid generator seed.
    return torch.Generator().manual_seed((sampling.seed * 1_000_003 + index) % 2**64)
