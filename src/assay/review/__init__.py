"""Human review of runs: labels with agreement between reviewers, blind pairwise votes
(stored as arena battles) and their export as preference data.

    labels     Label records: save, load, export as CSV/JSONL, counts
    agreement  Cohen's and Fleiss' kappa between reviewers
    votes      blind pair tickets, votes as battles, DPO preference export
    queries    fast filtered pages of a run's examples, in SQL
    diff       word-level differences between reference and prediction
    corrections  flagged references, a second reviewer's decision, the fixed test set
    tables     the review tables, on the store's metadata
"""

from __future__ import annotations

from assay.review.agreement import Agreement, agreement, cohen_kappa, fleiss_kappa
from assay.review.corrections import (
    CorrectedSet,
    Flag,
    apply_corrections,
    decide,
    flag_reference,
    list_flags,
)
from assay.review.labels import (
    VERDICTS,
    Label,
    export_labels,
    labels_frame,
    load_labels,
    save_label,
)
from assay.review.queries import ExampleFilter, get_example, page_examples
from assay.review.votes import (
    Preference,
    Ticket,
    export_preferences,
    new_ticket,
    preferences,
    vote,
)

__all__ = [
    "VERDICTS",
    "Agreement",
    "CorrectedSet",
    "ExampleFilter",
    "Flag",
    "Label",
    "Preference",
    "Ticket",
    "agreement",
    "apply_corrections",
    "cohen_kappa",
    "decide",
    "export_labels",
    "export_preferences",
    "flag_reference",
    "fleiss_kappa",
    "get_example",
    "labels_frame",
    "list_flags",
    "load_labels",
    "new_ticket",
    "page_examples",
    "preferences",
    "save_label",
    "vote",
]
