"""How the sandbox container is made: the watchdog as root PID 1, the code's interpreters, limits.

See :mod:`sandbox_runner` for the watchdog and :mod:`docker_executor` for how blocks are run.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from tuiagents.execution.docker_client import container_labels
from tuiagents.execution.sandbox_disk import HOST
from tuiagents.execution.settings import DockerSettings, parse_size

WORKSPACE = "/workspace"
# Python blocks start isolated (-I: no PYTHON* variables, no user site, no script or current
# folder on sys.path), so nothing an earlier block left in /workspace or /tmp (sitecustomize.py,
# usercustomize.py, a .pth file, json.py) runs before or instead of the approved code. The work
# dir is NOT on sys.path: code may write anything there, and the standard library imports
# optional modules it lacks (_gdbm by shelve, tzdata by zoneinfo) wherever sys.path finds them.
# Instead a finder at the end of sys.meta_path imports exactly the files saved from approved
# `# filename:` blocks (APPROVED_FILES, written by the watchdog beside the script), and only
# while their bytes still hash to what was approved; it never shadows the standard library or
# installed packages. The code is read from the watchdog's read-only copy, but a `# filename:`
# block is named by its place in /workspace (``__file__``, sys.argv[0], tracebacks), as if run
# with python3 FILE; a traceback starts at the approved script.
APPROVED_FILES = ".approved"
PYTHON_BOOT = """\
import sys, types
shown, path = sys.argv[1] or sys.argv[2], sys.argv[2]
sys.argv = [shown]
sys.dont_write_bytecode = True


def approved_finder(approved):
    import hashlib, importlib.machinery, importlib.util

    class Loader:
        def __init__(self, data, where):
            self.data, self.where = data, where

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            exec(compile(self.data, self.where, "exec", dont_inherit=True), module.__dict__)

    class ApprovedFiles:
        @staticmethod
        def find_spec(name, path=None, target=None):
            rel = name.replace(".", "/")
            for file, package in ((rel + "/__init__.py", True), (rel + ".py", False)):
                if file not in approved:
                    continue
                where = "/workspace/" + file
                try:
                    with open(where, "rb") as f:
                        data = f.read()
                except OSError:
                    return None
                if hashlib.sha256(data).hexdigest() != approved[file]:
                    return None  # changed since it was approved: not what the person saw
                spec = importlib.util.spec_from_loader(name, Loader(data, where), origin=where,
                                                       is_package=package)
                spec.has_location = True
                return spec
            if any(file.startswith(rel + "/") for file in approved):  # a folder of them
                spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
                spec.submodule_search_locations = []
                return spec
            return None

    return ApprovedFiles


try:
    import json
    with open(path.rpartition("/")[0] + "/" + APPROVED_FILES, "rb") as f:
        sys.meta_path.append(approved_finder(json.load(f)))
except OSError:
    pass
with open(path, "rb") as f:
    source = f.read()
main = types.ModuleType("__main__")
main.__file__, main.__builtins__ = shown, __builtins__
sys.modules["__main__"] = main
try:
    exec(compile(source, shown, "exec", dont_inherit=True), main.__dict__)
except SystemExit:
    raise
except BaseException as exc:
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != shown:
        tb = tb.tb_next
    sys.excepthook(type(exc), exc.with_traceback(tb), tb)
    sys.exit(1)
