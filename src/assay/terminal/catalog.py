"""The catalogues: bundled models and backends (`assay models`), metrics (`assay metrics`)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from assay.metrics.registry import MetricInfo
from assay.terminal.text import escape


def models_table(console: Console) -> None:
    from assay.models.bundled import BUNDLED_MODELS
    from assay.models.registry import list_backends

    table = Table(title="bundled models (work offline)")
    table.add_column("alias")
    table.add_column("package")
    table.add_column("model")
    for model in BUNDLED_MODELS.values():
        table.add_row(model.alias, model.package, model.description)
    console.print(table)
    for backend in list_backends():
        console.print(f"  {backend.prefix}:<...>  {escape(backend.description)}")


def metrics_table(console: Console) -> None:
    from assay.metrics import list_metrics

    table = Table()
    for column in ("metric", "kind", "description"):
        table.add_column(column)
    for info in list_metrics():
        table.add_row(info.name, _kind(info), escape(info.description))
    console.print(table)


def _kind(info: MetricInfo) -> str:
    if info.higher_is_better is None:
        return "neutral"
    kind = "pass/fail" if info.pass_fail else "score"
    return kind if info.higher_is_better else f"{kind}, lower is better"
