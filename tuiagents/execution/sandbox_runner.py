"""Runs inside the sandbox container as ``python3 -I -S -c <this file> TIMEOUT CANCEL_FILE CMD…``.

Why a runner instead of exec'ing the interpreter directly: the code runs in its own session and
process group, and this already-running watchdog kills that group on timeout, on cancel (the
host creates CANCEL_FILE in the bind-mounted work dir) and when the block's main process ends,
then every other process but PID 1, so nothing a block started outlives it. Killing from a
process that already exists matters: under a fork bomb the pids limit forbids starting a new
``kill`` process.

Protocol: the program's stdout+stderr (one pipe, so their order is kept) are copied to our
stdout; at the end one JSON line with the outcome is written to our stderr.

Standard library only, Python >= 3.6: this file is sent to whatever python3 the image has.
"""

import json
import os
import select
import signal
import sys
import time

# After the main process exits, how long to wait for the pipe to close (a process that left
# our process group may still hold it).
DRAIN_SECONDS = 1.0


def oom_kills():
    """The cgroup's OOM-kill counter (cgroup v2 or v1), or None if unreadable."""
    for path in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
        try:
            with open(path) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all_but_init():
    """Kill every process we may signal except PID 1 (the reaper) and ourselves.

    Catches processes that left the block's process group (``setsid cmd &``). Only sound
    because this runs in the sandbox container, where blocks run one at a time.
    """
    try:
        os.kill(-1, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def start(cmd, write_end, read_end):
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setsid()  # new session and process group whose id is our pid
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        os.close(write_end)
        os.close(read_end)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # python ignores it; programs expect it
        os.execvp(cmd[0], cmd)
    except BaseException as exc:  # noqa: BLE001 - report anything, then leave the child
        os.write(2, ("cannot start %s: %s\n" % (cmd[0], exc)).encode())
    os._exit(127)


def main():
    timeout = float(sys.argv[1])
    cancel_file = sys.argv[2]
    cmd = sys.argv[3:]
    oom_before = oom_kills()
    read_end, write_end = os.pipe()
    pid = start(cmd, write_end, read_end)
    os.close(write_end)
    deadline = time.monotonic() + timeout
    reason = None
    status = None
    ended = None
    pipe_open = True
    stdout_open = True
    while True:
        if status is None and reason is None:
            if time.monotonic() >= deadline:
                reason = "timeout"
            elif os.path.exists(cancel_file):
                reason = "cancel"
            if reason:
                kill_group(pid)
        if status is not None:
            kill_group(pid)  # the block is over: stragglers and background jobs go too
            kill_all_but_init()
            if not pipe_open or time.monotonic() - ended > DRAIN_SECONDS:
                break
        if pipe_open:
            ready, _, _ = select.select([read_end], [], [], 0.05)
            data = os.read(read_end, 65536) if ready else None
            if data == b"":
                pipe_open = False  # every writer is gone; the process may still run
                os.close(read_end)
            elif data and stdout_open:
                try:
                    while data:
                        data = data[os.write(1, data):]
                except OSError:  # the host stopped listening: nobody will read the rest
                    stdout_open = False
                    reason = reason or "cancel"
                    kill_group(pid)
        else:
            time.sleep(0.05)
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status, ended = st, time.monotonic()
    if status is None:
        status = os.waitpid(pid, 0)[1]
    signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    exit_code = 128 + signal_number if signal_number else os.WEXITSTATUS(status)
    oom_after = oom_kills()
    outcome = {
        "exit_code": exit_code,
        "signal": signal_number,
        "timed_out": reason == "timeout",
        "cancelled": reason == "cancel",
        "oom": oom_before is not None and oom_after is not None and oom_after > oom_before,
    }
    os.write(2, (json.dumps(outcome) + "\n").encode())


if __name__ == "__main__":
    main()
