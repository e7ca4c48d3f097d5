"""End to end: `fsrouter run` routes simulated calls over real ESL sockets."""

from __future__ import annotations

import signal

from gevent import socket

from fsrouter.sim import CallerScript, HangUp, Press
from fsrouter.sim.scenario import prompt_id

CALL_TIMEOUT = 20


def heard(call) -> list[str]:
    return [prompt_id(sound) for sound in call.sounds]


def place(fsrouter, *actions, destination="5000"):
    call = fsrouter.switch.place_call(CallerScript(destination=destination, actions=list(actions)))
    assert call.wait(CALL_TIMEOUT), f"call did not end\n{fsrouter.log_text()}"
    return call


def test_wrong_key_is_reprompted_then_right_key_transfers(fsrouter):
    call = place(fsrouter,
                 Press("9", after_prompt="menu/main"),
                 Press("1", after_prompt="menu/main", occurrence=2))
    assert heard(call) == ["greeting/acme", "menu/main", "ivr/invalid", "menu/main"]
    assert call.transferred_to is not None and call.transferred_to.startswith("1001")
    assert call.socket_closed_by_client  # fsrouter let go of the session


def test_caller_hanging_up_mid_menu_leaves_nothing_behind(fsrouter):
    # Warm up once so lazily created objects (loggers, pools) exist before the baseline.
    place(fsrouter, Press("2", after_prompt="menu/main"))
    fsrouter.wait_until(lambda: fsrouter.status()["active_calls"] == 0, 10, "warm-up call lingered")
    greenlets, fds = fsrouter.status()["runtime_greenlets"], fsrouter.open_fds()

    call = place(fsrouter, HangUp(after_prompt="menu/main", delay=0.05))
    assert call.hung_up_by == "caller"
    assert call.transferred_to is None
    assert call.socket_closed_by_client  # with linger, fsrouter must close the socket
    fsrouter.wait_until(lambda: fsrouter.status()["active_calls"] == 0, 10, "session not cleaned up")
    fsrouter.wait_until(lambda: fsrouter.status()["runtime_greenlets"] <= greenlets, 10,
                        f"greenlets leaked: {fsrouter.status()['runtime_greenlets']} > {greenlets}")
    fsrouter.wait_until(lambda: fsrouter.open_fds() <= fds, 10, "sockets leaked")


def test_garbage_on_one_session_never_stops_the_others(fsrouter):
    ok = fsrouter.switch.place_call(CallerScript(destination="5000", actions=[
        Press("9", after_prompt="menu/main"), Press("2", after_prompt="menu/main", occurrence=2)]))
    for garbage in (b"Content-Length: banana\n\n", b"\x00\xff" * 500 + b"\n\n",
                    b"Content-Length: 99999999999\n\n"):
        rogue = socket.create_connection(("127.0.0.1", fsrouter.port), timeout=5)
        assert rogue.recv(100).startswith(b"connect")  # fsrouter speaks first, as ESL wants
        rogue.sendall(garbage)
        rogue.settimeout(5)
        while rogue.recv(4096):  # fsrouter drops this one connection
            pass
        rogue.close()
    assert ok.wait(CALL_TIMEOUT)
    assert ok.transferred_to is not None and ok.transferred_to.startswith("1002")
    assert fsrouter.proc.poll() is None
    assert fsrouter.status()["calls_started"] >= 1


def test_broken_rules_on_reload_keep_the_running_plan(fsrouter):
    fsrouter.rules.write_text(fsrouter.rules.read_text().replace("flows:", "flowz:"))
    fsrouter.proc.send_signal(signal.SIGHUP)
    fsrouter.wait_until(lambda: "reload refused" in fsrouter.log_text(), 10, "reload not refused")
    assert f"{fsrouter.rules}:" in fsrouter.log_text()  # the error names file:line:col
    call = place(fsrouter, Press("0", after_prompt="menu/main"))
    assert call.transferred_to is not None and call.transferred_to.startswith("operator")


def test_unknown_number_is_hung_up_with_a_cause(fsrouter):
    call = place(fsrouter, destination="9999")
    assert call.hung_up_by == "fsrouter"
    assert call.hangup_cause == "UNALLOCATED_NUMBER"


def test_queued_caller_holds_until_max_wait_then_goes_to_its_destination(fsrouter):
    call = place(fsrouter, destination="5001")
    prompts = heard(call)
    assert prompts[0] == "greeting/acme"
    assert prompts.count("queue/hold_music") >= 2  # looped while waiting (2 s at 20x speed)
    assert prompts[-1] == "queue/max_wait"
    assert call.transferred_to is not None and call.transferred_to.startswith("operator")
