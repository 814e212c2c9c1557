"""What the fault tests break: processes to kill (a worker, Redis, the beat), a CLM to take
down and bring back, and a TCP proxy that cuts the database's connections."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from http.server import ThreadingHTTPServer

from django.conf import settings

from clmsite.testing import ChildProcess, ServerProcess, child_environment, free_port, wait_for
from connectors.tasks import sweep_task
from connectors.tests.clm_server import FakeClmServer, _handler_for


class ForkedWorker:
    """A Celery worker (``--pool=solo``) forked from a parent that has imported everything
    once (``worker_forks.py``), so that a test can kill it and have a new one taking tasks in
    a fraction of the seconds a worker started from scratch needs. Each worker leads its own
    process group; ``kill_group()`` sends SIGKILL to all of it, as a crashed machine would."""

    def __init__(self, *, log_name: str, **env_overrides: str):
        self.log_path = settings.VAR_DIR / log_name
        self.env_overrides = env_overrides
        self.parent: subprocess.Popen | None = None
        self.pid: int | None = None

    def start(self) -> ForkedWorker:
        if self.parent is None:
            with open(self.log_path, "a") as log:
                self.parent = subprocess.Popen(
                    [sys.executable, "-m", "clmsite.tests.faults.worker_forks", str(self.log_path)],
                    cwd=settings.BASE_DIR,
                    env=child_environment(**self.env_overrides),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                )
        self.parent.stdin.write("fork\n")
        self.parent.stdin.flush()
        answer = self.parent.stdout.readline()
        if not answer.strip().isdigit():
            raise RuntimeError(f"no worker was forked:\n{self.log_tail()}")
        self.pid = int(answer)
        return self

    @property
    def alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill_group(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        if not wait_for(lambda: not self.alive, timeout=20, interval=0.02):
            raise RuntimeError(f"worker {self.pid} survived SIGKILL")

    def stop(self) -> None:
        """Kills the last worker and ends the parent."""
        if self.alive:
            self.kill_group()
        if self.parent is not None:
            self.parent.stdin.close()
            self.parent.wait(timeout=20)
            self.parent = None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text()[-chars:] if self.log_path.exists() else ""


class BeatProcess(ChildProcess):
    """``celery beat`` with the database scheduler, as production runs it."""

    command = [sys.executable, "-m", "celery", "-A", "clmsite", "beat", "--loglevel=INFO"]


class RedisServer(ServerProcess):
    """A redis-server of the test's own, keeping nothing on disk: killed, its queues are gone."""

    def __init__(self, *, log_name: str = "test-faults-redis.log"):
        super().__init__(log_name=log_name)
        self.command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        self.command += ["--save", "", "--appendonly", "no"]

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class _DroppableHttpServer(ThreadingHTTPServer):
    """Remembers its open connections, so that stopping it also ends the kept-alive ones
    (a handler thread would otherwise go on answering a client's pooled connection)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, *args, **kwargs):
        self.open_connections: set[socket.socket] = set()
        super().__init__(*args, **kwargs)

    def get_request(self):
        connection, address = super().get_request()
        self.open_connections.add(connection)
        return connection, address

    def shutdown_request(self, request):
        self.open_connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        for connection in list(self.open_connections):
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                connection.close()


class RestartableClm(FakeClmServer):
    """The fake reference CLM on a port of its own: ``stop()`` takes it down (nothing listens,
    kept-alive connections end), ``start()`` brings it back there with the same contracts.
    Each answer takes ``latency`` seconds, as a CLM across a network does."""

    def __init__(self, *, latency: float = 0.0):
        super().__init__()
        self.latency = latency
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RestartableClm:
        self._httpd = _DroppableHttpServer(("127.0.0.1", self.port), _handler_for(self))
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        super().stop()
        self._httpd.drop_connections()

    def answer(self, *args, **kwargs):
        if self.latency:
            time.sleep(self.latency)
        return super().answer(*args, **kwargs)


class Sweeper:
    """The beat's sweep (every 15 s in production), run by the test while it waits: call it
    as often as you like, it sweeps at most every ``every`` seconds."""

    def __init__(self, every: float = 1.0):
        self.every = every
        self.next_at = time.monotonic() + every

    def __call__(self) -> None:
        if time.monotonic() >= self.next_at:
            sweep_task()
            self.next_at = time.monotonic() + self.every


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target``, so a test can break the network between a
    process and its database: ``cut_when(condition)`` drops every connection as soon as the
    bytes the client has sent since satisfy ``condition``; ``refuse()`` hangs up on every new
    connection until ``accept()``."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refusing = False
        self.cuts = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._sent_since_armed = b""
        self._condition = None

    def start(self) -> TcpProxy:
        threading.Thread(target=self._accept_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self.listener.close()
        self.cut()

    def cut_when(self, condition) -> None:
        with self._lock:
            self._sent_since_armed, self._condition = b"", condition

    def cut(self) -> None:
        """Every open connection ends at once, as when the network or the server goes."""
        with self._lock:
            doomed, self._sockets = self._sockets, set()
            self._condition = None
        for sock in doomed:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()

    def refuse(self) -> None:
        self.refusing = True

    def accept(self) -> None:
        self.refusing = False

    def _accept_forever(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if self.refusing:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client and self._should_cut(data):
                    self.cuts += 1
                    self.cut()
                    return
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _should_cut(self, data: bytes) -> bool:
        with self._lock:
            if self._condition is None:
                return False
            self._sent_since_armed += data
            return self._condition(self._sent_since_armed)
