"""The sandbox watchdog: PID 1 of the sandbox container, run as root, started as
``python3 -I -S -c <this file> CONFIG_JSON``.

Why root and PID 1: the code of a block runs as the unprivileged sandbox user, so it cannot
signal, ptrace or open ``/proc/1/fd`` of this process, and cannot write the channel the outcome
travels on (our stdin/stdout, attached by the host through the Docker API). If this process
dies anyway, the container stops and the kernel kills every process in it. The container keeps
only the capabilities needed here (KILL, SETUID, SETGID, DAC_READ_SEARCH; SYS_RESOURCE where the
daemon can grant it, to pin OOM scores; SYS_ADMIN, DAC_OVERRIDE, CHOWN and FOWNER where it can,
for the disk limit's per-block layer, see sandbox_disk); ``setuid`` drops them all for the code,
and no-new-privileges stops it from getting any back.

Per block: the host sends the approved bytes and their sha256; we refuse them if the hash does
not match, write them read-only into a root-owned tmpfs (``/run/tuiagents``), check the hash of
that file again right before the exec, and run it as the sandbox user in its own session with
its stdout+stderr on a pipe. When the main process ends, times out or is cancelled, every other
process in the container is killed (``kill(-1)`` from PID 1, repeated until /proc is empty), so
nothing a block starts outlives it, and the outcome is sent from here.

Frames, both ways: one kind byte, a 4-byte big-endian length, the payload.
host -> us: ``P`` ping; ``B`` block (4-byte header length, JSON header, code); ``C`` cancel; ``D``
deletions (JSON paths). us -> host: ``R`` ready; ``O`` output; ``T`` 8-byte count of bytes not sent
+ the tail; ``K`` still at work (saving a block's files); ``X`` outcome JSON; ``d`` what ``D`` left.

Standard library only, Python >= 3.6: this file is sent to whatever python3 the image has.
"""

import hashlib
import json
import os
import resource
import select
import signal
import struct
import sys
import time

try:  # in the container, sandbox_disk's source comes first (see sandbox_container)
    merge_layer  # noqa: B018
except NameError:
    from tuiagents.execution.sandbox_disk import (can_mount, changed_names, disk_reached,
                                                  disk_usage, layer_full, merge_layer, mount_layer,
                                                  remove_paths, tmp_full, unmount_layer, work_root)
    from tuiagents.execution.sandbox_stage import STAGE, drop_stage, stage_entries

CONTROL = "/run/tuiagents"
APPROVED = ".approved"  # beside the script: the approved files' hashes (see sandbox_container)
HEAD = struct.Struct(">cI")
ATTACH_WAIT = 10.0  # no ping by then after start: the host died before attaching; so do we


def send(kind, payload=b""):
    data = HEAD.pack(kind, len(payload)) + payload
    while data:
        data = data[os.write(1, data):]


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


def others():
    """Pids in this container other than ours."""
    return [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]


def reap(block):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if block is not None and pid == block["pid"] and block["status"] is None:
            block["status"] = status


def kill_everything(block, limit=5.0):
    """Kill every process but us until none is left; False if some would not die in time."""
    end = time.monotonic() + limit
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reap(block)
        if not others():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.001)


def spawn(config, argv, path, fsize):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        os.set_blocking(read_end, False)
        return pid, read_end
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        # Every other fd of ours (the host channel, pipes) is close-on-exec: nothing leaks.
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)  # python ignores some; programs expect defaults
        signal.set_wakeup_fd(-1)
        # Under memory pressure the code goes first. Written while we still hold SYS_RESOURCE,
        # it is also the floor: the code cannot lower it again after setuid.
        set_oom_score(1000)
        if fsize:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        os.setgroups([])
        os.setgid(config["gid"])
        os.setuid(config["uid"])
        os.chdir(config["workspace"])
        os.execvp(argv[0], argv + [path])
    except BaseException as exc:  # noqa: BLE001 - report anything, then leave the child
        os.write(2, ("cannot start %s: %s\n" % (argv[0], exc)).encode())
    os._exit(127)


def set_oom_score(value):
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))
    except OSError:
        pass


