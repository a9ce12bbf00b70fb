"""The app's guards: the access token, the signed session cookie, CSRF tokens, and the
headers and checks that every response and request pass through.

* Token: when the app has one, every request must carry it (``Authorization: Bearer``,
  the ``assay_token`` cookie, or ``?token=`` once, which sets the cookie); others get 401.
  A token follows assay.listening's rules (16 or more ASCII characters, not blank).
* Session: a cookie holding the reviewer's name and a CSRF token, signed with HMAC so
  it cannot be forged.
* CSRF: every POST must send the session's CSRF token as the ``csrf`` form field or
  the ``X-CSRF-Token`` header.
* Secrets are compared in constant time as UTF-8 bytes, so a header, cookie or query
  value of any characters is simply wrong, never an error.
* Every response carries a Content-Security-Policy (scripts and styles from the app's
  own /static only: the pages have no inline script or style), ``nosniff`` and
  ``frame-ancestors 'none'``. A request whose address holds a NUL character (no store
  column can hold one), or whose body is over 1 MiB, is refused before any route sees it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from assay.listening import check_bind as _check_bind
from assay.listening import check_port, check_token, same_secret

LOOPBACK = "127.0.0.1"
TOKEN_ENV = "ASSAY_REVIEW_TOKEN"
TOKEN_COOKIE = "assay_token"
SESSION_COOKIE = "assay_session"

MAX_BODY = 1024 * 1024
"""The largest request body taken (a label's note is far smaller)."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
"""The pages load app.js and app.css from /static and nothing else; model text that got
past escaping could still not run a script, load a resource or be framed."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

Handler = Callable[[Request], Awaitable[Response]]
Middleware = Callable[[Request, Handler], Awaitable[Response]]

__all__ = ["check_bind", "check_port", "check_token", "same_secret"]


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token (assay.listening's rule)."""
    _check_bind(host, token, what="the review app", token_env=TOKEN_ENV)


@dataclass
class Session:
    """What the session cookie holds."""

    csrf: str
    reviewer: str = ""
    changed: bool = False


class Signer:
    """Signs and checks cookie values with HMAC-SHA256."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def dumps(self, session: Session) -> str:
        payload = json.dumps({"csrf": session.csrf, "reviewer": session.reviewer})
        body = base64.urlsafe_b64encode(payload.encode()).decode()
        return f"{body}.{self._sign(body)}"

    def loads(self, value: str | None) -> Session | None:
        if not value or "." not in value:
            return None
        body, signature = value.rsplit(".", 1)
        if not same_secret(signature, self._sign(body)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body.encode()))
            return Session(csrf=str(data["csrf"]), reviewer=str(data.get("reviewer", "")))
        except (ValueError, KeyError, TypeError):
            return None

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return digest.hexdigest()


def security_headers() -> Middleware:
    """HTTP middleware putting SECURITY_HEADERS on every response, errors and 401s too."""

    async def middleware(request: Request, call_next: Handler) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return middleware


def refuse_nul() -> Middleware:
    """HTTP middleware refusing (400) a path or query that holds a NUL character."""

    async def middleware(request: Request, call_next: Handler) -> Response:
        params = request.query_params.multi_items()
        if "\x00" in request.url.path or any("\x00" in k + v for k, v in params):
            return HTMLResponse(
                "<!doctype html><title>Bad request</title><p>The address holds a NUL "
                "character, which no run, example or filter can contain.</p>",
                status_code=400,
            )
        return await call_next(request)

    return middleware


def limit_body(limit: int = MAX_BODY) -> Middleware:
    """HTTP middleware refusing a body over `limit` bytes (413), or one of no stated length
    (411): every form a browser posts states its length."""

    async def middleware(request: Request, call_next: Handler) -> Response:
        length = request.headers.get("content-length")
        if length is None:
            if "transfer-encoding" in request.headers:
                return PlainTextResponse("a request body must state its length", 411)
        elif not length.isdigit() or len(length) > 12 or int(length) > limit:
            return PlainTextResponse(f"a request body is at most {limit} bytes", 413)
        return await call_next(request)

    return middleware


def token_guard(token: str | None) -> Middleware:
    """HTTP middleware refusing every request without the token (no-op without one)."""

    async def guard(request: Request, call_next: Handler) -> Response:
        if not token:
            return await call_next(request)
        given = _bearer(request) or request.cookies.get(TOKEN_COOKIE)
        if given and same_secret(given, token):
            return await call_next(request)
        query = request.query_params.get("token")
        if query and same_secret(query, token):
            # Drop the token from the address bar: set the cookie and redirect.
            url = request.url.remove_query_params("token")
            response: Response = RedirectResponse(str(url), status_code=303)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return response
        return PlainTextResponse("a valid review token is required", status_code=401)

    return guard


def session_middleware(signer: Signer) -> Middleware:
    """HTTP middleware giving each browser a signed session (request.state.session)."""

    async def middleware(request: Request, call_next: Handler) -> Response:
        session = signer.loads(request.cookies.get(SESSION_COOKIE))
        if session is None:
            session = Session(csrf=secrets.token_urlsafe(24), changed=True)
        request.state.session = session
        response = await call_next(request)
        if session.changed:
            response.set_cookie(
                SESSION_COOKIE, signer.dumps(session), httponly=True, samesite="strict"
            )
        return response

    return middleware


async def csrf_ok(request: Request) -> bool:
    """Whether a POST carries the session's CSRF token (form field or header)."""
    session: Session = request.state.session
    given = request.headers.get("x-csrf-token")
    if not given:
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    return bool(given) and same_secret(str(given), session.csrf)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None
