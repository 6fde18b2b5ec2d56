"""Loading a built library with cffi (ABI mode) and calling it on NumPy arrays.

Arguments are checked (count, dtype, shape, layout, writability of what the program updates in
place) before any native code runs; outputs are allocated here and filled by the library; native
errors come back as Python exceptions.
"""
from __future__ import annotations

import os
from typing import List

import cffi
import numpy as np

from .. import pytree
from ..executable import Executable
from ..threads import apply_default
from .outputs import Outputs

ERRORS = {1: IndexError, 2: ValueError, 3: RecursionError, 4: MemoryError, 5: RuntimeError,
          7: KeyboardInterrupt}
cffi.FFI().cdef("int stage_entry(void*);")     # loads cffi's C parser once, with stage


class NativeExecutable(Executable):
    def __init__(self, program, source: str, library_path: str, lowered):
        self.program = program
        self.source = source
        self.library_path = str(library_path)
        self.lowered = lowered
        ffi = cffi.FFI()
        # every argument is a data pointer: declared void* so cffi takes from_buffer() directly
        out_types = [e.type for e in program.block.result]
        params = ["void*"] * (len(program.in_types) + len(out_types))
        ffi.cdef(f"int stage_entry({', '.join(params)}); int stage_entry_packed(void**);"
                 f"const char* stage_last_error(void);"
                 f"void stage_set_num_threads(int); void stage_catch_interrupts(int);"
                 + ("void stage_profile(double*, long long*);" if lowered.profile else ""))
        self.ffi = ffi
        if lowered.big_stack:
            check_stack_mb()
        try:
            self.lib = ffi.dlopen(self.library_path)
            self._entry = self.lib.stage_entry
            catch = self.lib.stage_catch_interrupts
        except (OSError, AttributeError) as e:
            from .compiler import CompileError
            raise CompileError(f"cannot load {self.library_path} as a library built by stage "
                               f"({e}); remove it to rebuild") from None
        apply_default()
        # Ctrl-C stops a running program (KeyboardInterrupt) when it has loops or recursion to
        # poll in; straight-line programs finish soon enough and skip the two sigaction calls.
        catch(int(any(n.blocks for n in program.block.walk())))
        self.outputs = Outputs([(np.dtype(t.dtype), t.shape) for t in out_types])
        self._name = program.name
        self._setup_inputs()
        # (leaf, written): the fast path asks cffi for a writable buffer where the program writes
        self._slots = list(zip(program.runtime_leaves, self._written)) if any(self._written) \
            else None
        self._runtime = program.runtime_leaves

    def make_c_plan(self):
        """The C call plan (stage.codegen.callpath), or None where there is none."""
        from . import callpath
        return callpath.plan(self)

    def error_raiser(self):
        """raise_(code): raises the library's last error as a Python exception (a closure over the
        library, not the executable, so that the C call plan holding it makes no cycle)."""
        ffi, lib, name = self.ffi, self.lib, self._name

        def raise_(rc: int):
            msg = ffi.string(lib.stage_last_error()).decode(errors="replace")
            raise ERRORS.get(rc, RuntimeError)(f"{name}: {msg}")
        return raise_

    def profile(self) -> dict:
        """Profiling builds: {op kind: (seconds, calls)} since the last read (this thread)."""
        names = self.lowered.profile
        if not names:
            raise RuntimeError(f"{self._name}: not a profiling build (st.compile(fn, profile=True))")
        sec = self.ffi.new("double[]", len(names))
        calls = self.ffi.new("long long[]", len(names))
        self.lib.stage_profile(sec, calls)
        return dict(sorted(((n, (sec[i], calls[i])) for i, n in enumerate(names)),
                           key=lambda kv: -kv[1][0]))

    def call(self, leaves: List):
        """Call with leaves that passed `matches`: C-contiguous arrays (writable where the program
        writes) go straight to the library; anything else takes the checked path (`run`), which
        copies what may be copied and names what is wrong."""
        fb = self.ffi.from_buffer
        try:
            if self._slots is None:
                ptrs = [fb(leaves[i]) for i in self._runtime]
            else:
                if _may_alias(leaves, self._slots):
                    return self.run(leaves)      # the checked path tells sharing memory apart
                ptrs = [fb(leaves[i], require_writable=w) for i, w in self._slots]
        except (ValueError, TypeError, BufferError):
            return self.run(leaves)
        return self._call(ptrs)

    def invoke(self, arrays: List):
        """Call with prepared runtime inputs (see Executable.prepare)."""
        fb = self.ffi.from_buffer
        return self._call([fb(a, require_writable=w) for a, w in zip(arrays, self._written)])

    def _call(self, ptrs: List):
        fb = self.ffi.from_buffer
        outs = self.outputs.take()
        rc = self._entry(*ptrs, *[fb(o) for o in outs])
        self.outputs.keep(outs)
        if rc:
            self.error_raiser()(rc)
        return pytree.unflatten(self.program.out_td, outs)


def _root(x):
    base = getattr(x, "base", None)
    return id(x if base is None else base)


def _may_alias(leaves, slots) -> bool:
    """Could a written input share memory with another input? (One array passed twice, or views
    of one array: NumPy keeps the owner as `base`.) Cheap enough for every call."""
    roots = [_root(leaves[i]) for i, _ in slots]
    if len(set(roots)) == len(roots):
        return False
    seen = {}
    for r, (_, w) in zip(roots, slots):
        seen.setdefault(r, []).append(w)
    return any(len(ws) > 1 and any(ws) for ws in seen.values())


def check_stack_mb():
    """Refuse a `$STAGE_STACK_MB` the runtime would refuse (before loading: a clear ValueError)."""
    v = os.environ.get("STAGE_STACK_MB")
    if not v:
        return
    if not (v.isascii() and v.isdigit() and 1 <= int(v) <= 1 << 24):
        raise ValueError(f"STAGE_STACK_MB={v!r}: expected a whole number of MiB between 1 and "
                         f"16777216 (the size of the private stack of recursive programs; default "
                         f"1024)")
