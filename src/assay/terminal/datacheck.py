"""What `assay check-data` prints: each check's findings, the lengths, the coverage
clusters and blind spots."""

from __future__ import annotations

from rich.console import Console

from assay.datacheck import DataCheckReport
from assay.terminal.text import clip, escape


def findings(console: Console, report: DataCheckReport, limit: int, *, with_train: bool) -> None:
    console.print(
        f"checked {report.n_test} test examples"
        + (f" against {report.n_train} training rows" if with_train else "")
    )
    frame = report.to_pandas()
    for check, group in frame.groupby("check", sort=False):
        console.print(f"[bold]{escape(str(check))}[/]: {len(group)}")
        for _, row in group.head(limit).iterrows():
            ids = ", ".join(map(str, row["example_ids"]))
            console.print(f"  {escape(ids)}: {escape(clip(str(row['detail']), 200))}")
    if frame.empty:
        console.print("no duplicates, conflicts, leaks or reference problems found")
    console.print(escape(report.lengths.round(1).to_string()))
    if report.coverage is None:
        return
    for cluster in report.coverage.clusters:
        console.print(
            f"cluster {cluster.index}: {cluster.size} ({cluster.share:.0%})  "
            + escape(" | ".join(clip(e, 60) for e in cluster.examples))
        )
    for spot in report.coverage.blind_spots:
        console.print(
            f"[yellow]blind spot[/] (training cluster {spot.index}, {spot.size} rows): "
            + escape(" | ".join(clip(e, 60) for e in spot.examples))
        )
