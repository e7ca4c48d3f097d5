"""The call runner while the queue runtime bridges its caller, over a scripted call.

The bridge breaks the caller's hold music, and the completion of that
playback can reach the runner before the news that the bridge is made; the
runner must not answer it with more media (queued on a bridged channel, it
would play inside the bridge with the agent cut off).
"""

import gevent
import gevent.queue
import pytest
from runtime_fakes import RULES

from fsrouter.runtime.call_runner import CallRunner, RunnerSettings
from fsrouter.esl.codec import Event
from fsrouter.esl.errors import ESLConnectionClosed
from fsrouter.esl.outbound import WAKE
from fsrouter.flow import CallMachine
from fsrouter.offer.messages import Bridging, Bridged, BridgeFailed, NoAgents, Transferring
from fsrouter.rules.compiler import compile_source

UUID = "caller-1"


class ScriptedCall:
    """An OutboundCall whose events the test puts in; records what was executed."""

    uuid = UUID
    channel = {}

    def __init__(self):
        self.events = gevent.queue.Queue()
        self.executed = []

    def command(self, line, timeout=5.0):
        return "+OK"

    def commands(self, lines, timeout=5.0):
        return [self.command(line, timeout) for line in lines]

    def execute(self, app, arg=None, *, event_uuid, event_lock, timeout):
        self.executed.append((app, arg, event_uuid))

    def api(self, cmd, timeout=5.0):
        self.executed.append(("api", cmd, None))
        return "+OK"

    def next_event(self, timeout):
        try:
            item = self.events.get(timeout=timeout)
        except gevent.queue.Empty:
            return None
        if isinstance(item, Exception):
            raise item
        return item

    def wake(self):
        self.events.put(WAKE)

    def close(self):
        pass

    def playbacks(self):
        return [(arg, app_uuid) for app, arg, app_uuid in self.executed if app == "playback"]

    def completes(self, app_uuid):
        self.events.put(Event({"Event-Name": "CHANNEL_EXECUTE_COMPLETE", "Unique-ID": UUID,
                               "Application-UUID": app_uuid, "Application-Response": "FILE PLAYED"}))

    def sends(self, name):
        self.events.put(Event({"Event-Name": name, "Unique-ID": UUID}))


class Queueing:
    notify = None
    left = None

    def __init__(self):
        self.joins, self.leaves = [], []

    def join(self, call_uuid, queue, variables, notify):
        self.notify = notify
        self.joins.append(queue)
        return True

    def leave(self, call_uuid, reason):
        self.left = reason
        self.leaves.append(reason)

    def hang_up(self, call_uuid):
        self.left = "hangup"

    def status(self, call_uuid):
        return None

    def book_callback(self, call_uuid, number):
        return None


def started(rules):
    """A runner on a call to 5000 under `rules`, waiting in its first queue;
    (runner greenlet, call, queueing, machine)."""
    machine = CallMachine(compile_source(rules), {"destination_number": "5000", "uuid": UUID}, now=0)
    call, queueing = ScriptedCall(), Queueing()
    settings = RunnerSettings(sounds_root="/s", settle_timeout=0.05, command_timeout=0.05)
    runner = gevent.spawn(CallRunner(call, machine, settings, queueing=queueing).run)
    gevent.sleep(0.01)
    assert len(call.playbacks()) == 1  # on hold
    return runner, call, queueing, machine


def hang_up(runner, call):
    call.sends("CHANNEL_HANGUP_COMPLETE")
    runner.join(2)
    assert runner.dead


@pytest.fixture
def running():
    runner, *running = started(RULES)
    yield running
    hang_up(runner, running[0])


def test_media_broken_by_the_bridge_is_not_answered_with_more_media(running):
    call, queueing, machine = running
    [(_, hold)] = call.playbacks()
    queueing.notify(Bridging("1001"))
    call.completes(hold)  # the bridge broke the hold music
    gevent.sleep(0.01)
    queueing.notify(Bridged("1001"))
    gevent.sleep(0.01)
    assert len(call.playbacks()) == 1
    assert machine.state == "connected"


