"""The sandbox's disk limit: what a block writes to /workspace lands in a tmpfs the kernel limits.

Part of the watchdog (sent into the container together with :mod:`sandbox_runner`): standard
library only, Python >= 3.6, run as root in the container.

Measuring the work dir while a block runs cannot hold a limit: a walk over 150,000 files takes
long enough for the next block to write 15 times its limit in between. No quota the kernel keeps
is there for a plain bind mount (``--storage-opt size`` needs overlay2 on xfs with pquota; loop
devices need the host's root). So, per block, the watchdog mounts a fresh tmpfs of the block's
disk limit (:data:`LAYER`) and an overlay on /workspace: the host's work dir below (bind-mounted
at :data:`HOST`, which the code cannot reach), the tmpfs above. The code sees and changes the work
dir as ever; every byte it writes (a changed file is copied up whole) takes room in the tmpfs,
and past the limit the kernel answers ENOSPC, however many files it makes. When the block is over
and its processes are dead, the layer is merged into the host's work dir: files (holes kept),
symlinks, FIFOs and sockets copied, deletions (whiteouts) applied, a folder the block replaced
(opaque) emptied first. Nothing is followed: every step works on directory fds, never on a path
the code chose. Where the daemon does not let the watchdog mount, the work dir is measured
instead (disk_usage).
"""

import ctypes
import errno
import os
import stat
import time

HOST = "/run/tuiagents-host/work"  # the host's work dir, behind a root-only folder
LAYER = "/run/tuiagents/layer"  # the block's tmpfs: upper/ and overlay's work/
MS_NOSUID, MS_NODEV, MNT_DETACH = 2, 4, 2
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
MERGING = ".tuiagents-merging"  # a file is written under this name, then renamed into place
_libc = []


def _call(name, *args):
    if not _libc:
        _libc.append(ctypes.CDLL(None, use_errno=True))
    if getattr(_libc[0], name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (name, os.strerror(err)))


def mount(source, target, fstype, options):
    """mount(2) with nosuid,nodev; raises OSError."""
    _call("mount", source.encode(), target.encode(), fstype.encode(),
          ctypes.c_ulong(MS_NOSUID | MS_NODEV), options.encode())


def unmount(target):
    try:
        _call("umount2", target.encode(), ctypes.c_int(MNT_DETACH))
    except OSError:
        pass


def can_mount(workspace):
    """Whether this container lets us mount a block's layer: a dry run of one.

    Refused without SYS_ADMIN, by an AppArmor profile, or (rootless daemons) for overlay."""
    try:
        os.makedirs(LAYER, 0o700, exist_ok=True)
        mount_layer(workspace, 1 << 20, 1 << 20)
    except OSError:
        return False
    unmount_layer(workspace)
    return True


def mount_layer(workspace, limit, shm_size):
    """Mount the block's tmpfs, the overlay on ``workspace`` and a fresh /dev/shm."""
    # No cap on inodes: deleting a file of the work dir takes one (a whiteout), and deleting must
    # not fail for want of room. Empty files take no room; their memory counts against the limit.
    mount("tmpfs", LAYER, "tmpfs", "size=%d,mode=0700" % limit)
    try:
        upper, work = LAYER + "/upper", LAYER + "/work"
        os.mkdir(upper, 0o700)
        os.mkdir(work, 0o700)
        top = os.stat(HOST)
        os.chown(upper, top.st_uid, top.st_gid)
        os.chmod(upper, stat.S_IMODE(top.st_mode))
        options = "lowerdir=%s,upperdir=%s,workdir=%s" % (HOST, upper, work)
        try:  # plain copy-up semantics (no redirects or metadata-only copies to merge)
            mount("overlay", workspace, "overlay",
                  options + ",redirect_dir=off,index=off,metacopy=off,xino=off")
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # an older kernel without these options
                raise
            mount("overlay", workspace, "overlay", options)
        # /dev/shm is a tmpfs that outlived blocks and counted nowhere: now one per block.
        mount("tmpfs", "/dev/shm", "tmpfs", "size=%d,mode=1777" % shm_size)
    except BaseException:
        unmount(workspace)
        unmount(LAYER)
        raise


def layer_full():
    """Whether the block's tmpfs has (nearly) no room left."""
    try:
        st = os.statvfs(LAYER)
    except OSError:
        return False
    return st.f_blocks > 0 and st.f_bavail * st.f_frsize < 64 * 1024


