"""What machine and software a benchmark ran on (without importing the frameworks)."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=ROOT).stdout
    except OSError:
        return ""


def _lscpu():
    info = {}
    for ln in _run(["lscpu"]).splitlines():
        if ":" in ln:
            k, v = ln.split(":", 1)
            info[k.strip()] = v.strip()
    return info


BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

_KERNEL = """
import ctypes, json
from stage import openblas
lib = ctypes.CDLL(openblas.shared_object())
lib.scipy_openblas_get_corename.restype = ctypes.c_char_p
lib.scipy_openblas_get_config.restype = ctypes.c_char_p
print(json.dumps([lib.scipy_openblas_get_corename().decode(), lib.scipy_openblas_get_config().decode()]))
"""


def blas_env_unset(env=None):
    """A copy of the environment without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (both together):
    the kernel OpenBLAS picks for this CPU by itself."""
    env = dict(os.environ if env is None else env)
    for k in BLAS_VARS:
        env.pop(k, None)
    return env


def blas_kernel(env=None):
    """(kernel name, config string) that stage's OpenBLAS picks in a child process with `env`."""
    try:
        r = subprocess.run([sys.executable, "-c", _KERNEL], capture_output=True, text=True,
                           timeout=120, env=env, cwd=ROOT)
        return tuple(json.loads(r.stdout.strip().splitlines()[-1]))
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return ("?", "?")


def blas_info():
    """The OpenBLAS variables as set here, and the kernel with them and with both unset."""
    kernel, config = blas_kernel()
    unset, _ = blas_kernel(blas_env_unset())
    return {"env": {k: os.environ.get(k) for k in BLAS_VARS}, "kernel": kernel, "config": config,
            "kernel_env_unset": unset}


def collect(snapshot=None):
    cpu = _lscpu()
    flags = cpu.get("Flags", "").split()
    versions = {}
    for pkg in ("numpy", "cffi", "scipy-openblas32", "torch", "jax", "jaxlib", "matplotlib"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (ValueError, OSError):
        mem_gb = None
    if snapshot:
        commit = _run(["git", "rev-parse", "--short", snapshot]).strip() + " (snapshot)"
        dirty = False
    else:
        commit = _run(["git", "rev-parse", "--short", "HEAD"]).strip()
        dirty = bool(_run(["git", "status", "--porcelain", "--", "stage", "examples"]).strip())
    return {
        "cpu": cpu.get("Model name", platform.processor()),
        "cpu_family_model": f"family {cpu.get('CPU family')} model {cpu.get('Model')}",
        "cores": os.cpu_count(),
        "threads_per_core": cpu.get("Thread(s) per core"),
        "hypervisor": cpu.get("Hypervisor vendor"),
        "avx512": "avx512f" in flags,
        "l2": cpu.get("L2 cache"), "l3": cpu.get("L3 cache"),
        "memory_gb": round(mem_gb, 1) if mem_gb else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "cxx": (_run([os.environ.get("STAGE_CXX") or os.environ.get("CXX") or "g++", "--version"])
                .splitlines() or [""])[0],
        "versions": versions,
        "stage_commit": commit + (" + uncommitted changes in stage/ or examples/" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "openblas": blas_info(),
        "loadavg_start": os.getloadavg(),
    }
