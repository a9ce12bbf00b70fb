"""From the engine's tokens to what a client receives: each choice's tokens collected as the
engine chooses them, and for a stream, text released piece by piece.

The engine runs in a worker thread and calls back per token; a :class:`Listener`
collects one request's choices there and hands each piece to the event loop with
``call_soon_threadsafe``, so the engine never waits for a client (a slow reader only
grows its own queue). Streamed text equals the text of the same request without
streaming: a piece is released only once no later token can change it (no half
UTF-8 character, no possible start of a stop string), and the last piece is
whatever the finished generation's text adds to what was sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from assay.models.base import Generation
from assay.models.continuous_batching import TokenLogprobs


@dataclass(frozen=True)
class Token:
    """One generated token as the client sees it.

    Attributes:
        id: The token id.
        text: Its text alone.
        logprob: Its log-probability, when asked for.
        top: The likeliest tokens at its position as (text, log-probability), when asked for.
    """

    id: int
    text: str
    logprob: float | None = None
    top: tuple[tuple[str, float], ...] = ()


@dataclass
class Choice:
    """One finished choice: the generation and its tokens."""

    generation: Generation
    tokens: list[Token]


@dataclass(frozen=True)
class Piece:
    """Streamed text of one choice, and the token that brought it (with its log-probabilities)."""

    choice: int
    text: str
    token: Token | None


@dataclass(frozen=True)
class Finished:
    """A choice is done: the text still unsent, and the whole choice."""

    choice: int
    text: str
    result: Choice


@dataclass(frozen=True)
class Failed:
    """The engine failed on this request."""

    error: Exception


Event = Piece | Finished | Failed


class TextStream:
    """The text of one generation as it grows, released only when it can no longer change.

    Args:
        decode: Token ids to text, as the model decodes a finished generation.
        stop: Stop strings: the text ends before the first one, which is never sent.
    """

    def __init__(self, decode: Callable[[list[int]], str], stop: tuple[str, ...]) -> None:
        self.decode = decode
        self.stop = stop
        self.tokens: list[int] = []
        self.sent = ""

    def push(self, token: int) -> str:
        """Add a token; the text that is now safe to send."""
        self.tokens.append(token)
        text = self.decode(self.tokens)
        cut = min((i for i in (text.find(s) for s in self.stop) if i >= 0), default=-1)
        if cut >= 0:
            text = text[:cut]
        else:
            text = text.rstrip("\ufffd")  # an incomplete UTF-8 character waits for its bytes
            text = text[: len(text) - self._held(text)]
        return self._release(text)

    def finish(self, final: str) -> str:
        """The rest of the finished generation's text."""
        return self._release(final)

    def _held(self, text: str) -> int:
        """Characters at the end of `text` that could begin a stop string."""
        longest = 0
        for stop in self.stop:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:size]):
                    longest = size
                    break
        return longest

    def _release(self, text: str) -> str:
        if not text.startswith(self.sent):
            return ""  # decoding changed earlier text: wait until it settles
        piece, self.sent = text[len(self.sent) :], text
        return piece


@dataclass(eq=False)
class Listener:
    """Collects one request's choices in the engine's thread; for a stream, also queues events.

    Args:
        loop: The event loop of the request's handler.
        choices: How many sequences this request runs.
        token_text: A token id's text.
        streams: One TextStream per choice when streaming, else None.
    """

    loop: asyncio.AbstractEventLoop
    choices: int
    token_text: Callable[[int], str]
    streams: list[TextStream] | None = None
    future: asyncio.Future[list[Choice]] = field(init=False)
    events: asyncio.Queue[Event] = field(init=False, default_factory=asyncio.Queue)
    cancelled: bool = False
    _tokens: list[list[Token]] = field(init=False)
    _results: list[Choice | None] = field(init=False)

    def __post_init__(self) -> None:
        self.future = self.loop.create_future()
        self._tokens = [[] for _ in range(self.choices)]
        self._results = [None] * self.choices

    def token(self, choice: int, token: int, detail: TokenLogprobs | None) -> bool:
        """A token was chosen (engine thread); False once the client has gone."""
        if self.cancelled:
            return False
        item = Token(token, self.token_text(token))
        if detail is not None:
            top = tuple((self.token_text(t), value) for t, value in detail.top)
            item = Token(token, item.text, detail.logprob, top)
        self._tokens[choice].append(item)
        if self.streams is not None:
            text = self.streams[choice].push(token)
            self._send(Piece(choice, text, item))
        return True

    def done(self, choice: int, generation: Generation) -> None:
        """A choice finished (engine thread); the request is answered when all have."""
        result = Choice(generation, self._tokens[choice])
        self._results[choice] = result
        if self.streams is not None:
            self._send(Finished(choice, self.streams[choice].finish(generation.text), result))
        if all(r is not None for r in self._results):
            finished = [r for r in self._results if r is not None]
            self.loop.call_soon_threadsafe(self._resolve, finished)

    def fail(self, error: Exception) -> None:
        """The engine failed (event loop thread)."""
        if not self.future.done():
            self.future.set_exception(error)
            self.future.exception()  # retrieved: a stream reports it as an event instead
        self.events.put_nowait(Failed(error))

    def _send(self, event: Event) -> None:
        self.loop.call_soon_threadsafe(self.events.put_nowait, event)

    def _resolve(self, results: list[Choice]) -> None:
        if not self.future.done():
            self.future.set_result(results)
