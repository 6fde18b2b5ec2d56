"""The on-disk cache of built libraries: private directories, a per-key lock, verified files.

Layout: `<cache>/<key[:2]>/<key>.{cpp,so,sha256}`. A library is published atomically (compiled to a
temporary name, its hash written to the `.sha256` sidecar, then renamed into place) under a lock
per key, so concurrent processes building one function make one build and none loads a
half-written file. Nothing read back is trusted: before a library is loaded its bytes are hashed and
compared with the sidecar (which also names the key), so a truncated, garbage or foreign `.so` --
which `dlopen` would turn into a SIGBUS or a wrong answer -- is rebuilt instead. Temporary files of
a killed build are removed by the next build of that key (and any older than a day by any build),
lock files are removed when released, and directories are created private (0700): the cache holds
code that this user's processes will run.

Why not the `filelock` and `platformdirs` packages: filelock's Unix lock deliberately leaves its
lock file in place ("so waiters share the same inode"), which is how `.lock` files piled up here;
removing it safely needs the re-check below (lock, then confirm the path still names the locked
file), a dozen lines with `fcntl`. platformdirs would give `$XDG_CACHE_HOME/stage` or
`~/.cache/stage` on Linux, the only platform stage builds for (ELF, g++): the two lines below.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

STALE_SECONDS = 24 * 3600      # a temporary file this old belongs to a build that was killed


class LockTimeout(TimeoutError):
    """Another process held a build lock for longer than we were willing to wait."""


def cache_dir() -> Path:
    """`$STAGE_CACHE_DIR`, else `$XDG_CACHE_HOME/stage`, else `~/.cache/stage`."""
    d = os.environ.get("STAGE_CACHE_DIR")
    if d:
        return Path(d)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stage"


def private_dir(d: Path) -> Path:
    """Create d readable by this user only (its missing parents as usual); an existing d is left
    alone."""
    if not d.is_dir():
        d.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
    return d


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sidecar(so: Path) -> Path:
    return so.with_suffix(".sha256")


def verified(so: Path, key: str) -> bool:
    """Whether `so` is the library published for `key`: its sidecar names the key and the hash of
    exactly these bytes."""
    try:
        recorded = sidecar(so).read_text().split()
        return recorded[:1] == [key] and len(recorded) == 2 and digest(so) == recorded[1]
    except OSError:
        return False


def publish(tmp: Path, so: Path, key: str):
    """Move a freshly built library into place, its hash recorded first (a reader that sees the new
    `.so` always finds its sidecar; one that reads the new sidecar with the old `.so` rebuilds)."""
    atomic_write(sidecar(so), f"{key} {digest(tmp)}\n")
    os.replace(tmp, so)


def atomic_write(path: Path, text: str):
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def clean_stale(d: Path, key: str):
    """Remove temporary files left by killed builds: this key's (we hold its lock), and any file
    older than STALE_SECONDS (no build runs that long)."""
    now = time.time()
    for p in d.glob("*.tmp"):
        try:
            if p.name.startswith(key + ".") or now - p.stat().st_mtime > STALE_SECONDS:
                p.unlink()
        except OSError:
            pass


@contextlib.contextmanager
def locked(path: Path, timeout: float, poll: float = 0.02) -> Iterator[None]:
    """An exclusive lock on `path` between processes (flock), the file removed on release.

    A waiter may have opened the file just before the holder removed it; after locking it checks
    that the path still names the file it locked, and otherwise tries again on the new file.
    Waits at most `timeout` seconds (LockTimeout)."""
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                if time.monotonic() > deadline:
                    raise LockTimeout(f"waited {timeout:g} s for the lock {path}")
                time.sleep(poll)
                poll = min(poll * 1.5, 0.25)
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)                     # the holder removed it: lock the one there now
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)              # while still holding it (see above)
        os.close(fd)

