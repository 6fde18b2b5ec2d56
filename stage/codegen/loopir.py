"""The loop-nest IR the code generator builds C++ from, and its one printer.

Statements are small objects: a C++ statement or declaration (`Line`), a comment, a counted loop with
its pragma (`For`), a branch (`If`), `while (true)` (`While`), a braced block (`Scope`), a closure definition (`Lambda`), and
the declarations whose text is only known once the function's frame is planned (`BufferDecl`,
`FrameDecl`). Fused elementwise chains, reductions, zero-fills, copies, kernel calls and control flow
are all built as these; `render` prints a statement list with two-space indentation.

Parallel loops: a `For` whose `parallel` is set (its grain: iterations per thread at least) runs on
stage's thread pool, each thread over a contiguous range of its iterations; a `Parallel` statement
runs its body once per range `[lo, hi)` of an index space, for nests whose parallel dimension is not
the outermost loop (a reduction over the batch, kept per channel). Both print as one call of
`stage::parallel_loop` (runtime_cpp/stage/parallel.h) with the loop as a lambda.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Union


class Stmt:
    __slots__ = ()


@dataclass
class Line(Stmt):
    """One C++ statement or declaration, e.g. `x7[i0] = v7;`. With `needs`, the line is kept only if
    that symbol is used (the load of a scalar input nobody reads)."""
    text: str
    needs: Optional[int] = None


@dataclass
class Comment(Stmt):
    text: str


@dataclass
class For(Stmt):
    """`for (int64_t var = start; var < extent; ++var) { body }`, with an optional pragma line; with
    `parallel` (a grain: the fewest iterations worth a thread), its iterations are shared out between
    threads in contiguous ranges (the iterations must be independent; `start` must be 0)."""
    var: str
    extent: Union[int, str]
    body: List[Stmt]
    pragma: Optional[str] = None
    start: Union[int, str] = 0
    parallel: Optional[int] = None
    wakes: bool = True          # parallel: may wake sleeping threads (else shared only when awake)


@dataclass
class Parallel(Stmt):
    """`body` once per contiguous range [lo, hi) of [0, extent) (at least `grain` long), on the thread
    pool: the body's loops use the C++ names `lo` and `hi` as bounds."""
    lo: str
    hi: str
    extent: Union[int, str]
    grain: int
    body: List[Stmt]
    wakes: bool = True


@dataclass
class If(Stmt):
    cond: str
    then: List[Stmt]
    orelse: List[Stmt] = field(default_factory=list)


@dataclass
class Scope(Stmt):
    """`{ body }`: a block of statements in a C++ scope of its own."""
    body: List[Stmt]


@dataclass
class While(Stmt):
    """`while (true) { body }` (the body breaks out)."""
    body: List[Stmt]


@dataclass
class Lambda(Stmt):
    """`auto name = [&](params) { body };` -- a native closure."""
    name: str
    params: List[str]
    body: List[Stmt]


@dataclass
class BufferDecl(Stmt):
    """`T* name = (T*)(frame.base + offset);` -- a buffer of a planned frame."""
    ctype: str
    name: str
    buffer: object          # memory.Buffer: its offset is known once the frame is planned


@dataclass
class FrameDecl(Stmt):
    """`stage::Frame name(size);` -- one arena push per call (nothing when the frame is empty)."""
    function: object        # lower.Function: its frame name and planned size


def call(fn: str, *args) -> Line:
    """A call of a runtime kernel: `fn(args...);` -- the one place such calls are spelled."""
    return Line(f"{fn}({', '.join(str(a) for a in args)});")


def loop_nest(extents: Sequence[Union[int, str]], body_of, pragma_inner: Optional[str] = "omp simd",
              names: Optional[Sequence[str]] = None) -> List[Stmt]:
    """Nested counted loops over `extents` (outermost first); `body_of(vars)` gives the innermost
    body; the innermost loop carries `pragma_inner`."""
    names = list(names) if names is not None else [f"i{k}" for k in range(len(extents))]
    body = body_of(names)
    for k in reversed(range(len(extents))):
        body = [For(names[k], extents[k], body, pragma_inner if k == len(extents) - 1 else None)]
    return body


def find_loop(stmts: Sequence[Stmt], var: str) -> Optional[For]:
    """The (first) loop over `var` in a statement list, searched depth first."""
    for st in stmts:
        if isinstance(st, For):
            if st.var == var:
                return st
            hit = find_loop(st.body, var)
            if hit is not None:
                return hit
    return None


def render(stmts: Sequence[Stmt], indent: int = 0, used=None) -> List[str]:
    """C++ lines of a statement list. `used`: symbol ids in use (for `Line.needs`)."""
    out: List[str] = []
    _render(stmts, indent, used, out)
    return out


def _render(stmts, indent, used, out):
    pad = "  " * indent
    for s in stmts:
        if isinstance(s, Line):
            if s.needs is None or used is None or s.needs in used:
                out.append(pad + s.text)
        elif isinstance(s, Comment):
            out.append(f"{pad}// {s.text}")
        elif isinstance(s, For) and s.parallel is not None:
            if s.start != 0:
                raise ValueError("loopir: a parallel For starts at 0")
            lo, hi = f"{s.var}_lo", f"{s.var}_hi"
            inner = For(s.var, hi, s.body, s.pragma, start=lo)
            _render([Parallel(lo, hi, s.extent, s.parallel, [inner], s.wakes)], indent, used, out)
        elif isinstance(s, Parallel):
            fn = "parallel_loop" if s.wakes else "parallel_loop_awake"
            out.append(f"{pad}stage::{fn}({s.extent}, {s.grain}, [&](int64_t {s.lo}, "
                       f"int64_t {s.hi}) {{")
            _render(s.body, indent + 1, used, out)
            out.append(pad + "});")
        elif isinstance(s, For):
            if s.pragma:
                out.append(f"{pad}#pragma {s.pragma}")
            v = s.var
            out.append(f"{pad}for (int64_t {v} = {s.start}; {v} < {s.extent}; ++{v}) {{")
            _render(s.body, indent + 1, used, out)
            out.append(pad + "}")
        elif isinstance(s, If):
            out.append(f"{pad}if ({s.cond}) {{")
            _render(s.then, indent + 1, used, out)
            if s.orelse:
                out.append(pad + "} else {")
                _render(s.orelse, indent + 1, used, out)
            out.append(pad + "}")
        elif isinstance(s, Scope):
            out.append(pad + "{")
            _render(s.body, indent + 1, used, out)
            out.append(pad + "}")
        elif isinstance(s, While):
            out.append(pad + "while (true) {")
            _render(s.body, indent + 1, used, out)
            out.append(pad + "}")
        elif isinstance(s, Lambda):
            out.append(f"{pad}auto {s.name} = [&]({', '.join(s.params)}) {{")
            _render(s.body, indent + 1, used, out)
            out.append(pad + "};")
        elif isinstance(s, BufferDecl):
            b = s.buffer
            out.append(f"{pad}{s.ctype}* {s.name} = ({s.ctype}*)({b.owner.frame}.base + {b.offset});")
        elif isinstance(s, FrameDecl):
            if s.function.frame_size:
                out.append(f"{pad}stage::Frame {s.function.frame}({s.function.frame_size});")
        else:
            raise TypeError(f"loopir: cannot render {s!r}")
