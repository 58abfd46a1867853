"""``/healthz`` and ``/metrics`` over HTTP for ``monitor run``, served by waitress, and the
editors' review desk under ``/review`` (``monitor.desk``; it does its own sign-in check, and
``/healthz`` and ``/metrics`` stay open).

waitress multiplexes connections on one thread and runs requests on a fixed pool
(``service.http_threads``): idle or slow clients hold a socket, never a thread; connections are
capped (``service.http_connections``) and closed when idle (``service.http_idle_timeout``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, make_wsgi_app
from waitress.server import create_server

from monitor.config import ServiceConfig

log = logging.getLogger(__name__)

Health = Callable[[], tuple[bool, dict[str, Any]]]
WsgiApp = Callable[..., Iterable[bytes]]


def application(
    health: Health, registry: CollectorRegistry, review: WsgiApp | None = None
) -> WsgiApp:
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if review is not None and (path == "/review" or path.startswith("/review/")):
            return review(environ, start_response)
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            try:
                healthy, details = health()
            except Exception as e:  # never a 500 from the health check itself
                log.exception("health check failed")
                healthy, details = False, {"error": type(e).__name__}
            body = json.dumps({"healthy": healthy, **details}, default=str).encode()
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /healthz or /metrics\n"]

    return app


class HttpEndpoint:
    """Serves the app in a daemon thread until ``stop``."""

    def __init__(
        self, host: str, port: int, app: WsgiApp, service: ServiceConfig | None = None
    ) -> None:
        service = service or ServiceConfig()
        self.server: Any = create_server(
            app,
            host=host,
            port=port,
            threads=service.http_threads,
            connection_limit=service.http_connections,
            channel_timeout=max(int(service.http_idle_timeout.total_seconds()), 1),
            cleanup_interval=max(int(service.http_idle_timeout.total_seconds()) // 2, 1),
            ident="monitor",
            expose_tracebacks=False,
            asyncore_use_poll=True,  # select() fails beyond file descriptor 1024
        )
        self.host = host
        self.port = int(self.server.effective_port)
        self._thread = threading.Thread(target=self.server.run, name="monitor-web", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("http listening host=%s port=%d paths=/healthz,/metrics", self.host, self.port)

    def stop(self) -> None:
        self.server.close()
        self._thread.join(timeout=5)
