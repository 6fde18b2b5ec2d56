"""The differential fuzzer (tests/fuzz/): random well-typed staged programs -- ops of the table,
broadcasting, views, size-0 and size-1 dims, cond/fori_loop/while_loop with pytrees and nesting,
grad and value_and_grad -- each run by native code, by the interpreter, checked by finite
differences and against PyTorch, and required to agree (refusals included).

The quick profile (below) runs QUICK programs, BATCH per compiled library. The long profile runs
thousands: `pytest tests/test_fuzz.py --fuzz-long` (or STAGE_FUZZ_PROGRAMS=N); STAGE_FUZZ_SEED=S
shifts the seeds. Feature switches still off (known defects) are in tests/fuzz/features.py.
A failing program is printed as a standalone script; `python -m fuzz START END` (from tests/)
runs seeds outside pytest, groups findings by cause and minimises them.

The threaded profile runs THREADED other programs with every loop and kernel that can be split
shared out between 2 threads, however small (codegen/parallel.py's GRAIN at 1, as with
STAGE_PARALLEL_GRAIN=1), so the parallel code meets every shape, view and control form too; the
long run: `STAGE_PARALLEL_GRAIN=1 STAGE_NUM_THREADS=2 python -m fuzz START END`.

The Python profile writes PYTHON other programs' control forms as plain Python `if`/`for`/`while`
over staged values (fuzz/program.py PythonRenderer), which the front end (stage/frontend) turns
back into staged control flow: built natively, they must agree with the st-form run by the
interpreter (`python -m fuzz START END --python` for long runs).
"""
import os

import pytest

import stage as st
from stage.codegen import parallel

from fuzz.gen import generate
from fuzz.run import check_programs

QUICK = 240
LONG = 3000
BATCH = 20
THREADED = (100000, 100060)      # seeds of the threaded profile
PYTHON = (200000, 200060)        # seeds of the plain-Python control flow profile


def _programs(config):
    n = os.environ.get("STAGE_FUZZ_PROGRAMS")
    if n:
        return int(n)
    return LONG if config.getoption("--fuzz-long") else QUICK


def _parametrize(metafunc, name, lo, hi):
    batches = [(s, min(s + BATCH, hi)) for s in range(lo, hi, BATCH)]
    metafunc.parametrize(name, batches, ids=[f"seeds{a}-{b - 1}" for a, b in batches])


def pytest_generate_tests(metafunc):
    if "fuzz_batch" in metafunc.fixturenames:
        base = int(os.environ.get("STAGE_FUZZ_SEED", "0"))
        _parametrize(metafunc, "fuzz_batch", base, base + _programs(metafunc.config))
    if "python_batch" in metafunc.fixturenames:
        _parametrize(metafunc, "python_batch", *PYTHON)
    if "threaded_batch" in metafunc.fixturenames:
        _parametrize(metafunc, "threaded_batch", *THREADED)


def test_fuzz_native_interp_fd_torch(fuzz_batch):
    start, end = fuzz_batch
    findings = check_programs([generate(s) for s in range(start, end)])
    assert not findings, "\n\n".join(f.report() for f in findings)


@pytest.fixture
def split_everything(monkeypatch):
    n = st.get_num_threads()
    monkeypatch.setattr(parallel, "GRAIN", 1)
    st.set_num_threads(2)
    yield
    st.set_num_threads(n)


def test_fuzz_threaded_native_interp_fd_torch(threaded_batch, split_everything):
    start, end = threaded_batch
    programs = [generate(s) for s in range(start, end)]
    findings = check_programs(programs)
    assert not findings, "\n\n".join(f.report() for f in findings)
    # the programs really ran split: their libraries share loops out as soon as they have 2 items
    from fuzz.run import last_sources
    assert any("stage::parallel_loop(" in src for src in last_sources()), "nothing was split"


def test_fuzz_plain_python_control_flow_native_interp(python_batch):
    start, end = python_batch
    programs = [generate(s) for s in range(start, end)]
    findings = check_programs(programs, use_torch=False, target="python")
    assert not findings, "\n\n".join(f.report() for f in findings)
    from fuzz.run import last_sources
    assert any("if (" in src for src in last_sources()), "no staged branch was built"
