"""A throwaway PostgreSQL server for the store tests and bench/store_latency.py.

initdb into a temporary directory and start the server listening only on a
unix socket in that directory (no TCP port to collide with anything).
`initdb` refuses to run as root, and our machines run everything as root,
so the server then runs as the `postgres` user, in a directory it owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def find_bin_dir() -> Path | None:
    """Where `initdb` and `pg_ctl` are: $FSROUTER_PG_BIN, PATH, or the newest
    Debian/Ubuntu /usr/lib/postgresql/<version>/bin."""
    candidates = [os.environ.get("FSROUTER_PG_BIN")]
    if on_path := shutil.which("pg_ctl"):
        candidates.append(str(Path(on_path).parent))
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )[::-1]
    for candidate in filter(None, candidates):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


class ThrowawayPostgres:
    """One private server; `stop()` kills it and deletes its files."""

    def __init__(self, bin_dir: Path, *, fsync: bool = False):
        self.bin_dir = bin_dir
        self.fsync = fsync
        self.dir = Path(tempfile.mkdtemp(prefix="fsrouter-pg-"))
        self._as_postgres = os.geteuid() == 0
        self._started = False

    def __enter__(self) -> ThrowawayPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", self.dir / "data", "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        self._pg_ctl("start")
        self._started = True

    def restart(self) -> None:
        """Stop the server at once (every connection dies) and start it again,
        as a crash and recovery or a failover would."""
        self._pg_ctl("restart", "-m", "immediate")

    def _pg_ctl(self, action: str, *args: str) -> None:
        log = self.dir / "server.log"
        options = f"-k {self.dir} -c listen_addresses=''"
        if not self.fsync:
            options += " -c fsync=off -c full_page_writes=off"
        try:
            self._run("pg_ctl", "-D", self.dir / "data", "-l", log, "-w", "-t", "30",
                      "-o", options, action, *args)
        except RuntimeError as e:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{e}\nserver log:\n{tail}") from None

    def stop(self) -> None:
        try:
            if self._started:
                self._run("pg_ctl", "-D", self.dir / "data", "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql:///{dbname}?host={self.dir}&user=postgres"

    def create_database(self, dbname: str) -> str:
        """Create an empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        return self.url(dbname)

    def _run(self, program: str, *args: object) -> None:
        command = [str(self.bin_dir / program), *map(str, args)]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.dir)
        if done.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
            )
