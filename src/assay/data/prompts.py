"""Turning examples into prompts: the model's chat template, raw text, or a user template."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PromptFormat = Literal["auto", "chat", "raw"]


@dataclass(frozen=True)
class Prompt:
    """What one example asks the model, before any model-specific formatting.

    Attributes:
        content: The user turn (chat) or the whole text after the system prompt (raw).
        system: An optional system prompt.
        chat: True to wrap content in the model's chat template; False to send text as is.
    """

    content: str
    system: str | None = None
    chat: bool = True

    def raw_text(self) -> str:
        """The text sent when no chat template applies."""
        return f"{self.system}\n\n{self.content}" if self.system else self.content