def changed_names(most=20000):
    """The work dir's top entries the block wrote, made or deleted (its layer's), or None if
    there are more than ``most``: for a copied work dir, what must be copied back."""
    try:
        names = os.listdir(LAYER + "/upper")
    except OSError:
        return None
    return sorted(names) if len(names) <= most else None


def unmount_layer(workspace):
    unmount("/dev/shm")
    unmount(workspace)
    unmount(LAYER)


def remove_entry(dir_fd, name):
    """Remove ``name`` (a whole tree if it is a folder) below ``dir_fd``; never follows links."""
    try:
        os.unlink(name, dir_fd=dir_fd)
        return
    except FileNotFoundError:
        return
    except (IsADirectoryError, PermissionError):
        pass
    stack = [(dir_fd, name, None)]
    while stack:
        parent, entry, fd = stack[-1]
        if fd is None:
            fd = os.open(entry, DIR_FLAGS, dir_fd=parent)
            os.fchmod(fd, 0o700)
            stack[-1] = (parent, entry, fd)
        pushed = False
        for child in os.listdir(fd):
            try:
                os.unlink(child, dir_fd=fd)
            except (IsADirectoryError, PermissionError):
                stack.append((fd, child, None))
                pushed = True
                break
        if not pushed:
            os.close(fd)
            stack.pop()
            os.rmdir(entry, dir_fd=parent)


def work_root(config):
    """Where the work dir itself is mounted; a copied one's fresh volume is given to the code."""
    root = config.get("host") or config["workspace"]
    if config.get("copied"):  # filled through the Docker API, which leaves its top to root
        os.chown(root, config["uid"], config["gid"])
    return root


def remove_paths(root, paths, busy=None):
    """Delete ``paths`` (relative, ``/``-separated) below ``root``; return what failed.

    For a copied work dir (see workspace_copy): what the host deleted goes here too. Every step
    works on directory fds without following links, and ``..`` is refused. Nothing is deleted
    while a block runs (``busy``, the watchdog's running block).
    """
    if busy:
        return ["not deleted: a block is still running"]
    try:
        top = os.open(root, DIR_FLAGS)
    except OSError as exc:
        return ["the work dir could not be opened: %s" % exc.strerror]
    problems = []
    try:
        for rel in paths:
            parts = [part for part in str(rel).split("/") if part not in ("", ".")]
            if not parts or ".." in parts:
                continue
            fd = os.dup(top)
            try:
                for part in parts[:-1]:
                    child = os.open(part, DIR_FLAGS, dir_fd=fd)
                    os.close(fd)
                    fd = child
                remove_entry(fd, parts[-1])
            except OSError as exc:
                if exc.errno != errno.ENOENT and len(problems) < 5:
                    problems.append("%s was not deleted: %s" % (rel, exc.strerror or exc))
            finally:
                os.close(fd)
    finally:
        os.close(top)
    return problems


