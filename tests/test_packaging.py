"""The package as users install it: the wheel ships the C++ runtime (top-level runtime_cpp/ in the
repository, stage/runtime_cpp/ in the wheel) and works from any directory. (.ci/run also installs
with `pip install .` into a fresh virtual environment and runs a compiled function from /tmp.)"""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SMOKE = r"""
import os, sys, numpy as np, stage as st
from stage.codegen.compiler import RUNTIME_DIR
target = sys.argv[1]
assert st.__file__.startswith(target), st.__file__
assert str(RUNTIME_DIR).startswith(target) and (RUNTIME_DIR / "stage" / "entry.h").is_file()
f = st.compile(lambda x, w: st.tanh(x @ w))
y = f(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))
assert np.allclose(y, np.tanh(3.0)), y
assert f.last.c_plan is not None                  # the C call path builds from the wheel's source
assert np.allclose(f(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)), np.tanh(3.0))
exp = st.export(lambda x: x * 2 + 1, (np.ones(3, np.float32),), os.path.join(os.getcwd(), "exp"))
assert sorted(os.listdir(os.path.join("exp", "src", "stage"))) == sorted(os.listdir(RUNTIME_DIR / "stage"))
print("ok", st.datasets.load_digits()[0].shape)
"""


@pytest.mark.skipif(shutil.which("g++") is None and not os.environ.get("STAGE_CXX"),
                    reason="needs a C++ compiler")
def test_wheel_ships_the_runtime_and_works_from_anywhere(tmp_path):
    src = tmp_path / "src"                                 # build from a copy: no build/ in the tree
    for name in ("stage", "runtime_cpp"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    r = subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "w"),
                              str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (wheel,) = (tmp_path / "w").glob("stage-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    headers = sorted([p.name for p in (ROOT / "runtime_cpp" / "stage").glob("*.h")] + ["callpath.cpp"])
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("stage/runtime_cpp/")) == headers
    assert "stage/runtime_cpp/python/callpath.cpp" in names
    assert "stage/codegen/templates/module.cpp.j2" in names
    assert not any(n.startswith("runtime_cpp/") for n in names)
    target = tmp_path / "site"
    r = subprocess.run(pip + ["install", "--no-deps", "--target", str(target), str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target), STAGE_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-c", SMOKE, str(target)], cwd=work, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok")
