"""A judge model that answers by a rule instead of weights: a real Model, no patching."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from assay.data.prompts import Prompt
from assay.models.base import Generation, GenerationParams, ModelInfo, ResultCallback


class ScriptedModel:
    """Replies with `rule(user message)`; records every prompt it was sent."""

    def __init__(self, rule: Callable[[str], str]) -> None:
        self.rule = rule
        self.seen: list[Prompt] = []

    @property
    def info(self) -> ModelInfo:
        return ModelInfo("scripted", "scripted-fp", {"backend": "scripted"})

    @property
    def has_chat_template(self) -> bool:
        return True

    def load(self) -> None:
        pass

    def render(self, prompt: Prompt) -> str:
        return json.dumps([prompt.system, prompt.content])

    def generate(
        self,
        prompts: Sequence[Prompt],
        params: GenerationParams,
        on_result: ResultCallback | None = None,
    ) -> list[Generation]:
        self.seen += prompts
        out = [Generation(self.rule(p.content), 1, 1, "stop") for p in prompts]
        for i, g in enumerate(out):
            if on_result:
                on_result(i, g)
        return out

    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[tuple[float, bool]]:
        raise NotImplementedError


def answers(user: str) -> list[str]:
    """The fenced answers in a judge prompt, in order."""
    return [body for _, body in re.findall(r"<(answer-[0-9a-f]+)>\n(.*?)\n</\1>", user, flags=re.S)]
