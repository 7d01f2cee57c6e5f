"""Copying the work dir back from a sandbox that cannot see this disk: nothing escapes, nothing
past the limit, and only what changed is written.

The tars here are what a hostile or broken archive could hold (the daemon's own are checked end to
end in tests/test_sandbox_remote.py): names with ``..`` or a leading ``/``, a symlink pointing out
followed by a file below it, device nodes, FIFOs, hard links to files outside, more than the disk
limit. Each is unpacked into a real work dir beside a folder that must stay untouched.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from tuiagents.execution import workspace_copy
from tuiagents.execution.workspace_copy import Manifest, unpack_changes
from tuiagents.execution.workspace_pack import pack_changes

LIMIT = 1 << 20


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes | None = b"x", **extra):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o644 if kind != tarfile.DIRTYPE else 0o755
    for key, value in extra.items():
        setattr(info, key, value)
    return info, (data if kind == tarfile.REGTYPE else None)


@pytest.fixture
def dirs(tmp_path):
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("untouched")
    return work, outside


def _outside_untouched(outside) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "untouched"


def _unpack(data: bytes, work, manifest=None, budget=LIMIT):
    chunks = [data[i:i + 4096] for i in range(0, len(data), 4096)]
    return unpack_changes(chunks, str(work), "work", manifest or Manifest(), budget, None)


def test_names_that_leave_the_work_dir_are_refused(dirs):
    work, outside = dirs
    data = _tar(_member("work", tarfile.DIRTYPE),
                _member("work/../outside/escape.txt"), _member("/abs.txt"),
                _member("work/a/../../outside/deep.txt"), _member("other/x.txt"),
                _member("work/fine.txt", data=b"fine"))
    report = _unpack(data, work)
    _outside_untouched(outside)
    assert sorted(os.listdir(work)) == ["fine.txt"]
    assert (work / "fine.txt").read_bytes() == b"fine"
    assert sum("would leave the work dir" in note for note in report.notes) >= 3


def test_a_symlink_pointing_out_is_kept_as_a_link_and_never_followed(dirs):
    work, outside = dirs
    data = _tar(_member("work", tarfile.DIRTYPE),
                _member("work/out", tarfile.SYMTYPE, linkname=str(outside)),
                _member("work/out/pwned.txt", data=b"pwned"),
                _member("work/out/keep.txt", data=b"overwritten"))
    report = _unpack(data, work)
    _outside_untouched(outside)
    assert os.readlink(work / "out") == str(outside)
    assert any("out/pwned.txt" in note for note in report.notes)


def test_a_link_already_here_is_not_followed_either(dirs):
    work, outside = dirs
    os.symlink(outside, work / "d")
    os.symlink(outside / "keep.txt", work / "f")
    data = _tar(_member("work", tarfile.DIRTYPE), _member("work/d/x.txt", data=b"through"),
                _member("work/f", data=b"replaced"))
    _unpack(data, work)
    _outside_untouched(outside)
    assert os.path.islink(work / "d")
    # the file replaces the link itself, as the block's write in the sandbox did
    assert not os.path.islink(work / "f") and (work / "f").read_bytes() == b"replaced"


def test_device_files_fifos_and_hard_links_out_are_not_made(dirs):
    work, outside = dirs
    data = _tar(_member("work", tarfile.DIRTYPE),
                _member("work/null", tarfile.CHRTYPE, devmajor=1, devminor=3),
                _member("work/disk", tarfile.BLKTYPE, devmajor=8, devminor=0),
                _member("work/pipe", tarfile.FIFOTYPE),
                _member("work/hard", tarfile.LNKTYPE, linkname=str(outside / "keep.txt")),
                _member("work/hard2", tarfile.LNKTYPE, linkname="work/../outside/keep.txt"))
    report = _unpack(data, work)
    _outside_untouched(outside)
    assert os.listdir(work) == []
    assert any("device file" in note for note in report.notes)


def test_a_hard_link_made_there_comes_back_as_a_copy_and_specials_are_told_once(dirs):
    work, outside = dirs
    manifest = Manifest()
    data = _tar(_member("work", tarfile.DIRTYPE), _member("work/a.txt", data=b"shared"),
                _member("work/b.txt", tarfile.LNKTYPE, linkname="work/a.txt"),
                _member("work/pipe", tarfile.FIFOTYPE))
    first = _unpack(data, work, manifest)
    assert (work / "b.txt").read_bytes() == b"shared" and not (work / "b.txt").is_symlink()
    assert [note for note in first.notes if "pipe" in note]
    again = _unpack(data, work, manifest)
    assert again.notes == [] and again.written == 0
    # the FIFO stays there: the next copy in does not delete it for being absent here
    assert "pipe" not in pack_changes(str(work), manifest, (0, 0)).removed
    _outside_untouched(outside)


def test_the_copy_back_writes_no_more_than_the_limit(dirs):
    work, _ = dirs
    data = _tar(_member("work", tarfile.DIRTYPE), _member("work/small.txt", data=b"s" * 1000),
                _member("work/huge.bin", data=b"h" * (LIMIT + 1)),
                _member("work/after.txt", data=b"a" * 1000))
    report = _unpack(data, work)
    assert report.disk_hit and report.written <= LIMIT
    assert not (work / "huge.bin").exists() and not (work / ".tuiagents-copying").exists()
    assert (work / "small.txt").stat().st_size == 1000 and (work / "after.txt").exists()
    assert any("disk limit reached" in note for note in report.notes)


def test_an_archive_far_past_the_limit_is_not_read_to_its_end(dirs, monkeypatch):
    work, _ = dirs
    monkeypatch.setattr(workspace_copy, "METADATA_ALLOWANCE", 64 << 10)
    read = []

    def endless():  # member after member, never the end-of-archive blocks
        yield _member("work", tarfile.DIRTYPE)[0].tobuf(tarfile.PAX_FORMAT)
        for number in range(10_000):
            info, data = _member(f"work/f{number}", data=b"z" * 65536)
            info.size = len(data)
            piece = info.tobuf(tarfile.PAX_FORMAT) + data  # 64 KiB: no padding needed
            read.append(len(piece))
            yield piece

    report = unpack_changes(endless(), str(work), "work", Manifest(), LIMIT, None)
    assert report.disk_hit and "stopped" in " ".join(report.notes)
    assert sum(read) < 4 * LIMIT
    assert sum(p.stat().st_size for p in work.iterdir()) <= LIMIT


def test_only_what_changed_is_written_and_deletions_come_back(dirs):
    work, _ = dirs
    (work / "same.txt").write_text("same")
    (work / "gone.txt").write_text("deleted by the block")
    (work / "sub").mkdir()
    packed = pack_changes(str(work), Manifest(), (os.getuid(), os.getgid()))
    assert sorted(m.name for m in tarfile.open(fileobj=packed.tar)) == ["gone.txt", "same.txt", "sub"]
    manifest = Manifest(packed.entries)
    before = (work / "same.txt").stat()
    (work / "made-here.txt").write_text("made on this side during the block")
    data = _tar(_member("work", tarfile.DIRTYPE), _member("work/same.txt", data=b"same"),
                _member("work/sub", tarfile.DIRTYPE), _member("work/sub/new.txt", data=b"new"))
    report = _unpack(data, work, manifest)
    assert report.written == 3  # the new file only
    assert (work / "same.txt").stat().st_ino == before.st_ino  # compared, not rewritten
    assert not (work / "gone.txt").exists()
    assert (work / "made-here.txt").exists() and (work / "sub" / "new.txt").read_text() == "new"
    again = pack_changes(str(work), manifest, (os.getuid(), os.getgid()))
    assert [m.name for m in tarfile.open(fileobj=again.tar)] == ["made-here.txt"]
    assert again.removed == []


def test_a_file_changed_here_during_the_block_is_not_overwritten_by_the_old_copy(dirs):
    work, _ = dirs
    (work / "notes.txt").write_text("old")
    manifest = Manifest(pack_changes(str(work), Manifest(), (0, 0)).entries)
    (work / "notes.txt").write_text("edited here meanwhile")
    data = _tar(_member("work", tarfile.DIRTYPE), _member("work/notes.txt", data=b"old"))
    _unpack(data, work, manifest)
    assert (work / "notes.txt").read_text() == "edited here meanwhile"
    # ... but what the block changed there wins over the old copy here
    data = _tar(_member("work", tarfile.DIRTYPE), _member("work/notes.txt", data=b"by the block"))
    _unpack(data, work, manifest)
    assert (work / "notes.txt").read_text() == "by the block"


def test_host_deletions_and_kind_changes_are_listed_for_the_sandbox(dirs):
    work, _ = dirs
    (work / "a").mkdir()
    (work / "a" / "x.txt").write_text("x")
    (work / "b.txt").write_text("b")
    manifest = Manifest(pack_changes(str(work), Manifest(), (0, 0)).entries)
    (work / "a" / "x.txt").unlink()
    (work / "a").rmdir()
    (work / "b.txt").unlink()
    (work / "b.txt").mkdir()
    packed = pack_changes(str(work), manifest, (0, 0))
    assert packed.removed == ["a", "b.txt"]  # "a/x.txt" goes with its folder
    member = next(iter(tarfile.open(fileobj=packed.tar)))
    assert member.name == "b.txt" and member.isdir()


def test_special_files_here_are_not_sent(dirs):
    work, _ = dirs
    os.mkfifo(work / "pipe")
    (work / "ok.txt").write_text("ok")
    packed = pack_changes(str(work), Manifest(), (1000, 1000))
    members = list(tarfile.open(fileobj=packed.tar))
    assert [m.name for m in members] == ["ok.txt"]
    assert (members[0].uid, members[0].gid) == (1000, 1000)
    assert stat.S_IMODE(members[0].mode) & 0o7000 == 0


def test_a_permission_only_change_comes_back_and_this_sides_own_change_wins(dirs):
    work, _ = dirs
    for name in ("run.sh", "mine.sh"):
        (work / name).write_text("echo hi\n")
        (work / name).chmod(0o644)
    manifest = Manifest(pack_changes(str(work), Manifest(), (0, 0)).entries)
    (work / "mine.sh").chmod(0o600)  # changed here during the block
    data = _tar(_member("work", tarfile.DIRTYPE),
                _member("work/run.sh", data=b"echo hi\n", mode=0o6755 | stat.S_ISVTX),
                _member("work/mine.sh", data=b"echo hi\n", mode=0o644))
    report = _unpack(data, work, manifest)
    assert report.written == 0  # the bytes are the same: nothing rewritten
    assert stat.S_IMODE((work / "run.sh").stat().st_mode) == 0o755  # no setuid/setgid/sticky
    assert stat.S_IMODE((work / "mine.sh").stat().st_mode) == 0o600
    again = pack_changes(str(work), manifest, (0, 0))  # this side's change goes in next
    assert [m.name for m in tarfile.open(fileobj=again.tar)] == ["mine.sh"]


class _StoppedSandbox:
    """A dead run's stopped container as the Docker API shows it: its volume's tar."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def wait(self, container, timeout):
        return {"StatusCode": 0}

    def get_archive(self, container, path, chunk_size):
        assert path == "/workspace"
        return [self.data[i:i + 4096] for i in range(0, len(self.data), 4096)], {}


