"""What seal_kill.py and seal_server.py share: running `vmseal seal --json`
(killed at a point when asked), reading a process's state, and whether this
machine lets vmseal seal a process it did not start."""
import json
import os
import signal
import subprocess
import time


def proc_state(pid):
    """(state letter, TracerPid) of a live process."""
    with open(f"/proc/{pid}/stat") as f:
        state = f.read().rsplit(")", 1)[1].split()[0]
    with open(f"/proc/{pid}/status") as f:
        tracer = next(l.split()[1] for l in f if l.startswith("TracerPid:"))
    return state, int(tracer)


def seal(vmseal, pid, env=None, kill_after=None):
    """vmseal seal --json PID, in a session of its own; with kill_after
    (seconds), SIGKILL to its whole process group then (vmseal and its
    sealer). (exit status, report or None, stderr)."""
    p = subprocess.Popen([vmseal, "seal", "--json", str(pid)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    if kill_after is not None:
        time.sleep(kill_after)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    out, err = p.communicate()
    try:
        return p.returncode, json.loads(out), err
    except ValueError:
        return p.returncode, None, err


def why_skip(vmseal):
    """Why these tests cannot run here ("" when they can)."""
    if subprocess.run([vmseal, "check"], capture_output=True).returncode == 5:
        return "mseal does not work here"
    scope = "0"
    if os.path.exists("/proc/sys/kernel/yama/ptrace_scope"):
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = f.read().strip()
    if scope != "0" and os.geteuid() != 0:
        return f"Yama's ptrace_scope is {scope}: vmseal cannot trace a process it did not start"
    return ""
