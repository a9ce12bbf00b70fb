"""Running the API: in the foreground (`assay serve`) or in a background thread (tests, notebooks)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

from assay.exceptions import AssayError
from assay.models.base import Model
from assay.serve.app import ServeOptions, create_app
from assay.serve.security import check_bind, check_port


def serve(
    model: Model, *, host: str = "127.0.0.1", port: int = 8000, options: ServeOptions | None = None
) -> None:
    """Serve `model` until interrupted.

    Raises:
        OptionError: The host is beyond loopback and no token is given.
    """
    import uvicorn

    options = options or ServeOptions()
    check_port(port)
    check_bind(host, options.token)
    uvicorn.run(create_app(model, options), host=host, port=port, log_level="info")


class BackgroundServer:
    """The API on a free loopback port, in a thread; a context manager.

    Example::

        with BackgroundServer(load_model("smollm2-135m-instruct")) as server:
            judge = load_model(f"openai:smollm2@{server.base_url}")
    """

    def __init__(
        self,
        model: Model,
        options: ServeOptions | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        import uvicorn

        options = options or ServeOptions()
        check_bind(host, options.token)
        self.host = host
        self.port = port or _free_port(host)
        self.app = create_app(model, options)
        config = uvicorn.Config(self.app, host=host, port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self, timeout: float = 120.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssayError(f"the API server did not start on {self.host}:{self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
