"""A unix-socket proxy in front of the throwaway PostgreSQL that loses the
answer to a COMMIT: the server has committed, the client never hears so.

That is the hard case of a lost connection (the deferred-trigger kill in
test_store_reconnect.py covers the other one, a commit that did not
happen).  Once `armed`, the proxy passes the client's `COMMIT` on, waits
for the server's answer (sent only once the commit is done), then drops
it and closes both sides.  With `refuse_after_cut` it also turns every
later connection away, as a server that went down right after would.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from pathlib import Path

# The frontend's simple-query message for COMMIT, as psycopg sends it when a
# transaction block ends: 'Q', int32 length (4 + 7), "COMMIT\0".
_COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"
_SOCKET = ".s.PGSQL.5432"  # libpq's socket name for the default port


class CommitCutter:
    def __init__(self, server_dir: Path, *, refuse_after_cut: bool = False):
        self._target = str(server_dir / _SOCKET)
        self.dir = Path(tempfile.mkdtemp(prefix="pgcut-"))  # short: unix paths max ~107 bytes
        self.refuse_after_cut = refuse_after_cut
        self.armed = threading.Event()
        self.cut = threading.Event()
        self._listener = socket.socket(socket.AF_UNIX)
        self._listener.bind(str(self.dir / _SOCKET))
        self._listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, dbname: str) -> str:
        return f"postgresql:///{dbname}?host={self.dir}&user=postgres"

    def close(self) -> None:
        self._listener.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self.cut.is_set() and self.refuse_after_cut:
                client.close()
                continue
            server = socket.socket(socket.AF_UNIX)
            server.connect(self._target)
            committing = threading.Event()
            threading.Thread(target=self._to_server, args=(client, server, committing), daemon=True).start()
            threading.Thread(target=self._to_client, args=(server, client, committing), daemon=True).start()

    def _to_server(self, client: socket.socket, server: socket.socket, committing: threading.Event) -> None:
        while data := _recv(client):
            if self.armed.is_set() and not self.cut.is_set() and _COMMIT in data:
                committing.set()
            try:
                server.sendall(data)
            except OSError:
                return

    def _to_client(self, server: socket.socket, client: socket.socket, committing: threading.Event) -> None:
        while data := _recv(server):
            if committing.is_set():  # the commit is done; its answer is lost
                self.cut.set()
                for side in (client, server):
                    side.shutdown(socket.SHUT_RDWR)
                    side.close()
                return
            try:
                client.sendall(data)
            except OSError:
                return


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""
