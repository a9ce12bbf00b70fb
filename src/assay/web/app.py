"""The FastAPI app: routes that read the request, call :mod:`assay.review`, and render
a template. Nothing here computes anything a notebook user could not call directly.
"""

from __future__ import annotations

import math
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from assay.exceptions import AssayError, NotFoundError, RunInProgressError
from assay.review import labels, queries, votes
from assay.review.agreement import agreement as compute_agreement
from assay.review.diff import diff_pieces
from assay.review.queries import ERRORED, UNLABELLED, ExampleFilter, binary_scores
from assay.runs.verdicts import threshold_for
from assay.store import Store, open_store
from assay.web.security import Session, Signer, csrf_ok, session_middleware, token_guard
from assay.web.templating import templates

STATIC = Path(__file__).parent / "static"
LEADERBOARD_ROUNDS = 200


def create_app(
    db: str | None = None, *, token: str | None = None, store: Store | None = None
) -> FastAPI:
    """The review app over a store (a URL or path, or an open Store).

    Args:
        db: The store URL or SQLite file (default: $ASSAY_DB or .assay/assay.db).
        token: When given, every request must carry it.
        store: An open store to use instead of opening `db`.
    """
    store = store or open_store(db)
    app = FastAPI(title="assay review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    # Middleware added last runs first: the token check comes before anything else.
    app.middleware("http")(session_middleware(Signer(secrets.token_bytes(32))))
    app.middleware("http")(token_guard(token))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _routes(app, store)
    return app


def _routes(app: FastAPI, store: Store) -> None:
    @app.exception_handler(AssayError)
    async def user_error(request: Request, exc: AssayError) -> Response:
        return _page(request, "error.html", {"message": str(exc)}, status=http_status(exc))

    @app.get("/", response_class=HTMLResponse)
    def runs_page(request: Request) -> Response:
        return _page(request, "runs.html", {"runs": store.list_runs()})

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        return _page(request, "login.html", {"next": _local(next)})

    @app.post("/login")
    async def login(request: Request) -> Response:
        await _require_csrf(request)
        form = await request.form()
        name = str(form.get("reviewer", "")).strip()[:128]
        if not name:
            return _page(request, "login.html", {"next": "/", "message": "give a name"}, 400)
        session = _session(request)
        session.reviewer, session.changed = name, True
        return RedirectResponse(_local(str(form.get("next", "/"))), status_code=303)

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str, page: int = 1) -> Response:
        info = store.get_run_info(run_id)
        where = _filter(request, store, info.id)
        size = queries.PAGE_SIZE
        found = queries.page_examples(store, info.id, where, offset=(max(page, 1) - 1) * size)
        run_labels = labels.load_labels(store, info.id)
        context = {
            "info": info,
            "page": found,
            "page_number": max(page, 1),
            "pages": max(1, math.ceil(found.total / size)),
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
        categories = list(
            dict.fromkeys([*labels.category_counts(store, info.id), *labels.DEFAULT_CATEGORIES])
        )
        context = {
            "info": info,
            "example": example,
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
        form = await request.form()
        example_id = str(form.get("example_id", ""))
        if not session.reviewer:
            return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", 303)
        picked = [str(c) for c in form.getlist("category")]
        extra = str(form.get("other_categories", "")).split(",")
        saved = labels.Label(
            run_id=run_id,
            example_id=example_id,
            reviewer=session.reviewer,
            verdict=str(form.get("verdict", "")),
            categories=[*picked, *extra],
            note=str(form.get("note", "")),
        )
        await run_in_threadpool(_save_label, store, saved)
        target = str(form.get("next_id") or example_id)
        query = str(form.get("query", ""))
        return RedirectResponse(_example_url(run_id, target, query), status_code=303)

    @app.get("/runs/{run_id}/labels.{fmt}")
    def labels_export(run_id: str, fmt: str) -> Response:
        if fmt not in ("csv", "jsonl"):
            raise AssayError(f"labels export is .csv or .jsonl, not .{fmt}")
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
        form = await request.form()
        result = await run_in_threadpool(
            votes.vote,
            store,
            str(form.get("ticket", "")),
            str(form.get("choice", "")),
            session.reviewer,
        )
        return RedirectResponse(f"/pairwise/reveal/{result.ticket.id}", status_code=303)

    @app.get("/pairwise/reveal/{ticket_id}", response_class=HTMLResponse)
    def reveal_page(request: Request, ticket_id: str) -> Response:
        ticket = votes.get_ticket(store, ticket_id)
        if ticket is None or ticket.winner is None or ticket.reviewer != _session(request).reviewer:
            raise AssayError("no vote to reveal here")
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

    @app.get("/preferences.jsonl")
    def preferences_export() -> Response:
        text = votes.preferences_jsonl(votes.preferences(store))
        disposition = 'attachment; filename="preferences.jsonl"'
        return Response(
            text, media_type="application/x-ndjson", headers={"Content-Disposition": disposition}
        )


# -- helpers ---------------------------------------------------------------


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


def _save_label(store: Store, label: labels.Label) -> None:
    labels.save_label(store, label)


def _filter(request: Request, store: Store, run_id: str) -> ExampleFilter:
    params = request.query_params
    failed = params.get("failed") or None
    return ExampleFilter(
        failed=failed,
        verdict=params.get("verdict") or None,
        category=params.get("category") or None,
        search=params.get("q") or None,
        threshold=_threshold(store, run_id, failed),
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
    from urllib.parse import quote

    url = f"/runs/{quote(run_id)}/examples/{quote(example_id)}"
    return f"{url}?{query}" if query else url


def _local(url: str) -> str:
    """Only same-site redirect targets (a path), never another origin."""
    if not url.startswith("/") or url.startswith("//"):
        return "/"
    return url
