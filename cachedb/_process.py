"""This process and its host, as leases record them, and whether another process still runs."""

from __future__ import annotations

import os
import sys


def this_host() -> str:
    """The host name a lease records (``socket.gethostname()``, without importing socket)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


HOST_ID_ENV = "CACHEDB_HOST_ID"


def host_id() -> str:
    """This machine as the database knows it: its machine id, else its host name.

    ``CACHEDB_HOST_ID`` overrides it (machines without a stable machine id, and
    tests that play several hosts on one). Leases, environments and the
    interpreter cache are kept per host, so hosts sharing a database and a cache
    directory never judge each other's processes or environments.
    """
    forced = os.environ.get(HOST_ID_ENV)
    if forced:
        return forced
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            # Bytes decoded here: a text file in "ascii" would load encodings.ascii first.
            with open(path, "rb") as f:
                found = f.read().decode("ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if found:
            return found
    return this_host()


def boot_id() -> str | None:
    """This boot of this machine (Linux), to tell a reboot from a living host."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


_BOOT_TIME: list[float] = []


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), where the system says (Linux); else None.

    A lease records its process's start time, so a later process given the same
    pid is not taken for it. The value is computed the same way every time (boot
    time plus the start tick), so equal values mean the same process.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        # The command name (field 2) may hold spaces and parentheses: split after its end.
        ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])
        if not _BOOT_TIME:
            with open("/proc/stat", "rb") as f:
                for line in f:
                    if line.startswith(b"btime "):
                        _BOOT_TIME.append(float(line.split()[1]))
                        break
        return _BOOT_TIME[0] + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def process_alive(pid: int, started_at: float | None) -> bool:
    """Whether process ``pid`` exists on this host and is the one that started at
    ``started_at`` (when known on both sides)."""
    if not pid_alive(pid):
        return False
    if started_at is None:
        return True
    now = process_start_time(pid)
    return now is None or abs(now - started_at) < 1e-3


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it just belongs to someone else
    return True


def _pid_alive_windows(pid: int) -> bool:
    # os.kill(pid, 0) would terminate the process on Windows, so ask the kernel instead.
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    synchronize, wait_timeout = 0x00100000, 0x102
    handle = kernel32.OpenProcess(synchronize, False, pid)
    if not handle:
        return False
    try:
        return bool(kernel32.WaitForSingleObject(handle, 0) == wait_timeout)
    finally:
        kernel32.CloseHandle(handle)
