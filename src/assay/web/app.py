"""The FastAPI app: routes that read the request, call :mod:`assay.review`, and render
a template. Nothing here computes anything a notebook user could not call directly.
"""

from __future__ import annotations

import math
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay.data.dialogue import Dialogue
from assay.exceptions import AssayError, NotFoundError, OptionError, RunInProgressError
from assay.review import corrections, labels, queries, votes
from assay.review.agreement import agreement as compute_agreement
from assay.review.diff import diff_pieces
from assay.review.queries import ERRORED, UNLABELLED, ExampleFilter, binary_scores
from assay.runs.records import ExampleResult, RunInfo
from assay.runs.verdicts import higher_is_better, threshold_for
from assay.store import Store, open_store
from assay.web.security import (
    Session,
    Signer,
    check_token,
    csrf_ok,
    limit_body,
    refuse_nul,
    security_headers,
    session_middleware,
    token_guard,
)
from assay.web.templating import templates

STATIC = Path(__file__).parent / "static"
LEADERBOARD_ROUNDS = 200
PAGE_DIGITS = 18
"""A page number longer than this is out of range whatever the run (and int() of a
few thousand digits is refused by Python itself)."""


def create_app(
    db: str | None = None, *, token: str | None = None, store: Store | None = None
) -> FastAPI:
    """The review app over a store (a URL or path, or an open Store).

    Args:
        db: The store URL or SQLite file (default: $ASSAY_DB or .assay/assay.db).
        token: When given, every request must carry it (16 or more characters).
        store: An open store to use instead of opening `db`.

    Raises:
        OptionError: The token is too short or blank (see security.check_token).
    """
    if token is not None:
        check_token(token)
    store = store or open_store(db)
    app = FastAPI(title="assay review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    # Middleware added last runs first: the security headers wrap every response (a 401
    # too), then the body cap, the NUL refusal and the token check come before anything else.
    app.middleware("http")(session_middleware(Signer(secrets.token_bytes(32))))
    app.middleware("http")(token_guard(token))
    app.middleware("http")(refuse_nul())
    app.middleware("http")(limit_body())
    app.middleware("http")(security_headers())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _routes(app, store)
    return app


def _routes(app: FastAPI, store: Store) -> None:
    @app.exception_handler(AssayError)
    async def user_error(request: Request, exc: AssayError) -> Response:
        return _page(request, "error.html", {"message": str(exc)}, status=http_status(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e.get('loc', ())[1:])}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return _page(request, "error.html", {"message": problems}, status=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        return _page(request, "error.html", {"message": message}, status=exc.status_code)

    @app.get("/", response_class=HTMLResponse)
    def runs_page(request: Request) -> Response:
        return _page(request, "runs.html", {"runs": store.list_runs()})

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        return _page(request, "login.html", {"next": _local(next)})

    @app.post("/login")
    async def login(request: Request) -> Response:
        await _require_csrf(request)
        form = await _form(request)
        target = _local(form.get("next", "/"))
        try:
            name = labels.check_reviewer(form.get("reviewer", ""))
        except OptionError as exc:
            context = {"next": target, "message": str(exc)}
            return _page(request, "login.html", context, 400)
        session = _session(request)
        session.reviewer, session.changed = name, True
        return RedirectResponse(target, status_code=303)

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str, page: str = "1") -> Response:
        info = store.get_run_info(run_id)
        where = _filter(request, store, info.id)
        size = queries.PAGE_SIZE
        total = queries.count_examples(store, info.id, where)
        pages = max(1, math.ceil(total / size))
        number = _page_number(page, pages)
        found = queries.page_examples(store, info.id, where, offset=(number - 1) * size)
        run_labels = labels.load_labels(store, info.id)
        context = {
            "info": info,
            "page": found,
            "asked": {row.example_id: _asked(info, row) for row in found.rows},
            "page_number": number,
            "pages": pages,
            "where": where,
            "query": _query(where),
            "metrics": info.metrics,
            "verdicts": labels.VERDICTS,
            "categories": queries.category_counts(store, info.id),
            "counts": labels.label_counts(store, info.id),
            "agreement": compute_agreement(run_labels),
            "errored": ERRORED,
            "unlabelled": UNLABELLED,
        }
        return _page(request, "run.html", context)

    @app.get("/runs/{run_id}/examples/{example_id:path}", response_class=HTMLResponse)
    def example_page(request: Request, run_id: str, example_id: str) -> Response:
        info = store.get_run_info(run_id)
        example = queries.get_example(store, info.id, example_id)
        if example is None:
            raise NotFoundError(f"run {info.id} has no example '{example_id}'")
        where = _filter(request, store, info.id)
        session = _session(request)
        mine = next((x for x in example.labels if x.reviewer == session.reviewer), None)
        reference, prediction = diff_pieces(example.reference or "", example.prediction)
        dialogue = _dialogue(info, example)
        categories = list(
            dict.fromkeys([*labels.category_counts(store, info.id), *labels.DEFAULT_CATEGORIES])
        )
        context = {
            "info": info,
            "example": example,
            "dialogue": dialogue,
            "tools": ", ".join(t.signature() for t in dialogue.tools) if dialogue else "",
            "flags": [
                f
                for f in corrections.list_flags(store, example_ids=[example.example_id])
                if (f.original or "") == (example.reference or "")
            ],
            "reasons": corrections.REASONS,
            "reference_pieces": reference,
            "prediction_pieces": prediction,
            "mine": mine,
            "categories": categories,
            "verdicts": labels.VERDICTS,
            "query": _query(where),
            "next_id": queries.neighbour(store, info.id, example, where, forward=True),
            "prev_id": queries.neighbour(store, info.id, example, where, forward=False),
        }
        return _page(request, "example.html", context)

    @app.post("/runs/{run_id}/label")
    async def label(request: Request, run_id: str) -> Response:
        await _require_csrf(request)
        session = _session(request)
        form = await _form(request)
        if not session.reviewer:
            return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", 303)
        info = await run_in_threadpool(store.get_run_info, run_id)
        example_id = form.get("example_id", "")
        saved = labels.Label(
            run_id=info.id,
            example_id=example_id,
            reviewer=session.reviewer,
            verdict=form.get("verdict", ""),
            categories=[*form.getlist("category"), *form.get("other_categories", "").split(",")],
            note=form.get("note", ""),
        )
        await run_in_threadpool(labels.save_label, store, saved)
        target = form.get("next_id") or example_id
        return RedirectResponse(
            _example_url(info.id, target, form.get("query", "")), status_code=303
        )

    @app.post("/runs/{run_id}/flag")
    async def flag_reference(request: Request, run_id: str) -> Response:
        await _require_csrf(request)
        session = _session(request)
        form = await _form(request)
        example_id = form.get("example_id", "")
        if not session.reviewer:
            here = f"/runs/{quote(run_id)}/examples/{quote(example_id)}"
            return RedirectResponse(f"/login?{urlencode({'next': here})}", 303)
        info = await run_in_threadpool(store.get_run_info, run_id)
        await run_in_threadpool(
            corrections.flag_reference,
            store,
            info.id,
            example_id,
            session.reviewer,
            form.get("reason", ""),
            proposed=form.get("proposed") or None,
            note=form.get("note", ""),
        )
        return RedirectResponse(
            _example_url(info.id, example_id, form.get("query", "")), status_code=303
        )

    @app.get("/corrections", response_class=HTMLResponse)
    def corrections_page(request: Request, status: str = "open") -> Response:
        chosen = status if status in corrections.STATUSES else None
        flags = corrections.list_flags(store, status=chosen)
        context = {"flags": flags, "status": chosen or "", "statuses": corrections.STATUSES}
        return _page(request, "corrections.html", context)

    @app.post("/corrections/{flag_id}")
    async def decide_flag(request: Request, flag_id: str) -> Response:
        await _require_csrf(request)
        session = _session(request)
        form = await _form(request)
        if not session.reviewer:
            return RedirectResponse(f"/login?{urlencode({'next': '/corrections'})}", 303)
        choice = form.get("decision", "")
        if choice not in ("accept", "reject"):
            raise OptionError("decision", f"is accept or reject, got {choice!r}")
        await run_in_threadpool(
            corrections.decide,
            store,
            flag_id,
            session.reviewer,
            accept=choice == "accept",
            note=form.get("note", ""),
        )
        return RedirectResponse("/corrections", status_code=303)

    @app.get("/runs/{run_id}/labels.{fmt}")
    def labels_export(run_id: str, fmt: str) -> Response:
        if fmt not in labels.TEXT_FORMATS:
            raise OptionError("format", f"of a labels export is csv or jsonl, not {fmt!r}")
        info = store.get_run_info(run_id)
        text = labels.labels_text(labels.load_labels(store, info.id), fmt)
        media = "text/csv" if fmt == "csv" else "application/x-ndjson"
        disposition = f'attachment; filename="labels-{info.id}.{fmt}"'
        return Response(text, media_type=media, headers={"Content-Disposition": disposition})

    @app.get("/pairwise", response_class=HTMLResponse)
    def pairwise_page(request: Request) -> Response:
        session = _session(request)
        run_ids = [store.get_run_info(r).id for r in request.query_params.getlist("run")]
        if not session.reviewer:
            here = f"{request.url.path}?{request.url.query}"
            return RedirectResponse(f"/login?{urlencode({'next': here})}", 303)
        if len(set(run_ids)) < 2:
            return _page(request, "pairwise_setup.html", {"runs": store.list_runs()})
        ticket = votes.new_ticket(store, run_ids, session.reviewer)
        left, right = votes.pair_answers(store, ticket)
        return _page(request, "pairwise.html", {"ticket": ticket, "left": left, "right": right})

    @app.post("/pairwise/vote")
    async def pairwise_vote(request: Request) -> Response:
        await _require_csrf(request)
        session = _session(request)
        form = await _form(request)
        result = await run_in_threadpool(
            votes.vote, store, form.get("ticket", ""), form.get("choice", ""), session.reviewer
        )
        return RedirectResponse(f"/pairwise/reveal/{result.ticket.id}", status_code=303)

    @app.get("/pairwise/reveal/{ticket_id}", response_class=HTMLResponse)
    def reveal_page(request: Request, ticket_id: str) -> Response:
        ticket = votes.get_ticket(store, ticket_id)
        if ticket is None:
            raise NotFoundError(f"no vote to reveal: there is no pair '{ticket_id}'")
        if ticket.winner is None or ticket.reviewer != _session(request).reviewer:
            raise AssayError("no vote to reveal here: vote on this pair first")
        left, right = votes.pair_answers(store, ticket)
        context = {
            "ticket": ticket,
            "left": left,
            "right": right,
            "name_a": votes.model_name(store.get_run_info(ticket.left_run)),
            "name_b": votes.model_name(store.get_run_info(ticket.right_run)),
            "next_url": "/pairwise?" + urlencode([("run", r) for r in ticket.runs]),
        }
        return _page(request, "reveal.html", context)

    @app.get("/leaderboard", response_class=HTMLResponse)
    def leaderboard_page(request: Request) -> Response:
        from assay.arena import compute_ratings, load_battles

        boards: dict[str, Any] = {}
        for source in ("human", "judge"):
            battles = load_battles(store, source)
            boards[source] = (
                compute_ratings(battles, rounds=LEADERBOARD_ROUNDS).to_pandas().to_dict("records")
                if battles
                else []
            )
            boards[f"{source}_n"] = len(battles)
        return _page(request, "leaderboard.html", boards)

    @app.get("/preferences.{fmt}")
    def preferences_export(fmt: str) -> Response:
        if fmt not in votes.PREFERENCE_FORMATS:
            raise OptionError("format", f"of a preferences export is csv or jsonl, not {fmt!r}")
        text = votes.preferences_text(votes.preferences(store), fmt)
        media = "text/csv" if fmt == "csv" else "application/x-ndjson"
        disposition = f'attachment; filename="preferences.{fmt}"'
        return Response(text, media_type=media, headers={"Content-Disposition": disposition})


# -- helpers ---------------------------------------------------------------


def _dialogue(info: RunInfo, example: queries.ExampleRow) -> Dialogue | None:
    """A conversation or tool row's turns, read from its stored columns by the loader's
    rule, for the page to show turn by turn; None for a plain question (or stored columns
    that no longer read as a conversation: the page then shows the input's transcript)."""
    from assay.scoring import example_of

    try:
        return example_of(_stored(example), info).dialogue
    except AssayError:
        return None


def _asked(info: RunInfo, example: queries.ExampleRow) -> str:
    """The question a row of the run's list shows (scoring.asked)."""
    from assay.scoring import asked

    return asked(_stored(example), info)


def _stored(example: queries.ExampleRow) -> ExampleResult:
    """The row as the stored result it was read from (what scoring reads)."""
    return ExampleResult(
        example_id=example.example_id,
        position=example.position,
        input=example.input,
        reference=example.reference,
        prompt="",
        prediction=example.prediction,
        metadata=example.metadata,
    )


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    session = getattr(request.state, "session", None)
    html = templates.get_template(name).render(
        {**context, "session": session, "csrf": session.csrf if session else ""}
    )
    return HTMLResponse(html, status_code=status)


def _session(request: Request) -> Session:
    session: Session = request.state.session
    return session


async def _require_csrf(request: Request) -> None:
    if not await csrf_ok(request):
        raise _CsrfError()


class _CsrfError(AssayError):
    """A POST without the session's CSRF token."""

    def __init__(self) -> None:
        super().__init__("this form is stale or came from another site; reload the page")


class _Form:
    """A posted form's text fields (a file or a NUL character in any of them is refused)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self._fields.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(self._fields.get(name, []))


async def _form(request: Request) -> _Form:
    """The request's form as text.

    Raises:
        OptionError: A field is a file upload or holds a NUL character (no column can).
    """
    fields: dict[str, list[str]] = {}
    for name, value in (await request.form()).multi_items():
        if isinstance(value, UploadFile):
            raise OptionError(name, "must be text, not a file")
        if "\x00" in value:
            raise OptionError(name, "holds a NUL character, which no field may contain")
        fields.setdefault(name, []).append(value)
    return _Form(fields)


def _page_number(raw: str, pages: int) -> int:
    """The page asked for, 1 to `pages`.

    Raises:
        OptionError: Not a whole number in that range.
    """
    text = raw.strip()
    if text.isdigit() and text.isascii() and len(text) <= PAGE_DIGITS:
        number = int(text)
        if 1 <= number <= pages:
            return number
    shown = text if len(text) <= 24 else text[:24] + "…"
    raise OptionError("page", f"must be a whole number from 1 to {pages}, got {shown!r}")


def _filter(request: Request, store: Store, run_id: str) -> ExampleFilter:
    params = request.query_params
    failed = params.get("failed") or None
    return ExampleFilter(
        failed=failed,
        verdict=params.get("verdict") or None,
        category=params.get("category") or None,
        search=params.get("q") or None,
        threshold=_threshold(store, run_id, failed),
        higher_is_better=not failed or failed == ERRORED or higher_is_better(failed) is not False,
    )


def _threshold(store: Store, run_id: str, metric: str | None) -> float:
    if not metric or metric == ERRORED:
        return 1.0
    return threshold_for(metric, binary=binary_scores(store, run_id, metric))


def http_status(error: AssayError) -> int:
    """The HTTP status of a user error, by its class."""
    if isinstance(error, _CsrfError):
        return 403
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, RunInProgressError):
        return 409
    return 400


def _query(where: ExampleFilter) -> str:
    pairs = {
        "failed": where.failed,
        "verdict": where.verdict,
        "category": where.category,
        "q": where.search,
    }
    return urlencode({k: v for k, v in pairs.items() if v})


def _example_url(run_id: str, example_id: str, query: str) -> str:
    url = f"/runs/{quote(run_id)}/examples/{quote(example_id)}"
    return f"{url}?{query}" if query else url


def _local(url: str) -> str:
    """Only same-site redirect targets (a path), never another origin: browsers read
    "//host" and "/\\host" as another site."""
    if not url.startswith("/") or url.startswith(("//", "/\\")):
        return "/"
    return url
