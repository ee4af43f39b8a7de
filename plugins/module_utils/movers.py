# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data mover processes that end with the play.

A killed ansible-playbook must not leave data movers copying on: they run in the play's process group (so a
signal to the group reaches them), each is told by the kernel to stop when the module that started it dies
(Linux PR_SET_PDEATHSIG), and while they run the module stops them when it is signalled or when a process
above it (ansible-playbook, its worker) is gone.

Each VM's movers also hold a lock file in the VM's backup directory, inherited by every mover process, so
the lock lasts exactly as long as any of them: a later run that finds it held knows a mover of an earlier
run still writes there and does not take its half-written output for a result, nor start a second copy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import signal
import subprocess
import threading
import time

PR_SET_PDEATHSIG = 1
LOCK_NAME = ".data-mover.lock"
# How often the watchdog looks at the processes above the module, and how long a mover has to exit on SIGTERM.
WATCH_INTERVAL = 0.5
TERM_GRACE = 5.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


LIBC = _libc()


def _die_with_parent():
    """In the child, before exec: SIGTERM when the module (the thread that forked it) dies. Linux only."""
    if LIBC is not None:
        try:
            LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (AttributeError, OSError):
            pass


def start_time(pid):
    """A process's start time (clock ticks since boot), to tell it from a later process given the same pid; None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: the fields after its last ")" are fixed.
    return text.rsplit(")", 1)[-1].split()[19]


def parent_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return int(handle.read().rsplit(")", 1)[-1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def command_line(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def ancestors(limit=8):
    """[(pid, start time)] of the processes above this one that belong to the play.

    The walk goes up while the processes are Ansible's (the module's shell wrapper, the worker, ansible-playbook,
    ansible-runner: their command lines name ansible), and stops below the first that is not: a login shell that
    started ansible-playbook in the background may end without ending the play.
    """
    chain = []
    pid = os.getppid()
    while pid and pid > 1 and len(chain) < limit and "ansible" in command_line(pid):
        started = start_time(pid)
        if started is None:
            break
        chain.append((pid, started))
        pid = parent_of(pid)
    return chain


class MoverGuard:
    """While active, the running movers are stopped when the module is signalled or a process above it dies."""

    def __init__(self):
        self._lock = threading.Lock()
        self.running = set()
        self.stopped_because = None
        self._watched = []
        self._previous = {}
        self._done = threading.Event()
        self._watchdog = None

    # ----- the movers ---------------------------------------------------------------------------------------
    def run(self, argv, environment, on_start, pass_fds=()):
        """(rc, stdout, stderr) of argv, like AnsibleModule.run_command; on_start(process) right after it starts."""
        env = dict(os.environ)
        env.update(environment or {})
        # AnsibleModule.run_command cannot set the parent-death signal (it takes no preexec_fn); this is its contract
        # otherwise: argv without a shell, the environment updated, output captured, on_start before communicating.
        process = subprocess.Popen(  # pylint: disable=ansible-bad-function
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            close_fds=True, pass_fds=tuple(pass_fds), preexec_fn=_die_with_parent)
        with self._lock:
            self.running.add(process)
        try:
            if self.stopped_because:
                self._stop_one(process)
            if on_start:
                on_start(process)
            stdout, stderr = process.communicate()
        finally:
            with self._lock:
                self.running.discard(process)
        return process.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")

    def stop_all(self, reason):
        """SIGTERM every running mover, SIGKILL those still there after TERM_GRACE seconds."""
        self.stopped_because = self.stopped_because or reason
        with self._lock:
            processes = list(self.running)
        for process in processes:
            self._signal(process, signal.SIGTERM)
        deadline = time.monotonic() + TERM_GRACE
        for process in processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)

    def _stop_one(self, process):
        self._signal(process, signal.SIGTERM)

    @staticmethod
    def _signal(process, signum):
        try:
            process.send_signal(signum)
        except OSError:
            pass

    # ----- signals and the watchdog --------------------------------------------------------------------------
    def __enter__(self):
        self._watched = ancestors()
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                try:
                    self._previous[signum] = signal.signal(signum, self._on_signal)
                except (OSError, ValueError):
                    pass
        self._watchdog = threading.Thread(target=self._watch, name="data-mover-watchdog", daemon=True)
        self._watchdog.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        for signum, handler in self._previous.items():
            try:
                signal.signal(signum, handler)
            except (OSError, ValueError):
                pass
        return False

    def _on_signal(self, signum, _frame):
        self.stop_all("the module got %s" % signal.Signals(signum).name)
        # Exit as the signal would have, now that no mover is left behind.
        os._exit(128 + signum)

    def _watch(self):
        while not self._done.wait(WATCH_INTERVAL):
            gone = [pid for pid, started in self._watched if start_time(pid) != started]
            if gone:
                self.stop_all("process %d above the module (the play) is gone" % gone[0])
                os._exit(1)


# ----- the per-VM lock ------------------------------------------------------------------------------------------
class MoverLock:
    """An exclusive lock on <vm directory>/.data-mover.lock, held by the module and inherited by its movers."""

    def __init__(self, directory):
        self.path = os.path.join(directory, LOCK_NAME)
        self.fd = None

    def acquire(self):
        """True when taken; False when a mover of an earlier run still holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise
        os.set_inheritable(fd, True)
        self.fd = fd
        return True

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