def test_a_failed_bridge_sends_the_held_back_music_after_all(running):
    call, queueing, machine = running
    [(_, hold)] = call.playbacks()
    queueing.notify(Bridging("1001"))
    call.completes(hold)  # the music ended by itself just then
    gevent.sleep(0.01)
    assert len(call.playbacks()) == 1
    queueing.notify(BridgeFailed("1001"))
    gevent.sleep(0.01)
    assert len(call.playbacks()) == 2 and machine.state == "queued"


def test_an_agent_leaving_before_the_bridge_news_still_ends_the_call(running):
    call, queueing, machine = running
    queueing.notify(Bridging("1001"))
    call.sends("CHANNEL_UNBRIDGE")  # the agent hung up at once
    gevent.sleep(0.01)
    queueing.notify(Bridged("1001"))
    gevent.sleep(0.01)
    assert machine.state == "finished"
    assert call.executed[-1][:2] == ("hangup", "NORMAL_CLEARING")


def test_a_socket_closed_while_queued_takes_the_call_out_of_the_queue(running):
    call, queueing, machine = running
    call.events.put(ESLConnectionClosed("FreeSWITCH closed the socket"))
    gevent.sleep(0.01)
    assert queueing.left == "hangup"


def test_an_early_unbridge_survives_a_slow_bridge_report(running):
    call, queueing, machine = running
    queueing.notify(Bridging("1001"))
    call.sends("CHANNEL_UNBRIDGE")
    gevent.sleep(0.3)  # longer than the runner waits for word on the bridge (0.1 s here)
    queueing.notify(Bridged("1001"))
    gevent.sleep(0.01)
    assert machine.state == "finished"


MOVES = """
settings: {timezone: UTC, language: en}
lines: {"5000": {flow: wait}}
flows:
  wait:
    - queue: a
queues:
  a:
    exit: {"0": {queue: b}}
    max_wait: {after: 0.3s, then: {queue: b}}
    no_agents: {queue: c}
  b:
    max_wait: {after: 0.3s, then: {queue: c}}
  c:
    max_wait: {after: 10m, then: {hangup: NORMAL_CLEARING}}
"""
"""Queue a sends its callers on to b by exit key 0, max wait or no agents; b to c by max wait."""


@pytest.fixture
def moving():
    """A caller waiting in queue a of `MOVES`."""
    runner, call, queueing, machine = started(MOVES)
    assert queueing.joins == ["a"]
    yield call, queueing, machine
    hang_up(runner, call)


def press(call, digit):
    call.events.put(Event({"Event-Name": "DTMF", "Unique-ID": UUID, "DTMF-Digit": digit}))


def test_an_exit_key_to_another_queue_moves_the_caller_in_the_acd(moving):
    call, queueing, machine = moving
    press(call, "0")
    gevent.sleep(0.05)
    assert machine.outcome == ("queue", "b")
    assert (queueing.joins, queueing.leaves) == (["a", "b"], ["exit_key:0"])


def test_the_max_wait_to_another_queue_moves_the_caller_in_the_acd(moving):
    call, queueing, machine = moving
    gevent.sleep(0.4)
    assert machine.outcome == ("queue", "b")
    assert (queueing.joins, queueing.leaves) == (["a", "b"], ["max_wait"])


def test_nobody_left_to_serve_moves_the_caller_to_the_no_agents_queue(moving):
    call, queueing, machine = moving
    queueing.notify(NoAgents("a"))
    gevent.sleep(0.05)
    assert machine.outcome == ("queue", "c")
    assert (queueing.joins, queueing.leaves) == (["a", "c"], ["no_agents"])


def test_an_exit_key_is_not_the_reason_for_leaving_the_next_queue(moving):
    call, queueing, machine = moving
    press(call, "0")
    gevent.sleep(0.4)  # b's max wait
    assert machine.outcome == ("queue", "c")
    assert (queueing.joins, queueing.leaves) == (["a", "b", "c"], ["exit_key:0", "max_wait"])


def test_a_transfer_is_not_joined_again_the_runtime_moved_the_caller_itself(moving):
    call, queueing, machine = moving
    queueing.notify(Bridging("1001"))
    queueing.notify(Bridged("1001"))
    gevent.sleep(0.01)
    queueing.notify(Transferring("b", {"transfers": "1"}))
    gevent.sleep(0.01)
    call.sends("CHANNEL_UNBRIDGE")
    gevent.sleep(0.05)
    assert machine.outcome == ("queue", "b")
    assert (queueing.joins, queueing.leaves) == (["a"], [])
