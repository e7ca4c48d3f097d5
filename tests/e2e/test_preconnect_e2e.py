"""End to end: peers that never become calls cost `fsrouter run` bounded memory, and calls go on.

Fifty hostile peers connect to the outbound listener at once: forty trickle
a header block just under the 64 KiB limit and never finish it, ten claim a
16 MiB body and send it as fast as they can.  Meanwhile a real (simulated)
call arrives and is served.  The body senders are closed at once, the
process's resident memory stays within a few MiB of where it was (before the
bound each body sender made it hold about 30 MiB), and the process lives on.
The figures under load are measured by bench/preconnect_memory.py.
"""

from __future__ import annotations

from pathlib import Path

import gevent
import gevent.event
from gevent import socket

from fsrouter.sim import CallerScript, Press

MIB = 1024 * 1024


def rss(pid: int) -> int:
    """The process's resident set size in bytes (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def hostile_peer(port: int, kind: str, done: gevent.event.Event, closed: list) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        assert sock.recv(100) == b"connect\n\n"
        if kind == "body":
            sock.sendall(b"Content-Type: command/reply\nContent-Length: 16777216\n\n")
            chunk = b"x" * MIB
            for _ in range(16):
                sock.sendall(chunk)
        else:
            sock.sendall(b"Event-Name: CHANNEL_DATA\nvariable_x: ")
            for _ in range(60):
                sock.sendall(b"y" * 1024)
                gevent.sleep(0.01)
        sock.settimeout(0.2)
        while sock.recv(65536):
            pass
        closed.append(kind)
    except (TimeoutError, socket.timeout):
        done.wait(10)  # held open by fsrouter (connect_timeout): keep it until the test ends
    except OSError:
        closed.append(kind)  # reset by fsrouter while we were writing
    finally:
        sock.close()


def test_pre_connect_flood_is_bounded_and_calls_are_still_served(fsrouter):
    warm = fsrouter.switch.place_call(CallerScript(destination="5000", actions=[Press("2", after_prompt="menu/main")]))
    assert warm.wait(20), fsrouter.log_text()
    before = rss(fsrouter.proc.pid)

    done, closed = gevent.event.Event(), []
    peers = [gevent.spawn(hostile_peer, fsrouter.port, "body" if i % 5 == 0 else "header", done, closed)
             for i in range(50)]
    gevent.sleep(0.3)
    call = fsrouter.switch.place_call(CallerScript(destination="5000", actions=[Press("2", after_prompt="menu/main")]))
    peak = before
    while not call.done:
        peak = max(peak, rss(fsrouter.proc.pid))
        gevent.sleep(0.05)
    done.set()
    gevent.joinall(peers, timeout=10)

    assert call.transferred_to is not None and call.transferred_to.startswith("1002"), fsrouter.log_text()
    assert peak - before < 32 * MIB, f"RSS grew {(peak - before) / MIB:.1f} MiB"
    assert closed.count("body") == 10  # each refused at its Content-Length
    assert fsrouter.proc.poll() is None
    assert "exceeds 0" in fsrouter.log_text()
