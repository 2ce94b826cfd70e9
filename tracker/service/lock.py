"""One `tracker run` per SQLite file, by an OS lock beside the database."""

from __future__ import annotations

import fcntl
import os

from sqlalchemy.engine import make_url

from tracker.core.errors import BadInput, ConfigError


class DaemonLock:
    """An OS lock on `<database file>.lock`: one `tracker run` per SQLite file.

    flock is released by the kernel when the process dies, however it dies, so a crash never
    leaves a stale lock behind. PostgreSQL takes no lock here: replicas coordinate there.
    """

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        database = url.database if url.get_backend_name() == "sqlite" else None
        self.path = f"{database}.lock" if database and database != ":memory:" else None
        self.fd: int | None = None

    def acquire(self) -> DaemonLock:
        if self.path is None:
            return self
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as problem:  # a read-only folder, say: one line, not a traceback
            folder = os.path.dirname(self.path) or "."
            raise ConfigError(
                f"database {self.path.removesuffix('.lock')}: cannot create the daemon's lock file "
                f"{self.path} ({(problem.strerror or type(problem).__name__).lower()}); the daemon "
                f"needs to write in {folder}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            database = self.path.removesuffix(".lock")
            raise BadInput(f"another tracker daemon (pid {holder}) is running on {database}; stop it first") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor drops the flock
            self.fd = None
