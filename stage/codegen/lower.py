"""Lowering: a scheduled program to loop IR, one native function per staged function.

Each staged function (the entry, and every closure: continuations, loops under grad, staged
functions) becomes one C++ function with one frame of buffers (`storage`). Every node is lowered by
its op's rule in the backend's table (`lowerings`), which receives a `context.Context`; elementwise
chains and reductions become loops (`loops`), effects write refs and inputs (`effects`), control
forms become `if`, `for`, `while` and lambdas passed as `stage::fref`.
"""
from __future__ import annotations

import contextlib
import os
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..ir.graph import Block, Node, Sym
from ..ir.inplace import program_writes
from ..ir.ops import OPS
from ..ir.printer import format_node
from ..ir.types import FunType, RefType, TensorType
from . import fusion, memory
from .context import Context
from .cpp import ctype, literal, param_type, signature
from .effects import Effects
from .layout import Layout, contiguous_strides
from .loopir import Comment, FrameDecl, Line, Stmt, render
from .loops import LoopEmitter
from .lowerings import Control, Effect, Elementwise, Kernel, Reduction, View, lowering
from .storage import Function, Storage


@dataclass
class Lowered:
    """Everything the template needs, as plain strings."""
    name: str
    constants: List[str]
    params: List[str]
    body: List[str]
    big_stack: bool
    inputs: List[str] = field(default_factory=list)     # documentation of the entry's arguments
    outputs: List[str] = field(default_factory=list)
    profile: List[str] = field(default_factory=list)    # op kinds timed (profiling builds)
    requires: List[str] = field(default_factory=list)   # runtime features used ("mpi"): headers


def _short(loc: Optional[str]) -> str:
    """`file.py:12` of a user location (no directories: they would name the build machine)."""
    if not loc:
        return "?"
    path, _, line = loc.rpartition(":")
    return f"{os.path.basename(path)}:{line}"


