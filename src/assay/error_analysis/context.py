"""What detectors see besides the example itself: the options and facts about the whole run."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assay.data.dialogue import Dialogue
from assay.data.prompts import DEFAULT_THINKING
from assay.error_analysis.prose import known_words
from assay.exceptions import OptionError
from assay.runs.records import EvalConfig, ExampleResult, Run

if TYPE_CHECKING:
    import pandas

FormatKind = Literal["auto", "none", "letter", "json", "number", "regex"]
FORMATS: tuple[FormatKind, ...] = ("auto", "none", "letter", "json", "number", "regex")


@dataclass(frozen=True)
class ErrorOptions:
    """Thresholds and expectations of the detectors; the defaults suit most runs.

    Attributes:
        verbose_ratio: An answer is verbose when it has more than this many times the
            reference's words (and at least ``verbose_min_extra`` words more).
        verbose_min_extra: Fewest extra words for ``verbose``, so "Paris." against
            "Paris" is not flagged.
        too_short_ratio: An answer is too short below this share of the reference's
            words (references of at least ``too_short_min_words`` words only).
        too_short_min_words: Shortest reference (in words) checked for ``too_short``.
        repetition_ratio: Share of repeated word 3-grams above which an answer repeats itself.
        expected_format: "auto" infers the answers' form from the references (a single
            letter, JSON, a number); "none" checks nothing; "regex" uses ``format_regex``.
        format_regex: The pattern a whole answer must match when expected_format is "regex".
        metric: The run's main metric; None takes its first.
        threshold: Scores below it count as wrong; None means 1 for pass/fail
            metrics and 0.5 for the others.
        min_language_chars: Fewest letters of prose on each side before a language is
            detected.
        min_language_words: Fewest distinct prose words on each side before a language
            is detected: shorter texts are too ambiguous to tell.
        train_vocabulary: Words (lower-cased) of the training data: known words for
            ``spelling``, like the run's own questions and references. Build it with
            :func:`training_vocabulary`.
    """

    verbose_ratio: float = 3.0
    verbose_min_extra: int = 15
    too_short_ratio: float = 0.25
    too_short_min_words: int = 8
    repetition_ratio: float = 0.3
    expected_format: FormatKind = "auto"
    format_regex: str | None = None
    metric: str | None = None
    threshold: float | None = None
    min_language_chars: int = 20
    min_language_words: int = 8
    train_vocabulary: frozenset[str] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        if self.expected_format not in FORMATS:
            raise OptionError(
                "expected_format",
                f"must be one of {', '.join(FORMATS)}, got {self.expected_format!r}",
            )
        if self.expected_format == "regex":
            if not self.format_regex:
                raise OptionError("format_regex", "is needed with expected_format regex")
            try:
                re.compile(self.format_regex)
            except re.error as exc:
                raise OptionError("format_regex", f"{self.format_regex!r}: {exc}") from None
        if self.verbose_ratio <= 1:
            raise OptionError("verbose_ratio", f"must be above 1, got {self.verbose_ratio}")


def training_vocabulary(source: str | Path | pandas.DataFrame) -> frozenset[str]:
    """Every word (lower-cased) of a training set's text columns, for
    ``ErrorOptions.train_vocabulary``: a word the model was trained on is no misspelling.

    Args:
        source: Anything :func:`assay.data.load_dataset` reads (a file, a folder, a hub id,
            a DataFrame).

    Raises:
        DataError: The source cannot be read.
    """
    from assay.data import load_dataset

    dataset = load_dataset(source)
    return known_words(
        value for example in dataset for value in example.fields.values() if isinstance(value, str)
    )


@dataclass
class DetectorContext:
    """The run being analysed and the options, with facts about the run computed once.

    Attributes:
        run: The run.
        options: The detectors' options.
        cache: Room for a detector's own precomputed state, by name.
    """

    run: Run
    options: ErrorOptions = field(default_factory=ErrorOptions)
    cache: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def vocabulary(self) -> frozenset[str]:
        """Known words (lower-cased): every word of the run's inputs, references and
        prompts, and of the training vocabulary."""
        texts = (t for r in self.run.results for t in (r.input, r.reference, r.prompt))
        return known_words(texts) | self.options.train_vocabulary

    @functools.cached_property
    def reference_words(self) -> frozenset[str]:
        """Every word (lower-cased) of the run's references: words of the answers' language."""
        return known_words(r.reference for r in self.run.results)

    @functools.cached_property
    def input_words(self) -> frozenset[str]:
        """Every word (lower-cased) of the run's inputs: words of the questions' language."""
        return known_words(r.input for r in self.run.results)

    @functools.cached_property
    def expected_format(self) -> str:
        """The answers' expected form: the option, or one inferred from the references."""
        if self.options.expected_format != "auto":
            return self.options.expected_format
        references = [
            r.reference.strip()
            for r in self.run.results
            if r.reference and not _calls_tools(self.dialogue(r))
        ]
        if not references:
            return "none"
        for kind in ("letter", "number", "json"):
            if all(matches_format(kind, text, None) for text in references):
                return kind
        return "none"

    def dialogue(self, result: ExampleResult) -> Dialogue | None:
        """The example's conversation, tools and expected calls (None for a plain question),
        read from its stored columns by the loader's rule."""
        key = f"dialogue:{result.example_id}"
        if key not in self.cache:
            from assay.scoring import example_of

            self.cache[key] = example_of(result, self.run.info).dialogue
        found: Dialogue | None = self.cache[key]
        return found

    @functools.cached_property
    def thinking(self) -> tuple[str, str]:
        """The run's thinking markers (open, close)."""
        config = self.run.info.config
        return config.prompt.thinking if isinstance(config, EvalConfig) else DEFAULT_THINKING

    @functools.cached_property
    def max_new_tokens(self) -> int | None:
        """The run's generation limit, if it recorded one."""
        config = self.run.info.config
        return config.generation.max_new_tokens if isinstance(config, EvalConfig) else None


def _calls_tools(dialogue: Dialogue | None) -> bool:
    """A tool row: its reference is a call (or text), judged by the tool categories."""
    return dialogue is not None and dialogue.expected_calls is not None


LETTER = re.compile(r"^\(?[A-Za-z]\)?[.)]?$")
NUMBER = re.compile(r"^[-+]?\$?\d[\d,]*(\.\d+)?%?$")


def matches_format(kind: str, text: str, regex: str | None) -> bool:
    """Whether a whole answer has the given form ("letter", "number", "json", "regex")."""
    text = text.strip()
    if kind == "letter":
        return bool(LETTER.match(text))
    if kind == "number":
        return bool(NUMBER.match(text))
    if kind == "json":
        try:
            value = json.loads(text)
        except ValueError:
            return False
        return isinstance(value, Mapping | list)
    if kind == "regex" and regex is not None:
        return re.fullmatch(regex, text, flags=re.DOTALL) is not None
    return True
