"""The on-disk cache: concurrent processes building the same function produce one library."""
import json
import os
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

import stage as st
from stage.codegen import cache, compiler
from stage.codegen.compiler import CompileError

WORKER = r"""
import json, sys, numpy as np, stage as st
from stage.codegen import compiler
c = float(sys.argv[1])
f = st.compile(lambda x: st.tanh(x * c) + c)
y = f(np.ones(4, np.float32))
print(json.dumps({"builds": compiler.BUILDS["count"], "y": float(y[0]), "path": f.library_path}))
"""


def test_eight_processes_one_build(tmp_path):
    env = dict(os.environ, STAGE_CACHE_DIR=str(tmp_path))
    c = str(1.0 + (uuid.uuid4().int % 1000) / 1000)          # a function never built before
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, c], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["builds"] for r in results) == 1
    assert len({r["path"] for r in results}) == 1
    assert all(abs(r["y"] - (np.tanh(float(c)) + float(c))) < 1e-5 for r in results)
    sos = [so for so in tmp_path.rglob("*.so")          # (besides the thread pool's library)
           if so.with_suffix(".cpp").read_text() != compiler.POOL_SOURCE]
    assert len(sos) == 1 and not list(tmp_path.rglob("*.tmp"))
    assert not list(tmp_path.rglob("*.lock"))


def test_cache_hit_does_not_rebuild(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE_CACHE_DIR", str(tmp_path))
    before = compiler.BUILDS["count"]
    for _ in range(2):      # a new Compiled each time, the same source (comments name this line)
        st.compile(lambda x: x * 3 + 1)(np.ones(2, np.float32))
    assert compiler.BUILDS["count"] == before + 1


# ------------------------------------------------------------------------------------------ faults

def _source(c=2.0):
    """The C++ of a small program (lowered, not built: nothing is loaded in this process)."""
    from stage.codegen.build import generate
    from stage.program import trace
    return generate(trace(lambda x: x * c + 1, (np.ones(3, np.float32),)))[1]


def test_cache_verifies_what_it_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE_CACHE_DIR", str(tmp_path / "cache"))
    src, other = _source(2.0), _source(3.0)
    so = compiler.build(src)
    so_other = compiler.build(other)
    good = so.read_bytes()
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700          # private directories
    assert so.parent.stat().st_mode & 0o777 == 0o700
    assert not list((tmp_path / "cache").rglob("*.lock"))               # locks do not pile up
    stale = so.parent / f"{so.stem}.12345.so.tmp"
    corruptions = {
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "garbage": os.urandom(len(good)),
        "foreign": so_other.read_bytes(),             # a valid library of another function
    }
    for what, data in corruptions.items():
        stale.write_bytes(b"left by a killed build")
        so.write_bytes(data)
        before = compiler.BUILDS["count"]
        assert compiler.build(src) == so, what
        assert compiler.BUILDS["count"] == before + 1, what              # rebuilt, not trusted
        assert cache.verified(so, so.stem) and not stale.exists(), what
    # a foreign library with its own sidecar: the sidecar names another key
    so.write_bytes(so_other.read_bytes())
    cache.sidecar(so).write_bytes(cache.sidecar(so_other).read_bytes())
    before = compiler.BUILDS["count"]
    compiler.build(src)
    assert compiler.BUILDS["count"] == before + 1
    before = compiler.BUILDS["count"]
    compiler.build(src)                                                  # and now a plain hit
    assert compiler.BUILDS["count"] == before
    old = so.parent / "0123456789abcdef.99.so.tmp"                       # another key's, a day old
    old.write_bytes(b"x")
    os.utime(old, (0, 0))
    so.write_bytes(b"")
    compiler.build(src)
    assert not old.exists()


TRUNCATED = r"""
import sys, numpy as np, stage as st
f = st.compile(lambda x: x * 2.5 + 1)
print(float(f(np.ones(3, np.float32))[0]), f.library_path)
"""


def test_truncated_library_is_rebuilt_by_the_next_process(tmp_path):
    env = dict(os.environ, STAGE_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", TRUNCATED], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    value, path = out.stdout.split()
    with open(path, "r+b") as f:                     # what a full disk or a killed copy leaves
        f.truncate(os.path.getsize(path) // 3)
    again = subprocess.run([sys.executable, "-c", TRUNCATED], env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr        # a SIGBUS used to end this process
    assert again.stdout.split() == [value, path] and float(value) == 3.5


def _fake_compiler(tmp_path, body):
    script = tmp_path / "fake-cxx"
    script.write_text("#!/bin/sh\nif [ \"$1\" = --version ]; then echo fake-cxx 1.0; exit 0; fi\n"
                      + body)
    script.chmod(0o755)
    return str(script)


def test_failing_compiler_script(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("STAGE_CXX", _fake_compiler(tmp_path, "echo 'fake: internal error' >&2\n"
                                                             "exit 3\n"))
    with pytest.raises(CompileError, match="fake: internal error"):
        compiler.build(_source(4.0))
    assert not list((tmp_path / "cache").rglob("*.lock"))
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_hanging_compiler_times_out_and_releases_the_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE_CACHE_DIR", str(tmp_path / "cache"))
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("STAGE_CXX", _fake_compiler(tmp_path, f"echo $$ > {pidfile}\n"
                                                             "exec sleep 1000\n"))
    monkeypatch.setenv("STAGE_COMPILE_TIMEOUT", "1")
    t0 = time.monotonic()
    with pytest.raises(CompileError, match="did not finish within 1 s.*STAGE_COMPILE_TIMEOUT"):
        compiler.build(_source(5.0))
    assert time.monotonic() - t0 < 30
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):          # the compiler was killed, not left behind
        os.kill(pid, 0)
    assert not list((tmp_path / "cache").rglob("*.lock"))
    monkeypatch.delenv("STAGE_CXX")                 # the real compiler now builds it at once
    monkeypatch.setenv("STAGE_COMPILE_TIMEOUT", "300")
    assert cache.verified(compiler.build(_source(5.0)), compiler.build(_source(5.0)).stem)


def test_build_waits_for_a_held_lock_then_gives_up(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE_CACHE_DIR", str(tmp_path / "cache"))
    src = _source(6.0)
    so = compiler.build(src)
    so.write_bytes(b"")                              # force a rebuild, which needs the lock
    monkeypatch.setenv("STAGE_COMPILE_TIMEOUT", "0.5")
    with cache.locked(so.with_suffix(".lock"), 1):   # another process is building it, forever
        with pytest.raises(CompileError, match="another process has been building"):
            compiler.build(src)
    assert not so.with_suffix(".lock").exists()


@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan", "inf"])
def test_bad_compile_timeout(monkeypatch, value):
    monkeypatch.setenv("STAGE_COMPILE_TIMEOUT", value)
    with pytest.raises(ValueError, match="STAGE_COMPILE_TIMEOUT"):
        compiler.compile_timeout()
