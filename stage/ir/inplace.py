"""Where an in-place update of an input (`st.assign`) may stand: one rule set for every backend.

`st.assign(x, v)` writes `v` into the program's input array `x`. It means what it means in
imperative code: a later read of `x` -- in a later iteration of a loop whose body assigns it -- sees
the new value. A loop body that assigns an input is a loop-carried in-place update (an epoch of
training steps in one `fori_loop`). To keep that meaning in every backend without ordering every read
against every write, a program must read an updated array only before the update:

1. the target of an update is an array argument of the compiled program;
2. no update inside a staged function (`@st.function`, or a loop or branch differentiated by `grad`,
   which become functions): a function may run any number of times in any order relative to its
   caller's reads;
3. in every block, once a node has updated `x` (a `store`, or a branch or loop whose blocks do), no
   later node of the block reads `x` or a view of it, and the block does not return either.

The interpreter and the code generator both run `check` before anything else, so they accept and
reject the same programs. (Loop bodies that update an input are traced without common-subexpression
sharing across the body's boundary -- see `stage.control` -- so every read in the body is a read of
the current value.)
"""
from __future__ import annotations

from typing import Dict, Optional, Set

from .graph import Block, Node, StageError, Sym
from .ops import OPS


def _where(n: Node) -> str:
    return f" (at {n.loc})" if n.loc else ""


def written_inputs(node: Node) -> Set[int]:
    """Ids of the input arrays a node updates in place, directly or in the blocks it runs."""
    d = OPS[node.op]
    out: Set[int] = set()
    if d.effects.target == "input":
        out.update(node.args[i].id for i in d.effects.writes if isinstance(node.args[i], Sym))
    if d.runs_blocks:
        for b in node.blocks:
            for n in b.nodes:
                out |= written_inputs(n)
    return out


def program_writes(block: Block) -> Set[int]:
    """Ids of the program's inputs that it updates in place anywhere."""
    out: Set[int] = set()
    for n in block.nodes:
        out |= written_inputs(n)
    return out


def check(block: Block):
    """Raise StageError naming the user's line when an update breaks the rules above."""
    inputs = {s.id for s in block.inputs}
    for n in block.walk():
        d = OPS[n.op]
        if d.effects.target == "input":
            for i in d.effects.writes:
                x = n.args[i]
                if not isinstance(x, Sym) or x.id not in inputs:
                    raise StageError(f"assign: {x} is not an input array of the compiled function "
                                     f"(only its own array arguments can be updated in place)"
                                     f"{_where(n)}")
        if d.kind == "closure":
            for m in n.blocks[0].walk():
                if OPS[m.op].effects.target == "input":
                    raise StageError(
                        f"assign inside a staged function (@st.function, or a loop or branch "
                        f"that grad differentiates) is not supported: return the new value and "
                        f"assign it outside{_where(m)}")
    _check_block(block, {})


def _check_block(block: Block, view_of: Dict[int, int]):
    """Rule 3 for one block and, recursively, the blocks inside it. `view_of` maps a view's symbol
    to the array it views (transitively), for the blocks of the enclosing scopes too."""
    view_of = dict(view_of)
    updated: Dict[int, Node] = {}            # input id -> the node that updated it

    def root(e) -> Optional[int]:
        if not isinstance(e, Sym):
            return None
        return view_of.get(e.id, e.id)

    def uses(n: Node):
        for a in n.args:
            yield a
        for b in n.blocks:
            for m in b.walk():
                yield from m.args
                for mb in m.blocks:
                    yield from mb.result
            yield from b.result

    for n in block.nodes:
        for a in uses(n):
            r = root(a)
            if r in updated:
                what = f"{a}" if a.id == r else f"{a} (a view of x{r})"
                raise StageError(f"assign: {what} is read{_where(n)} after it was updated in "
                                 f"place{_where(updated[r])}; read it before the update, or keep "
                                 f"the new value in a variable")
        d = OPS[n.op]
        if d.kind == "view" and n.args:
            r = root(n.args[0])
            if r is not None:
                view_of[n.sym.id] = r
        for b in n.blocks:
            _check_block(b, view_of)
        for x in written_inputs(n):
            updated[x] = n
    for e in block.result:
        r = root(e)
        if r in updated:
            raise StageError(f"assign: {e} is returned after it was updated in place"
                             f"{_where(updated[r])}")
