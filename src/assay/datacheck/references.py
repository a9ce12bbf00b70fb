"""Per-example test-set checks that need no comparison: empty or trivial references,
extreme lengths, and the length summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from assay.data.example import Example
from assay.datacheck.minhash import normalize

LeakKind = Literal["exact_pair", "exact_input", "near", "ngram"]
TRIVIAL = frozenset({"n a", "na", "none", "null", "nan", "todo", "tbd", "unknown", "xxx"})
FAR_OUT = 3.0
"""Lengths beyond the third quartile plus this many interquartile ranges are extreme."""


@dataclass(frozen=True)
class ReferenceIssue:
    """One example whose reference or length looks wrong.

    Attributes:
        example_id: The example.
        issue: "empty_reference", "trivial_reference", "long_input",
            "long_reference" or "empty_input".
        detail: What was seen.
    """

    example_id: str
    issue: str
    detail: str


def reference_issues(examples: Sequence[Example]) -> list[ReferenceIssue]:
    """Empty or trivial references, empty inputs, and far-out lengths."""
    found = []
    has_references = any(e.reference is not None for e in examples)
    for e in examples:
        if not e.input.strip():
            found.append(ReferenceIssue(e.id, "empty_input", "the input is empty"))
        if has_references and (e.reference is None or not e.reference.strip()):
            found.append(ReferenceIssue(e.id, "empty_reference", "no reference answer"))
        elif e.reference is not None:
            text = normalize(e.reference)
            if not text or text in TRIVIAL or text == normalize(e.input):
                found.append(
                    ReferenceIssue(e.id, "trivial_reference", f"reference {e.reference.strip()!r}")
                )
    for issue, texts in (
        ("long_input", [e.input for e in examples]),
        ("long_reference", [e.reference or "" for e in examples]),
    ):
        lengths = np.array([len(t) for t in texts], dtype=float)
        if lengths.size < 8:
            continue
        q1, q3 = np.percentile(lengths, [25, 75])
        limit = q3 + FAR_OUT * max(q3 - q1, 1.0)
        for e, n in zip(examples, lengths.tolist(), strict=True):
            if n > limit:
                found.append(
                    ReferenceIssue(e.id, issue, f"{int(n)} characters (limit {limit:.0f})")
                )
    return found


def length_summary(examples: Sequence[Example]) -> pd.DataFrame:
    """count, mean, std, min, quartiles and max of input and reference lengths."""
    frame = pd.DataFrame(
        {
            "input_chars": [len(e.input) for e in examples],
            "input_words": [len(e.input.split()) for e in examples],
            "reference_chars": [len(e.reference or "") for e in examples],
            "reference_words": [len((e.reference or "").split()) for e in examples],
        }
    )
    return frame.describe().T
