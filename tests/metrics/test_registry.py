"""The metric registry: registering, looking up, options, names from the command line."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assay.data.example import Example
from assay.exceptions import MetricError, NotFoundError
from assay.metrics import (
    MetricFn,
    Score,
    ScoreInput,
    get_metric,
    list_metrics,
    metric,
    metric_info,
    parse_metric_names,
    register_metric,
)

BUILT_INS = {"exact_match", "f1", "contains", "length", "length_ratio", "embedding"}


def item(prediction: str, reference: str | None = None, example_id: str = "0") -> ScoreInput:
    return ScoreInput(prediction, Example(example_id, "question?", reference, {"topic": "geo"}))


def test_built_ins_are_registered_with_their_flags() -> None:
    infos = {info.name: info for info in list_metrics()}
    assert infos.keys() >= BUILT_INS
    assert infos["exact_match"].pass_fail
    assert infos["contains"].pass_fail
    assert not infos["f1"].pass_fail
    assert all(info.description for info in infos.values())
    assert [info.name for info in list_metrics()] == sorted(infos)


def test_metric_info() -> None:
    info = metric_info("exact_match")
    assert info.name == "exact_match"
    assert info.higher_is_better
    assert info.description.startswith("1.0 when the prediction equals the reference")


@pytest.mark.usefixtures("clean_registry")
def test_metric_decorator_registers_a_per_example_function() -> None:
    @metric("mentions_price", pass_fail=True)
    def mentions_price(prediction: str, reference: str | None) -> bool:
        """Whether the answer quotes a price."""
        return "$" in prediction

    assert mentions_price("$3", None) is True  # returned unchanged
    scores = get_metric("mentions_price")([item("costs $3"), item("free")])
    assert scores == [Score(1.0), Score(0.0)]
    info = metric_info("mentions_price")
    assert info.pass_fail
    assert info.description == "Whether the answer quotes a price."


@pytest.mark.usefixtures("clean_registry")
def test_metric_decorator_passes_the_example_when_asked() -> None:
    @metric("topic_echo")
    def topic_echo(prediction: str, reference: str | None, example: Example) -> Score:
        return Score(float(example.fields["topic"] in prediction), detail=example.id)

    [score] = get_metric("topic_echo")([item("geo stuff", example_id="q7")])
    assert score == Score(1.0, "q7")


@pytest.mark.usefixtures("clean_registry")
def test_metric_decorator_rejects_bad_return_values_and_signatures() -> None:
    @metric("returns_text")
    def returns_text(prediction: str, reference: str | None) -> float:
        return prediction  # type: ignore[return-value]

    with pytest.raises(MetricError, match=r"'returns_text' returned str for example '0'"):
        get_metric("returns_text")([item("oops")])

    with pytest.raises(TypeError, match="takes 1 parameters"):
        metric("one_arg")(lambda prediction: 1.0)


@pytest.mark.usefixtures("clean_registry")
def test_register_metric_factory_with_options() -> None:
    @register_metric("starts_with", higher_is_better=False)
    def starts_with(prefix: str = "A") -> MetricFn:
        """Whether the prediction starts with a prefix."""

        def score(items: Sequence[ScoreInput]) -> list[Score]:
            return [Score(float(i.prediction.startswith(prefix))) for i in items]

        return score

    assert get_metric("starts_with", prefix="B")([item("Bee"), item("Ant")]) == [
        Score(1.0),
        Score(0.0),
    ]
    assert not metric_info("starts_with").higher_is_better


@pytest.mark.usefixtures("clean_registry")
def test_registering_a_taken_name_needs_replace() -> None:
    with pytest.raises(ValueError, match="already registered"):
        metric("exact_match")(lambda prediction, reference: 1.0)

    metric("exact_match", replace=True)(lambda prediction, reference: 0.5)
    assert get_metric("exact_match")([item("x", "x")]) == [Score(0.5)]


def test_malformed_names_are_refused() -> None:
    for bad in ["", "a,b", "two words", " padded"]:
        with pytest.raises(ValueError, match="Metric names"):
            register_metric(bad)


def test_unknown_metric_lists_registered_names() -> None:
    with pytest.raises(NotFoundError) as caught:
        get_metric("exact_mtch")
    message = str(caught.value)
    assert "Unknown metric 'exact_mtch'" in message
    assert "Did you mean 'exact_match'?" in message
    for name in BUILT_INS:
        assert name in message


def test_bad_options_name_the_metric_and_its_options() -> None:
    with pytest.raises(MetricError) as caught:
        get_metric("exact_match", ignore_caps=True)
    message = str(caught.value)
    assert "Bad options for metric 'exact_match'" in message
    assert "ignore_caps" in message
    assert "ignore_case: bool = False" in message
    assert "ignore_punctuation: bool = False" in message

    with pytest.raises(MetricError, match="It takes no options"):
        get_metric("f1", anything=1)


@pytest.mark.usefixtures("clean_registry")
def test_a_metric_returning_the_wrong_number_of_scores_is_caught() -> None:
    @register_metric("drops_one")
    def drops_one() -> MetricFn:
        return lambda items: [Score(1.0)] * (len(items) - 1)

    with pytest.raises(MetricError, match="returned 1 scores for 2 predictions"):
        get_metric("drops_one")([item("a"), item("b")])


def test_missing_reference_names_the_example() -> None:
    for name in ["exact_match", "f1", "contains", "length_ratio"]:
        with pytest.raises(MetricError, match=rf"'{name}' needs a reference.*'q42'"):
            get_metric(name)([item("Paris", None, example_id="q42")])
    assert get_metric("length")([item("no reference needed")]) == [Score(3.0)]


def test_empty_batches_score_nothing() -> None:
    for name in BUILT_INS - {"embedding"}:
        assert get_metric(name)([]) == []


def test_parse_metric_names() -> None:
    assert parse_metric_names("exact_match,f1,embedding") == ["exact_match", "f1", "embedding"]
    assert parse_metric_names(" f1 , ,exact_match,f1,") == ["f1", "exact_match"]


def test_parse_metric_names_rejects_unknown_and_empty() -> None:
    with pytest.raises(NotFoundError, match=r"Unknown metric 'bleu'.*exact_match"):
        parse_metric_names("f1,bleu")
    with pytest.raises(MetricError, match="No metric names given"):
        parse_metric_names(" , ")
