"""The process group of a data-parallel job: MPI through mpi4py, with failures that end it.

`init()` imports mpi4py (which initialises MPI under `mpiexec`), duplicates COMM_WORLD twice --
one communicator for stage's collectives, one for failure notices -- and installs an exception
hook. Every wait polls instead of blocking, so that it ends on whichever comes first:

- completion;
- a failure notice: a rank whose Python code raised tells every other rank (a short message on the
  fault communicator) before it exits, and they raise `DistributedError` naming it;
- the timeout (`init(timeout=...)`, `$STAGE_DIST_TIMEOUT`, default 300 s): a rank that hangs, or
  one that died without a word (a rank killed by a signal normally ends the job at once: `mpiexec`
  kills the others);
- Ctrl-C.

The same rules hold inside the native step (runtime `stage/mpi.h`). After a failure the job cannot
go on (a collective was left unfinished): further collectives raise at once.
"""
from __future__ import annotations

import os
import sys
import time
import traceback
from typing import Optional

from ..ir.ops.collective import FAULT_TAG

ACK_TAG = FAULT_TAG + 1          # "I have reported your failure": the failing rank may exit now
DEFAULT_TIMEOUT = 300.0
GRACE = 30.0                     # seconds a failing rank waits for the others to report it


class DistributedError(RuntimeError):
    """A collective could not complete: another rank failed (`rank` names it) or the job hangs.

    Parameters
    ----------
    message : str
        What happened.
    rank : int, optional
        The rank that reported a failure.

    Attributes
    ----------
    rank : int or None
        The rank that reported a failure (None after a timeout).
    """

    def __init__(self, message: str, rank: Optional[int] = None):
        super().__init__(message)
        self.rank = rank


class Group:
    """The initialised process group (one per process; see `stage.distributed.init`)."""

    def __init__(self, timeout: float):
        from mpi4py import MPI
        self.MPI = MPI
        world = MPI.COMM_WORLD
        self.comm = world.Dup()            # stage's collectives (never mixed with the user's)
        self.fault = world.Dup()           # failure notices only
        for c in (self.comm, self.fault):
            c.Set_errhandler(MPI.ERRORS_RETURN)
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = float(timeout)
        self.broken: Optional[DistributedError] = None
        self.reported = False              # this rank has told the others it failed

    # -- handles for native code ---------------------------------------------------------------------
    def handles(self):
        """(communicator, fault communicator) as signed 64-bit integers: MPI's C handles (an int
        in MPICH's ABI, sign-extended; a pointer in Open MPI's)."""
        def signed(h):
            return h - (1 << 64) if h >= (1 << 63) else h
        h = self.MPI._handleof
        return signed(h(self.comm)), signed(h(self.fault))

    # -- waiting -----------------------------------------------------------------------------------
    def check(self):
        """Raise DistributedError if another rank has reported a failure (or one happened)."""
        if self.broken is not None:
            raise self.broken
        st = self.MPI.Status()
        if self.fault.Iprobe(source=self.MPI.ANY_SOURCE, tag=FAULT_TAG, status=st):
            src = st.Get_source()
            msg = self.fault.recv(source=src, tag=FAULT_TAG)
            self.fail(DistributedError(f"rank {src} failed: {msg}", rank=src))

    def fail(self, err: DistributedError):
        """The job is broken: remember why, and raise it."""
        if self.broken is None:
            self.broken = err
        raise self.broken

    def wait(self, req, what: str):
        """Wait for an mpi4py request, ending on failure notices, the timeout and Ctrl-C."""
        if self.broken is not None:
            raise self.broken
        deadline = time.monotonic() + self.timeout
        pause = 1e-5
        while not req.Test():
            self.check()
            if time.monotonic() > deadline:
                self.fail(DistributedError(
                    f"{what} did not complete within {self.timeout:g} s on rank {self.rank}: "
                    f"another rank stopped or hangs (no rank reported a failure)"))
            time.sleep(pause)
            pause = min(pause * 2, 2e-3)

    def native_failed(self, e: BaseException):
        """A native step raised: when it was a collective's failure, find out which rank failed
        (its notice is waiting on the fault communicator) and mark the job broken."""
        text = str(e)
        if "stage.distributed" not in text:
            return None
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                self.check()
            except DistributedError as de:
                return de
            time.sleep(1e-3)
        self.broken = self.broken or DistributedError(text)
        return self.broken

    # -- failing -----------------------------------------------------------------------------------
    def report_failure(self, exc: BaseException):
        """Tell every other rank this one failed, and wait (GRACE s at most) until they have said
        so themselves, so that their messages are printed before mpiexec ends the job."""
        if self.reported or self.size == 1:
            return
        self.reported = True
        text = f"{type(exc).__name__}: {exc}"
        others = [r for r in range(self.size) if r != self.rank]
        sends = [self.fault.isend(text, dest=r, tag=FAULT_TAG) for r in others]
        acks = {r: self.fault.irecv(source=r, tag=ACK_TAG) for r in others}
        deadline = time.monotonic() + GRACE
        while acks and time.monotonic() < deadline:
            for r in [r for r, q in acks.items() if q.Test()]:
                del acks[r]
            time.sleep(1e-3)
        for s in sends:
            if not s.Test():
                pass               # a rank that is gone: nothing to wait for

    def acknowledge(self, err: DistributedError):
        if err.rank is not None:
            try:
                self.fault.isend(self.rank, dest=err.rank, tag=ACK_TAG).Test()
                time.sleep(0.05)
            except Exception:
                pass


GROUP: Optional[Group] = None


def _excepthook(kind, value, tb):
    """An uncaught exception on one rank ends the job with messages, not a hang: this rank
    reports it to the others (or acknowledges another rank's report), prints it, and exits
    without MPI_Finalize (which would wait for the others forever)."""
    g = GROUP
    try:
        sys.stderr.write(f"[stage.distributed] rank {g.rank if g else '?'} of "
                         f"{g.size if g else '?'}:\n")
        traceback.print_exception(kind, value, tb)
        sys.stderr.flush()
        sys.stdout.flush()
        if g is not None:
            if isinstance(value, DistributedError) and value.rank is not None:
                g.acknowledge(value)
            elif not isinstance(value, (DistributedError, KeyboardInterrupt)):
                g.report_failure(value)          # (Ctrl-C reaches every rank: nothing to tell)
    finally:
        if g is not None and g.size > 1:
            os._exit(1)


def init(timeout: Optional[float] = None) -> Group:
    """Initialise the process group (idempotent); see `stage.distributed.init`."""
    global GROUP
    if GROUP is not None:
        return GROUP
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise ImportError("stage.distributed needs mpi4py and an MPI implementation: "
                          "pip install 'stage[mpi]' (mpi4py and the mpich wheel)") from None
    if timeout is None:
        env = os.environ.get("STAGE_DIST_TIMEOUT", "").strip()
        try:
            timeout = float(env) if env else DEFAULT_TIMEOUT
        except ValueError:
            raise ValueError(f"STAGE_DIST_TIMEOUT={env!r}: expected seconds") from None
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    GROUP = Group(timeout)
    if GROUP.size > 1:
        sys.excepthook = _excepthook
    return GROUP


def group() -> Group:
    """The process group, initialised on first use."""
    return GROUP if GROUP is not None else init()
