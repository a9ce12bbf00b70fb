"""Data sets and prompts: loading a test set into examples, and examples into prompts."""

from assay.data.example import Dataset, Example
from assay.data.loaders import load_dataset
from assay.data.prompts import Prompt, PromptConfig, build_prompts, load_template

__all__ = [
    "Dataset",
    "Example",
    "Prompt",
    "PromptConfig",
    "build_prompts",
    "load_dataset",
    "load_template",
]
