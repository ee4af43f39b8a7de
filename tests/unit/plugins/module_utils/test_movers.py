# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data movers end with the play (issue 19): real processes, a "play" above a "module" above four movers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils.movers import MoverGuard, MoverLock

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process ancestry is read from /proc")

MOVER = "import os, sys, time; open(os.path.join(sys.argv[1], 'mover-%d.pid' % os.getpid()), 'w').close(); time.sleep(120)"

MODULE = textwrap.dedent("""
    import sys, threading
    from ansible_collections.smartx.cloudtower.plugins.module_utils.movers import MoverGuard, MoverLock
    directory = sys.argv[1]
    lock = MoverLock(directory)
    assert lock.acquire()
    mover = [sys.executable, "-c", {mover!r}, directory]
    with MoverGuard() as guard:
        threads = [threading.Thread(target=guard.run, args=(mover, {{}}, None, [lock.fd])) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
""").format(mover=MOVER)

PLAY = textwrap.dedent("""
    import subprocess, sys, time
    subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
    time.sleep(120)
""")


def environment():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))


def mover_pids(directory, count=4, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        pids = [int(name[6:-4]) for name in os.listdir(directory) if name.startswith("mover-")]
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    raise AssertionError("the movers did not start")


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


def reap_all(directory):
    for name in os.listdir(directory):
        if name.startswith("mover-"):
            try:
                os.kill(int(name[6:-4]), signal.SIGKILL)
            except OSError:
                pass


def test_killing_the_play_with_sigkill_stops_every_mover(tmp_path):
    play = subprocess.Popen([sys.executable, "-c", PLAY, MODULE, str(tmp_path)], env=environment())
    try:
        pids = mover_pids(tmp_path)
        play.kill()
        play.wait()
        assert wait_gone(pids) == [], "data movers outlived the play"
    finally:
        play.kill()
        reap_all(tmp_path)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_the_module_stops_every_mover(tmp_path, signum):
    module = subprocess.Popen([sys.executable, "-c", MODULE, str(tmp_path)], env=environment())
    try:
        pids = mover_pids(tmp_path)
        module.send_signal(signum)
        module.wait(15)
        assert wait_gone(pids) == []
        assert module.returncode != 0
    finally:
        module.kill()
        reap_all(tmp_path)


def test_a_mover_left_running_keeps_its_vm_locked_so_the_next_run_does_not_trust_its_output(tmp_path):
    lock = MoverLock(str(tmp_path))
    assert lock.acquire()
    mover = subprocess.Popen([sys.executable, "-c", MOVER, str(tmp_path)], pass_fds=[lock.fd])
    try:
        lock.release()
        mover_pids(tmp_path, count=1)
        assert not MoverLock(str(tmp_path)).acquire(), "the lock went with the module, not with its mover"
    finally:
        mover.kill()
        mover.wait()
    again = MoverLock(str(tmp_path))
    assert again.acquire()
    again.release()


def test_movers_run_and_report_like_run_command(tmp_path):
    with MoverGuard() as guard:
        started = []
        rc, stdout, stderr = guard.run([sys.executable, "-c", "import os, sys; print(os.environ['X']); sys.exit(3)"], {"X": "hello"},
                                       started.append)
    assert (rc, stdout.strip(), stderr) == (3, "hello", "") and len(started) == 1
