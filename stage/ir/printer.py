"""Text form of the IR. Symbol names (`x7`) are the ones the generated C++ uses.

Nodes of a block are printed in a loop; only nested blocks recurse, so the depth of recursion is the
nesting of control flow, not the length of the program.
"""
from __future__ import annotations

from .graph import Block, Node

BLOCK_NAMES = {"cond": ("then", "else"), "fori_loop": ("body",), "while_loop": ("cond", "body"),
               "fun": ("body",)}


def _params(node: Node) -> str:
    ps = [f"{k}={v!r}" for k, v in node.params.items() if v is not None]
    return (", " + ", ".join(ps)) if ps else ""


def format_node(node: Node) -> str:
    rhs = f"{node.op}({', '.join(map(repr, node.args))}{_params(node)})"
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
        names = BLOCK_NAMES.get(node.op, tuple(f"block{i}" for i in range(len(node.blocks))))
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