class Lowering(Storage, Effects):
    def __init__(self, program, name: str, profile: bool = False):
        self.program = program
        self.name = name
        self.plan = fusion.plan(program.block)
        self.in_place: set = set()      # syms whose storage already holds their base argument
        self.node_uses: Optional[list] = None
        self.fused_now: Optional[list] = None      # nodes computed in the current node's loops
        self.placed = _output_placement(program.block)     # sym id -> output index
        self.in_output: Dict[int, str] = {}                # output index -> variable placed there
        self.profile = profile            # time every op kind (see runtime `prof_add`)
        self.prof_names: List[str] = []
        self.store: Dict[int, object] = {}          # sym id -> Layout | closure name
        self.used: set = set()                      # ids of the symbols the code reads
        self.closure_caps: Dict[int, set] = {}      # closure sym id -> captured buffers
        self.buf_of: Dict[int, memory.Buffer] = {}
        self.constants: List[str] = []
        self.requires: set = set()      # runtime features the lowering rules asked for
        self._const_ids: Dict[tuple, str] = {}
        self.fn: Optional[Function] = None
        self.out_list: List[Stmt] = []              # where statements are emitted now
        self.index_scopes: List[dict] = [{}]        # checked indices per C++ scope
        self.counter = 0
        self.call_layouts: List[Layout] = []
        self.producers: Dict[int, Node] = {}
        for n in program.block.walk():
            for s in n.syms:
                self.producers[s.id] = n
        self.loops = LoopEmitter(self)
        self.mutable = program_writes(program.block)     # inputs updated in place
        self.effect_group = {id(n): (g, moved) for g, moved in self.plan.effect_groups for n in g}
        self.context = Context(self)

    # ------------------------------------------------------------------------------------ emission
    def emit(self, stmt: Stmt):
        self.out_list.append(stmt)
        self.fn.pos += 1

    def emit_all(self, stmts):
        for s in stmts:
            self.emit(s)

    @contextlib.contextmanager
    def collect(self, scope: bool):
        """Emit into a fresh statement list (yielded); with `scope`, a new C++ scope (a branch, a
        loop body, a closure), which has its own checked indices."""
        saved = self.out_list
        self.out_list = []
        if scope:
            self.index_scopes.append({})
        try:
            yield self.out_list
        finally:
            self.out_list = saved
            if scope:
                self.index_scopes.pop()

    def fresh(self, prefix="t") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def where(self, node: Node) -> str:
        """A C++ string naming the op and the user's line, for runtime error messages."""
        return json.dumps(f"{node.op} at {_short(node.loc)}")

    def note_fused(self, nodes):
        if self.fused_now is not None:
            self.fused_now.extend(nodes)

    # ------------------------------------------------------------------------------------ blocks
    def lower_block(self, block: Block):
        # closures are declared first, so (mutually) recursive ones can call each other
        for n in block.nodes:
            if OPS[n.op].kind == "closure":
                self.store[n.sym.id] = n.sym.name
                self.emit(Line(f"stage::fref<{signature(n.sym.type)}> {n.sym.name};"))
        for n in block.nodes:
            self.lower_node(n)

    def lower_node_now(self, n: Node):
        """Lower a node that fusion had deferred to its consumer, at the consumer's position."""
        self.plan.inlined.discard(id(n))
        self.lower_node(n)

    def lower_node(self, n: Node):
        if id(n) in self.plan.inlined:
            return
        rule = lowering(n.op)
        if isinstance(rule, Control):
            self.emit(Comment(self._describe(n, [])))
            rule.emit(self.context, n)
            return
        if isinstance(rule, View):
            lay = rule.layout(self.context, n)
            if lay is None:          # e.g. reshape of a strided view: a view of a contiguous copy
                x = n.args[0]
                original = self.store[x.id]
                self.store[x.id] = self.layout(x, contiguous=True)   # for this view only: the copy
                try:                                                 # lives in this C++ scope
                    lay = rule.layout(self.context, n)
                finally:
                    self.store[x.id] = original
            self.store[n.sym.id] = lay
            return
        # a node boundary: what the previous node used up to its last statement is dead before
        # anything this node defines
        self.fn.pos += 1
        outer_uses, self.node_uses = self.node_uses, []
        outer_fused, self.fused_now = self.fused_now, []
        try:
            with self.collect(scope=False) as stmts:
                timer = self._profile_start(n)
                if isinstance(rule, Elementwise) and id(n) in self.plan.epilogues:
                    self.emit_all(self._sum_with_product(n, self.plan.epilogues[id(n)]))
                elif isinstance(rule, Elementwise):
                    self.emit_all(self.loops.elementwise_node(n))
                elif isinstance(rule, Reduction):
                    self.emit_all(self.loops.reduce(n))
                elif isinstance(rule, (Kernel, Effect)):
                    self.emit_all(rule.emit(self.context, n))
                else:
                    raise NotImplementedError(f"{n.op}: {rule}")
                self._profile_end(n, timer)
            # a kernel asks for its operands (and copies of them) before its statement is emitted
            for b in self.node_uses:
                self._use_buffer(b)
            if stmts:                   # no comment above code that does not exist
                seen = {id(n)}          # a loop with several outputs fuses shared nodes once
                fused = [m for m in self.fused_now if id(m) not in seen and not seen.add(id(m))]
                self.out_list.append(Comment(self._describe(n, fused)))
                self.out_list.extend(stmts)
        finally:
            self.node_uses = outer_uses
            self.fused_now = outer_fused

    def _sum_with_product(self, n: Node, ep: fusion.Epilogue) -> List[Stmt]:
        """n's buffer filled with the other terms of its sum, then the product added (scaled)."""
        stmts = self.loops.elementwise_node(n, zero=ep.term)
        dtype = n.sym.type.dtype
        if ep.scale is None:
            alpha = literal(ep.sign, dtype)
        else:
            c = self.scalar(ep.scale)
            alpha = c if ep.sign > 0 else f"-{c}" if c.isidentifier() else f"-({c})"
        term = self.producers[ep.term.id]
        self.note_fused([ep.product] + ([term] if term is not ep.product else []))
        return stmts + lowering(ep.product.op).scaled_into(self.context, ep.product,
                                                           self.store[n.sym.id], alpha)

    def _describe(self, n: Node, fused: List[Node]) -> str:
        """The provenance comment: the node, the user's line, the nodes fused into its loop."""
        text = format_node(n) + (f"  [{n.origin}]" if n.origin else "") + f"  ({_short(n.loc)})"
        if fused:
            text += "; computes " + "; ".join(format_node(m) for m in fused)
        return text

    def _profile_start(self, n: Node):
        if not self.profile:
            return None
        timer = self.fresh("tp")
        self.emit(Line(f"const int64_t {timer} = stage::prof_now();"))
        return timer

    def _profile_end(self, n: Node, timer):
        if timer is None:
            return
        name = n.op if not n.origin else f"{n.op} (backward)"
        if name not in self.prof_names:
            self.prof_names.append(name)
        self.emit(Line(f"stage::prof_add({self.prof_names.index(name)}, {timer});"))

    # ------------------------------------------------------------------------------------ functions
    def begin_function(self, name: str) -> Function:
        fn = Function(name, self.fn)
        self.fn = fn
        return fn

    def end_function(self, fn: Function):
        """Plan the frame and return to the parent function."""
        fn.frame_size = memory.plan(fn.buffers)
        self.fn = fn.parent

    def closure_param(self, sym: Sym) -> str:
        """Bind a closure parameter; returns its C++ declaration."""
        t = sym.type
        if isinstance(t, TensorType):
            kind = "scalar" if t.shape == () else "ptr"
            self.store[sym.id] = Layout(sym.name, t.dtype, t.shape, contiguous_strides(t.shape),
                                        kind=kind)
        elif isinstance(t, RefType):
            e = t.elem
            self.store[sym.id] = Layout(sym.name, e.dtype, e.shape, contiguous_strides(e.shape))
        else:
            self.store[sym.id] = sym.name
        return f"{param_type(t)} {sym.name}"

    def closure_args(self, ft: FunType, args) -> List[str]:
        """The C++ arguments of a call of a closure of type ft. Copies made to pass views
        contiguously live until the call (kept alive by `touch` after it is emitted)."""
        out, self.call_layouts = [], []
        for t, a in zip(ft.inputs, args):
            if isinstance(t, FunType):
                self._use_closure(a.id)
                out.append(self.store[a.id])
            elif isinstance(t, RefType):
                out.append(self.layout(a).pointer())
            elif t.shape == ():
                out.append(self.scalar(a))
            else:
                lay = self.layout(a, contiguous=True)
                self.call_layouts.append(lay)
                out.append(lay.pointer())
        return out

    def touch_call_args(self):
        """Every array argument of the call just emitted is used at the call."""
        for lay in self.call_layouts:
            self.use(lay)

    def capture(self, fn: Function, sym: Sym, parent_pos: int):
        """The buffers of enclosing functions that closure fn uses are used wherever it is."""
        caps = set()
        for bid in fn.captures:
            b = self.buf_of[bid]
            caps.add(bid)
            if b.owner is not self.fn:
                self.fn.captures.add(bid)
            else:
                b.last = max(b.last, parent_pos)
        self.closure_caps[sym.id] = caps

    # ------------------------------------------------------------------------------------ program
    def lower_program(self) -> Lowered:
        block = self.program.block
        fn = self.begin_function("entry")
        params, inputs = [], []
        with self.collect(scope=True) as body:
            for s in block.inputs:
                t = s.type
                if t.shape == () and s.id in self.mutable:     # updated in place: the pointer
                    params.append((s.id, f"{ctype(t.dtype)}* {s.name}"))
                    self.store[s.id] = Layout(s.name, t.dtype, (), ())
                elif t.shape == ():
                    params.append((s.id, f"const {ctype(t.dtype)}* {s.name}_p"))
                    self.emit(Line(f"const {ctype(t.dtype)} {s.name} = *{s.name}_p;", needs=s.id))
                    self.store[s.id] = Layout(s.name, t.dtype, (), (), kind="scalar")
                else:
                    const = "" if s.id in self.mutable else "const "
                    params.append((s.id, f"{const}{ctype(t.dtype)}* {s.name}"))
                    self.store[s.id] = Layout(s.name, t.dtype, t.shape,
                                              contiguous_strides(t.shape))
                inputs.append(f"{s.name}: {t}")
            self.emit(FrameDecl(fn))
            self.lower_block(block)
            outputs, out_params = [], []
            for j, e in enumerate(block.result):
                t = e.type
                out_params.append(f"{ctype(t.dtype)}* out{j}")
                outputs.append(f"out{j}: {t}")
                out = Layout(f"out{j}", t.dtype, t.shape, contiguous_strides(t.shape))
                src = self.layout(e)
                if not (src.kind == "ptr" and src.base == self.in_output.get(j) and src.offset == 0
                        and src.is_contiguous()):                    # else computed in place
                    self.emit(Comment(f"output {j}"))
                    self.emit_all(self.loops.copy(out, src))
        self.end_function(fn)
        # an argument the program does not read is kept (the C signature is fixed), marked unused
        decls = [d if (sid in self.used or sid in self.mutable) else f"[[maybe_unused]] {d}"
                 for sid, d in params]
        big = any(OPS[n.op].kind == "closure" for n in block.walk())
        return Lowered(self.name, self.constants, decls + out_params,
                       render(body, 1, self.used), big, inputs, outputs, self.prof_names,
                       sorted(self.requires))


