"""Answer extraction and exact match, as lm-evaluation-harness's filters and metric do them.

A generative task's output goes through named filters (the harness's
`filter_list`): each pulls an answer out of the text with a regular expression
and keeps the first response, or gives "[invalid]" when nothing matches. The
extracted answer is then compared with the reference by the harness's
`exact_match`: both have the task's ignored patterns removed, then (if asked)
are lower-cased and stripped of punctuation, and must then be equal. Both are
written to give exactly the harness's strings, so that scores are comparable.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

FALLBACK = "[invalid]"
"""What a filter gives when its pattern matches nothing (the harness's fallback)."""


@dataclass(frozen=True)
class RegexExtract:
    """The harness's "regex" filter followed by "take_first".

    Attributes:
        pattern: The regular expression; with groups, a match is its first non-empty group.
        group_select: Which match to keep (0 the first, -1 the last).
        fallback: The answer when nothing matches.
    """

    pattern: str
    group_select: int = 0
    fallback: str = FALLBACK
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern))

    def __call__(self, text: str) -> str:
        found = self._compiled.findall(text)
        if not found:
            return self.fallback
        try:
            match = found[self.group_select]
        except IndexError:
            return self.fallback
        if isinstance(match, tuple):
            parts = [m for m in match if m]
            if not parts:
                return self.fallback
            match = parts[0]
        return str(match).strip()


@dataclass(frozen=True)
class ExactMatch:
    """The harness's exact_match: ignored patterns removed from both sides, then compared.

    Attributes:
        regexes_to_ignore: Patterns removed (in order) from prediction and reference.
        ignore_case: Compare lower-cased.
        ignore_punctuation: Drop ASCII punctuation first.
    """

    regexes_to_ignore: tuple[str, ...] = ()
    ignore_case: bool = False
    ignore_punctuation: bool = False

    def normalise(self, text: str) -> str:
        for pattern in self.regexes_to_ignore:
            text = re.sub(pattern, "", text)
        if self.ignore_case:
            text = text.lower()
        if self.ignore_punctuation:
            text = text.translate(str.maketrans("", "", string.punctuation))
        return text

    def __call__(self, prediction: str, reference: str) -> float:
        return float(self.normalise(prediction) == self.normalise(reference))


def cut_at_stops(text: str, stops: tuple[str, ...]) -> str:
    """The text up to the first of any stop string (the harness splits at each in turn)."""
    for stop in stops:
        if stop:
            text = text.split(stop)[0]
    return text
