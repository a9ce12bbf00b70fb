"""Who may use the server, and how big a request may be.

As the review app: binding to anything but a loopback address needs ``--token``
(or $ASSAY_SERVE_TOKEN); with a token, every request must send it as
``Authorization: Bearer <token>`` (what OpenAI clients send as their API key),
compared in constant time, else 401 in OpenAI's shape. A request body over the cap
is answered 413, whether it says its length or streams it.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay.exceptions import OptionError
from assay.serve.errors import OpenAIError

TOKEN_ENV = "ASSAY_SERVE_TOKEN"
MIN_TOKEN_LENGTH = 16
GENERATE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"

Handler = Callable[[Request], Awaitable[Response]]


def check_token(token: str | None) -> None:
    """Refuse a token that is easy to guess or that a header cannot carry (the review app's rules).

    Raises:
        OptionError: The token is blank, short, padded with spaces or holds control characters.
    """
    if token is None:
        return
    if len(token.strip()) < MIN_TOKEN_LENGTH:
        problem = f"must be at least {MIN_TOKEN_LENGTH} characters, not counting spaces"
    elif token != token.strip():
        problem = "starts or ends with whitespace, which headers drop"
    elif any(ord(c) < 32 or ord(c) == 127 for c in token):
        problem = "holds a control character, which headers cannot carry"
    else:
        return
    raise OptionError("token", f"{problem}; generate one with: {GENERATE_TOKEN}")


def check_port(port: int) -> None:
    """Raises OptionError unless the port is one a server can listen on (1 to 65535)."""
    if not 1 <= port <= 65535:
        raise OptionError("port", f"must be from 1 to 65535, got {port}")


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token.

    Raises:
        OptionError: The host is not a loopback address and no token is given.
    """
    if token or is_loopback(host):
        return
    raise OptionError(
        "host",
        f"{host} would expose the model beyond this machine; give --token (or set "
        f"{TOKEN_ENV}) so that every request must carry it",
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_guard(token: str | None) -> Callable[[Request, Handler], Awaitable[Response]]:
    """HTTP middleware refusing every request without the bearer token (no-op without one)."""
    expected = token.encode() if token else b""

    async def guard(request: Request, call_next: Handler) -> Response:
        if not token:
            return await call_next(request)
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        # Bytes, not str: compare_digest refuses non-ASCII str, and a header may hold any byte.
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8", "surrogateescape"), expected
        ):
            return await call_next(request)
        return OpenAIError(
            401,
            "a valid API key is required: send the server's token as 'Authorization: Bearer <token>'",
            code="invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        ).response()

    return guard


class BodyLimit:
    """ASGI middleware capping request bodies at `limit` bytes.

    A declared Content-Length over the cap is refused before anything is read; a body
    that streams past it (chunked, or longer than declared) stops being read there, and
    the 413 raised from ``receive`` reaches the app's error handlers as any HTTP error.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            response = OpenAIError(413, too_large(self.limit), code="request_too_large").response()
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, too_large(self.limit))
            return message

        await self.app(scope, counted, send)


def too_large(limit: int) -> str:
    return f"the request body is larger than this server accepts ({limit} bytes)"
