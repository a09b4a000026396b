"""Runs a command and measures it: wall time, CPU time and peak RSS.

CPU time and peak RSS come from the kernel's rusage of the child (os.wait4),
so they include every thread of the tool and any child it waited for."""

import dataclasses
import os
import subprocess
import time


@dataclasses.dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # user + system seconds
    rss: int  # peak resident set size, bytes
    returncode: int


class CommandFailed(Exception):
    pass


def run(argv, *, env=None, cwd=None, stdout_path=None, log_path=None, check=True):
    """Runs argv to completion; stdout goes to stdout_path (or the log), stderr to
    log_path (appended). Raises CommandFailed with the log's tail on a non-zero exit
    when check is set."""
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    out = open(stdout_path, "wb") if stdout_path else log
    try:
        if log_path:
            log.write(("$ " + " ".join(str(a) for a in argv) + "\n").encode())
            log.flush()
        start = time.monotonic()
        proc = subprocess.Popen([str(a) for a in argv], env=env, cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout_path:
            out.close()
        if log_path:
            log.close()
    sample = Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024,
                    proc.returncode)
    if check and sample.returncode != 0:
        raise CommandFailed(f"{' '.join(str(a) for a in argv)} exited with "
                            f"{sample.returncode}{_tail(log_path)}")
    return sample


def _tail(path, lines=15):
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        text = f.read().decode(errors="replace").splitlines()[-lines:]
    return "\n  last lines of " + str(path) + ":\n    " + "\n    ".join(text)


def read_through(path, block=8 << 20):
    """Reads a file once so that it is in the page cache."""
    buf = bytearray(block)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(view):
            pass


def drop(path):
    """Takes a file's pages out of the page cache (they must be clean: sync
    first), so that the next read of it comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm(path, max_passes=5):
    """Reads a file until it reads at memory speed: at least twice, and until a
    pass is no more than 20 % faster than the one before (at most `max_passes`).
    On this VM the host takes back guest memory left idle for about a minute,
    page cache included: the first read of a cached image after a pause took
    1.6 s, the next 0.5 s, the third 0.1 s. Without this, whichever tool ran
    after a pause would pay for it."""
    last = None
    for n in range(max_passes):
        start = time.monotonic()
        read_through(path)
        took = time.monotonic() - start
        if n >= 1 and took > 0.8 * last:
            return
        last = took


def tree_bytes(path):
    """Apparent size of everything under path (as `du -sb`)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total