def test_recovering_a_dead_runs_block_refuses_a_hostile_archive_too(dirs, tmp_path, monkeypatch):
    """The files a block left when its host died come back through the same checks (the real
    daemon's path is tests/test_sandbox_remote.py's kill -9 test)."""
    import fcntl

    from tuiagents.execution.workspace_rescue import PendingCopy, records_dir, rescue, save_pending

    monkeypatch.setenv("TUIAGENTS_DATA_DIR", str(tmp_path / "data"))
    work, outside = dirs
    (work / "keep.txt").write_text("synced")
    entries = pack_changes(str(work), Manifest(), (0, 0)).entries
    save_pending(PendingCopy("c0ffee", str(work), "/workspace", None, LIMIT, entries=entries))
    (record,) = records_dir().iterdir()
    assert stat.S_IMODE(records_dir().stat().st_mode) == 0o700
    data = _tar(_member("workspace", tarfile.DIRTYPE), _member("workspace/keep.txt", data=b"synced"),
                _member("workspace/../outside/escape.txt"), _member("/abs.txt"),
                _member("workspace/out", tarfile.SYMTYPE, linkname=str(outside)),
                _member("workspace/out/pwned.txt", data=b"pwned"),
                _member("workspace/null", tarfile.CHRTYPE, devmajor=1, devminor=3),
                _member("workspace/hard", tarfile.LNKTYPE, linkname=str(outside / "keep.txt")),
                _member("workspace/made.txt", data=b"by the block"))
    with open(record) as held:  # another process is recovering it: left to that one
        fcntl.flock(held, fcntl.LOCK_EX)
        assert not rescue(_StoppedSandbox(data), "c0ffee").removable
    done = rescue(_StoppedSandbox(data), "c0ffee")
    assert done.removable and "recovered 1 file(s)" in (done.note or "") and str(work) in done.note
    assert "would leave the work dir" in done.note
    _outside_untouched(outside)
    assert sorted(os.listdir(work)) == ["keep.txt", "made.txt", "out"]
    assert os.readlink(work / "out") == str(outside)
    assert list(records_dir().iterdir()) == []  # recovered once: a second reaper finds nothing
    assert rescue(_StoppedSandbox(data), "c0ffee").note is None


