"""Commands beyond the core ones, one module per area.

Each module here defines ``register(app: typer.Typer) -> None`` that adds its
commands; `assay.cli` finds and registers every module of this package, so a
new area is a new file.
"""
