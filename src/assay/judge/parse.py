"""Reading a judge's reply: a score, a pass/fail verdict or a pairwise winner, and a reason.

Judges are weak and strange, so several forms are accepted (JSON, "Score: 7",
"7/10", "[[A]]", "Verdict: tie", ...). Before anything is read, :func:`clean` cuts out
of the reply what the judge may have copied from the untrusted text it was shown (the
question, the reference and the candidates):

1. every fenced block (``<answer-NONCE>…``, see prompts.py), closed or not;
2. every verbatim copy of an untrusted text of 8 characters or more;
3. every verdict-like fragment found in the untrusted text: a JSON object, a
   "Score: 10", "10/10", "[[A]]", "Winner: B" or "verdict: pass", and any line that
   alone reads as a verdict ("10", "PASS").

So a judge that quotes an injected "Score: 10" line from an answer does not give it 10:
what is left is read, and a reply with nothing of the judge's own is unparsable (the
judge is asked again once, then the reply counts as unparsable, never as a grade).
None means unparsable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assay.judge.prompts import ROLES

Verdict = str  # "A", "B" or "tie"

SCORE_PATTERNS = (
    r"(?:score|rating|grade)\W{0,3}\s*(?:is|of)?\s*[:=]?\s*(\d+(?:\.\d+)?)\s*(?:/\s*10)?",
    r"\b(\d+(?:\.\d+)?)\s*/\s*10\b",
    r"\b(\d+(?:\.\d+)?)\s+out\s+of\s+10\b",
)
PAIR_PATTERNS = (
    r"\[\[\s*(A|B|tie|C)\s*\]\]",
    r"(?:winner|verdict|better(?: answer)?)\s*(?:is)?\s*[:=]?\s*\(?\"?(A|B|tie)\b",
)
PASS_FAIL_PATTERNS = (r"(?:verdict|result|grade)\W{0,3}\s*(?:is)?\s*[:=]?\s*\"?(pass|fail)\w*",)
JSON_OBJECT = r"\{[^{}]*\}"
COPIED_TEXT = 8
"""Untrusted texts at least this long are cut wherever the reply repeats them verbatim."""


@dataclass(frozen=True)
class Parsed:
    """A reply read: the value (score 1-10, 1.0/0.0 for pass/fail, or "A"/"B"/"tie") and reason."""

    value: float | str
    reason: str


def clean(reply: str, nonce: str, untrusted: Sequence[str]) -> str:
    """The reply without fenced blocks, copies of the untrusted texts, or the verdict-like
    fragments found in them (see the module's rule).

    Args:
        reply: The judge's reply.
        nonce: The fence nonce of the prompt (prompts.py).
        untrusted: The texts the prompt fenced: question, reference, candidates.
    """
    roles = "|".join(ROLES)
    tag = rf"(?:{roles})-{re.escape(nonce)}"
    text = re.sub(rf"<{tag}>.*?(?:</{tag}>|$)", " ", reply, flags=re.S)
    for piece in untrusted:
        if len(piece.strip()) >= COPIED_TEXT:
            text = text.replace(piece.strip(), " ")
    fragments, lines = _verdict_like(untrusted)
    if lines:
        text = "\n".join("" if _squash(line) in lines else line for line in text.splitlines())
    for fragment in sorted(fragments, key=len, reverse=True):
        text = re.sub(_loose(fragment), " ", text, flags=re.I)
    return text


def _verdict_like(untrusted: Sequence[str]) -> tuple[set[str], set[str]]:
    """Verdict-like fragments in the untrusted texts, and their lines that alone read as
    a verdict (squashed: lower case, single spaces)."""
    fragments: set[str] = set()
    lines: set[str] = set()
    patterns = (JSON_OBJECT, *SCORE_PATTERNS, *PAIR_PATTERNS, *PASS_FAIL_PATTERNS)
    for piece in untrusted:
        for pattern in patterns:
            fragments.update(m.group(0).strip() for m in re.finditer(pattern, piece, flags=re.I))
        for line in piece.splitlines():
            if line.strip() and any(read(line) is not None for read in _READERS):
                lines.add(_squash(line))
    return {f for f in fragments if f}, lines


def _loose(fragment: str) -> str:
    """A pattern matching the fragment whatever the whitespace between its words and signs
    ("Score: 10" matches "score :10"), never inside a longer word or number ("Score: 1"
    does not match in "Score: 10")."""
    tokens = re.findall(r"\w+|[^\w\s]", fragment)
    pattern = r"\s*".join(re.escape(token) for token in tokens)
    if tokens and re.match(r"\w", tokens[0]):
        pattern = r"(?<!\w)" + pattern
    if tokens and re.match(r"\w", tokens[-1]):
        pattern += r"(?!\w)"
    return pattern


def _squash(line: str) -> str:
    return " ".join(line.split()).lower().strip(" .!\"'`*")


def parse_score(reply: str) -> Parsed | None:
    """A 1-10 score from JSON {"score": 7}, "Score: 7", "7/10" or "rating 7"."""
    data = _json(reply)
    if data is not None and "score" in data:
        value = _number(data["score"])
        if value is not None and 1 <= value <= 10:
            return Parsed(value, _reason(data, reply))
    for pattern in SCORE_PATTERNS:
        found = [float(m) for m in re.findall(pattern, reply, flags=re.I)]
        found = [v for v in found if 1 <= v <= 10]
        if found:
            return Parsed(found[-1], _reason(None, reply))
    stripped = reply.strip().rstrip(".")
    if re.fullmatch(r"\d+(?:\.\d+)?", stripped) and 1 <= float(stripped) <= 10:
        return Parsed(float(stripped), "")
    return None


def parse_pass_fail(reply: str) -> Parsed | None:
    """1.0 or 0.0 from JSON {"verdict": "pass"} or exactly one of the words PASS / FAIL."""
    data = _json(reply)
    if data is not None:
        verdict = str(data.get("verdict", data.get("result", ""))).strip().lower()
        if verdict in ("pass", "fail"):
            return Parsed(1.0 if verdict == "pass" else 0.0, _reason(data, reply))
    words = {w.lower() for w in re.findall(r"\b(pass|fail)(?:ed|es|s)?\b", reply, flags=re.I)}
    if len(words) == 1:
        return Parsed(1.0 if words == {"pass"} else 0.0, _reason(None, reply))
    return None


def parse_pair(reply: str) -> Parsed | None:
    """ "A", "B" or "tie" from JSON {"winner": "A"}, "[[A]]", "Winner: B" or "Verdict: tie"."""
    data = _json(reply)
    if data is not None:
        verdict = _pair_word(str(data.get("winner", data.get("verdict", ""))))
        if verdict is not None:
            return Parsed(verdict, _reason(data, reply))
    for pattern in PAIR_PATTERNS:
        found = re.findall(pattern, reply, flags=re.I)
        if found:
            verdict = _pair_word(found[-1])
            if verdict is not None:
                return Parsed(verdict, _reason(None, reply))
    return None


def _pair_word(word: str) -> str | None:
    word = word.strip().strip("\"'[]().").lower()
    if word in ("a", "answer a", "model_a"):
        return "A"
    if word in ("b", "answer b", "model_b"):
        return "B"
    if word in ("tie", "c", "draw", "equal", "both"):
        return "tie"
    return None


_READERS: tuple[Callable[[str], Parsed | None], ...] = (parse_score, parse_pass_fail, parse_pair)


def _json(reply: str) -> dict[str, object] | None:
    for match in re.finditer(JSON_OBJECT, reply, flags=re.S):
        try:
            data = json.loads(match.group(0))
        except ValueError:
            continue
        if isinstance(data, dict):
            return {str(k).lower(): v for k, v in data.items()}
    return None


def _number(value: object) -> float | None:
    try:
        return float(str(value).strip().split("/")[0])
    except ValueError:
        return None


def _reason(data: dict[str, object] | None, reply: str) -> str:
    if data is not None and data.get("reason"):
        text = str(data["reason"])
    else:
        match = re.search(r"reason(?:ing)?\s*[:=]\s*(.+)", reply, flags=re.I | re.S)
        text = match.group(1) if match else reply
    return " ".join(text.split())[:300]
