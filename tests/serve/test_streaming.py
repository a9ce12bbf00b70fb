"""Streamed text is released only when no later token can change it, so that a stream's
pieces add up to the text of the same request without streaming."""

from __future__ import annotations

import pytest

from assay.serve.streaming import TextStream

# A toy "tokenizer": each token id is a byte; decoding is UTF-8 with replacement, as a
# byte-level BPE decodes a half character.
TEXT = "Bonjour, café ☕ — voilà.\nEnd"


def decode(tokens: list[int]) -> str:
    return bytes(tokens).decode("utf-8", errors="replace")


def stream_pieces(stream: TextStream, text: str, final: str) -> list[str]:
    pieces = [stream.push(byte) for byte in text.encode()]
    return [*pieces, stream.finish(final)]


def test_pieces_add_up_and_never_hold_half_a_character() -> None:
    pieces = stream_pieces(TextStream(decode, ()), TEXT, TEXT)
    assert "".join(pieces) == TEXT
    assert all("\ufffd" not in piece for piece in pieces)
    assert sum(1 for p in pieces if p) > 10  # released as it comes, not at the end


@pytest.mark.parametrize(
    ("stops", "expected"),
    [
        ((".",), "Bonjour, café ☕ — voilà"),
        (("\nEnd",), "Bonjour, café ☕ — voilà."),
        (("é ☕",), "Bonjour, caf"),
    ],
)
def test_a_stop_string_is_never_sent_even_in_part(stops: tuple[str, ...], expected: str) -> None:
    stream = TextStream(decode, stops)
    sent = ""
    for byte in TEXT.encode():
        sent += stream.push(byte)
        for stop in stops:  # no piece sent so far ends with the start of a stop string
            assert stop not in sent
    sent += stream.finish(expected)
    assert sent == expected


def test_text_that_decoding_rewrites_waits_until_it_settles() -> None:
    rewrites = {(1,): "a b", (1, 2): "ab c"}  # the second token changes earlier text
    stream = TextStream(lambda tokens: rewrites[tuple(tokens)], ())
    assert stream.push(1) == "a b"
    assert stream.push(2) == ""  # not a continuation of what was sent: nothing more is sent
