"""Text form of the IR. Symbol names (`x7`) are the ones generated native code uses.

Nodes of a block are printed in a loop; only nested blocks recurse, so the depth of recursion is the
nesting of control flow, not the length of the program.
"""
from __future__ import annotations

from .graph import Block, Node
from .ops import OPS


def _params(node: Node) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in node.params.items() if v is not None)


def format_node(node: Node) -> str:
    """`x7 = mul(x3, x5) : f32[4,8]` (the op's arguments, then its static parameters)."""
    inside = ", ".join([repr(a) for a in node.args] + ([_params(node)] if _params(node) else []))
    rhs = f"{node.op}({inside})"
    if not node.syms:
        return rhs
    lhs = ", ".join(map(repr, node.syms))
    return f"{lhs} = {rhs} : {', '.join(str(s.type) for s in node.syms)}"


def _inputs(block: Block) -> str:
    return ", ".join(f"{s!r}: {s.type}" for s in block.inputs)


def _emit(block: Block, indent: int, lines):
    pad = "  " * indent
    for node in block.nodes:
        if not node.blocks:
            lines.append(pad + format_node(node))
            continue
        lines.append(pad + format_node(node) + " {")
        names = OPS[node.op].blocks
        for name, b in zip(names, node.blocks):
            lines.append(f"{pad}  {name}({_inputs(b)}):")
            _emit(b, indent + 2, lines)
            lines.append(f"{pad}    -> ({', '.join(map(repr, b.result))})")
        lines.append(pad + "}")


def format_block(block: Block, name: str = "def") -> str:
    lines = [f"{name}({_inputs(block)}) {{"]
    _emit(block, 1, lines)
    lines.append(f"  return ({', '.join(map(repr, block.result))})")
    lines.append("}")
    return "\n".join(lines)
