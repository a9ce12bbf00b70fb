"""The served model as the server uses it, whatever its backend.

A local transformers model (hf:, gguf:, a bundled alias) does everything: token
counts for validation, tokens streamed as the batched engine chooses them, token
log-probabilities, and prompt log-probabilities from the prefix-tree engine. Any
other backend (an openai: model behind a proxy, replay) generates whole answers:
a stream then sends each answer as one piece, and log-probabilities are refused
with a message saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from assay.data.prompts import Prompt
from assay.models.base import Generation, GenerationParams, Model, ResultCallback
from assay.models.continuous_batching import TokenCallback
from assay.serve.openai_errors import OpenAIError
from assay.serve.prompt_scores import PromptScores, score_prompts

if TYPE_CHECKING:
    from assay.models.hf import HFModel


class ServedModel:
    """What the server asks of its model.

    Args:
        model: Any assay model; a local transformers model gets every feature.
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self.local = _local(model)

    @property
    def context_length(self) -> int | None:
        """Tokens the model attends to, prompt and completion together (None: unknown)."""
        return self.local.context_length if self.local is not None else None

    def load(self) -> None:
        self.model.load()

    def encode(self, prompt: Prompt) -> list[int] | None:
        """The prompt's token ids as generation sends them (None where the model does not say).

        Raises:
            PromptError: The chat template refuses the conversation.
        """
        if self.local is None:
            return None
        return self.local.encode(prompt)

    def vocabulary(self) -> int | None:
        return len(self.local.tokenizer) if self.local is not None else None

    def token_text(self, token: int) -> str:
        """A generated token's text, as it shows in the answer (an end token shows as "")."""
        assert self.local is not None
        return str(self.local.tokenizer.decode([token], skip_special_tokens=True))

    def prompt_token_text(self, token: int) -> str:
        """A prompt token's text, special tokens kept, so an echoed prompt reads as sent."""
        assert self.local is not None
        return str(self.local.tokenizer.decode([token]))

    def decoder(self) -> Callable[[list[int]], str]:
        """Token ids to text, as a finished generation is decoded."""
        local = self.local
        assert local is not None
        return lambda tokens: str(local.tokenizer.decode(tokens, skip_special_tokens=True))

    def text_of(self, tokens: Sequence[int]) -> str:
        """The text of prompt token ids (special tokens kept, as a prompt holds them)."""
        assert self.local is not None
        return str(self.local.tokenizer.decode(list(tokens)))

    def generate(
        self,
        prompts: Sequence[Prompt],
        params: GenerationParams,
        *,
        logprobs: int | None,
        on_token: TokenCallback,
        on_result: ResultCallback,
    ) -> list[Generation]:
        """Generate (in the worker thread); tokens reported as chosen where the model can."""
        if self.local is not None:
            return self.local.generate(
                prompts, params, on_result, on_token=on_token, logprobs=logprobs
            )
        if logprobs is not None:
            raise unsupported("log-probabilities")
        return self.model.generate(prompts, params, on_result)

    def score(self, prompts: Sequence[Sequence[int]], top: int) -> list[PromptScores]:
        """Log-probabilities of every prompt token (in the worker thread)."""
        if self.local is None:
            raise unsupported("prompt log-probabilities (echo with logprobs)")
        return score_prompts(
            self.local.model, prompts, top=top, batch_size=self.local.options.batch_size
        )

    def require_local(self, feature: str) -> None:
        """Refuse a feature only a local model has, before the request waits in the queue."""
        if self.local is None:
            raise unsupported(feature)


def unsupported(feature: str) -> OpenAIError:
    return OpenAIError(
        400,
        f"{feature} need a local model (hf:, gguf: or a bundled alias); this server "
        "relays another backend, which does not give them",
        code="unsupported",
    )


def _local(model: Any) -> HFModel | None:
    from assay.models.hf import HFModel

    return model if isinstance(model, HFModel) else None
