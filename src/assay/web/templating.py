"""The Jinja2 environment of the review app: autoescape on for every template, and the
small filters the pages share. Model text is never marked safe."""

from __future__ import annotations

import math
from urllib.parse import quote

from jinja2 import Environment, PackageLoader


def _number(value: object, digits: int = 3) -> str:
    if value is None:
        return ""
    number = float(value)  # type: ignore[arg-type]
    return "–" if math.isnan(number) else f"{number:.{digits}f}"


def _clip(text: str | None, width: int = 160) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width] + "…"


templates = Environment(
    loader=PackageLoader("assay.web", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["number"] = _number
templates.filters["clip"] = _clip
templates.filters["path"] = lambda value: quote(str(value), safe="")
