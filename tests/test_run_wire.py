"""The run wire: a run served on a Unix socket (owner-only, peer uid checked, a version handshake
first) to views in other threads or processes, through `RemoteRunHandle`. Real engine, scripted
model server, real sockets; the handles' blocking calls run in threads, as an attached view's do."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from tuiagents.engine.decisions import Decision, Sender
from tuiagents.engine.events import DecisionRecorded, DecisionRequested, MessageDelivered, RunStopped
from tuiagents.engine.factory import build_run
from tuiagents.engine.handle import LocalRunHandle, PauseRun, ResumeRun, RunHandle
from tuiagents.session import wire
from tuiagents.session.run_client import RemoteRunHandle
from tuiagents.session.run_server import RunServer, user_name
from tuiagents.testing import Rule

ANN = Sender(user="ann", client="cockpit")
BOB = Sender(user="bob", client="attached")
KEY = "sk-wire0123456789abcdefghijKLMNOP"


def pair(make_config, **extra):
    return make_config(agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER",
                                "default_auto_reply": "go on"},
                               {"name": "assistant", "kind": "assistant", "model": "default"}],
                       teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 3}], **extra)


@pytest.fixture
def sock_dir():
    path = Path(tempfile.mkdtemp(prefix="tw", dir="/tmp"))  # short: a socket path has ~100 bytes
    yield path
    for p in path.iterdir():
        p.unlink()
    path.rmdir()


async def served(run, path: Path, secrets=()) -> RunServer:
    return await RunServer(LocalRunHandle(run), path, secrets=list(secrets)).start()


async def wait_for(check, what: str, timeout: float = 15.0):
    for _ in range(int(timeout / 0.02)):
        value = await asyncio.to_thread(check) if not asyncio.iscoroutinefunction(check) else await check()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} did not happen")


def open_request(handle) -> DecisionRequested | None:
    return next((e for e in handle.events_since(-1) if isinstance(e, DecisionRequested)
                 and handle.is_open(e.request.id)), None)


async def test_two_views_see_the_same_request_and_the_first_answer_wins(server, make_config, tmp_path, sock_dir):
    server.load([Rule(agent="assistant", reply="done TERMINATE")])
    run = build_run(pair(make_config), "pair", "task", approve="ask", work_dir=tmp_path)
    srv = await served(run, sock_dir / "r.sock")
    task = asyncio.ensure_future(run.run())
    ann = bob = None
    try:
        ann = await asyncio.to_thread(RemoteRunHandle, srv.path, ANN)
        bob = await asyncio.to_thread(RemoteRunHandle, srv.path, BOB)
        assert isinstance(ann, RunHandle) and isinstance(LocalRunHandle(run), RunHandle)
        assert oct(stat.S_IMODE(os.stat(srv.path).st_mode)) == "0o600"
        seen_by_ann = await wait_for(lambda: open_request(ann), "a request at ann")
        seen_by_bob = await wait_for(lambda: open_request(bob), "a request at bob")
        assert seen_by_ann.request.id == seen_by_bob.request.id
        status = await asyncio.to_thread(ann.status)
        assert status.state == "waiting" and status.waiting == ["assistant"] and status.clients == 2

        rid = seen_by_ann.request.id
        first = await asyncio.to_thread(ann.answer, rid, Decision.approve(), ANN)
        second = await asyncio.to_thread(bob.answer, rid, Decision.reject("no"), BOB)
        assert first.accepted and not second.accepted
        me = srv.clients and next(iter(srv.clients)).sender.user  # the peer's real name, not what it claimed
        assert second.answered_by is not None and second.answered_by.user == me
        assert second.answered_by.client == "cockpit" and "answered already by" in second.reason
        await asyncio.wait_for(task, 15)
        recorded = await wait_for(lambda: next((e for e in bob.events_since(-1) if isinstance(e, DecisionRecorded)
                                                and e.request_id == rid), None), "the recorded answer at bob")
        assert recorded.decision.kind.value == "approve" and not bob.is_open(rid)
        await wait_for(lambda: bob.stopped is not None, "the run's end at bob")
        assert [e.seq for e in bob.events_since(-1)] == [e.seq for e in run.bus.history]  # all, in order
    finally:
        for h in (ann, bob):
            if h is not None:
                h.close()
        await srv.close()
        await run.aclose()


async def test_an_answer_shown_at_once_is_withdrawn_when_another_views_answer_crossed_it(
        server, make_config, tmp_path, sock_dir):
    """A view answers without waiting for the run (its key shows the answer in the same frame); if
    another view's answer got there first, the run's refusal comes back and the view's answer is
    dropped: nothing shows as given that the run did not take."""
    server.load([Rule(agent="assistant", reply="done TERMINATE")])
    run = build_run(pair(make_config), "pair", "task", approve="ask", work_dir=tmp_path)
    srv = await served(run, sock_dir / "r.sock")
    task = asyncio.ensure_future(run.run())
    ann = bob = late = None
    try:
        ann = await asyncio.to_thread(RemoteRunHandle, srv.path, ANN)
        bob = await asyncio.to_thread(RemoteRunHandle, srv.path, BOB)
        rid = (await wait_for(lambda: open_request(ann), "a request at ann")).request.id
        await wait_for(lambda: open_request(bob), "the request at bob")
        # a view that has not seen the answers yet (as if bob's events were still on the way)
        late = await asyncio.to_thread(RemoteRunHandle, srv.path, BOB, subscribe=False)
        refused_ann, refused_late = [], []
        first = ann.answer(rid, Decision.approve(), ANN, on_refused=refused_ann.append)
        assert first.accepted and not ann.is_open(rid)  # at once, with no round trip
        assert ann.answer_of(rid).kind.value == "approve"
        crossed = late.answer(rid, Decision.reject("no"), BOB, on_refused=refused_late.append)
        assert crossed.accepted  # shown as given until the run says otherwise
        await wait_for(lambda: refused_late, "the run's refusal of the crossed answer")
        assert not refused_late[0].accepted and "answered already by" in refused_late[0].reason
        assert refused_late[0].answered_by is not None and refused_late[0].answered_by.client == "cockpit"
        assert late.answer_of(rid) is None  # the withdrawn answer is not kept as given

        # a view whose events say it was answered is refused on the spot, by whom included
        await wait_for(lambda: not bob.is_open(rid), "the recorded answer at bob")
        again = bob.answer(rid, Decision.reject("no"), BOB, on_refused=refused_late.append)
        assert not again.accepted and again.answered_by is not None and "answered already by" in again.reason
        await asyncio.wait_for(task, 15)
        assert refused_ann == [] and len(refused_late) == 1
        recorded = [e for e in run.bus.history if isinstance(e, DecisionRecorded) and e.request_id == rid]
        assert [e.decision.kind.value for e in recorded] == ["approve"]
    finally:
        for h in (ann, bob, late):
            if h is not None:
                h.close()
        await srv.close()
        await run.aclose()


async def test_two_views_of_one_user_are_told_apart_by_their_terminal(server, make_config, tmp_path, sock_dir):
    """The same user in two terminals: the run names each view by its user (from the socket), its
    kind and its terminal (plain characters only), tells each view that name in its welcome, and a
    refused answer says which view got there first."""
    server.load([Rule(agent="assistant", reply="done TERMINATE")])
    run = build_run(pair(make_config), "pair", "task", approve="ask", work_dir=tmp_path)
    srv = await served(run, sock_dir / "r.sock")
    task = asyncio.ensure_future(run.run())
    one = two = None
    try:
        one = await asyncio.to_thread(RemoteRunHandle, srv.path, Sender(user="x", client="attached", where="pts/3"))
        two = await asyncio.to_thread(RemoteRunHandle, srv.path,
                                      Sender(user="x", client="attached", where="pts/\x1b[31m7\n"))
        me = user_name(os.getuid())
        assert one.sender == Sender(user=me, client="attached", where="pts/3")
        assert two.sender == Sender(user=me, client="attached", where="pts/31m7")
        # a third claiming the first's terminal (a forged hello) never passes for it
        copy = await asyncio.to_thread(RemoteRunHandle, srv.path, Sender(user="x", client="attached", where="pts/3"),
                                       subscribe=False)
        assert copy.sender == Sender(user=me, client="attached", where="pts/3 #2")
        copy.close()
        rid = (await wait_for(lambda: open_request(one), "a request")).request.id
        await wait_for(lambda: open_request(two), "the request at the second view")
        assert (await asyncio.to_thread(one.answer, rid, Decision.approve())).accepted
        late = await asyncio.to_thread(two.answer, rid, Decision.reject("no"))
        assert not late.accepted and late.reason == f"it was answered already by {me} (attached on pts/3)"
        await asyncio.wait_for(task, 15)
        recorded = next(e for e in run.bus.history if isinstance(e, DecisionRecorded) and e.request_id == rid)
        assert recorded.decision.sender == one.sender
    finally:
        for h in (one, two):
            if h is not None:
                h.close()
        await srv.close()
        await run.aclose()


async def test_a_view_of_a_resumed_run_sees_its_new_leg_open_after_the_old_stop(server, make_config, tmp_path,
                                                                                sock_dir):
    """A resumed run's history holds the stop of its earlier leg: a view must not read the run as
    stopped for it, once the next leg started (its requests are open, its answers taken)."""
    from tuiagents.app.launch import prepare_run
    from tuiagents.session.resume import prepare_resume

    server.load([Rule(agent="assistant", replies=["first leg TERMINATE", "second leg draft"])])
    log = tmp_path / "legs.jsonl"
    first = prepare_run(pair(make_config), "pair", "task", approve="all", session_path=log)
    await asyncio.wait_for(first.run(), 15)
    await first.aclose()
    run = prepare_resume(log, approve="ask", message="one more")
    srv = await served(run, sock_dir / "r.sock")
    task = asyncio.ensure_future(run.run())
    view = None
    try:
        view = await asyncio.to_thread(RemoteRunHandle, srv.path, ANN)
        request = await wait_for(lambda: open_request(view), "the second leg's request, open at the view")
        assert request.request.content == "second leg draft" and view.stopped is None
        assert (await asyncio.to_thread(view.answer, request.request.id, Decision.approve())).accepted
        run.request_stop()
        await asyncio.wait_for(task, 15)
        await wait_for(lambda: view.stopped is not None, "the second leg's stop at the view")
    finally:
        if view is not None:
            view.close()
        await srv.close()
        await run.aclose()


async def test_pushed_events_come_in_order_to_a_subscriber_without_gap_or_repeat(server, make_config, tmp_path,
                                                                                sock_dir, monkeypatch):
    server.load([Rule(agent="assistant", replies=["one", "two", "three", "four TERMINATE"])])
    run = build_run(pair(make_config), "pair", "task", approve="all", work_dir=tmp_path)
    srv = await served(run, sock_dir / "r.sock")
    monkeypatch.setattr(wire, "EVENTS_PER_FRAME", 3)  # the history so far comes in several parts
    task = asyncio.ensure_future(run.run())
    await wait_for(lambda: len(run.bus.history) > 10, "a history of several parts")
    handle = await asyncio.to_thread(RemoteRunHandle, srv.path, ANN)  # joins while the run goes on
    got: list = []
    try:
        handle.subscribe(got.append, after=-1)
        await asyncio.wait_for(task, 15)
        await wait_for(lambda: any(isinstance(e, RunStopped) for e in got), "the run's end")
        kept = [e.seq for e in got if e.type != "token_delta"]
        assert kept == [e.seq for e in run.bus.history]
        delivered = [e.message.content for e in got if isinstance(e, MessageDelivered)]
        assert delivered == ["task", "one", "go on", "two", "go on", "three", "go on", "four TERMINATE"][:len(delivered)]
        assert len(delivered) >= 4
    finally:
        handle.close()
        await srv.close()
        await run.aclose()


async def test_streamed_pieces_are_pushed_between_the_events(server, make_config, tmp_path, sock_dir):
    server.load([Rule(agent="assistant", reply="a reply in several streamed pieces TERMINATE")])
    run = build_run(pair(make_config), "pair", "task", approve="all", work_dir=tmp_path)
    srv = await served(run, sock_dir / "r.sock")
    handle = await asyncio.to_thread(RemoteRunHandle, srv.path, ANN)
    got: list = []
    try:
        handle.subscribe(got.append, after=-1)
        await asyncio.wait_for(run.run(), 15)
        await wait_for(lambda: any(isinstance(e, RunStopped) for e in got), "the run's end")
    finally:
        handle.close()
        await srv.close()
        await run.aclose()
    pieces = "".join(e.text for e in got if e.type == "token_delta")
    assert pieces == "a reply in several streamed pieces TERMINATE"
    assert [e.type for e in handle.events_since(-1)].count("token_delta") == 0  # kept as the run keeps them


async def test_garbage_and_a_wrong_version_are_dropped_without_harm(server, make_config, tmp_path, sock_dir):
    server.load([Rule(agent="assistant", reply="done TERMINATE")])
    run = build_run(pair(make_config), "pair", "task", approve="ask", work_dir=tmp_path)
    srv = await served(run, sock_dir / "r.sock")
    task = asyncio.ensure_future(run.run())
    good = None
    try:
        good = await asyncio.to_thread(RemoteRunHandle, srv.path, ANN)

        def talk(lines: list[bytes]) -> bytes:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(str(srv.path))
                for line in lines:
                    s.sendall(line)
                out = b""
                while chunk := s.recv(65536):
                    out += chunk
                return out

        hello = wire.encode(wire.Hello(version=wire.PROTOCOL_VERSION, sender=BOB))
        cases = {
            "garbage first": [b"\x00\xffGET / HTTP/1.1\r\n\r\n"],
            "wrong version": [wire.encode(wire.Hello(version=wire.PROTOCOL_VERSION + 1, sender=BOB))],
            "garbage later": [hello, b'{"type": "answer", "id": "x"}\n'],
            "a second hello": [hello, hello],
            "an endless line": [hello, b"x" * (wire.MAX_CLIENT_LINE + 10) + b"\n"],
        }
        for name, lines in cases.items():
            out = await asyncio.to_thread(talk, lines)
            last = wire.decode_server(out.strip().splitlines()[-1])
            assert isinstance(last, wire.Refused), (name, out[-300:])
        assert "protocol" in srv.dropped[1] and str(wire.PROTOCOL_VERSION + 1) in srv.dropped[1]
        # the run and the good view did not notice
        request = await wait_for(lambda: open_request(good), "the request at the good view")
        assert (await asyncio.to_thread(good.answer, request.request.id, Decision.approve(), ANN)).accepted
        await asyncio.wait_for(task, 15)
        assert run.stopped is not None and "TERMINATE" in run.stopped.reason
        await wait_for(lambda: good.stopped is not None, "the run's end at the good view")
        assert good.closed_reason is None
    finally:
        if good is not None:
            good.close()
        await srv.close()
        await run.aclose()


async def test_a_key_in_a_message_never_reaches_a_client(server, make_config, tmp_path, sock_dir, monkeypatch):
    monkeypatch.setenv("TW_SERVICE_API_KEY", KEY)
    server.load([Rule(agent="assistant", reply=f"the key is {KEY} and in two: {KEY[:16]} {KEY[16:]} TERMINATE")])
    run = build_run(pair(make_config), "pair", f"use {KEY}", approve="all", work_dir=tmp_path)
    srv = await served(run, sock_dir / "r.sock", secrets=[KEY])

    def raw_client() -> bytes:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(20)
            s.connect(str(srv.path))
            s.sendall(wire.encode(wire.Hello(version=wire.PROTOCOL_VERSION, sender=BOB)))
            s.sendall(wire.encode(wire.Subscribe(id=1, after=-1)))
            out = b""
            while b'"run_stopped"' not in out and (chunk := s.recv(65536)):
                out += chunk
            return out

    reader = asyncio.ensure_future(asyncio.to_thread(raw_client))
    await asyncio.sleep(0.2)
    try:
        await asyncio.wait_for(run.run(), 15)
        out = (await asyncio.wait_for(reader, 15)).decode()
    finally:
        await srv.close()
        await run.aclose()
    assert KEY in "".join(e.message.content for e in run.bus.history if isinstance(e, MessageDelivered))
    assert '"run_stopped"' in out and "[redacted]" in out
    assert KEY not in out and KEY[:16] not in out and KEY[16:] not in out


SYSTEM_PYTHON = "/usr/bin/python3"  # another user can run it (the venv's may sit in root's home)


@pytest.mark.skipif(os.getuid() != 0 or not os.access(SYSTEM_PYTHON, os.X_OK),
                    reason="needs root and a system python3 to connect as another user")
async def test_a_peer_of_another_uid_is_refused(server, make_config, tmp_path, sock_dir):
    server.load([Rule(agent="assistant", reply="done TERMINATE")])
    run = build_run(pair(make_config), "pair", "task", approve="ask", work_dir=tmp_path)
    srv = await served(run, sock_dir / "r.sock")
    sock_dir.chmod(0o755), srv.path.chmod(0o666)  # only the uid check stands in the way now
    code = ("import socket,sys; s=socket.socket(socket.AF_UNIX); s.settimeout(15); s.connect(sys.argv[1])\n"
            "try: s.sendall(sys.argv[2].encode())\n"
            "except OSError: pass  # refused before its hello was read\n"
            "print(s.makefile().readline())")
    hello = wire.encode(wire.Hello(version=wire.PROTOCOL_VERSION, sender=BOB)).decode()
    try:
        done = await asyncio.to_thread(subprocess.run, [SYSTEM_PYTHON, "-c", code, str(srv.path), hello],
                                       capture_output=True, text=True, timeout=20, user=65534)
    finally:
        await srv.close()
        await run.aclose()
    frame = wire.decode_server(done.stdout)
    assert isinstance(frame, wire.Refused) and "another user" in frame.reason, done.stdout + done.stderr
    assert srv.clients == set()


async def test_controls_go_through_and_closing_a_view_leaves_the_run(server, make_config, tmp_path, sock_dir):
    server.load([Rule(agent="assistant", reply="done TERMINATE")])
    run = build_run(pair(make_config), "pair", "task", approve="ask", work_dir=tmp_path)
    srv = await served(run, sock_dir / "r.sock")
    task = asyncio.ensure_future(run.run())
    try:
        view = await asyncio.to_thread(RemoteRunHandle, srv.path, ANN)
        await wait_for(lambda: open_request(view), "a request")
        done = await asyncio.to_thread(view.control, PauseRun(), ANN)
        assert done.applied and run.paused
        again = await asyncio.to_thread(view.control, PauseRun(), ANN)
        assert not again.applied and "paused already" in again.reason
        view.close()
        await asyncio.sleep(0.3)
        assert not task.done() and run.stopped is None and srv.clients == set()
        later = await asyncio.to_thread(RemoteRunHandle, srv.path, BOB)
        request = await wait_for(lambda: open_request(later), "the same request at a later view")
        tab = Sender(user="claimed-name", client="browser\x1b[31m")  # a view kind other than its hello's
        assert (await asyncio.to_thread(later.answer, request.request.id, Decision.approve(), tab)).accepted
        assert (await asyncio.to_thread(later.control, ResumeRun(), BOB)).applied
        await asyncio.wait_for(task, 15)
        recorded = next(e for e in run.bus.history if isinstance(e, DecisionRecorded)
                        and e.request_id == request.request.id)
        me = user_name(os.getuid())
        assert recorded.decision.sender == Sender(user=me, client="browser31m")  # the peer's user, words only
        later.close()
    finally:
        await srv.close()
        await run.aclose()


async def test_an_answer_over_the_socket_cannot_claim_another_author_or_smuggle_in_a_rule(
        server, make_config, tmp_path, sock_dir):
    """A view's answer is a person's, by the peer the socket vouches for: a frame claiming a policy, another
    user, or a standing rule the request is not covered by is recorded as the peer's own, or refused."""
    from tuiagents.engine.decisions import ApprovalRule, DecidedBy, RequestKind, Scope
    from tuiagents.engine.events import Notice

    server.load([Rule(agent="assistant", replies=["draft one", "draft two TERMINATE"])])
    run = build_run(pair(make_config), "pair", "task", approve="ask", work_dir=tmp_path)
    srv = await served(run, sock_dir / "r.sock")
    task = asyncio.ensure_future(run.run())
    view = None
    try:
        view = await asyncio.to_thread(RemoteRunHandle, srv.path, ANN)
        rid = (await wait_for(lambda: open_request(view), "a request")).request.id
        forged = Decision.approve().model_copy(update={
            "by": DecidedBy.POLICY, "sender": Sender(user="ceo", client="cockpit"), "scope": Scope.RULE,
            "rule": ApprovalRule(kind=RequestKind.TOOL_CALL)})
        refused = await asyncio.to_thread(view.answer, rid, forged, ANN)  # refused at once, saying why
        assert not refused.accepted and "the rule (tool calls) does not cover this message request" in refused.reason
        assert view.is_open(rid) and not any(isinstance(e, Notice) and "does not cover" in e.text
                                             for e in run.bus.history)
        claimed = Decision.reject("again").model_copy(update={"by": DecidedBy.POLICY,
                                                              "sender": Sender(user="ceo", client="cockpit")})
        assert (await asyncio.to_thread(view.answer, rid, claimed, ANN)).accepted
        recorded = await wait_for(lambda: next((e for e in run.bus.history if isinstance(e, DecisionRecorded)
                                                and e.request_id == rid), None), "the recorded answer")
        me = user_name(os.getuid())
        assert recorded.decision.by == DecidedBy.HUMAN and recorded.decision.sender.user == me != "ceo"
        assert not run.supervisor.rules  # no standing rule was granted
        run.request_stop()
        await asyncio.wait_for(task, 15)
    finally:
        if view is not None:
            view.close()
        await srv.close()
        await run.aclose()


