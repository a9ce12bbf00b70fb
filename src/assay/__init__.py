"""assay: evaluate fine-tuned language models on your own test set, and iterate."""

__version__ = "0.1.0"
