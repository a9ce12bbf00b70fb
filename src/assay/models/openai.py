"""The OpenAI-compatible backend: any server that speaks OpenAI's HTTP API.

OpenAI itself, vLLM, llama.cpp's server, Ollama, TGI, or `assay serve`. The spec
is `openai:<model>` or `openai:<model>@<base_url>`; without a URL in the spec the
base URL comes from $OPENAI_BASE_URL (else OpenAI's), the key from
$OPENAI_API_KEY. Chat prompts go to /chat/completions, raw ones to /completions.
Log-likelihoods (benchmarks) go to /completions with the prompt echoed and its
tokens' log-probabilities returned, the protocol vLLM and `assay serve` speak.

Requests run concurrently up to a bound (the model options' batch size). A
request that gets 429, a 5xx, a timeout or a dropped connection is retried with
exponential backoff and full jitter, honouring Retry-After; one that still fails
becomes a Generation with finish_reason "error", so the run completes and
counts it. A remote model can change behind the same name: its fingerprint is
the model name and the URL, and the run records that caveat.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import httpx

from assay.data.prompts import Prompt
from assay.exceptions import ModelError
from assay.models.base import (
    FinishReason,
    Generation,
    GenerationParams,
    LoglikelihoodCallback,
    LoglikelihoodStats,
    ModelInfo,
    ModelOptions,
    ResultCallback,
)
from assay.models.fingerprint import text_digest

DEFAULT_BASE_URL = "https://api.openai.com/v1"
SCORED_PER_REQUEST = 31
"""Most continuations of one context scored in one request (with the context: 32 prompts)."""
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


def parse_target(target: str) -> tuple[str, str]:
    """(model, base_url) from "model" or "model@base_url" (URL else $OPENAI_BASE_URL)."""
    model, at, url = target.partition("@")
    if at and not url.startswith(("http://", "https://")):
        raise ModelError(
            f"openai:{target}: the part after '@' must be a base URL such as "
            "http://127.0.0.1:8000/v1"
        )
    if not model:
        raise ModelError(f"openai:{target}: no model name before '@'")
    base = url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    return model, base.rstrip("/")


class RequestFailed(Exception):
    """A request that failed for good (after retries, or at once for a client error)."""


class OpenAIModel:
    """A model behind an OpenAI-compatible HTTP API.

    Args:
        spec: The spec string as given.
        model: The model name sent in requests.
        base_url: The API root, ending in /v1 for most servers.
        options: batch_size is the bound on concurrent requests.
        api_key: The bearer token; default $OPENAI_API_KEY (none sent if unset).
        max_retries: Retries after the first try for retryable failures.
        backoff_base: Seconds of the first backoff; doubles each retry (with full jitter).
        backoff_max: Longest wait between tries, Retry-After included.
        timeout: Seconds per request.
    """

    def __init__(
        self,
        spec: str,
        model: str,
        base_url: str,
        *,
        options: ModelOptions | None = None,
        api_key: str | None = None,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        timeout: float = 120.0,
    ) -> None:
        self.spec = spec
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.concurrency = max(1, (options or ModelOptions()).batch_size)
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.timeout = timeout

    @property
    def info(self) -> ModelInfo:
        details = {
            "backend": "openai",
            "model": self.model,
            "base_url": self.base_url,
            "note": "remote model: the server may change it behind the same name",
        }
        fingerprint = text_digest(json.dumps({k: details[k] for k in ("model", "base_url")}))
        return ModelInfo(spec=self.spec, fingerprint=fingerprint, details=details)

    @property
    def has_chat_template(self) -> bool:
        return True  # the server applies its own

    def load(self) -> None:
        """Nothing to load: the weights live on the server."""

    def render(self, prompt: Prompt) -> str:
        if not prompt.chat:
            return prompt.raw_text()
        if prompt.tools:  # what is sent, tools included, so the cache key covers them
            tools = [tool.schema() for tool in prompt.tools]
            return json.dumps({"messages": _messages(prompt), "tools": tools}, ensure_ascii=False)
        return json.dumps(_messages(prompt), ensure_ascii=False)

    def loglikelihood(
        self,
        requests: Sequence[tuple[str, str]],
        *,
        on_result: LoglikelihoodCallback | None = None,
        stats: LoglikelihoodStats | None = None,
    ) -> list[tuple[float, bool]]:
        """Through /completions with the prompt echoed and its tokens' log-probabilities
        (``echo``, ``logprobs: 1``, ``max_tokens: 0``), as vLLM and `assay serve` answer.

        The split is the harness's, done by the server's own tokenizer: one request per
        context sends the context and each context + continuation; the context's token
        count marks where each continuation's tokens start. Trailing whitespace of the
        context moves to the continuation first, as in the in-process engine.

        Raises:
            ModelError: A request failed after its retries, or the server does not return
                prompt log-probabilities.
        """
        if not requests:
            return []
        results: list[tuple[float, bool]] = [(0.0, True)] * len(requests)
        groups: dict[str, list[tuple[int, str]]] = {}
        for index, (context, continuation) in enumerate(requests):
            if not context:
                raise ModelError(
                    f"{self.spec}: request {index} has an empty context; a server cannot score "
                    "the first token of a prompt, so score it with a local model"
                )
            stripped = context.rstrip()
            whole = stripped + context[len(stripped) :] + continuation
            groups.setdefault(stripped, []).append((index, whole))
        if stats is not None:
            stats.requests += len(requests)
            stats.contexts += len(groups)
        batches = [
            (context, members[start : start + SCORED_PER_REQUEST])
            for context, members in groups.items()
            for start in range(0, len(members), SCORED_PER_REQUEST)
        ]

        def record(index: int, value: tuple[float, bool]) -> None:
            results[index] = value
            if on_result is not None:
                on_result(index, *value)

        asyncio.run(self._score_all(batches, record))
        return results

    async def _score_all(
        self,
        batches: list[tuple[str, list[tuple[int, str]]]],
        record: Callable[[int, tuple[float, bool]], None],
    ) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        async with self._client() as client:

            async def one(context: str, members: list[tuple[int, str]]) -> None:
                body = {
                    "model": self.model,
                    "prompt": [context, *(whole for _, whole in members)],
                    "max_tokens": 0,
                    "echo": True,
                    "logprobs": 1,
                    "temperature": 0,
                }
                async with gate:
                    try:
                        data = await self._post(client, "/completions", body)
                    except RequestFailed as error:
                        raise ModelError(
                            f"{self.spec}: scoring prompts (echo with logprobs on /completions) "
                            f"failed: {error}"
                        ) from None
                scores = _prompt_scores(data, len(members) + 1, self.spec, self.base_url)
                for (index, _), value in zip(members, scores, strict=True):
                    record(index, value)

            await asyncio.gather(*(one(context, members) for context, members in batches))

    def _client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=self.concurrency)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return httpx.AsyncClient(timeout=self.timeout, limits=limits, headers=headers)

    def generate(
        self,
        prompts: Sequence[Prompt],
        params: GenerationParams,
        on_result: ResultCallback | None = None,
    ) -> list[Generation]:
        if not prompts:
            return []
        return asyncio.run(self._generate_all(prompts, params, on_result))

    async def _generate_all(
        self, prompts: Sequence[Prompt], params: GenerationParams, on_result: ResultCallback | None
    ) -> list[Generation]:
        gate = asyncio.Semaphore(self.concurrency)
        async with self._client() as client:

            async def one(index: int) -> Generation:
                async with gate:
                    generation = await self._generate_one(client, prompts[index], params)
                if on_result is not None:
                    on_result(index, generation)
                return generation

            return list(await asyncio.gather(*(one(i) for i in range(len(prompts)))))

    async def _generate_one(
        self, client: httpx.AsyncClient, prompt: Prompt, params: GenerationParams
    ) -> Generation:
        began = time.perf_counter()
        path, body = self._request(prompt, params)
        try:
            data = await self._post(client, path, body)
            return _parse_response(data, prompt.chat, time.perf_counter() - began)
        except RequestFailed as exc:
            return Generation("", 0, 0, "error", time.perf_counter() - began, error=str(exc))

    def _request(self, prompt: Prompt, params: GenerationParams) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "seed": params.seed,
        }
        if params.temperature > 0 and params.top_p < 1.0:
            body["top_p"] = params.top_p
        if params.stop:
            body["stop"] = list(params.stop)
        if prompt.chat:
            if prompt.tools:  # the server's own template and parser handle the calls
                body["tools"] = [tool.schema() for tool in prompt.tools]
            return "/chat/completions", {**body, "messages": _messages(prompt)}
        return "/completions", {**body, "prompt": prompt.raw_text()}

    async def _post(
        self, client: httpx.AsyncClient, path: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        url = self.base_url + path
        last = ""
        for attempt in range(self.max_retries + 1):
            retry_after: float | None = None
            try:
                response = await client.post(url, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__}: {exc}".rstrip(": ")
            else:
                if response.status_code < 400:
                    try:
                        return cast(dict[str, Any], response.json())
                    except ValueError:
                        raise RequestFailed(f"POST {url}: response is not JSON") from None
                last = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in RETRY_STATUS:
                    raise RequestFailed(f"POST {url}: {last}")
                retry_after = _retry_after(response.headers.get("retry-after"))
            if attempt < self.max_retries:
                await asyncio.sleep(self._backoff(attempt, retry_after))
        raise RequestFailed(f"POST {url}: failed after {self.max_retries + 1} tries; last: {last}")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self.backoff_max, retry_after)
        return random.uniform(0.0, min(self.backoff_max, self.backoff_base * 2**attempt))


def _messages(prompt: Prompt) -> list[dict[str, Any]]:
    return prompt.messages(arguments_as_text=True)


def _prompt_scores(
    data: dict[str, Any], prompts: int, spec: str, base_url: str
) -> list[tuple[float, bool]]:
    """(log-probability, is greedy) of each continuation from an echo answer whose first
    prompt is the context alone and the others the context and each continuation."""
    missing = (
        f"{spec}: the server at {base_url} returned no prompt log-probabilities for echo=true, "
        "logprobs=1, max_tokens=0 on /completions; benchmarks need a server that scores "
        "prompts, such as vLLM or `assay serve`"
    )
    try:
        choices = sorted(data["choices"], key=lambda c: int(c.get("index", 0)))
        logprobs = [c["logprobs"] for c in choices]
        values = [list(lp["token_logprobs"]) for lp in logprobs]
        tops = [
            list(lp.get("top_logprobs") or [None] * len(v))
            for lp, v in zip(logprobs, values, strict=True)
        ]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ModelError(missing) from None
    if len(choices) != prompts:
        raise ModelError(f"{missing} (asked for {prompts} choices, got {len(choices)})")
    generated = _generated_each(data, prompts, spec)
    values = [v[: len(v) - generated] for v in values]
    tops = [t[: len(t) - generated] for t in tops]
    context = len(values[0])
    out = []
    for value, top in zip(values[1:], tops[1:], strict=True):
        span, span_top = value[context:], top[context:]
        if not span or any(v is None for v in span):
            raise ModelError(
                f"{spec}: the server's echo of a context and its continuation do not line up "
                f"(context {context} tokens, whole {len(value)}); it cannot score this request"
            )
        greedy = all(
            isinstance(t, dict) and t and float(v) >= max(float(x) for x in t.values())
            for v, t in zip(span, span_top, strict=True)
        )
        out.append((float(sum(span)), greedy))
    return out


def _generated_each(data: dict[str, Any], prompts: int, spec: str) -> int:
    """Tokens generated after each echoed prompt: none when max_tokens 0 is honoured; a server
    that generates anyway says how many in its usage, spread evenly over the prompts."""
    completion = int((data.get("usage") or {}).get("completion_tokens") or 0)
    if completion % prompts:
        raise ModelError(
            f"{spec}: the server generated {completion} tokens for {prompts} prompts with "
            "max_tokens 0; its echoed prompts cannot be told from its completions"
        )
    return completion // prompts


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _parse_response(data: dict[str, Any], chat: bool, seconds: float) -> Generation:
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"] if chat else choice["text"]
        if chat and choice["message"].get("tool_calls"):
            text = _with_calls(text, choice["message"]["tool_calls"])
    except (KeyError, IndexError, TypeError, AttributeError):
        snippet = json.dumps(data)[:300]
        return Generation("", 0, 0, "error", seconds, error=f"unexpected response: {snippet}")
    usage = data.get("usage") or {}
    reason: FinishReason = "length" if choice.get("finish_reason") == "length" else "stop"
    return Generation(
        text=text or "",
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        finish_reason=reason,
        seconds=seconds,
    )


def _with_calls(text: str | None, tool_calls: list[dict[str, Any]]) -> str:
    """The answer's text with the calls the server parsed, as the JSON that
    assay.models.tool_calls reads back (one call an object, several a list). A call is
    kept as the server sent it, arguments as their JSON text, so a malformed one stays
    malformed for the metrics to see."""
    calls: list[dict[str, Any]] = []
    for call in tool_calls:
        function = call["function"]
        arguments: Any = function.get("arguments") or "{}"
        if isinstance(arguments, str):
            with contextlib.suppress(ValueError):  # else kept as text: invalid arguments
                arguments = json.loads(arguments)
        calls.append({"name": function["name"], "arguments": arguments})
    written = json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
    return f"{text}\n{written}" if text else written
