"""Telling a listener when reverse mode has finished the gradient of an input.

The backward pass accumulates a value's gradient from every use of it; once the backward step of
its last use has been staged, the gradient is complete. A data-parallel training step listens for
that to start summing a bucket of gradients across processes while the rest of the backward is
still to run (the backward finishes the last layer's parameters first).

`watch_gradients(listener)` registers a listener for the next `ad.run` whose arguments include the
watched values (`listener.watch`: ids of their symbols); `listener.ready(sym_id, grad)` is then
called once per watched argument, in the order its gradient is complete, always in the scope of
the `run` (the gradient of a value used inside a staged loop or branch is complete when that
control form's backward is done; one used in a staged function only at the end).
"""
from __future__ import annotations

import contextlib
from typing import Dict, List

from ..ir.graph import Block, Node, Sym, current_scope
from ..ir.ops import OPS

_LISTENERS: List = []


@contextlib.contextmanager
def watch_gradients(listener):
    """Within the block, the `ad.run` differentiating the watched values reports to `listener`."""
    _LISTENERS.append(listener)
    try:
        yield listener
    finally:
        _LISTENERS.remove(listener)


def tracker(ad, block: Block, args, adjs):
    """A `Readiness` for this run, when a listener watches one of its active arguments."""
    for lst in reversed(_LISTENERS):
        if any(a is not None and r.exp.id in lst.watch for r, a in zip(args, adjs)):
            return Readiness(lst, ad, block, args, adjs)
    return None


class Readiness:
    def __init__(self, listener, ad, block: Block, args, adjs):
        self.listener, self.scope = listener, current_scope()
        self.left: Dict[int, int] = {}           # block input id -> uses whose backward is to come
        self.info = {}                           # block input id -> (watched id, adjoint)
        self.late = set()                        # complete only at the end (staged functions)
        for s, r, a in zip(block.inputs, args, adjs):
            if a is not None and r.exp.id in listener.watch:
                self.left[s.id] = 0
                self.info[s.id] = (r.exp.id, a)
        self.users: Dict[int, List[int]] = {}     # node id -> watched inputs it uses
        for n in block.nodes:
            used = {a.id for a in n.args if isinstance(a, Sym) and a.id in self.left}
            for b in n.blocks:
                free = {s.id for s in ad.free(b) if s.id in self.left}
                if OPS[n.op].kind == "closure":
                    self.late |= free            # contributions come from its calls, anywhere
                used |= free
            if used:
                self.users[id(n)] = sorted(used)
                for s in used:
                    self.left[s] += 1
        for e in block.result[:1]:               # the loss itself: its cotangent comes at the end
            if isinstance(e, Sym) and e.id in self.left:
                self.late.add(e.id)
        self.queue: List[int] = [s for s, k in self.left.items() if k == 0 and s not in self.late]
        self.fired = set()

    def done(self, node: Node):
        """The backward step of `node` is staged (or it has none)."""
        for s in self.users.pop(id(node), ()):
            self.left[s] -= 1
            if self.left[s] == 0 and s not in self.late:
                self.queue.append(s)
        self._fire()

    def _fire(self):
        if current_scope() is not self.scope:    # inside a continuation: when back in the run's
            return
        while self.queue:
            self._report(self.queue.pop(0))

    def _report(self, s: int):
        if s in self.fired:
            return
        self.fired.add(s)
        watched, adj = self.info[s]
        g = adj.value()
        if g is not None:
            self.listener.ready(watched, g)

    def finish(self):
        """At the end of the run: every gradient not reported yet, in argument order."""
        self._fire()
        for s in self.info:
            self._report(s)