""".replace("APPROVED_FILES", repr(APPROVED_FILES))
INTERPRETERS = {"python": ["python3", "-u", "-I", "-c", PYTHON_BOOT], "sh": ["sh"], "bash": ["bash"]}
# The watchdog is one program: the disk quota's layer code, then the watchdog that uses it.
WATCHDOG_SOURCE = "\n".join(Path(__file__).with_name(name).read_text(encoding="utf-8")
                            for name in ("sandbox_disk.py", "sandbox_stage.py",
                                         "sandbox_runner.py"))
# What the root watchdog needs: kill any process, become the sandbox user, walk folders the
# code made unreadable (for the disk limit), and pin OOM scores (itself never, the code first,
# for good). setuid() clears them all for the code.
CAPABILITIES = ["KILL", "SETUID", "SETGID", "DAC_READ_SEARCH"]
PIN_OOM = "SYS_RESOURCE"  # added where the daemon can grant it
# What the disk quota needs (see sandbox_disk): mount the block's tmpfs and overlay, and let
# overlay copy up and the merge write the owner's files. Where the daemon or its AppArmor
# profile refuses, the container is made again without them and the work dir is measured.
QUOTA = ["SYS_ADMIN", "DAC_OVERRIDE", "CHOWN", "FOWNER"]
ENVIRONMENT = {
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONNOUSERSITE": "1",  # python3 started by a shell block ignores /tmp/.local hooks too
    # ... and does not put its script's folder or the current one (/workspace) first on sys.path
    "PYTHONSAFEPATH": "1",
    "MPLBACKEND": "Agg",
}


class Grants:
    """What this daemon gives the watchdog, learnt on the first start and kept for the process."""

    pin_oom = True  # SYS_RESOURCE: OOM scores pinned
    quota = True  # QUOTA: the disk limit held by the kernel (see sandbox_disk)

    @classmethod
    def refused(cls, error: Exception) -> bool:
        """After a start failed with ``error``: give up one grant; whether to try again."""
        if "caps" not in str(error) or not (cls.pin_oom or cls.quota):
            return False
        if cls.pin_oom:  # without it, a lost watchdog is still noticed and the sandbox restarted
            cls.pin_oom = False
        else:  # without it, the work dir is measured while blocks run
            cls.quota = False
        return True


def create_sandbox_container(api: Any, settings: DockerSettings, work_dir: Path, session_id: str,
                             user: str, disk_limit: int, pin_oom: bool = True,
                             quota: bool = True, copied: bool = False) -> dict:
    """Blocking: create (not start) the session's sandbox container; return the API's answer.

    ``user`` is the sandbox user (``uid[:gid]`` or a name in the image) the code runs as.
    ``pin_oom`` grants the watchdog SYS_RESOURCE, so it can make itself unkillable by the OOM
    killer and the code's OOM score both maximal and not lowerable. ``quota`` mounts the work
    dir behind the per-block layer the kernel limits (:mod:`sandbox_disk`) instead of at
    /workspace itself. ``copied`` gives the work dir a volume of its own instead of binding
    ``work_dir`` (for a daemon that cannot see it; see :mod:`sandbox_workspace`).
    """
    uid, _, gid = user.partition(":")
    config = {"uid": int(uid) if uid.isdigit() else uid,
              "gid": int(gid) if gid.isdigit() else (gid or None), "workspace": WORKSPACE}
    if config["gid"] is None:
        config["gid"] = config["uid"]
    # tmpfs pages count as memory: /tmp (and /dev/shm) never get more than the memory limit
    tmp_size = min(disk_limit, parse_size(settings.memory))
    config["tmp_size"] = tmp_size
    tmpfs = {"/tmp": f"rw,nosuid,nodev,size={tmp_size},mode=1777",
             # root-owned: the code can read its script here, never write it
             "/run/tuiagents": "rw,nosuid,nodev,noexec,size=64m,mode=0755"}
    work = {"bind": WORKSPACE, "mode": "rw"}
    if quota:
        config["host"] = HOST
        work["bind"] = HOST
        tmpfs["/run/tuiagents-host"] = "rw,nosuid,nodev,noexec,size=64k,mode=0700"
        tmpfs[WORKSPACE] = "rw,nosuid,nodev,size=64k,mode=0755"  # where each block's overlay goes
    safe_session = "".join(c if c.isalnum() or c in "_.-" else "-" for c in session_id)
    if copied:  # removed with the container (remove(v=True)); labelled like it for leftovers
        from docker.types import Mount

        config["copied"] = True
        where = {"mounts": [Mount(work["bind"], None, type="volume",
                                  labels=container_labels(session_id))]}
    else:
        where = {"binds": {str(work_dir.resolve()): work}}
    host_config = api.create_host_config(
        **where,
        network_mode=settings.network,
        mem_limit=settings.memory,
        memswap_limit=settings.memory,  # same as the memory limit: no swap on top
        nano_cpus=int(settings.cpus * 1e9),
        pids_limit=settings.pids_limit,
        security_opt=["no-new-privileges"],
        cap_drop=["ALL"],
        cap_add=CAPABILITIES + ([PIN_OOM] if pin_oom else []) + (QUOTA if quota else []),
        read_only=True,
        tmpfs=tmpfs,
        shm_size=tmp_size,  # where there is no per-block /dev/shm, at least a bounded one
        log_config={"type": "none", "config": {}},  # output goes to us, not to a log file
    )
    created = api.create_container(
        settings.image,
        command=["python3", "-I", "-S", "-c", WATCHDOG_SOURCE, json.dumps(config)],
        name=f"tuiagents-{safe_session[:40]}-{uuid.uuid4().hex[:6]}",
        # stdin closes when our attach does (we crashed or closed): the watchdog then kills
        # everything and exits, so a crash never leaves a block running
        stdin_open=True,
        detach=False,  # the SDK's way to set StdinOnce (and AttachStdin) with stdin_open
        labels=container_labels(session_id),
        user="0:0",
        working_dir="/",
        environment=ENVIRONMENT,
        host_config=host_config,
    )
    return created
