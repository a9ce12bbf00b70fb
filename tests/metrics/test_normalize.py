"""Text normalisation shared by the string metrics."""

from __future__ import annotations

from assay.metrics.normalize import (
    collapse_whitespace,
    normalize_answer,
    normalize_text,
    remove_punctuation,
)


def test_collapse_whitespace() -> None:
    assert collapse_whitespace("  a \n\t b  ") == "a b"


def test_remove_punctuation_covers_ascii_and_unicode() -> None:
    assert remove_punctuation("a,b.c! “d” — e… $5") == "abc d  e 5"


def test_normalize_text_options() -> None:
    assert normalize_text(" Hello,  World! ") == "Hello, World!"
    assert normalize_text(" Hello,  World! ", ignore_case=True) == "hello, world!"
    assert normalize_text(" Hello , World! ", ignore_punctuation=True) == "Hello World"


def test_normalize_answer_is_squads() -> None:
    assert normalize_answer("The  Cat's hat, an Apple!") == "cats hat apple"
    assert normalize_answer("theatre and a then") == "theatre and then"
