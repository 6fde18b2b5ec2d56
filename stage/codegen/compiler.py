"""The compiler driver: the command line, running the compiler (with a time limit), and the build
of a library through the on-disk cache (`cache.py`: verified files, per-key locks).

The cache key hashes the source, the full compiler command line, the compiler's version, the runtime
headers and stage's version. A compiler that does not finish within `$STAGE_COMPILE_TIMEOUT`
seconds (default 600) is killed with everything it started, and the build lock is released.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Sequence

from .. import openblas
from . import cache
from .cache import cache_dir  # noqa: F401 (where the cache is: part of this module's API)

log = logging.getLogger("stage.build")



def _runtime_dir() -> Path:
    """The header-only C++ runtime: `runtime_cpp/` at the top of a source checkout (and of an
    editable install), `stage/runtime_cpp/` inside an installed wheel (pyproject's package-dir
    mapping puts the one copy there)."""
    pkg = Path(__file__).resolve().parent.parent
    for d in (pkg / "runtime_cpp", pkg.parent / "runtime_cpp"):
        if (d / "stage" / "entry.h").is_file():
            return d
    raise ImportError(f"stage's C++ runtime headers are missing (looked in {pkg / 'runtime_cpp'} "
                      f"and {pkg.parent / 'runtime_cpp'}); reinstall stage")


RUNTIME_DIR = _runtime_dir()
DEFAULT_OPT = ["-O3", "-march=native"]
# Lets g++ vectorise loops marked `#pragma omp simd` (including reductions) and call vectorised math,
# without changing the meaning of anything else.
BASE_FLAGS = ["-std=c++17", "-fPIC", "-shared", "-fvisibility=hidden", "-fopenmp-simd",
              "-fno-math-errno", "-fno-trapping-math", "-fno-semantic-interposition"]


BUILDS = {"count": 0}      # libraries actually compiled by this process (cache misses)
DEFAULT_TIMEOUT = 600.0    # seconds; a big program compiles in a few
SANITIZERS = {"address", "undefined", "leak"}


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
    rc, out, _ = run([cxx, "--version"], compile_timeout(), what="`--version` of")
    version = out.strip()
    try:
        cache.private_dir(memo.parent)
        cache.atomic_write(memo, version)
    except OSError:
        pass
    return version


def compile_timeout() -> float:
    """Seconds a compiler may run: `$STAGE_COMPILE_TIMEOUT` (default 600)."""
    v = os.environ.get("STAGE_COMPILE_TIMEOUT")
    if v is None or v.strip() == "":
        return DEFAULT_TIMEOUT
    try:
        t = float(v)
    except ValueError:
        t = -1.0
    if not t > 0 or t != t or t == float("inf"):
        raise ValueError(f"STAGE_COMPILE_TIMEOUT={v!r}: expected a positive number of seconds")
    return t


def sanitizers(option: Optional[str] = None) -> List[str]:
    """Sanitizers to build with: an explicit option, else `$STAGE_SANITIZE` (e.g.
    "address,undefined"); none by default."""
    s = option if option is not None else os.environ.get("STAGE_SANITIZE", "")
    names = [n.strip() for n in s.split(",") if n.strip()]
    bad = [n for n in names if n not in SANITIZERS]
    if bad:
        raise ValueError(f"STAGE_SANITIZE: unknown sanitizer {bad[0]!r} (use a comma-separated "
                         f"list of {', '.join(sorted(SANITIZERS))})")
    return sorted(set(names))


def run(cmd: List[str], timeout: float, what: str = "") -> tuple:
    """Run a compiler command: (returncode, stdout, stderr). It runs in its own process group, so
    that on a timeout or an interrupt (Ctrl-C) the driver and everything it started (cc1plus, as,
    ld) are killed; a timeout is a CompileError."""
    try:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             errors="replace", start_new_session=True)
    except OSError as e:
        raise CompileError(f"cannot run the C++ compiler {cmd[0]}: {e}") from None
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(p)
        raise CompileError(f"the {what + ' ' if what else ''}C++ compiler {cmd[0]} did not finish "
                           f"within {timeout:g} s and was stopped (STAGE_COMPILE_TIMEOUT sets the "
                           f"limit):\n{' '.join(cmd)}") from None
    except BaseException:
        _kill(p)
        raise
    return p.returncode, out, err


def _kill(p: subprocess.Popen):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    p.communicate()


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


def _feature_flags(feature: str):
    """(compile, link) flags of a runtime feature a program requires (`Lowered.requires`)."""
    if feature == "mpi":                    # runtime_cpp/stage/mpi.h: the MPI mpi4py runs on
        from . import mpi_toolchain
        return mpi_toolchain.flags()
    raise ValueError(f"unknown runtime feature {feature!r}")


# The thread pool every library links (runtime_cpp/stage/pool_impl.h): one shared library per
# process, so all of stage's libraries share one set of threads.
POOL_SOURCE = '#include "stage/pool_impl.h"\n'
POOL_FLAGS = ["-O2"]


@functools.lru_cache(maxsize=None)
def pool_library() -> Path:
    """The thread pool's shared library (built into the cache once, like any library)."""
    return build(POOL_SOURCE, " ".join(POOL_FLAGS), sanitize="", link=False)


