"""Errors in OpenAI's shape, so that clients show the message and not just "Error code: 400".

Every error the server answers is ``{"error": {"message", "type", "param", "code"}}``
with a 4xx or 5xx status, as OpenAI and vLLM answer: a bad parameter names it in
"param" (the OpenAI name, ``max_tokens`` not ``max_new_tokens``), an unknown model
is 404 ``model_not_found``, a full queue is 503 with Retry-After.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay.exceptions import AssayError, ModelError, OptionError, PromptError

OPTION_PARAMS = {
    "max_new_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "stop": "stop",
    "seed": "seed",
}
"""The library's option names (GenerationParams) as OpenAI names the same parameters."""

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


class OpenAIError(Exception):
    """An error answered to the client in OpenAI's shape.

    Args:
        status: The HTTP status.
        message: What went wrong and what is allowed.
        param: The request parameter at fault, OpenAI's name for it.
        code: A machine-readable code ("model_not_found", "server_busy", ...).
        headers: Extra response headers (Retry-After).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        kind = _TYPES.get(
            self.status, "server_error" if self.status >= 500 else "invalid_request_error"
        )
        return {
            "error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}
        }

    def response(self) -> Response:
        # ASCII-escaped: a message may quote the client's text, which need not be valid UTF-8.
        content = json.dumps(self.body(), ensure_ascii=True)
        return Response(content, self.status, self.headers, media_type="application/json")


def bad_request(message: str, param: str | None = None, code: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, param=param, code=code)


def from_library(error: AssayError, aliases: dict[str, str] | None = None) -> OpenAIError:
    """A library error as the client's mistake (400) where it is one, else a server error.

    Args:
        error: What the library raised.
        aliases: Parameter names this request used instead of the usual ones
            (``max_completion_tokens`` for ``max_tokens``).
    """
    if isinstance(error, OptionError):
        param = OPTION_PARAMS.get(error.option, error.option)
        param = (aliases or {}).get(param, param)
        return bad_request(f"{param} {error.problem}", param=param)
    if isinstance(error, PromptError):
        return bad_request(str(error), param="messages")
    if isinstance(error, ModelError):
        return OpenAIError(500, str(error), code="model_error")
    return OpenAIError(500, str(error))


def install_handlers(app: FastAPI) -> None:
    """Answer every error in OpenAI's shape: ours, FastAPI's validation, Starlette's 404/405/413."""

    @app.exception_handler(OpenAIError)
    async def openai_error(request: Request, error: OpenAIError) -> Response:
        return error.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        return validation_error(error.errors()).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
        message = {404: f"no such endpoint: {request.method} {request.url.path}"}.get(
            error.status_code, str(error.detail)
        )
        return OpenAIError(error.status_code, message, code=code.get(error.status_code)).response()


def validation_error(errors: Any) -> OpenAIError:
    """The first of pydantic's complaints as a 400 naming the parameter (``messages[1].role``)."""
    first = next(iter(errors), None)
    if first is None:
        return bad_request("the request body is not valid")
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", first.get("msg"))
        return bad_request(f"the request body is not valid JSON: {reason}")
    where = [part for part in first.get("loc", ()) if part != "body"]
    # Union members add their type names to the path ("stop", "str"): keep the fields.
    path = ""
    for part in where:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in {"str", "list[str]", "list[int]", "list[list[int]]", "int", "float", "bool"}:
            continue
        else:
            path += f".{part}" if path else str(part)
    if not path:
        return bad_request(f"the request body {first.get('msg', 'is not valid')}")
    return bad_request(f"{path}: {first.get('msg', 'is not valid')}", param=path)
