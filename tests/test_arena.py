"""The native frame arena: chunks of 2 MiB and more are 2 MiB-aligned and asked for transparent huge
pages (a 10 MB GPT step's buffers on 4 KiB pages missed the TLB: the step ran 20-50% slower), and
a frame bigger than any chunk still gets one."""
import os
import subprocess
import sys
from pathlib import Path

CHECK = r"""
import re, numpy as np, stage as st
f = st.compile(lambda x: st.sum(st.cumsum(x) * st.cumsum(x[::-1])))   # two 16 MiB temporaries
x = np.ones(1 << 22, np.float32)
assert float(f(x)) > 0
assert int(re.search(r"Frame fr\((\d+)\)", f.source)[1]) >= 32 << 20, f.source
huge = []
vma = None
for line in open("/proc/self/smaps"):
    head = line.split()
    if "-" in head[0] and not head[0].endswith(":"):
        lo, hi = (int(v, 16) for v in head[0].split("-"))
        vma = (lo, hi)
    elif head[0] == "VmFlags:" and "hg" in head[1:]:
        huge.append(vma)
print(sum(hi - lo >= (32 << 20) and lo % (2 << 20) == 0 for lo, hi in huge))
"""


def test_big_frames_are_on_huge_pages():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, STAGE_NUM_THREADS="1"))
    assert out.returncode == 0, out.stderr
    if Path("/sys/kernel/mm/transparent_hugepage/enabled").exists():   # a kernel with THP
        assert int(out.stdout) >= 1, out.stdout
