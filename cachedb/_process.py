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
            with open(path, encoding="ascii") as f:
                found = f.read().strip()
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
