"""Reading a judge's reply: a score, a pass/fail verdict or a pairwise winner, and a reason.

Judges are weak and strange, so several forms are accepted (JSON, "Score: 7",
"7/10", "[[A]]", "Verdict: tie", ...). Before anything is read, every fenced
candidate block and every verbatim copy of a candidate answer is cut out of the
reply, so a judge that echoes an answer saying "Score: 10" does not give it 10.
None means unparsable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

Verdict = str  # "A", "B" or "tie"


@dataclass(frozen=True)
class Parsed:
    """A reply read: the value (score 1-10, 1.0/0.0 for pass/fail, or "A"/"B"/"tie") and reason."""

    value: float | str
    reason: str


def clean(reply: str, tag: str, candidates: Sequence[str]) -> str:
    """The reply without fenced blocks or copies of the candidates in it."""
    text = re.sub(rf"<{re.escape(tag)}>.*?(</{re.escape(tag)}>|$)", " ", reply, flags=re.S)
    for candidate in candidates:
        if len(candidate.strip()) >= 8:
            text = text.replace(candidate.strip(), " ")
    return text


def parse_score(reply: str) -> Parsed | None:
    """A 1-10 score from JSON {"score": 7}, "Score: 7", "7/10" or "rating 7"."""
    data = _json(reply)
    if data is not None and "score" in data:
        value = _number(data["score"])
        if value is not None and 1 <= value <= 10:
            return Parsed(value, _reason(data, reply))
    for pattern in (
        r"(?:score|rating|grade)\W{0,3}\s*(?:is|of)?\s*[:=]?\s*(\d+(?:\.\d+)?)\s*(?:/\s*10)?",
        r"\b(\d+(?:\.\d+)?)\s*/\s*10\b",
        r"\b(\d+(?:\.\d+)?)\s+out\s+of\s+10\b",
    ):
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
    for pattern in (
        r"\[\[\s*(A|B|tie|C)\s*\]\]",
        r"(?:winner|verdict|better(?: answer)?)\s*(?:is)?\s*[:=]?\s*\(?\"?(A|B|tie)\b",
    ):
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


def _json(reply: str) -> dict[str, object] | None:
    for match in re.finditer(r"\{[^{}]*\}", reply, flags=re.S):
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
