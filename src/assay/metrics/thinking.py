"""A reasoning model's answer without its thinking, or the news that it never answered.

Reasoning models (DeepSeek-R1, Qwen3, ...) think between markers (``<think>`` and
``</think>`` by default; a run's prompt config may name others) before they answer.
The stored prediction keeps everything; every metric scores only the answer after
the thinking. A prediction whose thinking never closes ran out of tokens before it
answered: it is not scored as an empty answer (which would read as a wrong one) but
left unscored, with a detail that says so, and counted as ``unscored`` beside ``n``.

A closing marker with no opening one is thinking too: some chat templates (DeepSeek-R1's)
open the thinking in the prompt, so the model writes only its end.
"""

from __future__ import annotations

from dataclasses import dataclass

UNFINISHED = (
    "no answer: the thinking never closed ({close}), most likely cut at the token limit; "
    "raise max_new_tokens"
)


@dataclass(frozen=True)
class Reply:
    """A prediction split into its thinking and its answer.

    Attributes:
        answer: The text outside the thinking (stripped when there was thinking), or None
            when the thinking never closed and nothing was answered.
        thinking: The thinking's text, or None when the prediction has none.
    """

    answer: str | None
    thinking: str | None

    @property
    def unfinished(self) -> bool:
        """The model was still thinking when it stopped."""
        return self.answer is None


def split_reply(text: str, markers: tuple[str, str]) -> Reply:
    """The prediction's answer and thinking, by the markers (open, close)."""
    opening, closing = markers
    if opening not in text and closing not in text:
        return Reply(text, None)
    answer: list[str] = []
    thinking: list[str] = []
    rest = text
    first_close, first_open = rest.find(closing), rest.find(opening)
    if first_close >= 0 and (first_open < 0 or first_close < first_open):
        thinking.append(rest[:first_close])
        rest = rest[first_close + len(closing) :]
    while True:
        start = rest.find(opening)
        if start < 0:
            answer.append(rest)
            break
        answer.append(rest[:start])
        end = rest.find(closing, start + len(opening))
        if end < 0:
            thinking.append(rest[start + len(opening) :])
            said = "".join(answer).strip()
            return Reply(said or None, "".join(thinking).strip())
        thinking.append(rest[start + len(opening) : end])
        rest = rest[end + len(closing) :]
    return Reply("".join(answer).strip(), "\n".join(t.strip() for t in thinking))


def unfinished_detail(markers: tuple[str, str]) -> str:
    """The detail of a score that could not be given: the thinking never closed."""
    return UNFINISHED.format(close=markers[1])
