"""The op table and the rule tables keyed by it: every op has a rule in every interpretation, and
nothing outside the tables switches on op names; the IR knows no backend."""
import re
from pathlib import Path

import pytest

from stage.codegen.lowerings import (LOWERINGS, Control, Effect, Elementwise, Kernel, Reduction,
                                     View)
from stage.cps.control import RULES as CPS_RULES
from stage.ir.interp import RULES as INTERP_RULES
from stage.ir.ops import NONDIFF, OPS
from stage.ir.ops.control import CONTROL

STAGE = Path(__file__).resolve().parent.parent / "stage"

# what kind of lowering each kind of op needs in the C++ backend
LOWERING_OF_KIND = {"elementwise": Elementwise, "reduce": Reduction, "view": View,
                    "general": Kernel, "effect": Effect, "control": Control, "closure": Control,
                    "call": Control}


@pytest.mark.parametrize("op", sorted(OPS))
def test_every_op_has_every_rule(op):
    d = OPS[op]
    # the interpreter: a NumPy reference, or a rule of its own (control forms)
    assert callable(d.ref) or op in INTERP_RULES, f"{op}: the interpreter cannot run it"
    # reverse mode: a gradient rule, NONDIFF, or a CPS rule of a control form
    if d.grad is CONTROL:
        assert op in CPS_RULES or d.kind == "closure", f"{op}: no CPS rule"
    else:
        assert d.grad is NONDIFF or callable(d.grad), f"{op}: no gradient rule"
    # the printer names the blocks of control forms
    assert bool(d.blocks) == (d.kind in ("control", "closure")), f"{op}: blocks vs kind"
    # the C++ backend
    rule = LOWERINGS.get(op)
    assert rule is not None, f"{op}: the C++ backend has no lowering"
    assert isinstance(rule, LOWERING_OF_KIND[d.kind]), \
        f"{op}: a {d.kind} op lowered as {type(rule).__name__}"


def test_tables_have_no_unknown_ops():
    assert set(LOWERINGS) <= set(OPS)
    assert set(INTERP_RULES) <= set(OPS) and set(CPS_RULES) <= set(OPS)


# comparisons of a node's op with a name, e.g. `n.op == "store"` or `node.op in ("cond", ...)`
_SWITCH = re.compile(r"""\.op\s*(==|!=)\s*['"]|['"]\s*(==|!=)\s*\w+\.op\b|"""
                     r"""\.op\s+(not\s+)?in\s*[(\[{]\s*['"]""")


def test_no_module_switches_on_op_names():
    offenders = []
    for path in STAGE.rglob("*.py"):
        for k, line in enumerate(path.read_text().splitlines(), 1):
            if _SWITCH.search(line):
                offenders.append(f"{path.relative_to(STAGE.parent)}:{k}: {line.strip()}")
    assert not offenders, "ask the op table instead:\n" + "\n".join(offenders)


def test_ir_knows_no_backend():
    for path in (STAGE / "ir").rglob("*.py"):
        text = path.read_text()
        assert "codegen" not in text, f"{path} mentions the code generator"
        assert not re.search(r"C\+\+|\bcpp\b", text), f"{path} mentions C++"


def test_layers_import_downwards():
    """The IR imports nothing of stage above it; CPS and codegen do not import the public API."""
    above_ir = ("stage.cps", "stage.codegen", "stage.compile", "stage.program", "stage.train",
                "stage.nn", "stage.optim", "stage.deploy", "stage.control")
    api = ("stage.compile", "stage.train", "stage.nn", "stage.optim", "stage.deploy")
    rules = {"ir": above_ir, "cps": api + ("stage.codegen",), "codegen": api + ("stage.cps",)}
    for layer, banned in rules.items():
        for path in (STAGE / layer).rglob("*.py"):
            for k, line in enumerate(path.read_text().splitlines(), 1):
                m = re.match(r"\s*(?:from|import)\s+([.\w]+)", line)
                if not m:
                    continue
                mod = _absolute(m.group(1), path)
                assert not mod.startswith(banned), f"{path}:{k} imports {mod}"


def _absolute(mod: str, path: Path) -> str:
    if not mod.startswith("."):
        return mod
    level = len(mod) - len(mod.lstrip("."))
    pkg = list(path.relative_to(STAGE.parent).with_suffix("").parts[:-1])
    base = pkg[:len(pkg) - level + 1]
    rest = mod.lstrip(".")
    return ".".join(base + ([rest] if rest else []))
