"""The transformers backend: a causal LM from the hub, a local folder, or a GGUF file.

The tokenizer loads at once (prompts are rendered and fingerprinted with it);
the weights load only when something must be generated, so a run whose outputs
are all cached never pays for them. A GGUF file is dequantised by transformers
once and kept as safetensors in assay's cache folder, so later loads take a
fraction of a second instead of seconds.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from jinja2 import TemplateError

from assay.data.prompts import Prompt
from assay.exceptions import MissingDependencyError, ModelError, OptionError, PromptError
from assay.hub import model_files_offline
from assay.models.allocator import keep_freed_memory
from assay.models.base import (
    Generation,
    GenerationParams,
    LoglikelihoodCallback,
    LoglikelihoodStats,
    ModelInfo,
    ModelOptions,
    ResultCallback,
)
from assay.models.continuous_batching import (
    CompiledDecode,
    ContinuousBatcher,
    Sampling,
    SequenceOutput,
    StopRule,
    TokenCallback,
    engine_supports,
)
from assay.models.fingerprint import cache_root, file_digest, folder_digest, text_digest
from assay.models.fusion import fuse_sibling_linears
from assay.models.loglikelihood import score_continuations
from assay.models.packing import KERNELS, can_pack, pack_linear_layers, packable_dtype
from assay.models.quantization import KERNELS as QUANTIZED_KERNELS
from assay.models.quantization import can_quantize, quantize_linear_layers

log = logging.getLogger("assay")

END_OF_TURN_TOKENS = ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>", "<|endoftext|>")
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "config.json")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def template_reads_tools(template: str | None) -> bool:
    """Whether a chat template uses the `tools` variable (by its parse tree; by its text
    when it does not parse outside transformers' own environment)."""
    if not template:
        return False
    from jinja2 import Environment, meta
    from jinja2.exceptions import TemplateSyntaxError

    try:
        return "tools" in meta.find_undeclared_variables(Environment().parse(template))
    except TemplateSyntaxError:  # a transformers-only tag ({% generation %}, ...)
        return re.search(r"\btools\b", template) is not None


class HFModel:
    """A transformers causal LM behind the assay Model protocol.

    Args:
        spec: The spec string as the user gave it (kept in the run).
        source: A hub id or a local folder; for GGUF, the folder holding the file.
        gguf_file: The GGUF file name inside `source`, or None.
        options: dtype, adapter, batch size, device.
    """

    _compiled_model: CompiledDecode | None = None
    """The model compiled for decode steps (ModelOptions.compile), once loaded."""

    def __init__(
        self, spec: str, source: str, *, gguf_file: str | None = None, options: ModelOptions
    ) -> None:
        self.spec = spec
        self.source = source
        self.gguf_file = gguf_file
        self.options = options
        self._check_device()
        self._check_compile()
        self.tokenizer = self._load_tokenizer()
        self._model: Any = None
        self._info: ModelInfo | None = None
        self._template_takes_tools: bool | None = None

    # -- identity and prompts (no weights needed) ---------------------------------------

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    @property
    def dtype(self) -> torch.dtype:
        if self.options.dtype == "auto":
            return torch.bfloat16 if self.device.type == "cuda" else torch.float32
        return DTYPES[self.options.dtype]  # ModelOptions allows only these names

    @property
    def device(self) -> torch.device:
        if self.options.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.options.device)

    def _check_device(self) -> None:
        """A device this torch can serve, before anything loads.

        Raises:
            OptionError: CUDA or MPS asked of a torch without it, or a GPU that is not there.
        """
        kind = self.device.type
        if kind == "cuda":
            if not torch.cuda.is_available():
                raise OptionError(
                    "device", f"{self.options.device}: this torch has no CUDA; use cpu or auto"
                )
            index = self.device.index or 0
            if index >= torch.cuda.device_count():
                raise OptionError(
                    "device",
                    f"{self.options.device}: there are {torch.cuda.device_count()} CUDA devices",
                )
        if kind == "mps" and not torch.backends.mps.is_available():
            raise OptionError("device", "mps: this torch has no Apple MPS; use cpu or auto")
        mode = self.options.quantize
        if mode is not None and (kind != "cpu" or not can_quantize(mode)):
            where = (
                f"this torch has no {mode} CPU kernels" if kind == "cpu" else f"device is {kind}"
            )
            raise OptionError("quantize", f"{mode} runs on a CPU only ({where})")

    def _check_compile(self) -> None:
        """Raises: OptionError: compile was asked for with layers Inductor cannot compile
        (it fails on oneDNN's packed linear layers at the first step)."""
        if not self.options.compile:
            return
        if self.kernels == KERNELS or self.options.quantize == "int8":
            raise OptionError(
                "compile",
                "works on a CPU with quantize int4 only: Inductor cannot compile oneDNN's "
                "packed linear layers (float32 and bfloat16, int8's kept layers)",
            )
        if self.options.batch_size != 1:
            raise OptionError(
                "compile",
                "compiles the decode step of one sequence at a time: set batch size 1",
            )

    @property
    def kernels(self) -> str:
        """Which matrix kernels run the linear layers: they decide the last bits of results."""
        if self.options.quantize is not None:
            return QUANTIZED_KERNELS[self.options.quantize]
        packable = (
            self.options.pack_weights and self.device.type == "cpu" and packable_dtype(self.dtype)
        )
        return KERNELS if packable else "default"

    @property
    def info(self) -> ModelInfo:
        if self._info is None:
            details = {
                "backend": "hf",
                "weights": self._weights_identity(),
                "dtype": str(self.dtype).removeprefix("torch."),
                "adapter": self._adapter_identity(),
                "kernels": self.kernels,
                # Only when set, so the fingerprints of unquantised models stay as they were.
                **({"quantize": self.options.quantize} if self.options.quantize else {}),
                **({"compiled": "inductor"} if self.options.compile else {}),
                "tokenizer": text_digest(
                    self.tokenizer.chat_template or "",
                    str(len(self.tokenizer)),
                    str(self.tokenizer.bos_token),
                    str(self.tokenizer.eos_token),
                ),
            }
            fingerprint = text_digest(json.dumps(details, sort_keys=True))
            self._info = ModelInfo(spec=self.spec, fingerprint=fingerprint, details=details)
        return self._info

    @property
    def template_takes_tools(self) -> bool:
        """Whether the chat template reads a `tools` variable (Qwen 2.5, Llama 3.1, Mistral,
        Hermes do); one that does not would drop them without a word."""
        if self._template_takes_tools is None:
            self._template_takes_tools = template_reads_tools(self.tokenizer.chat_template)
        return self._template_takes_tools

    def render(self, prompt: Prompt) -> str:
        """The prompt's text: raw, or through the chat template. A prompt's tools go to a
        template that takes them as `tools=` (transformers' way); a template that knows
        no tools gets them described in the system turn (Prompt.messages(tools_as_text))."""
        if not prompt.chat:
            return prompt.raw_text()
        uses_tools = bool(prompt.tools) or any(t.tool_calls for t in prompt.history)
        native = uses_tools and self.template_takes_tools
        options: dict[str, Any] = {}
        if native and prompt.tools:
            options["tools"] = [tool.schema() for tool in prompt.tools]
        as_text = uses_tools and not native
        try:
            text = self.tokenizer.apply_chat_template(
                prompt.messages(tools_as_text=as_text),
                tokenize=False,
                add_generation_prompt=True,
                **options,
            )
        except (TemplateError, ValueError, TypeError) as error:  # raise_exception; no template
            raise PromptError(f"the chat template of '{self.spec}' refused: {error}") from error
        return str(text)

    def encode(self, prompt: Prompt) -> list[int]:
        """Token ids of the rendered prompt; a chat template already carries its special tokens."""
        ids = self.tokenizer(self.render(prompt), add_special_tokens=not prompt.chat).input_ids
        return list(ids)

    # -- generation ---------------------------------------------------------------------

    def load(self) -> None:
        _ = self.model

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = self._load_weights()
        return self._model

    @property
    def context_length(self) -> int:
        config = self.model.config
        return int(getattr(config, "max_position_embeddings", 0) or 2048)

    def generate(
        self,
        prompts: Sequence[Prompt],
        params: GenerationParams,
        on_result: ResultCallback | None = None,
        *,
        on_token: TokenCallback | None = None,
        logprobs: int | None = None,
    ) -> list[Generation]:
        """Generate for every prompt; on_result as each finishes.

        Beyond the Model protocol, for `assay serve`: on_token is told of each token as it
        is chosen (streaming; returning False stops that sequence), with its log-probability
        and the `logprobs` likeliest alternatives when logprobs is not None.
        """
        if not prompts:
            return []
        encoded = [self.encode(p) for p in prompts]
        fitted, truncated = self._fit_to_context(encoded, params)
        results: list[Generation | None] = [None] * len(prompts)
        stop = StopRule(
            eos_ids=frozenset(self._eos_ids(any(p.chat for p in prompts))),
            max_new_tokens=params.max_new_tokens,
            stop_strings=params.stop,
            decode=self._decode if params.stop else None,
        )

        def done(index: int, output: SequenceOutput) -> None:
            generation = self._to_generation(
                output, len(fitted[index]), truncated[index], params, stop.eos_ids
            )
            results[index] = generation
            if on_result is not None:
                on_result(index, generation)

        sampling = Sampling(params.temperature, params.top_p, params.seed)
        longest = max(len(ids) for ids in fitted) + params.max_new_tokens
        if engine_supports(self.model, longest):
            engine = ContinuousBatcher(
                self.model,
                self.options.batch_size,
                on_token=on_token,
                logprobs=logprobs,
                decode=self._compiled_model,
            )
            engine.run(fitted, stop, sampling, done)
        elif logprobs is not None:
            raise ModelError(
                f"{self.spec}: token log-probabilities need the continuous-batching engine, "
                f"which does not run {self.model.config.model_type} models"
            )
        else:
            self._generate_padded(fitted, stop, params, done, on_token)
        return [r for r in results if r is not None]

    def loglikelihood(
        self,
        requests: Sequence[tuple[str, str]],
        *,
        on_result: LoglikelihoodCallback | None = None,
        stats: LoglikelihoodStats | None = None,
    ) -> list[tuple[float, bool]]:
        """Shared contexts and prefixes are computed once; see assay.models.loglikelihood."""
        return score_continuations(
            self.model,
            self.tokenizer,
            requests,
            batch_size=self.options.batch_size,
            stats=stats,
            on_result=on_result,
        )

    def _fit_to_context(
        self, encoded: list[list[int]], params: GenerationParams
    ) -> tuple[list[list[int]], list[int]]:
        """Cut prompts too long for the context from the left, or refuse them."""
        limit = self.context_length - params.max_new_tokens
        if limit <= 0:
            raise ModelError(
                f"--max-new-tokens {params.max_new_tokens} leaves no room for a prompt in the "
                f"model's context of {self.context_length} tokens"
            )
        fitted, truncated = [], []
        for index, ids in enumerate(encoded):
            excess = max(0, len(ids) - limit)
            if excess and not params.truncate:
                raise ModelError(
                    f"prompt {index} has {len(ids)} tokens; the context of {self.context_length} "
                    f"leaves {limit} after --max-new-tokens {params.max_new_tokens}. "
                    "Drop --no-truncate to cut long prompts from the left."
                )
            fitted.append(ids[excess:])
            truncated.append(excess)
        return fitted, truncated

    def _to_generation(
        self,
        output: SequenceOutput,
        prompt_tokens: int,
        truncated: int,
        params: GenerationParams,
        eos: frozenset[int],
    ) -> Generation:
        tokens = output.tokens
        body = (
            tokens[:-1]
            if output.finish_reason == "stop" and tokens and tokens[-1] in eos
            else tokens
        )
        text = self._decode(body)
        for stop in params.stop:
            cut = text.find(stop)
            if cut >= 0:
                text = text[:cut]
        return Generation(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=len(tokens),
            finish_reason="stop" if output.finish_reason == "stop" else "length",
            seconds=output.seconds,
            truncated_tokens=truncated,
        )

    def _decode(self, tokens: list[int]) -> str:
        return str(self.tokenizer.decode(tokens, skip_special_tokens=True))

    def _eos_ids(self, chat: bool) -> set[int]:
        ids: set[int] = set()
        configured = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        for value in (configured, self.tokenizer.eos_token_id):
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, list):
                ids.update(v for v in value if isinstance(v, int))
        template = self.tokenizer.chat_template or ""
        if chat:
            for token in END_OF_TURN_TOKENS:
                token_id = self.tokenizer.convert_tokens_to_ids(token)
                if token in template and isinstance(token_id, int) and token_id >= 0:
                    ids.add(token_id)
        return ids

    def _generate_padded(
        self,
        prompts: list[list[int]],
        stop: StopRule,
        params: GenerationParams,
        done: Any,
        on_token: TokenCallback | None = None,
    ) -> None:
        """Length-sorted, left-padded batches through `model.generate`, for other architectures."""
        pad = self.tokenizer.pad_token_id
        pad = pad if pad is not None else min(stop.eos_ids or {0})
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        size = self.options.batch_size
        for start in range(0, len(order), size):
            batch = order[start : start + size]
            width = max(len(prompts[i]) for i in batch)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, index in enumerate(batch):
                ids = prompts[index]
                input_ids[row, width - len(ids) :] = torch.tensor(ids)
                mask[row, width - len(ids) :] = 1
            began = time.perf_counter()
            with torch.inference_mode():
                torch.manual_seed(params.seed)
                out = self.model.generate(
                    input_ids=input_ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    max_new_tokens=params.max_new_tokens,
                    do_sample=params.temperature > 0,
                    temperature=params.temperature if params.temperature > 0 else None,
                    top_p=params.top_p if params.temperature > 0 else None,
                    eos_token_id=sorted(stop.eos_ids),
                    pad_token_id=pad,
                )
            seconds = (time.perf_counter() - began) / len(batch)
            for row, index in enumerate(batch):
                tokens: list[int] = []
                reason = None
                for token in out[row, width:].tolist():
                    tokens.append(token)
                    if on_token is not None:
                        on_token(index, token, None)
                    reason = stop.check(tokens)
                    if reason:
                        break
                done(index, SequenceOutput(tokens, reason or "length", seconds))

    # -- loading ------------------------------------------------------------------------

    @property
    def _from_hub(self) -> bool:
        return self.gguf_file is None and not Path(self.source).is_dir()

    def _hub_options(self) -> dict[str, Any]:
        """local_files_only when the hub cannot be reached (fails at once if not cached)."""
        if not self._from_hub:
            return {}
        return {"local_files_only": model_files_offline(self.source, self.spec)}

    def _load_tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        converted = self._converted_dir()
        try:
            with quiet_transformers():
                if converted is not None and (converted / "tokenizer_config.json").exists():
                    return AutoTokenizer.from_pretrained(converted)
                return AutoTokenizer.from_pretrained(
                    self.source, gguf_file=self.gguf_file, **self._hub_options()
                )
        except (OSError, ValueError) as error:
            raise ModelError(f"could not load the tokenizer of '{self.spec}': {error}") from error

    def _load_weights(self) -> Any:
        from transformers import AutoModelForCausalLM

        converted = self._converted_dir()
        model: Any
        dtype = str(self.dtype).removeprefix("torch.")
        log.info("loading %s (%s on %s)", self.spec, dtype, self.device)
        if (
            self.device.type == "cpu"
            and self.dtype != torch.float32
            and not packable_dtype(self.dtype)
        ):
            # 80 columns; the line before names the model, README the CPU features.
            log.warning(
                "no native %s matrix kernels on this CPU: emulated, slower than float32", dtype
            )
        try:
            with quiet_transformers():
                if converted is not None:
                    if not (converted / "model.safetensors").exists():
                        log.info("converting %s to safetensors, once", self.gguf_file)
                        self._convert_gguf(converted)
                    model = AutoModelForCausalLM.from_pretrained(converted, dtype=self.dtype)
                else:
                    model = AutoModelForCausalLM.from_pretrained(
                        self.source, dtype=self.dtype, **self._hub_options()
                    )
        except (OSError, ValueError) as error:
            raise ModelError(f"could not load the weights of '{self.spec}': {error}") from error
        if self.options.adapter is not None:
            model = self._apply_adapter(model, self.options.adapter)
        model.to(self.device)
        model.eval()
        if self.device.type == "cpu":
            keep_freed_memory()
        packs = self.kernels == KERNELS and can_pack(model)
        if self.options.quantize is not None or packs:  # the CPU kernels: siblings fused first
            fuse_sibling_linears(model)
        if self.options.quantize is not None:
            quantize_linear_layers(model, self.options.quantize)
        elif packs:
            pack_linear_layers(model)
        if self.options.compile:
            self._compiled_model = self._compile_decode(model)
        return model

    def _compile_decode(self, model: Any) -> CompiledDecode:
        """The model compiled for decode steps, compiled now for the shortest cache rather
        than in the middle of the first generation (a longer one compiles when needed)."""
        if not engine_supports(model, 1):
            raise OptionError(
                "compile",
                f"compiles the continuous-batching engine's decode step, which does not run "
                f"{model.config.model_type} models",
            )
        compiled = CompiledDecode(model)
        engine = ContinuousBatcher(model, 1, decode=compiled)
        stop = StopRule(eos_ids=frozenset(), max_new_tokens=3)
        prompt = [self.tokenizer.bos_token_id or 0]
        engine.run([prompt], stop, Sampling(), lambda index, output: None)
        return compiled

    def _converted_dir(self) -> Path | None:
        if self.gguf_file is None:
            return None
        digest = file_digest(Path(self.source) / self.gguf_file)
        return cache_root() / "gguf" / digest

    def _convert_gguf(self, target: Path) -> None:
        """Dequantise the GGUF once through transformers and keep it as safetensors."""
        from safetensors.torch import save_model
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(
            self.source, gguf_file=self.gguf_file, dtype=torch.float32
        )
        tokenizer = AutoTokenizer.from_pretrained(self.source, gguf_file=self.gguf_file)
        staging = target.with_name(f"{target.name}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        save_model(model, str(staging / "model.safetensors"))
        model.config.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        config = json.loads((staging / "config.json").read_text())
        config.pop("quantization_config", None)
        (staging / "config.json").write_text(json.dumps(config, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)

    def _apply_adapter(self, model: Any, adapter: Path) -> Any:
        try:
            from peft import PeftModel
        except ModuleNotFoundError as error:
            raise MissingDependencyError("peft", "the adapter option") from error
        if not (adapter / "adapter_config.json").exists():
            raise OptionError("adapter", f"{adapter}: no adapter_config.json in that folder")
        with quiet_transformers():
            return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()

    def _weights_identity(self) -> str:
        if self.gguf_file is not None:
            return f"gguf:{file_digest(Path(self.source) / self.gguf_file)}"
        folder = Path(self.source)
        if folder.is_dir():
            return f"folder:{folder_digest(folder, WEIGHT_PATTERNS)}"
        revision = getattr(self.tokenizer, "_commit_hash", None) or self._hub_revision()
        return f"hub:{self.source}@{revision}"

    def _hub_revision(self) -> str:
        from transformers import AutoConfig

        try:
            config = AutoConfig.from_pretrained(self.source, **self._hub_options())
        except (OSError, ValueError):
            return "unknown"
        return str(getattr(config, "_commit_hash", "unknown"))

    def _adapter_identity(self) -> str:
        adapter = self.options.adapter
        if adapter is None:
            return ""
        return folder_digest(adapter, ("*.safetensors", "*.bin", "adapter_config.json"))


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """No progress bars or warnings from transformers (or peft, merging an adapter) while a
    model or tokenizer loads: assay says in one line what it is loading instead."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecation notices the user cannot act on
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
