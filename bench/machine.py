"""One line describing the machine a benchmark ran on, for the head of its report."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    """CPU model, core count, kernel and Python version."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux `/proc`; 0.0 elsewhere)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return 0.0
    # The command name (field 2) may hold spaces; the fields after its closing parenthesis
    # start at field 3, so utime and stime (fields 14 and 15) are at offsets 11 and 12.
    fields = stat.read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """`cpu_seconds` of a process and of the live processes it started (Linux `/proc`)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    started = children.read_text().split() if children.exists() else []
    return cpu_seconds(pid) + sum(tree_cpu_seconds(int(child)) for child in started)


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of a process (this one by default), from `/proc`; 0 elsewhere."""
    status = Path(f"/proc/{pid or 'self'}/status")
    if not status.exists():
        return 0
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
