"""Loading a built library with cffi (ABI mode) and calling it on NumPy arrays.

Arguments are checked (count, dtype, shape, contiguity) before any native code runs; outputs are
allocated here and filled by the library; native errors come back as Python exceptions.
"""
from __future__ import annotations

from typing import List

import cffi
import numpy as np

from .. import pytree
from ..compile import Executable
from ..threads import apply_default

ERRORS = {1: IndexError, 2: ValueError, 3: RecursionError, 4: MemoryError, 5: RuntimeError}
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
        ffi.cdef(f"int stage_entry({', '.join(params)}); const char* stage_last_error(void);"
                 f"void stage_set_num_threads(int);"
                 + ("void stage_profile(double*, long long*);" if lowered.profile else ""))
        self.ffi = ffi
        self.lib = ffi.dlopen(self.library_path)
        apply_default()
        self._entry = self.lib.stage_entry
        self._in = [(np.dtype(t.dtype), t.shape) for t in program.in_types]
        self._out = [(np.dtype(t.dtype), t.shape) for t in out_types]
        self._runtime = program.runtime_leaves
        self._name = program.name

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

    def run(self, leaves: List):
        """Check every runtime argument, then call (the checked path)."""
        for k, i in enumerate(self._runtime):
            x = leaves[i]
            dt, shape = self._in[k]
            if type(x) is not np.ndarray:
                x = np.asarray(x)
            if x.dtype != dt:
                raise TypeError(f"{self._name}: argument {k} has dtype {x.dtype}, the compiled "
                                f"function expects {dt}")
            if x.shape != shape:
                raise ValueError(f"{self._name}: argument {k} has shape {x.shape}, the compiled "
                                 f"function expects {shape}")
            if not x.flags.c_contiguous:
                raise ValueError(f"{self._name}: argument {k} is not C-contiguous; pass "
                                 f"np.ascontiguousarray(x)")
        return self.call(leaves)

    def call(self, leaves: List):
        """Call with arguments already known to match the signature (see Executable.matches)."""
        fb = self.ffi.from_buffer
        try:
            ptrs = [fb(leaves[i]) for i in self._runtime]
        except ValueError as e:
            raise ValueError(f"{self._name}: an argument is not a C-contiguous array ({e}); pass "
                             f"np.ascontiguousarray(x)") from None
        outs = [np.empty(shape, dt) for dt, shape in self._out]
        rc = self._entry(*ptrs, *[fb(o) for o in outs])
        if rc:
            msg = self.ffi.string(self.lib.stage_last_error()).decode(errors="replace")
            raise ERRORS.get(rc, RuntimeError)(f"{self._name}: {msg}")
        return pytree.unflatten(self.program.out_td, outs)
