"""Word-level differences between a reference and a prediction, as plain-text pieces.

The pieces stay plain text: templates escape each one and wrap the changed ones in
<del>/<ins>, so no model text is ever marked safe.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

MAX_TOKENS = 5000
"""Longer texts are shown without highlighting (difflib is quadratic in the worst case)."""

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class Piece:
    """A run of text and whether it differs from the other side."""

    text: str
    changed: bool


def diff_pieces(reference: str, prediction: str) -> tuple[list[Piece], list[Piece]]:
    """(reference pieces, prediction pieces); changed pieces are those not in the other."""
    ref, pred = _TOKEN.findall(reference), _TOKEN.findall(prediction)
    if len(ref) > MAX_TOKENS or len(pred) > MAX_TOKENS:
        return [Piece(reference, False)], [Piece(prediction, False)]
    left: list[Piece] = []
    right: list[Piece] = []
    matcher = difflib.SequenceMatcher(None, ref, pred, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        same = op == "equal"
        if i2 > i1:
            _append(left, "".join(ref[i1:i2]), not same)
        if j2 > j1:
            _append(right, "".join(pred[j1:j2]), not same)
    return left, right


def _append(pieces: list[Piece], text: str, changed: bool) -> None:
    if changed and not text.strip():
        changed = False  # changed whitespace alone is noise
    if pieces and pieces[-1].changed == changed:
        pieces[-1] = Piece(pieces[-1].text + text, changed)
    else:
        pieces.append(Piece(text, changed))
