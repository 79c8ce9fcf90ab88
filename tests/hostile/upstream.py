"""An upstream that misbehaves over real sockets on 127.0.0.1: streams, drips, lies and hangs.

``tests.fixtures.feeds.FeedServer`` answers with whole byte bodies; the faults here need bodies
that are never held in memory (a 200 MB feed, a gzip bomb), bytes that arrive slower than any
timeout, connections that are accepted and never answered, and TLS that is not TLS. Each route
is a ``Behaviour``; the server records how many requests each path received.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Behaviour:
    """How to answer one path: status, headers, then chunks with a pause before each."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: Called per request; yields the body in chunks (never the whole body at once).
    chunks: Callable[[], Iterator[bytes]] = lambda: iter(())
    #: Seconds to sleep before each chunk (a slow drip).
    pause: float = 0.0
    #: Seconds to wait before sending anything at all (a hung upstream).
    stall: float = 0.0


def repeated(chunk: bytes, total: int) -> Callable[[], Iterator[bytes]]:
    """``total`` bytes made of ``chunk`` repeated, generated lazily."""

    def generate() -> Iterator[bytes]:
        sent = 0
        while sent < total:
            piece = chunk[: total - sent]
            sent += len(piece)
            yield piece

    return generate


def huge_feed(total: int) -> Callable[[], Iterator[bytes]]:
    """A syntactically plausible RSS feed of ``total`` bytes that never closes its item."""
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>'
    filler = repeated(b"A" * 65536, total - len(head))

    def generate() -> Iterator[bytes]:
        yield head
        yield from filler()

    return generate


def gzip_bomb(decompressed: int) -> bytes:
    """Gzip of ``decompressed`` zero bytes (about 1000:1), built in 1 MB steps."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(decompressed >> 20)]
    parts.append(compressor.flush())
    return b"".join(parts)


class Upstream:
    """A threaded HTTP server on 127.0.0.1 serving ``Behaviour`` per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Behaviour] = {}
        self.hits: dict[str, int] = {}
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def add(self, path: str, behaviour: Behaviour) -> str:
        with self._lock:
            self.routes[path] = behaviour
        return self.url(path)

    def count(self, path: str) -> int:
        with self._lock:
            return self.hits.get(path, 0)

    def close(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with server._lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                    behaviour = server.routes.get(path, Behaviour(404))
                if behaviour.stall and server.release.wait(behaviour.stall):
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(behaviour.status)
                    for key, value in behaviour.headers.items():
                        self.send_header(key, value)
                    if "Content-Length" not in behaviour.headers:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    for chunk in behaviour.chunks():
                        if behaviour.pause and server.release.wait(behaviour.pause):
                            return
                        self.wfile.write(chunk)
                        self.wfile.flush()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: requests are counted instead."""

        return Handler


class SilentListener:
    """A socket that accepts connections and never says a word (connect works, reads hang)."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.port = self._socket.getsockname()[1]

    def close(self) -> None:
        self._socket.close()


def free_port() -> int:
    """A port nothing listens on (bound then released), for connection-refused cases."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
