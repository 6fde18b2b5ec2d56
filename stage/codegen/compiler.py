"""The compiler driver and the on-disk cache of built libraries.

The cache key hashes the source, the full compiler command line, the compiler's version, the runtime
headers and stage's version. Libraries are published atomically (compiled to a temporary name, then
renamed) under a per-key file lock, so concurrent processes building the same function all succeed
with a single build, and none ever loads a half-written file.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import List, Optional
from .. import openblas

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime_cpp"
DEFAULT_OPT = ["-O3", "-march=native"]
# Lets g++ vectorise loops marked `#pragma omp simd` (including reductions) and call vectorised math,
# without changing the meaning of anything else.
BASE_FLAGS = ["-std=c++17", "-fPIC", "-shared", "-fvisibility=hidden", "-fopenmp-simd",
              "-fno-math-errno", "-fno-trapping-math", "-fno-semantic-interposition"]


BUILDS = {"count": 0}      # libraries actually compiled by this process (cache misses)


class CompileError(RuntimeError):
    """The C++ compiler failed; the message holds its output and where the source was kept."""


def compiler() -> str:
    cxx = os.environ.get("STAGE_CXX") or os.environ.get("CXX") or "g++"
    path = shutil.which(cxx)
    if path is None:
        raise CompileError(f"no C++ compiler found: {cxx!r} is not on PATH (install g++ or set "
                           f"STAGE_CXX / CXX to a C++17 compiler)")
    return path


@functools.lru_cache(maxsize=None)
def compiler_version(cxx: str) -> str:
    """`cxx --version`, remembered on disk per compiler binary (path, size, mtime): a cache hit in a
    new process then needs no subprocess."""
    try:
        st = os.stat(cxx)
    except OSError as e:
        raise CompileError(f"cannot find the C++ compiler {cxx}: {e}") from None
    tag = hashlib.sha256(f"{cxx}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:16]
    memo = cache_dir() / f"compiler-{tag}.txt"
    try:
        return memo.read_text()
    except OSError:
        pass
    try:
        version = subprocess.run([cxx, "--version"], capture_output=True, text=True,
                                 timeout=60).stdout.strip()
    except OSError as e:
        raise CompileError(f"cannot run the C++ compiler {cxx}: {e}") from None
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(memo, version)
    except OSError:
        pass
    return version


def opt_flags(override: Optional[str] = None) -> List[str]:
    """Optimisation flags: an explicit argument, else $STAGE_CXXFLAGS, else -O3 -march=native."""
    s = override if override is not None else os.environ.get("STAGE_CXXFLAGS")
    return shlex.split(s) if s is not None else list(DEFAULT_OPT)


@functools.lru_cache(maxsize=None)
def blas_link_flags() -> List[str]:
    d, name = openblas.library()
    return [f"-L{d}", f"-l{name}", f"-Wl,-rpath,{d}"]


@functools.lru_cache(maxsize=None)
def runtime_hash() -> str:
    h = hashlib.sha256()
    for p in sorted(RUNTIME_DIR.rglob("*.h")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def cache_dir() -> Path:
    d = os.environ.get("STAGE_CACHE_DIR")
    if d:
        return Path(d)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stage"


def command(src: str, out: str, cxxflags: Optional[str] = None) -> List[str]:
    return [compiler()] + opt_flags(cxxflags) + BASE_FLAGS + [f"-I{RUNTIME_DIR}", src, "-o", out] \
        + blas_link_flags()


def build(source: str, cxxflags: Optional[str] = None) -> Path:
    """The path of a shared library built from `source` (from the cache when possible)."""
    from .. import __version__
    cmd_shape = command("SRC", "OUT", cxxflags)
    key = hashlib.sha256("\0".join([source, " ".join(cmd_shape), compiler_version(cmd_shape[0]),
                                    runtime_hash(), __version__]).encode()).hexdigest()[:32]
    d = cache_dir() / key[:2]
    so = d / f"{key}.so"
    if so.exists():
        return so
    d.mkdir(parents=True, exist_ok=True)
    with open(d / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if so.exists():                       # built by another process while we waited
            return so
        src = d / f"{key}.cpp"
        _atomic_write(src, source)
        fd, tmp = tempfile.mkstemp(prefix=f"{key}.", suffix=".so.tmp", dir=d)
        os.close(fd)
        try:
            r = subprocess.run(command(str(src), tmp, cxxflags), capture_output=True, text=True)
            if r.returncode != 0:
                raise CompileError(f"C++ compilation failed (source kept at {src}):\n"
                                   f"{' '.join(command(str(src), tmp, cxxflags))}\n"
                                   f"{r.stderr[-8000:]}")
            os.replace(tmp, so)
            BUILDS["count"] += 1
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return so


def _atomic_write(path: Path, text: str):
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
