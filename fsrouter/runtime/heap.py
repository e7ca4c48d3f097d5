"""What the cyclic garbage collector has to walk in a running service, kept small.

CPython's collector walks every tracked container of the generation it
collects; a full collection walks them all, and one runs whenever the old
generation has grown by a quarter since the last.  While thousands of calls
arrive (each holds about 72 tracked objects: its connection, reader
greenlet, queues, runner, machine, timers...), that means a full collection
every few seconds, each as long as the heap is big, during which no call is
answered (bench/README.md, "Profiles").  Two things cut what is walked
without collecting any less garbage:

* `gc.freeze()` once started: the imports, the compiled rules, the store and
  the API are there for the life of the process; frozen, they are never
  walked again (reference counting still frees what is dropped; a reload
  freezes its new plan the same way, `runtime.reload`).
* gevent's greenlet tree off: by default every greenlet records who spawned
  it and the spawner's stack (`spawning_stack`, frame objects kept for the
  greenlet's life); nothing in fsrouter reads them, and they were about five
  of each call's 77 tracked objects (measured in bench/capacity.py's fill).
"""

from __future__ import annotations

import gc

import gevent


def settle_heap() -> None:
    """Once the service has started: greenlets spawned from now on keep no
    spawning tree; everything alive now is collected once, then moved out of
    the collector's walks for good (see the module's doc)."""
    gevent.config.track_greenlet_tree = False
    gc.collect()
    gc.freeze()
