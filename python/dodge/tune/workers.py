"""Which worker holds a trial, and whether it is still alive: the same machine is asked about the
worker's process, another machine is judged by the trial's heartbeat."""
import os
import socket

# ---- the machine and the worker ---------------------------------------------------------------
def _proc_start(pid):
    """The process's start time in clock ticks since boot, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def _pid_namespace():
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def worker_identity(heartbeat):
    return {"host": socket.gethostname(), "pid": os.getpid(), "pid_start": _proc_start(os.getpid()),
            "boot": _boot_id(), "pidns": _pid_namespace(), "heartbeat_seconds": heartbeat}


def same_machine(w):
    """Whether the worker W ran where its pid can be looked up from here: the same host name, boot
    and pid namespace. A host name alone is not enough: two machines (or containers) may share
    one, and asking about another machine's pid here would call a live worker gone."""
    return (w.get("host") == socket.gethostname() and bool(w.get("boot")) and w.get("boot") == _boot_id()
            and (w.get("pidns") or _pid_namespace()) == _pid_namespace())


def worker_gone(w, now, heartbeat_age):
    """Why the worker that holds a running trial is gone, or None while it may be alive. On this
    machine (same_machine): its process is asked. Elsewhere, on every storage: the trial's own
    heartbeat (tune_heartbeat, HEARTBEAT_AGE seconds old) against 3 of the worker's periods."""
    if same_machine(w):
        if _proc_start(w.get("pid")) != w.get("pid_start"):
            return f"its worker ({w.get('host')} pid {w.get('pid')}) is gone"
        return None
    grace = max(3 * float(w.get("heartbeat_seconds") or 60), 60)
    if heartbeat_age is not None and heartbeat_age > grace:
        return (f"its worker ({w.get('host')} pid {w.get('pid')}) sent no heartbeat for "
                f"{heartbeat_age:.0f} s (> {grace:.0f} s)")
    return None