def copy_data(src, dst, size, beat=None):
    """Copy the data of ``src`` to ``dst`` (fds); holes stay holes, so sparse files stay small.

    ``beat`` is called after every MiB (a big file takes a while to save)."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(src, offset, os.SEEK_DATA)
            end = os.lseek(src, start, os.SEEK_HOLE)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # nothing but a hole is left
                break
            start, end = offset, size
        while start < end:
            data = os.pread(src, min(1 << 20, end - start), start)
            if not data:
                return
            written = 0
            while written < len(data):
                written += os.pwrite(dst, data[written:], start + written)
            start += len(data)
            if beat is not None:
                beat()
        offset = end
    os.ftruncate(dst, size)


def _attributes(fd, st):
    os.fchown(fd, st.st_uid, st.st_gid)
    os.fchmod(fd, stat.S_IMODE(st.st_mode) & ~(stat.S_ISUID | stat.S_ISGID))
    os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_file(ufd, hfd, name, st, beat):
    src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=ufd)
    create = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        try:  # a new file is written in place; a changed one beside it, then renamed over it
            dst, into = os.open(name, create, 0o600, dir_fd=hfd), None
        except FileExistsError:
            remove_entry(hfd, MERGING)
            dst, into = os.open(MERGING, create, 0o600, dir_fd=hfd), name
        try:
            if st.st_size:
                copy_data(src, dst, st.st_size, beat)
            _attributes(dst, st)
        finally:
            os.close(dst)
    finally:
        os.close(src)
    if into is None:
        return
    try:
        os.rename(MERGING, into, src_dir_fd=hfd, dst_dir_fd=hfd)
    except OSError as exc:
        if exc.errno not in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST):
            raise
        remove_entry(hfd, into)  # a folder of that name: the file replaces it
        os.rename(MERGING, into, src_dir_fd=hfd, dst_dir_fd=hfd)


def _merge_entry(ufd, hfd, name, stack, beat):
    st = os.stat(name, dir_fd=ufd, follow_symlinks=False)
    mode = st.st_mode
    if stat.S_ISCHR(mode) and st.st_rdev == 0:  # a whiteout: the block deleted it
        remove_entry(hfd, name)
    elif stat.S_ISDIR(mode):
        child = os.open(name, DIR_FLAGS, dir_fd=ufd)
        try:
            if os.getxattr(child, "trusted.overlay.opaque") == b"y":  # replaced, not merged
                remove_entry(hfd, name)
        except OSError:
            pass
        try:
            there = os.stat(name, dir_fd=hfd, follow_symlinks=False)
            if not stat.S_ISDIR(there.st_mode):
                remove_entry(hfd, name)
                raise FileNotFoundError
        except FileNotFoundError:
            os.mkdir(name, 0o700, dir_fd=hfd)
        stack.append((child, os.open(name, DIR_FLAGS, dir_fd=hfd), iter(os.listdir(child)), st))
    elif stat.S_ISREG(mode):
        _copy_file(ufd, hfd, name, st, beat)
    elif stat.S_ISLNK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        # Kept as they are, as if written straight to the work dir (the host never follows or
        # opens them: see files.py); made, never opened, here too.
        remove_entry(hfd, name)
        if stat.S_ISLNK(mode):
            os.symlink(os.readlink(name, dir_fd=ufd), name, dir_fd=hfd)
        else:
            os.mknod(name, stat.S_IFMT(mode) | 0o600, dir_fd=hfd)
        os.chown(name, st.st_uid, st.st_gid, dir_fd=hfd, follow_symlinks=False)


def merge_layer(problems, tick=None):
    """Merge the block's layer into the host's work dir; append what failed to ``problems``.

    ``tick`` is called about once a second, so the host knows a long merge is alive.
    """
    last = [time.monotonic()]

    def beat():
        if tick is not None and time.monotonic() - last[0] > 1.0:
            last[0] = time.monotonic()
            tick()

    try:
        root = (os.open(LAYER + "/upper", DIR_FLAGS), os.open(HOST, DIR_FLAGS))
    except OSError as exc:
        problems.append("the work dir could not be updated: %s" % exc.strerror)
        return
    stack = [root + (iter(os.listdir(root[0])), None)]
    while stack:
        ufd, hfd, names, st = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            if st is not None:
                try:
                    _attributes(hfd, st)
                except OSError:
                    pass
            os.close(ufd)
            os.close(hfd)
            continue
        beat()
        try:
            _merge_entry(ufd, hfd, name, stack, beat)
        except OSError as exc:
            if len(problems) < 5:
                problems.append("%s was not saved to the work dir: %s"
                                % (name, exc.strerror or exc))


def disk_usage(root, cap=2000000):
    """Bytes allocated under root, never following symlinks.

    Walks with directory fds (openat), so no path is ever too long to look into: a block cannot
    hide data below PATH_MAX. Past ``cap`` entries the count stops (the block pays for the walk).
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK
    total, seen = 0, 0
    try:
        top = os.open(root, flags)
    except OSError:
        return 0
    stack = [(top, os.scandir(top))]
    while stack:
        fd, entries = stack[-1]
        entry = next(entries, None) if seen < cap else None
        if entry is None:
            entries.close()
            os.close(fd)
            stack.pop()
            continue
        seen += 1
        try:
            st = entry.stat(follow_symlinks=False)
            total += st.st_blocks * 512
            if entry.is_dir(follow_symlinks=False):
                child = os.open(entry.name, flags, dir_fd=fd)
                stack.append((child, os.scandir(child)))
        except OSError:
            continue
    return total


def disk_reached(block, workspace, now):
    """Whether the block has written its disk limit; sets when to look next (``disk_next``)."""
    if block["quota"]:  # the kernel holds the limit; one statvfs says when it is reached
        block["disk_next"] = now + 0.02
        return layer_full()
    began = time.monotonic()
    total = disk_usage(workspace)
    cost = time.monotonic() - began
    # At most ~5% of the block's time goes to watching, however big the work dir is.
    block["disk_next"] = time.monotonic() + min(30.0, max(0.02, cost * 20))
    return total - block["disk_base"] >= block["disk_limit"]


def tmp_full():
    try:
        st = os.statvfs("/tmp")
    except OSError:
        return False
    return st.f_blocks > 0 and st.f_bavail * st.f_frsize < 64 * 1024
