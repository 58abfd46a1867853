"""A hostile web server on 127.0.0.1: raw sockets, so it can do what a polite server never
does (answer nothing, trickle a body, reset mid-body, send garbage, a gzip bomb).

Each path is given a behaviour; every connection is served by its own daemon thread.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress

Behaviour = Callable[[socket.socket, str], None]


def _head(status: str, headers: dict[str, str], length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def respond(
    body: bytes = b"", status: str = "200 OK", headers: dict[str, str] | None = None
) -> Behaviour:
    def behave(conn: socket.socket, _path: str) -> None:
        conn.sendall(_head(status, headers or {}, len(body)) + body)

    return behave


def hang(stop: threading.Event) -> Behaviour:
    """Read the request, then say nothing until the server stops."""

    def behave(_conn: socket.socket, _path: str) -> None:
        stop.wait()

    return behave


def trickle(body: bytes, every: float, chunk: int, stop: threading.Event) -> Behaviour:
    """Headers at once, then ``chunk`` bytes every ``every`` seconds."""

    def behave(conn: socket.socket, _path: str) -> None:
        conn.sendall(_head("200 OK", {"Content-Type": "application/rss+xml"}, len(body)))
        for start in range(0, len(body), chunk):
            if stop.wait(every):
                return
            conn.sendall(body[start : start + chunk])

    return behave


def reset_mid_body(body: bytes) -> Behaviour:
    """Promise the whole body, send half of it, then reset the connection (RST)."""

    def behave(conn: socket.socket, _path: str) -> None:
        conn.sendall(_head("200 OK", {"Content-Type": "application/rss+xml"}, len(body)))
        conn.sendall(body[: len(body) // 2])
        time.sleep(0.05)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return behave


def garbage(data: bytes = b"\x00\xffNOT HTTP AT ALL\r\n\r\n") -> Behaviour:
    def behave(conn: socket.socket, _path: str) -> None:
        conn.sendall(data)

    return behave


def gzip_bomb(decoded_size: int) -> Behaviour:
    """A small gzip body that expands to ``decoded_size`` bytes of zeros."""
    block = b"\0" * (1 << 20)
    buffer = bytearray()
    with gzip.GzipFile(fileobj=_Sink(buffer), mode="wb", compresslevel=9) as zipped:
        for _ in range(decoded_size // len(block)):
            zipped.write(block)
    body = bytes(buffer)

    def behave(conn: socket.socket, _path: str) -> None:
        headers = {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
        conn.sendall(_head("200 OK", headers, len(body)) + body)

    return behave


class _Sink:
    def __init__(self, buffer: bytearray) -> None:
        self.buffer = buffer

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass


class Hostile:
    """The server. ``route(path, behaviour)``; ``hits[path]`` counts requests."""

    ALLOW_ALL = b"User-agent: *\nAllow: /\n"

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = self.sock.getsockname()[1]
        self.routes: dict[str, Behaviour] = {"/robots.txt": respond(self.ALLOW_ALL)}
        self.hits: Counter[str] = Counter()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, behaviour: Behaviour) -> None:
        self.routes[path] = behaviour

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            path = _read_request(conn)
            if path is None:
                return
            self.hits[path] += 1
            behaviour = self.routes.get(path, respond(b"not here", "404 Not Found"))
            behaviour(conn, path)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()
        with self._lock:
            for conn in self._conns:
                with suppress(OSError):
                    conn.close()


def _read_request(conn: socket.socket) -> str | None:
    data = b""
    conn.settimeout(10)
    while b"\r\n\r\n" not in data and len(data) < 65536:
        part = conn.recv(4096)
        if not part:
            return None
        data += part
    conn.settimeout(None)
    request_line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    return parts[1].split("?", 1)[0] if len(parts) >= 2 else None
