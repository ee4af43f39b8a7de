"""Child processes that never outlive the runner: each in its own process group, stopped as a group.

A child also gets SIGTERM from the kernel when the thread that started it dies (PR_SET_PDEATHSIG), so a
runner killed outright (SIGKILL, no handler runs) still leaves no simulator or ansible-test behind.
"""

import ctypes
import math
import os
import signal
import subprocess
import time

PR_SET_PDEATHSIG = 1
_LIBC = None


def _die_with_parent():
    global _LIBC  # pylint: disable=global-statement
    try:
        if _LIBC is None:
            _LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not glibc Linux: the runner's own signal handlers still stop the group


def start(args, autogroup_nice=None, **kwargs):
    """Popen ``args`` in a new process group that dies with this process.

    The new session is also a new scheduler autogroup (Linux with sched_autogroup_enabled): the kernel shares the
    cores between autogroups first, whatever the number of processes in each. ``autogroup_nice`` weighs this one
    (0 by default; higher is a smaller share); where autogroups are off or missing it changes nothing."""
    process = subprocess.Popen(args, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)  # pylint: disable=subprocess-popen-preexec-fn
    if autogroup_nice:
        set_autogroup_nice(process.pid, autogroup_nice)
    return process


def autogroup_nice_for(count):
    """The autogroup nice at which ``count`` autogroups weigh together about as much as one at nice 0 (each nice step
    is a factor of 1.25 in the scheduler's weight)."""
    return int(round(math.log(count) / math.log(1.25))) if count > 1 else 0


def set_autogroup_nice(pid, nice):
    try:
        with open("/proc/%d/autogroup" % pid, "w", encoding="ascii") as stream:
            stream.write(str(nice))
    except OSError:
        pass  # no autogroups here (or the process is gone): nothing to weigh


def stop(process, grace=10.0):
    """SIGTERM the process group of ``process``, SIGKILL it after ``grace`` seconds; return the exit code."""
    if process is None:
        return None
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.time() + wait
        while time.time() < deadline and process.poll() is None:
            time.sleep(0.05)
    # Whatever the group leader left behind in its group goes too.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return process.wait()
