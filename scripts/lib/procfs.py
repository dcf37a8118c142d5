"""What /proc says about processes and the machine, for the scripts that measure from outside."""
import os

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (which may contain spaces)."""
    with open(f"/proc/{pid}/stat") as file:
        text = file.read()
    return text[text.rindex(")") + 2:].split()


def cpu_seconds(*pids):
    """User plus system CPU time of the processes (all their threads), in seconds."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        # After the name: state is field 3 of the man page, utime 14 and stime 15.
        total += int(fields[14 - 3]) + int(fields[15 - 3])
    return total / TICKS_PER_SECOND


def children(pid):
    """The ids of the processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if parent(entry) == pid:
                found.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


def rss_bytes(pid):
    """The resident set size (VmRSS) of a process."""
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def parent(pid):
    return int(_stat_fields(pid)[4 - 3])


def name(pid):
    with open(f"/proc/{pid}/comm") as file:
        return file.read().strip()


def alive(pid):
    try:
        return _stat_fields(pid)[0] not in ("Z", "X")
    except OSError:
        return False


def cpu_model():
    with open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def load_average():
    with open("/proc/loadavg") as file:
        return " ".join(file.read().split()[:3])
