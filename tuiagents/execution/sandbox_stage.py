"""One archive of what a block changed in a copied work dir, however many entries it touched.

Part of the watchdog (sent into the container after :mod:`sandbox_disk`, before
:mod:`sandbox_runner`): standard library only, Python >= 3.6, run as root in the container.

The host reads a copied work dir back through the Docker API's ``get_archive``, one path per call,
and each call costs tens of milliseconds whatever it carries. Reading every entry a block touched
one by one costs that many calls; reading the whole work dir costs all it holds. So once the block
is over and its processes are dead, the watchdog gathers the top entries the block changed under
one folder of the volume, :data:`STAGE`: hard links of their files (no byte is copied), their
folders made anew with the same permissions, their symlinks made again (never followed). The host
reads that folder in one call and maps it onto the work dir (:func:`workspace_copy.unpack_changes`,
with the same refusals as ever); the folder goes before the next block starts, so no code sees it.
The name never crosses in either direction.
"""

import os
import stat

try:  # in the container, sandbox_disk's source comes first (see sandbox_container)
    remove_entry  # noqa: B018
except NameError:
    from tuiagents.execution.sandbox_disk import DIR_FLAGS, remove_entry

STAGE = ".tuiagents-back"


def drop_stage(root):
    """Remove the folder of the last block's changes from the work dir ``root``, if there."""
    try:
        top = os.open(root, DIR_FLAGS)
    except OSError:
        return
    try:
        remove_entry(top, STAGE)
    except OSError:
        pass
    finally:
        os.close(top)


def stage_entries(root, names, tick=None):
    """Gather the work dir's top entries ``names`` under ``root``/STAGE; False if it failed.

    A name the block deleted is simply absent there. ``tick`` is called now and then, so the host
    knows a long gathering is alive."""
    top = os.open(root, DIR_FLAGS)
    try:
        remove_entry(top, STAGE)
        os.mkdir(STAGE, 0o700, dir_fd=top)
        stage = os.open(STAGE, DIR_FLAGS, dir_fd=top)
        try:
            for name in names:
                if name not in (STAGE, ".", "..") and "/" not in name:
                    _link_tree(top, stage, name, tick)
        finally:
            os.close(stage)
        return True
    except OSError:
        try:
            remove_entry(top, STAGE)
        except OSError:
            pass
        return False
    finally:
        os.close(top)


def _link_tree(source, target, name, tick):
    """Hard-link ``name`` of folder fd ``source`` into ``target``, folders walked, links never
    followed; an explicit stack, so a deep tree does not exhaust the recursion limit."""
    stack = [(source, target, [name], [])]
    count = 0
    try:
        while stack:
            src, dst, todo, opened = stack[-1]
            if not todo:
                stack.pop()
                for fd in opened:
                    os.close(fd)
                continue
            entry = todo.pop()
            count += 1
            if tick is not None and count % 5000 == 0:
                tick()
            try:
                st = os.stat(entry, dir_fd=src, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                os.link(entry, entry, src_dir_fd=src, dst_dir_fd=dst, follow_symlinks=False)
            elif stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(entry, dir_fd=src), entry, dir_fd=dst)
            elif stat.S_ISDIR(st.st_mode):
                os.mkdir(entry, 0o700, dir_fd=dst)
                opened = [os.open(entry, DIR_FLAGS, dir_fd=src)]
                stack.append((opened[0], None, [], opened))
                opened.append(os.open(entry, DIR_FLAGS, dir_fd=dst))
                os.fchmod(opened[1], stat.S_IMODE(st.st_mode) & 0o777)
                stack[-1] = (opened[0], opened[1], sorted(os.listdir(opened[0])), opened)
            # FIFOs, sockets and devices stay where they were made, as in a full read
    finally:
        for _, _, _, opened in stack:
            for fd in opened:
                os.close(fd)