def _output_placement(block: Block) -> Dict[int, int]:
    """Results computed straight into the caller's output arrays: a non-0-d value made by a node of
    the entry's top level into fresh storage (not a view, not an input, returned once), or a ref
    created there and read back once to be returned (a gradient accumulated across loop steps)."""
    makers = {n.syms[0].id: n for n in block.nodes if len(n.syms) == 1}
    reads: Dict[int, int] = {}
    for n in block.walk():
        if OPS[n.op].effects.reads:
            reads[n.args[0].id] = reads.get(n.args[0].id, 0) + 1
    counts: Dict[int, int] = {}
    for e in block.result:
        if isinstance(e, Sym):
            counts[e.id] = counts.get(e.id, 0) + 1
    placed: Dict[int, int] = {}
    for j, e in enumerate(block.result):
        if not isinstance(e, Sym) or counts[e.id] != 1 or e.type.shape == ():
            continue
        n = makers.get(e.id)
        if n is None:
            continue
        d = OPS[n.op]
        if d.effects.reads:
            ref = makers.get(n.args[0].id)
            if ref is not None and OPS[ref.op].effects.allocates and reads.get(ref.sym.id) == 1:
                placed[ref.sym.id] = j
        elif d.kind in ("elementwise", "reduce", "general", "control"):
            placed[e.id] = j
    return placed