def test_a_forged_record_and_socket_write_no_control_sequence_to_the_console(sock_dir, monkeypatch):
    """A process of the same user can plant a run record and a socket that answers as a run: what
    `ps` (and F2, and attach's banner) show of them stays inert text, one line each."""
    import json
    import threading

    from tuiagents.session.live_attach import ps_table
    from tuiagents.session.live_runs import process_start, survey

    evil = "x\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED\x1b[0m\u202eevil"
    monkeypatch.setenv("TUIAGENTS_RUNTIME_DIR", str(sock_dir))
    path = sock_dir / "f.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)

    def answer_as_a_run() -> None:
        for _ in range(2):  # survey's connection (hello, then a status query)
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as f:
                f.readline()
                f.write((json.dumps({"type": "welcome", "run_id": "fa4e00000001", "team": evil, "team_kind": evil,
                                     "agents": [{"name": evil, "kind": "assistant"}], "pid": os.getpid()}) + "\n")
                        .encode())
                f.flush()
                line = f.readline()
                if line:
                    frame_id = json.loads(line).get("id", 0)
                    f.write((json.dumps({"type": "status", "id": frame_id, "run_id": "fa4e00000001", "team": evil,
                                         "state": evil, "waiting": [evil], "started": 0}) + "\n").encode())
                    f.flush()

    server = threading.Thread(target=answer_as_a_run, daemon=True)
    server.start()
    (sock_dir / "fa4e00000001.run.json").write_text(json.dumps({
        "run_id": "fa4e00000001", "pid": os.getpid(), "team": evil, "task": evil, "socket": str(path),
        "started": 0, "pid_start": process_start(os.getpid())}))
    try:
        runs = survey()
        table = ps_table(runs)
        assert len(runs) == 1 and "PWNED" in table  # shown, as text
        assert not any(ch in table for ch in "\x1b\x07\u202e"), repr(table)
        assert not any(ch in runs[0].record.task for ch in "\x1b\x07")
        handle = RemoteRunHandle(path, subscribe=False)
        welcome = handle.welcome
        handle.close()
        assert not any(ch in welcome.team + welcome.agents[0].name for ch in "\x1b\x07\u202e")
    finally:
        listener.close()
        (sock_dir / "fa4e00000001.run.json").unlink()


def test_a_sender_read_from_a_log_or_a_frame_is_plain_text():
    """Who answered is shown in every view (status bar, tags, notices): a forged frame or log line
    naming a person with control sequences gets one inert line."""
    forged = Sender.model_validate({"user": "x\x1b]0;PWNED\x07\x1b[2J", "client": "cockpit\n\u202eevil",
                                    "where": "pts/1\x1b[31m"})
    assert not any(ch in forged.words() for ch in "\x1b\x07\n\u202e"), repr(forged.words())
    assert Sender(user="ann", client="attached", where="pts/3").words() == "ann (attached on pts/3)"