def remove_script(path, folder):
    approved = os.path.join(folder, APPROVED)
    for remove, name in ((os.unlink, path), (os.unlink, approved), (os.rmdir, folder)):
        try:
            remove(name)
        except OSError:
            pass


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Watchdog:
    def __init__(self, config):
        self.config = config
        self.block = None
        self.inbox = b""
        self.greeted = False
        # The work dir is an overlay on a size-limited tmpfs per block (see sandbox_disk), or,
        # where the daemon does not let us mount, the bind mount itself, measured while it runs.
        self.quota = bool(config.get("host")) and can_mount(config["workspace"])
        self.root = work_root(config)  # the work dir's own mount (a bind or a copy's volume)

    def start(self, header, code):
        block_id = header["id"]
        if hashlib.sha256(code).hexdigest() != header["sha256"]:
            return self.refuse(block_id, "the code does not match its approved hash")
        if not kill_everything(None):
            return self.refuse(block_id, "processes of an earlier block would not die")
        folder = os.path.join(CONTROL, "".join(c for c in block_id if c.isalnum()))
        name = "".join(c for c in header["name"] if c.isalnum() or c in "._-").lstrip(".")
        path = os.path.join(folder, name or "block")
        os.mkdir(folder, 0o755)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444)
        with os.fdopen(fd, "wb") as f:
            f.write(code)
        if sha256_of(path) != header["sha256"]:  # what exec will read, right before it
            remove_script(path, folder)
            return self.refuse(block_id, "the code changed before it could run")
        # The work-dir files of approved blocks (name -> sha256), the only ones python imports.
        fd = os.open(os.path.join(folder, APPROVED), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        with os.fdopen(fd, "w") as f:
            json.dump(header.get("approved") or {}, f)
        limit = header.get("disk_limit") or 0
        if self.config.get("copied"):  # the last block's changes, read by now: no code sees them
            drop_stage(self.root)
        if self.quota:  # a tmpfs: never more than the memory limit (tmp_size), as /tmp
            memory = self.config.get("tmp_size") or limit
            mount_layer(self.config["workspace"], min(limit, memory) if limit else memory, memory)
        block = {
            "id": block_id, "folder": folder, "path": path, "status": None, "reason": None,
            "oom_before": oom_kills(), "tmp_before": tmp_full(),
            "deadline": time.monotonic() + header["timeout"],
            "disk_limit": limit, "quota": self.quota, "problems": [], "disk_next": 0.0,
            "disk_base": disk_usage(self.config["workspace"]) if limit and not self.quota else 0,
            "disk_hit": False,
            "forward": header["forward_limit"], "tail_size": header["tail"], "sent": 0,
            "skipped": 0, "tail": bytearray(), "open": True,
        }
        try:
            block["pid"], block["pipe"] = spawn(self.config, header["argv"], path, limit)
        finally:
            if "pid" not in block and self.quota:
                unmount_layer(self.config["workspace"])
        self.block = block

    def refuse(self, block_id, message):
        send(b"X", json.dumps({"id": block_id, "exit_code": -1, "error": message}).encode())

    def output(self, data):
        block = self.block
        room = block["forward"] - block["sent"]
        if room > 0:
            send(b"O", data[:room])
            block["sent"] += min(room, len(data))
            data = data[room:]
        if data:
            block["tail"] += data
            extra = len(block["tail"]) - block["tail_size"]
            if extra > 0:
                del block["tail"][:extra]
                block["skipped"] += extra

    def read_pipe(self):
        block = self.block
        while block["open"]:
            try:
                data = os.read(block["pipe"], 65536)
            except BlockingIOError:
                return
            if not data:
                block["open"] = False
                os.close(block["pipe"])
                return
            self.output(data)

    def stop(self, reason):
        if self.block["reason"] is None and self.block["status"] is None:
            self.block["reason"] = reason
            kill_everything(self.block)

    def check_disk(self, now):
        block = self.block
        if (block["disk_limit"] and now >= block["disk_next"]
                and disk_reached(block, self.config["workspace"], now)):
            block["disk_hit"] = True
            self.stop("disk")

    def merge(self, block):  # what the block wrote, into the host's work dir (layer kept)
        block["disk_hit"] = block["disk_hit"] or (block["disk_limit"] and layer_full())
        block["changed"] = changed_names()
        merge_layer(block["problems"], tick=lambda: send(b"K"))

    def finish(self):
        block = self.block
        clean = kill_everything(block)
        end = time.monotonic() + 2.0
        while block["open"] and time.monotonic() < end:
            select.select([block["pipe"]], [], [], 0.05)
            self.read_pipe()
        if block["open"]:
            os.close(block["pipe"])
        if block["status"] is None:  # killed everything: our child must be a zombie by now
            try:
                block["status"] = os.waitpid(block["pid"], 0)[1]
            except ChildProcessError:
                block["status"] = signal.SIGKILL
        if block["quota"]:
            self.merge(block)
            if block["changed"] and self.config.get("copied"):  # one archive back (sandbox_stage)
                block["staged"] = stage_entries(self.root, block["changed"], lambda: send(b"K"))
        elif block["disk_limit"] and not block["disk_hit"]:
            total = disk_usage(self.config["workspace"])
            block["disk_hit"] = total - block["disk_base"] >= block["disk_limit"]
        status = block["status"]
        signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        after = oom_kills()
        if block["tail"]:
            send(b"T", struct.pack(">Q", block["skipped"]) + bytes(block["tail"]))
        outcome = {
            "id": block["id"],
            "exit_code": 128 + signal_number if signal_number else os.WEXITSTATUS(status),
            "signal": signal_number,
            "timed_out": block["reason"] == "timeout",
            "cancelled": block["reason"] == "cancel",
            "oom": block["oom_before"] is not None and after is not None
            and after > block["oom_before"],
            "disk": block["disk_hit"] or signal_number == signal.SIGXFSZ,
            "disk_stopped": block["reason"] == "disk",
            "tmp_full": tmp_full() and not block["tmp_before"],
            "clean": clean,
            "problems": block["problems"], "changed": block.get("changed"),
            "staged": STAGE if block.get("staged") else None,
        }
        remove_script(block["path"], block["folder"])
        self.block = None
        send(b"X", json.dumps(outcome).encode())
        if block["quota"]:  # after the outcome: the host need not wait for it
            unmount_layer(self.config["workspace"])

    def handle(self, kind, payload):
        if kind == b"P":
            self.greeted = True
            send(b"R", json.dumps({"python": sys.version.split()[0], "quota": self.quota}).encode())
        elif kind == b"B":
            (size,) = struct.unpack(">I", payload[:4])
            header = json.loads(payload[4:4 + size].decode())
            if self.block is not None:
                return self.refuse(header["id"], "another block is still running")
            try:
                self.start(header, payload[4 + size:])
            except OSError as exc:
                self.refuse(header["id"], "the sandbox could not start the block: %s" % exc)
        elif kind == b"D":  # between blocks only: the host waits for the outcome first
            send(b"d", json.dumps(remove_paths(self.root, json.loads(payload), self.block)).encode())
        elif kind == b"C" and self.block is not None:
            if payload.decode() == self.block["id"]:
                self.stop("cancel")

    def read_host(self):
        data = os.read(0, 1 << 20)
        if not data:
            kill_everything(self.block)
            if self.block is not None and self.block["quota"]:
                self.merge(self.block)  # what the block wrote is kept
            sys.exit(0)  # the host is gone: so is the container
        self.inbox += data
        while len(self.inbox) >= HEAD.size:
            kind, size = HEAD.unpack(self.inbox[:HEAD.size])
            if len(self.inbox) < HEAD.size + size:
                break
            payload = self.inbox[HEAD.size:HEAD.size + size]
            self.inbox = self.inbox[HEAD.size + size:]
            self.handle(kind, payload)

    def loop(self):
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select through the wakeup fd
        signal.set_wakeup_fd(wake_write)
        attach_by = time.monotonic() + ATTACH_WAIT
        while True:
            block = self.block
            watched = [0, wake_read]
            timeout = None
            if not self.greeted:
                left = attach_by - time.monotonic()
                if left <= 0:
                    sys.exit("nobody attached to the sandbox in %g s: exiting" % ATTACH_WAIT)
                timeout = left
            if block is not None:
                if block["open"]:
                    watched.append(block["pipe"])
                now = time.monotonic()
                timeout = max(0.0, block["deadline"] - now)
                if block["disk_limit"]:
                    timeout = min(timeout, max(0.0, block["disk_next"] - now))
            ready, _, _ = select.select(watched, [], [], timeout)
            if wake_read in ready:
                try:
                    os.read(wake_read, 4096)
                except BlockingIOError:
                    pass
            reap(self.block)
            if 0 in ready:
                self.read_host()
            block = self.block
            if block is None:
                continue
            if block["open"]:
                self.read_pipe()
            now = time.monotonic()
            if block["status"] is None and block["reason"] is None:
                if now >= block["deadline"]:
                    self.stop("timeout")
                else:
                    self.check_disk(now)
            if block["status"] is not None or block["reason"] is not None:
                self.finish()


def main():
    config = json.loads(sys.argv[1])
    if not isinstance(config["uid"], int):  # a user name: look it up in the image
        import pwd
        entry = pwd.getpwnam(config["uid"])
        config["uid"] = entry.pw_uid
        if not isinstance(config["gid"], int):
            config["gid"] = entry.pw_gid
    if not isinstance(config["gid"], int):
        import grp
        config["gid"] = grp.getgrnam(config["gid"]).gr_gid
    if config["uid"] == 0:
        sys.exit("the sandbox user must not be root")
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    set_oom_score(-1000)  # the OOM killer never picks the watchdog
    os.chdir("/")
    os.umask(0o022)
    Watchdog(config).loop()


if __name__ == "__main__":
    main()