def test_the_watchdogs_gathering_touches_only_what_it_names_and_refuses_the_rest(dirs):
    """The archive of a block's changes (sandbox_stage): its top entries in ``scope``, those it
    lacks deleted, nothing else touched, and the same refusals as a whole work dir's."""
    work, outside = dirs
    for name in ("gone.txt", "kept.txt", "other.txt"):
        (work / name).write_text(name)
    manifest = Manifest(pack_changes(str(work), Manifest(), (0, 0)).entries)
    data = _tar(_member(".tuiagents-back", tarfile.DIRTYPE),
                _member(".tuiagents-back/kept.txt", data=b"changed"),
                _member(".tuiagents-back/new", tarfile.DIRTYPE),
                _member(".tuiagents-back/new/x.txt", data=b"x"),
                _member(".tuiagents-back/sneaked.txt", data=b"not named"),
                _member(".tuiagents-back/../outside/escape.txt"),
                _member("workspace/other.txt", data=b"not from the gathering"))
    report = unpack_changes([data], str(work), ".tuiagents-back", manifest, LIMIT, None,
                            scope=["gone.txt", "kept.txt", "new"])
    _outside_untouched(outside)
    assert sorted(os.listdir(work)) == ["kept.txt", "new", "other.txt"]
    assert (work / "kept.txt").read_text() == "changed" and (work / "new" / "x.txt").exists()
    assert (work / "other.txt").read_text() == "other.txt"  # outside the scope: not deleted
    assert any("sneaked.txt" in note and "did not change" in note for note in report.notes)
    assert sum("would leave the work dir" in note for note in report.notes) == 2
    # a whole work dir's read never brings that folder's name here
    data = _tar(_member("work", tarfile.DIRTYPE), _member("work/.tuiagents-back", tarfile.DIRTYPE),
                _member("work/.tuiagents-back/kept.txt", data=b"stale"))
    _unpack(data, work, Manifest(dict(manifest.entries)))
    assert not (work / ".tuiagents-back").exists()


def test_records_of_containers_gone_from_their_daemon_are_forgotten(tmp_path, monkeypatch):
    import time

    from tuiagents.execution.workspace_rescue import PendingCopy, prune_records, records_dir, save_pending

    monkeypatch.setenv("TUIAGENTS_DATA_DIR", str(tmp_path / "data"))
    for container, daemon in (("gone", "unix:///a.sock"), ("live", "unix:///a.sock"),
                              ("elsewhere", "tcp://b:2375")):
        save_pending(PendingCopy(container, str(tmp_path), "/workspace", None, LIMIT, daemon))
    prune_records("unix:///a.sock", {"live"}, time.time() - 3600)  # all written after the listing
    assert len(list(records_dir().iterdir())) == 3
    prune_records("unix:///a.sock", {"live"}, time.time() + 1)
    assert sorted(p.stem for p in records_dir().iterdir()) == ["elsewhere", "live"]
