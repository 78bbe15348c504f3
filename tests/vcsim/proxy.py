"""A loopback TCP proxy in front of the simulator that can drop every open connection — a
network cut between a client and vCenter, the session surviving on the server
(tests/test_io_watch.py)."""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class Proxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``upstream``; :meth:`drop` closes every
    connection it carries (the client sees a reset or an early EOF). Threads are daemons and
    end with :meth:`close`."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.drops = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.server.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, up]
            for a, b in ((client, up), (up, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            src.settimeout(None)
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop(self) -> None:
        """Cuts every connection now open."""
        with self.lock:
            socks, self.sockets = self.sockets, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.drops += 1

    def close(self) -> None:
        self.stopped.set()
        self.drop()
        self.server.close()
        self.thread.join(2)

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
