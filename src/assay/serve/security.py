"""Who may use the server, and how big a request may be.

The rules for ports, hosts and tokens are assay.listening's, as for the review app:
binding to anything but a loopback address needs a token (--token or
$ASSAY_SERVE_TOKEN); with a token, every request must send it as
``Authorization: Bearer <token>`` (what OpenAI clients send as their API key),
compared in constant time, else 401 in OpenAI's shape. A request body over the cap
is answered 413, whether it says its length or streams it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay.listening import check_bind as _check_bind
from assay.listening import check_port, check_token, same_secret
from assay.serve.openai_errors import OpenAIError

TOKEN_ENV = "ASSAY_SERVE_TOKEN"

Handler = Callable[[Request], Awaitable[Response]]

__all__ = ["check_bind", "check_port", "check_token", "token_guard"]


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token (assay.listening's rule)."""
    _check_bind(host, token, what="the model", token_env=TOKEN_ENV)


def token_guard(token: str | None) -> Callable[[Request, Handler], Awaitable[Response]]:
    """HTTP middleware refusing every request without the bearer token (no-op without one)."""

    async def guard(request: Request, call_next: Handler) -> Response:
        if not token:
            return await call_next(request)
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and same_secret(given.strip(), token):
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
