"""The one rule for wrong examples, on a run whose first metric has no better direction."""

from __future__ import annotations

import pytest
from tests.runs_builder import make_run

from assay.exceptions import OptionError
from assay.runs.verdicts import main_metric


def test_a_length_scored_first_never_decides_which_answers_are_wrong() -> None:
    run = make_run(
        [
            {"prediction": "Paris", "scores": {"length": 1, "f1": 0.8}},
            {"prediction": "It is Lyon, I think", "scores": {"length": 5, "f1": 0.2}},
        ]
    )
    assert run.info.metrics == ["length", "f1"]
    main = main_metric(run)
    assert (main.name, main.threshold, main.higher_is_better) == ("f1", 0.5, True)
    assert [main.wrong(r) for r in run.results] == [False, True]
    with pytest.raises(OptionError, match=r"length has no better direction.*choose one of: f1"):
        main_metric(run, "length")


def test_a_run_with_only_lengths_has_no_main_metric() -> None:
    run = make_run([{"prediction": "Paris", "scores": {"length": 1}}])
    main = main_metric(run)
    assert main.name is None and main.wrong(run.results[0]) is None