def command(src: str, out: str, cxxflags: Optional[str] = None,
            sanitize: Optional[str] = None, requires: Sequence[str] = (),
            link: bool = True) -> List[str]:
    san = sanitizers(sanitize)
    extra = [f"-fsanitize={','.join(san)}", "-fno-omit-frame-pointer", "-g",
             "-DSTAGE_SANITIZE=1"] if san else []
    feat_c, feat_l = [], []
    for f in requires:
        c, lf = _feature_flags(f)
        feat_c, feat_l = feat_c + c, feat_l + lf
    libs = [str(pool_library())] + blas_link_flags() if link else []
    return [compiler()] + opt_flags(cxxflags) + BASE_FLAGS + extra + \
        [f"-I{RUNTIME_DIR}"] + feat_c + [src, "-o", out] + libs + feat_l


def build(source: str, cxxflags: Optional[str] = None, sanitize: Optional[str] = None,
          requires: Sequence[str] = (), link: bool = True) -> Path:
    """The path of a shared library built from `source`: from the cache when a verified copy is
    there, else compiled (under the key's lock) and published. `requires` names runtime features
    that bring their own compile and link flags ("mpi"); `link`: against the thread pool and BLAS
    (everything but the pool itself)."""
    from .. import __version__
    t0 = time.perf_counter()
    cmd_shape = command("SRC", "OUT", cxxflags, sanitize, requires, link)
    key = hashlib.sha256("\0".join([source, " ".join(cmd_shape), compiler_version(cmd_shape[0]),
                                    runtime_hash(), __version__]).encode()).hexdigest()[:32]
    d = cache_dir() / key[:2]
    so = d / f"{key}.so"
    if cache.verified(so, key):
        log.info("cache hit %s (%.1f ms)", so, (time.perf_counter() - t0) * 1e3)
        return so
    cache.private_dir(cache.private_dir(cache_dir()) / key[:2])
    timeout = compile_timeout()
    try:
        with cache.locked(d / f"{key}.lock", 2 * timeout):
            if cache.verified(so, key):       # built by another process while we waited
                log.info("cache hit %s (built by another process)", so)
                return so
            if so.exists():
                log.warning("rebuilding %s: the cached library does not match its recorded hash "
                            "(truncated, overwritten or foreign)", so)
            cache.clean_stale(d, key)
            src = d / f"{key}.cpp"
            cache.atomic_write(src, source)
            fd, tmp = tempfile.mkstemp(prefix=f"{key}.", suffix=".so.tmp", dir=d)
            os.close(fd)
            try:
                cmd = command(str(src), tmp, cxxflags, sanitize, requires, link)
                rc, _, err = run(cmd, timeout)
                if rc != 0:
                    raise CompileError(f"C++ compilation failed (source kept at {src}):\n"
                                       f"{' '.join(cmd)}\n{err[-8000:]}")
                with open(tmp, "rb") as f:
                    magic = f.read(4)
                if magic != b"\x7fELF":
                    raise CompileError(f"the C++ compiler {cmd[0]} reported success but wrote "
                                       f"{'no library' if not magic else 'not a shared library'} "
                                       f"(source kept at {src}):\n{' '.join(cmd)}\n{err[-2000:]}")
                cache.publish(Path(tmp), so, key)
                if link:                # the thread pool's own library is not a program's
                    BUILDS["count"] += 1
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    except cache.LockTimeout as e:
        raise CompileError(f"{e}: another process has been building {so} for longer than twice "
                           f"STAGE_COMPILE_TIMEOUT ({timeout:g} s); if none is, remove the lock "
                           f"file") from None
    log.info("built %s in %.2f s (cache miss)", so, time.perf_counter() - t0)
    return so
