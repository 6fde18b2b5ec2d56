"""The bad-input catalogue (tests/bad_inputs.py) run group by group, each group in one subprocess:
every case must end in its clear Python exception or its correct result -- a crash or a hang of
the subprocess fails the group, naming the case that was running."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bad_inputs  # noqa: E402

# groups that damage the cache or swap the compiler get a cache of their own
OWN_CACHE = {"cache", "compiler"}


def judge(expect, match, res):
    """'' if the result is what the case expects, else what is wrong."""
    if expect == "ok":
        if res["outcome"] == "ok":
            return ""
        return f"expected the correct result, raised {res['type']}: {res['message'][:300]}\n" \
               f"{res['trace']}"
    names = [e.__name__ for e in (expect if isinstance(expect, tuple) else (expect,))]
    if res["outcome"] == "ok":
        return f"expected {'/'.join(names)}, returned normally"
    if not set(names) & set(res["mro"]):
        return f"expected {'/'.join(names)}, raised {res['type']}: {res['message'][:300]}\n" \
               f"{res['trace']}"
    if match and not re.search(match, res["message"], re.S):
        return f"{res['type']} message does not match {match!r}: {res['message'][:300]}"
    return ""


@pytest.mark.parametrize("group", list(bad_inputs.CASES))
def test_bad_inputs(group, tmp_path):
    env = dict(os.environ, **bad_inputs.GROUP_ENV.get(group, {}))
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent)] + [p for p in [env.get("PYTHONPATH")] if p])
    if group in OWN_CACHE:
        env["STAGE_CACHE_DIR"] = str(tmp_path / "cache")
    try:
        r = subprocess.run([sys.executable, str(HERE / "bad_inputs.py"), group], env=env,
                           cwd=HERE.parent, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        started = [json.loads(l)["start"] for l in out.splitlines() if l.startswith('{"start"')]
        pytest.fail(f"group {group} hung in case {started[-1] if started else '?'}")
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    results = {d["case"]: d for d in lines if "case" in d}
    started = [d["start"] for d in lines if "start" in d]
    problems = []
    if r.returncode != 0:
        problems.append(f"the process died (code {r.returncode}) in case {started[-1]!r}:\n"
                        f"{r.stderr[-3000:]}")
    for name, _, expect, match in bad_inputs.CASES[group]:
        if name not in results:
            continue
        why = judge(expect, match, results[name])
        if name in bad_inputs.LEAD:
            if not why:
                problems.append(f"{name}: passes now; remove it from bad_inputs.LEAD "
                                f"({bad_inputs.LEAD[name]})")
        elif why:
            problems.append(f"{name}: {why}")
    assert len(results) == len(bad_inputs.CASES[group]) or problems, "cases missing"
    assert not problems, "\n\n".join(problems)


def test_catalogue_is_large_enough():
    assert sum(len(v) for v in bad_inputs.CASES.values()) >= 90
