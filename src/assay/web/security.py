"""The app's guards: the access token, the signed session cookie, and CSRF tokens.

* Token: when the app has one, every request must carry it (``Authorization: Bearer``,
  the ``assay_token`` cookie, or ``?token=`` once, which sets the cookie); others get 401.
* Session: a cookie holding the reviewer's name and a CSRF token, signed with HMAC so
  it cannot be forged.
* CSRF: every POST must send the session's CSRF token as the ``csrf`` form field or
  the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from assay.exceptions import AssayError

LOOPBACK = "127.0.0.1"
TOKEN_ENV = "ASSAY_REVIEW_TOKEN"
TOKEN_COOKIE = "assay_token"
SESSION_COOKIE = "assay_session"

Handler = Callable[[Request], Awaitable[Response]]


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token.

    Raises:
        AssayError: The host is not a loopback address and no token is given.
    """
    if token:
        return
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise AssayError(
            f"--host {host} would expose the review app beyond this machine; give "
            f"--token (or set {TOKEN_ENV}) so that every request must carry it"
        )


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
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body.encode()))
            return Session(csrf=str(data["csrf"]), reviewer=str(data.get("reviewer", "")))
        except (ValueError, KeyError, TypeError):
            return None

    def _sign(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()


def token_guard(token: str | None) -> Callable[[Request, Handler], Awaitable[Response]]:
    """HTTP middleware refusing every request without the token (no-op without one)."""

    async def guard(request: Request, call_next: Handler) -> Response:
        if not token:
            return await call_next(request)
        given = _bearer(request) or request.cookies.get(TOKEN_COOKIE)
        if given and hmac.compare_digest(given, token):
            return await call_next(request)
        query = request.query_params.get("token")
        if query and hmac.compare_digest(query, token):
            # Drop the token from the address bar: set the cookie and redirect.
            url = request.url.remove_query_params("token")
            response: Response = RedirectResponse(str(url), status_code=303)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return response
        return PlainTextResponse("a valid review token is required", status_code=401)

    return guard


def session_middleware(signer: Signer) -> Callable[[Request, Handler], Awaitable[Response]]:
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
    return bool(given) and hmac.compare_digest(str(given), session.csrf)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None
