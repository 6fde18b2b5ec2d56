"""The differential fuzzer (tests/fuzz/): random well-typed staged programs -- ops of the table,
broadcasting, views, size-0 and size-1 dims, cond/fori_loop/while_loop with pytrees and nesting,
grad and value_and_grad -- each run by native code, by the interpreter, checked by finite
differences and against PyTorch, and required to agree (refusals included).

The quick profile (below) runs QUICK programs, BATCH per compiled library. The long profile runs
thousands: `pytest tests/test_fuzz.py --fuzz-long` (or STAGE_FUZZ_PROGRAMS=N); STAGE_FUZZ_SEED=S
shifts the seeds. Feature switches still off (known defects) are in tests/fuzz/features.py.
A failing program is printed as a standalone script; `python -m fuzz START END` (from tests/)
runs seeds outside pytest, groups findings by cause and minimises them.
"""
import os

from fuzz.gen import generate
from fuzz.run import check_programs

QUICK = 240
LONG = 3000
BATCH = 20


def _programs(config):
    n = os.environ.get("STAGE_FUZZ_PROGRAMS")
    if n:
        return int(n)
    return LONG if config.getoption("--fuzz-long") else QUICK


def pytest_generate_tests(metafunc):
    if "fuzz_batch" in metafunc.fixturenames:
        n = _programs(metafunc.config)
        base = int(os.environ.get("STAGE_FUZZ_SEED", "0"))
        batches = [(s, min(s + BATCH, base + n)) for s in range(base, base + n, BATCH)]
        metafunc.parametrize("fuzz_batch", batches, ids=[f"seeds{a}-{b - 1}" for a, b in batches])


def test_fuzz_native_interp_fd_torch(fuzz_batch):
    start, end = fuzz_batch
    findings = check_programs([generate(s) for s in range(start, end)])
    assert not findings, "\n\n".join(f.report() for f in findings)
