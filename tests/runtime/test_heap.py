"""The collector's policy for a running service (`fsrouter.runtime.heap`)."""

import gc

import gevent
import pytest

from fsrouter.runtime.heap import settle_heap


@pytest.fixture
def settled():
    tracked = gevent.config.track_greenlet_tree
    try:
        yield settle_heap
    finally:  # the rest of the test session collects and spawns as usual
        gc.unfreeze()
        gevent.config.track_greenlet_tree = tracked


def test_greenlets_spawned_once_settled_keep_no_spawning_stack(settled):
    before = gevent.spawn(gevent.sleep, 0)
    settled()
    after = gevent.spawn(gevent.sleep, 0)
    gevent.joinall([before, after])
    assert before.spawning_stack is not None  # gevent's default: the spawner's frames, kept
    assert after.spawning_stack is None and after.spawning_greenlet is None


def test_the_startup_heap_is_frozen_and_what_comes_later_is_still_collected(settled):
    startup = [[] for _ in range(100)]
    settled()
    assert gc.get_freeze_count() >= 100
    assert not any(o is startup for o in gc.get_objects())  # no longer walked
    later = []
    later.append(later)  # a cycle made after start-up
    assert any(o is later for o in gc.get_objects())
    del later
    assert gc.collect() >= 1
