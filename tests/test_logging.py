"""Recompiles you can see: the `stage` logger says why each specialisation was made and whether the
build came from the cache; a function that keeps specialising warns once, naming the argument."""
import logging
import subprocess
import sys
import warnings

import numpy as np
import pytest

import stage as st


def _records(caplog):
    return [r.getMessage() for r in caplog.records if r.name.startswith("stage")]


def test_specialisations_are_logged_with_their_reason(caplog):
    def step(x, lr, scale):
        return st.sum(x * lr) * scale
    f = st.compile(step, backend="interp")
    with caplog.at_level(logging.INFO, logger="stage"):
        x = np.ones((32, 10), np.float32)
        f(x, 0.1, np.float32(2))
        f(np.ones((17, 10), np.float32), 0.1, np.float32(2))
        f(np.ones((17, 10), np.float32), 0.2, np.float32(2))
        f(np.ones((17, 10)), 0.2, np.float32(2))
        f(np.ones((17, 10)), 0.2, np.float32(3))              # a runtime scalar: no new one
    msgs = _records(caplog)
    assert len(msgs) == 4, msgs
    assert "step: specialisation 1 (first call)" in msgs[0]
    assert "argument `x` shape (32, 10) -> (17, 10)" in msgs[1]
    assert "static argument `lr` 0.1 -> 0.2" in msgs[2]
    assert "argument `x` dtype float32 -> float64" in msgs[3]
    assert all("staged in" in m for m in msgs)


def test_builds_log_cache_hit_or_miss(caplog, tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE_CACHE_DIR", str(tmp_path))
    with caplog.at_level(logging.INFO, logger="stage"):
        for _ in range(2):   # a new Compiled each time, one source (comments name this line)
            st.compile(lambda x: x * 7 - 1)(np.ones(2, np.float32))
    msgs = _records(caplog)
    assert any("cache miss" in m and "built" in m for m in msgs), msgs
    assert any("cache hit" in m for m in msgs), msgs


def test_too_many_specialisations_warn_once_naming_the_argument():
    def f(x, lr):
        return x * lr
    g = st.compile(f, backend="interp")
    x = np.ones(3, np.float32)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for k in range(12):
            g(x, 0.1 * (k + 1))
    ours = [m for m in w if "specialised" in str(m.message)]
    assert len(ours) == 1
    msg = str(ours[0].message)
    assert "f has been specialised 9 times" in msg and "argument `lr`" in msg
    assert "np.float32(lr)" in msg
    assert ours[0].filename == __file__                  # points at the user's call


def test_stage_log_env_prints_to_stderr():
    code = ("import numpy as np, stage as st\n"
            "st.compile(lambda x: x + 1, backend='interp')(np.ones(2))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**__import__("os").environ, "STAGE_LOG": "info"})
    assert r.returncode == 0, r.stderr
    assert "stage: <lambda>: specialisation 1 (first call)" in r.stderr
    bad = subprocess.run([sys.executable, "-c", "import stage"], capture_output=True, text=True,
                         timeout=120, env={**__import__("os").environ, "STAGE_LOG": "loud"})
    assert bad.returncode == 0 and "STAGE_LOG='loud' is not a logging level" in bad.stderr


@pytest.mark.parametrize("name", ["datasets", "trees", "nn", "optim", "pytree", "export"])
def test_public_namespaces_are_attributes(name):
    assert hasattr(st, name)
