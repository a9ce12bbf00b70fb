"""Fixing the test set itself: a reviewer flags a reference (wrong, ambiguous,
outdated) and proposes a corrected one; a second reviewer accepts or rejects it; the
test set is exported with the accepted corrections applied, with a changelog.

    flag ──► open ──► accepted (by another reviewer) ──► applied on export
                 └──► rejected

A flag names the example by id and the reference *as it was*: a correction is
applied only to a row whose reference is still that text, so a file edited since
is never silently overwritten (such a correction is reported as stale). Flags
belong to the test set, not to the run they were seen in: removing that run keeps
them. The reviewer who proposed a correction cannot be the one who accepts it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import insert, select, update

from assay.exceptions import AssayError, NotFoundError, OptionError
from assay.review import tables as rt
from assay.review.labels import check_reviewer

if TYPE_CHECKING:
    from assay.data.example import Dataset
    from assay.store import Store

Reason = Literal["wrong", "ambiguous", "outdated"]
REASONS: tuple[str, ...] = ("wrong", "ambiguous", "outdated")
"""Why a reference is flagged: wrong (a mistake), ambiguous (more than one answer is
right), outdated (it was true once)."""

FlagStatus = Literal["open", "accepted", "rejected"]
STATUSES: tuple[str, ...] = ("open", "accepted", "rejected")
NOTE_LENGTH = 2000


@dataclass(frozen=True)
class Flag:
    """One flagged reference and what became of it.

    Attributes:
        id: The flag's id (12 hex characters).
        example_id / input: The example flagged.
        original: Its reference as it was when flagged.
        dataset: The test set it came from (the run's data set name).
        seen_in_run: The run whose review it was flagged in.
        reason: wrong, ambiguous or outdated.
        proposed: The corrected reference, or None (a flag without a proposal).
        note: Why, in the reviewer's words.
        reviewer / created_at: Who flagged it, when (UTC).
        status: open, accepted or rejected.
        decided_by / decided_at / decision_note: The second reviewer's decision.
    """

    id: str
    example_id: str
    original: str | None
    input: str
    dataset: str
    seen_in_run: str
    reason: str
    proposed: str | None
    note: str
    reviewer: str
    created_at: datetime
    status: str = "open"
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


@dataclass(frozen=True)
class Change:
    """One row of an exported test set that a correction changed (the changelog's line)."""

    example_id: str
    before: str | None
    after: str
    reason: str
    note: str
    flagged_by: str
    decided_by: str
    decided_at: str
    flag: str


@dataclass
class CorrectedSet:
    """What an export did.

    Attributes:
        path: The corrected test set written.
        changelog: The changelog written beside it.
        rows: Rows written.
        changes: The rows a correction changed.
        stale: Accepted corrections not applied: the row's reference is no longer
            the text that was flagged (or the example is not in this file).
        still_open: Flags on this file's rows that nobody has decided yet.
    """

    path: Path
    changelog: Path
    rows: int
    changes: list[Change] = field(default_factory=list)
    stale: list[Flag] = field(default_factory=list)
    still_open: list[Flag] = field(default_factory=list)


def flag_reference(
    store: Store,
    run: str,
    example_id: str,
    reviewer: str,
    reason: str,
    *,
    proposed: str | None = None,
    note: str = "",
) -> Flag:
    """Flag an example's reference as seen in a run, optionally proposing a correction.

    A reviewer's new flag on the same reference replaces their earlier open one.

    Raises:
        OptionError: A reason not in REASONS, a blank reviewer, a proposal equal to the
            reference, or a note too long.
        NotFoundError: No such run or example.
    """
    from assay.review.queries import get_example

    reviewer = check_reviewer(reviewer)
    if reason not in REASONS:
        raise OptionError("reason", f"must be one of: {', '.join(REASONS)}; got {reason!r}")
    proposed = proposed.strip() if proposed and proposed.strip() else None
    if len(note) > NOTE_LENGTH:
        raise OptionError("note", f"is at most {NOTE_LENGTH} characters, got {len(note)}")
    info = store.get_run_info(run)
    example = get_example(store, info.id, example_id)
    if example is None:
        raise NotFoundError(f"run {info.id} has no example '{example_id}'")
    if proposed is not None and proposed == (example.reference or "").strip():
        raise OptionError("proposed", "is the reference as it stands: propose a different one")
    flag = Flag(
        id=uuid.uuid4().hex[:12],
        example_id=example_id,
        original=example.reference,
        input=example.input,
        dataset=info.dataset_name,
        seen_in_run=info.id,
        reason=reason,
        proposed=proposed,
        note=note.strip(),
        reviewer=reviewer,
        created_at=datetime.now(timezone.utc),
    )
    c = rt.reference_flags.c
    with store.connection(write=True) as conn:
        conn.execute(
            update(rt.reference_flags)
            .where(
                c.example_id == example_id,
                c.reviewer == reviewer,
                c.status == "open",
                _same(c.original, example.reference),
            )
            .values(
                status="rejected",
                decided_by=reviewer,
                decided_at=flag.created_at,
                decision_note="replaced by a newer flag of the same reviewer",
            )
        )
        conn.execute(insert(rt.reference_flags).values(**asdict(flag)))
    return flag


def decide(store: Store, flag_id: str, reviewer: str, *, accept: bool, note: str = "") -> Flag:
    """A second reviewer accepts or rejects a flag.

    Raises:
        NotFoundError: No such flag.
        AssayError: The flag was decided already, or the reviewer is the one who flagged it.
        OptionError: Accepting a flag that proposes no corrected reference.
    """
    reviewer = check_reviewer(reviewer)
    flag = get_flag(store, flag_id)
    if flag.status != "open":
        raise AssayError(f"flag {flag.id} was {flag.status} already, by {flag.decided_by}")
    if flag.reviewer == reviewer:
        raise AssayError(
            f"flag {flag.id} was raised by {reviewer}: a second reviewer accepts or rejects it"
        )
    if accept and flag.proposed is None:
        raise OptionError("accept", f"needs a proposed reference; flag {flag.id} proposes none")
    c = rt.reference_flags.c
    with store.connection(write=True) as conn:
        done = conn.execute(
            update(rt.reference_flags)
            .where(c.id == flag.id, c.status == "open")
            .values(
                status="accepted" if accept else "rejected",
                decided_by=reviewer,
                decided_at=datetime.now(timezone.utc),
                decision_note=note.strip() or None,
            )
        )
        if done.rowcount != 1:  # another reviewer decided it meanwhile
            raise AssayError(f"flag {flag.id} was decided meanwhile by another reviewer")
    return get_flag(store, flag.id)


def get_flag(store: Store, flag_id: str) -> Flag:
    """One flag by id.

    Raises:
        NotFoundError: No such flag.
    """
    found = list_flags(store, ids=[flag_id])
    if not found:
        raise NotFoundError(f"no reference flag '{flag_id}'; `assay corrections list` lists them")
    return found[0]


def list_flags(
    store: Store,
    *,
    status: str | None = None,
    example_ids: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
) -> list[Flag]:
    """Flags, oldest first, optionally only one status, examples or ids.

    Raises:
        OptionError: A status not in STATUSES.
    """
    if status is not None and status not in STATUSES:
        raise OptionError("status", f"must be one of: {', '.join(STATUSES)}; got {status!r}")
    c = rt.reference_flags.c
    query = select(rt.reference_flags).order_by(c.created_at, c.id)
    if status is not None:
        query = query.where(c.status == status)
    if example_ids is not None:
        query = query.where(c.example_id.in_(list(example_ids)))
    if ids is not None:
        query = query.where(c.id.in_(list(ids)))
    with store.connection() as conn:
        return [Flag(**row._asdict()) for row in conn.execute(query)]


def flags_on(store: Store, dataset: Dataset, status: str | None = "open") -> list[Flag]:
    """Flags on this test set's rows: the example id matches and its reference is still
    the text that was flagged."""
    current = {e.id: e.reference for e in dataset.examples}
    return [
        flag
        for flag in list_flags(store, status=status, example_ids=list(current))
        if (current.get(flag.example_id) or "") == (flag.original or "")
    ]


def apply_corrections(
    store: Store,
    data: str | Path,
    output: str | Path,
    *,
    changelog: str | Path | None = None,
    **load_options: Any,
) -> CorrectedSet:
    """Write the test set with every accepted correction applied, and a changelog.

    The output is JSONL, one row per example with every column of the original row;
    only the reference column of corrected rows changes. The changelog (JSONL, default
    ``<output>.changes.jsonl``) has one line per changed row: before, after, why, who.

    Raises:
        DataError: The test set cannot be read.
        AssayError: It has no reference column, or the files cannot be written.
    """
    from assay.data.loaders import load_dataset

    dataset = load_dataset(data, **load_options)
    field_name = dataset.reference_field
    if field_name is None:
        raise AssayError(f"{dataset.name} has no reference column to correct")
    output = Path(output)
    log_path = Path(changelog) if changelog else output.with_name(output.name + ".changes.jsonl")
    accepted = list_flags(store, status="accepted", example_ids=[e.id for e in dataset.examples])
    by_example: dict[str, list[Flag]] = {}
    for flag in accepted:
        by_example.setdefault(flag.example_id, []).append(flag)
    result = CorrectedSet(output, log_path, len(dataset))
    lines = []
    for example in dataset.examples:
        row = dict(example.fields)
        for flag in by_example.get(example.id, []):
            if (example.reference or "") != (flag.original or "") or flag.proposed is None:
                result.stale.append(flag)
                continue
            row[field_name] = flag.proposed  # the newest accepted one wins
            result.changes.append(_change(example.id, example.reference, flag))
        lines.append(json.dumps(row, ensure_ascii=False, default=str))
    result.changes = _newest_per_example(result.changes)
    result.still_open = flags_on(store, dataset)
    try:
        output.write_text("\n".join(lines) + "\n", encoding="utf-8")
        log_path.write_text(
            "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in result.changes),
            encoding="utf-8",
        )
    except OSError as exc:
        raise AssayError(f"cannot write {output}: {exc.strerror or exc}") from exc
    return result


def _change(example_id: str, before: str | None, flag: Flag) -> Change:
    assert flag.proposed is not None and flag.decided_by is not None
    return Change(
        example_id=example_id,
        before=before,
        after=flag.proposed,
        reason=flag.reason,
        note=flag.note,
        flagged_by=flag.reviewer,
        decided_by=flag.decided_by,
        decided_at=flag.decided_at.isoformat() if flag.decided_at else "",
        flag=flag.id,
    )


def _newest_per_example(changes: list[Change]) -> list[Change]:
    """The last accepted correction of each example (what was written), in file order."""
    last: dict[str, Change] = {}
    for change in changes:
        last[change.example_id] = change
    return list(last.values())


def _same(column: Any, value: str | None) -> Any:
    return column.is_(None) if value is None else column == value
