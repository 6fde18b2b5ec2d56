"""Dead carries: a loop carry that neither the program after the loop, nor the loop's condition, nor
(through the body) any carry that is needed reads is removed from the loop, with the body's code
computing it (dead-code elimination then drops that code).

Besides the work saved, this is what makes reverse mode right when such a carry is not finite: the
backward pass of a loop runs the body's backward for every carry, and a carry whose result nobody
uses still multiplies its zero cotangent by its own partial derivatives -- 0 * inf or 0 * NaN is
NaN, which then reaches the inputs (a gradient of NaN where PyTorch and JAX give the true one).

Which ops are loops, and where their carries sit, is the op table's `loop_carries`.
"""
from __future__ import annotations

from typing import List, Set

from .graph import Block, Node, Sym
from .ops import OPS


def _used_in(block: Block) -> Set[int]:
    """Every symbol id read anywhere in block (nested blocks included)."""
    used = {e.id for e in block.result if isinstance(e, Sym)}
    for n in block.walk():
        used.update(a.id for a in n.args if isinstance(a, Sym))
        for b in n.blocks:
            used.update(e.id for e in b.result if isinstance(e, Sym))
    return used


def _needed(block: Block, results: List[int], effects) -> Set[int]:
    """The symbol ids block's results at positions `results` (and its effects) depend on."""
    need = {block.result[k].id for k in results if isinstance(block.result[k], Sym)}
    for n in reversed(block.nodes):
        if effects(n) or any(s.id in need for s in n.syms):
            need.update(a.id for a in n.args if isinstance(a, Sym))
            for b in n.blocks:
                need |= _used_in(b)
    return need


def _prune(node: Node, used: Set[int], effects) -> bool:
    first_arg, first_input = OPS[node.op].loop_carries
    n = len(node.syms)
    live = {j for j in range(n) if node.syms[j].id in used}
    body = node.blocks[-1]
    for b in node.blocks[:-1]:                       # a condition: what it reads is needed
        need = _needed(b, list(range(len(b.result))), effects)
        live |= {j for j in range(n) if b.inputs[first_input + j].id in need}
    while True:
        need = _needed(body, sorted(live), effects)
        more = live | {j for j in range(n) if body.inputs[first_input + j].id in need}
        if more == live:
            break
        live = more
    if len(live) == n or not live:        # nothing to drop, or the whole loop is dead (dce's job)
        return False
    keep = sorted(live)
    node.args = node.args[:first_arg] + tuple(node.args[first_arg + j] for j in keep)
    node.syms = tuple(node.syms[j] for j in keep)
    for b in node.blocks:
        b.inputs = b.inputs[:first_input] + tuple(b.inputs[first_input + j] for j in keep)
    body.result = tuple(body.result[j] for j in keep)
    return True


def prune_dead_carries(block: Block, effects) -> bool:
    """Drop the dead carries of every loop in block (in place); whether any was dropped.
    `effects(node)` says whether a node must run for its effects."""
    used = _used_in(block)
    changed = False
    for node in list(block.walk()):
        if OPS[node.op].loop_carries is not None and _prune(node, used, effects):
            changed = True
    return changed
