"""The long fuzzing run, outside pytest: `python -m fuzz START END` from tests/ (or with tests/ on
sys.path). Seeds are run in batches in child processes (a crash of native code kills a child, not
the run: its batch is then rerun one program at a time); findings are grouped by cause, the first
few of each group minimised, and everything written as markdown to --out.

    cd tests && ../.venv/bin/python -m fuzz 0 5000 --out /tmp/fuzz.md [--minimize 2] [--all]

`--all` switches every feature on (STAGE_FUZZ_ALL=1), including the ones features.py turns off.
`--python` builds the programs written with plain Python control flow (the front end stages it).
"""
import argparse
import collections
import json
import os
import pickle
import subprocess
import sys
import time


def TARGET():
    """What native code builds: the st-form ("st") or plain Python control flow ("python")."""
    return os.environ.get("STAGE_FUZZ_TARGET", "st")


def worker(seeds, batch, out):
    """Child process: check the seeds' programs; pickle (findings, stats) to `out`."""
    import traceback
    from .gen import generate
    from .run import Finding, check_programs
    stats = collections.Counter()
    findings = []
    for k in range(0, len(seeds), batch):
        progs = []
        for s in seeds[k:k + batch]:
            try:
                progs.append(generate(s))
            except Exception:                             # noqa: BLE001 - a bug of the fuzzer
                findings.append(Finding(s, "generator_error", traceback.format_exc()[-600:]))
        try:
            findings += check_programs(progs, stats, target=TARGET())
        except Exception:                                 # noqa: BLE001
            for p in progs:
                try:
                    findings += check_programs([p], stats, target=TARGET())
                except Exception:                         # noqa: BLE001
                    findings.append(Finding(p.seed, "harness_error", traceback.format_exc()[-600:], p))
    with open(out, "wb") as f:
        pickle.dump((findings, stats), f)


def run_chunk(seeds, batch, tmp):
    out = os.path.join(tmp, f"chunk{seeds[0]}.pkl")
    cmd = [sys.executable, "-m", "fuzz", "--worker", json.dumps(seeds), "--batch", str(batch),
           "--pickle", out]
    r = subprocess.run(cmd, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       capture_output=True, text=True)
    if r.returncode == 0:
        with open(out, "rb") as f:
            return pickle.load(f)
    if len(seeds) == 1:
        from .gen import generate
        from .run import Finding
        return [Finding(seeds[0], "crash", f"exit code {r.returncode}: {r.stderr[-300:]}",
                        generate(seeds[0]))], collections.Counter(programs=1)
    print(f"chunk {seeds[0]}.. exited with {r.returncode}: {r.stderr[-500:]}", flush=True)
    findings, stats = [], collections.Counter()
    for s in seeds:                                       # find the program that crashed
        f, st_ = run_chunk([s], 1, tmp)
        findings += f
        stats.update(st_)
    return findings, stats


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("start", type=int, nargs="?")
    ap.add_argument("end", type=int, nargs="?")
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--out", default="fuzz_report.md")
    ap.add_argument("--minimize", type=int, default=1, help="programs minimised per group")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--python", action="store_true")
    ap.add_argument("--worker")
    ap.add_argument("--pickle")
    a = ap.parse_args(argv)
    if a.all:
        os.environ["STAGE_FUZZ_ALL"] = "1"
    if a.python:
        os.environ["STAGE_FUZZ_TARGET"] = "python"
    if a.worker:
        return worker(json.loads(a.worker), a.batch, a.pickle)
    import tempfile
    from .minimize import minimize, signature
    from .run import INTERP_CATEGORIES, check_programs
    from .program import reproducer
    t0 = time.time()
    findings, stats = [], collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for s in range(a.start, a.end, a.chunk):
            f, st_ = run_chunk(list(range(s, min(s + a.chunk, a.end))), a.batch, tmp)
            findings += f
            stats.update(st_)
            print(f"{min(s + a.chunk, a.end) - a.start} programs, {len(findings)} findings, "
                  f"{time.time() - t0:.0f}s", flush=True)
    groups = collections.defaultdict(list)
    for f in findings:
        groups[signature(f)].append(f)
    lines = [f"# fuzz run: seeds {a.start}..{a.end}{' (all features)' if a.all else ''}", "",
             f"{stats['programs']} programs in {time.time() - t0:.0f}s; stats: {dict(stats)}", "",
             f"{len(findings)} findings in {len(groups)} groups", ""]
    for sig, fs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        lines += [f"## {sig}", "", f"{len(fs)} programs; seeds {[f.seed for f in fs][:30]}", ""]
        for f in [f for f in fs if f.program is not None][:a.minimize]:
            def still(q, cat=f.category, sig=sig):
                res = check_programs([q], use_torch=cat.startswith("torch"),
                                     native=cat not in INTERP_CATEGORIES, target=TARGET())
                return bool(res) and signature(res[0]) == sig
            try:
                small = minimize(f.program, still)
                again = check_programs([small], use_torch=f.category.startswith("torch"),
                                       target=TARGET())
                msg = again[0].message if again else f.message
            except Exception as e:                          # noqa: BLE001
                small, msg = f.program, f"{f.message} (minimisation failed: {e!r})"
            lines += [f"seed {f.seed}: {msg}", "", "```python", reproducer(small).rstrip(), "```", ""]
        if fs[0].program is None:
            lines += ["```", fs[0].message, "```", ""]
        with open(a.out, "w") as out:
            out.write("\n".join(lines) + "\n")
    with open(a.out, "w") as out:
        out.write("\n".join(lines) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
