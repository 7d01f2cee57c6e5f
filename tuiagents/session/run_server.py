"""A run served on a Unix socket: views in other processes reach it through the run wire.

`RunServer` hosts one run's handle (`LocalRunHandle`) on the run's own event loop. The socket
is owner-only (0600, in a 0700 folder) and a peer of another uid is refused before it says a
word. Every event is scrubbed of secrets once, then pushed to each subscribed client; a client
that speaks garbage, the wrong version, or reads too slowly is dropped alone: the run and the
other clients go on. Answers and controls carry the peer's real user name, whatever it claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import socket
import struct
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuiagents.engine.decisions import DecidedBy, Sender
from tuiagents.engine.events import RunStopped
from tuiagents.secrets import Scrubber
from tuiagents.session import wire

if TYPE_CHECKING:
    from tuiagents.engine.handle import LocalRunHandle

#: Frames a client may have unread before it counts as gone (a stalled view must not grow memory).
MAX_QUEUED = 20_000
HELLO_TIMEOUT = 10.0
#: How long a run's process, once its run has ended, waits for its views to read what is theirs (a
#: view that reads nothing must not keep it alive).
CLOSE_GRACE = 15.0


def peer_uid(sock: Any) -> int | None:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED), if the OS says."""
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return None
    return struct.unpack("3i", raw)[1]


def user_name(uid: int) -> str:
    """The login name of `uid` (its number when the system has no entry)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def view_kind(text: str) -> str:
    """What a client calls its kind of view, as words only: it is shown to people
    ("answered already by ann (attached)")."""
    return "".join(ch for ch in text if ch.isalnum() or ch in "-_ .")[:40].strip()


def view_where(text: str) -> str:
    """Which terminal a client says it is on ("pts/3"), as a short plain name: it is shown to people."""
    return "".join(ch for ch in text if ch.isascii() and (ch.isalnum() or ch in "/-_.: #"))[:40].strip("/ ")


class _Client:
    """One connected view: its outgoing queue and whether it takes pushes."""

    def __init__(self, writer: asyncio.StreamWriter, sender: Sender) -> None:
        self.writer = writer
        self.sender = sender
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.subscribed = False
        #: the task writing `queue` to the view (see `RunServer._pump`)
        self.pump: asyncio.Task | None = None

    def send(self, data: bytes) -> bool:
        """Queue `data`; False when the client lets too much pile up (then it is dropped)."""
        if self.queue.qsize() >= MAX_QUEUED:
            return False
        self.queue.put_nowait(data)
        return True


class RunServer:
    """Serve `handle`'s run on the Unix socket `path` (see the module's docstring)."""

    def __init__(self, handle: "LocalRunHandle", path: str | os.PathLike, *, secrets: list[str] | None = None,
                 session_path: str | None = None) -> None:
        self.handle = handle
        self.path = Path(path)
        self.session_path = session_path
        self.scrubber = Scrubber(secrets or [])
        self.clients: set[_Client] = set()
        #: why each dropped client was dropped (for tests and the process's own log)
        self.dropped: list[str] = []
        self.started = time.time()
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self._uid = os.getuid()
        handle.subscribe(self._on_event)

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> "RunServer":
        """Listen on the socket (owner-only from the moment it exists)."""
        if self.path.exists() or self.path.is_symlink():
            self.path.unlink()  # a socket left by a process that died: nobody listens on it
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path),
                                                           limit=wire.MAX_CLIENT_LINE)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        return self

    async def close(self, grace: float = CLOSE_GRACE) -> None:
        """Let every view read what was queued for it, to the last byte (up to `grace` seconds for
        all: a process that exits with a frame half written leaves its views a cut line), then
        close everything."""
        if self._server is not None:
            self._server.close()
        for client in list(self.clients):
            client.queue.put_nowait(None)  # after what is queued: its pump writes that, then ends
        pumps = [c.pump for c in self.clients if c.pump is not None]
        if pumps:
            await asyncio.wait(pumps, timeout=grace)
        for task in [*self._tasks, *pumps]:
            task.cancel()
        with contextlib.suppress(OSError):
            self.path.unlink()

    # -- events -----------------------------------------------------------------------------------
    def _line(self, frame: Any) -> bytes:
        """A frame as a line with every secret scrubbed: nothing leaves the run with a key in it."""
        data = wire.encode(frame)
        text = data.decode("utf-8")
        scrubbed = self.scrubber.scrub(text)
        return data if scrubbed is text or scrubbed == text else scrubbed.encode("utf-8")

    def _on_event(self, event: Any) -> None:
        subscribed = [c for c in self.clients if c.subscribed]
        if not subscribed:
            return
        line = self._line(wire.Push(event=event))
        for client in subscribed:
            if not client.send(line):
                self._drop(client, "it read too slowly")

    def _drop(self, client: _Client, why: str) -> None:
        self.dropped.append(why)
        self.clients.discard(client)
        client.subscribed = False
        client.queue.put_nowait(None)

    # -- one connection ---------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._converse(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _refuse(self, writer: asyncio.StreamWriter, reason: str) -> None:
        self.dropped.append(reason)
        with contextlib.suppress(Exception):
            writer.write(wire.encode(wire.Refused(reason=reason)))
            await asyncio.wait_for(writer.drain(), 1.0)

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        uid = peer_uid(writer.get_extra_info("socket"))
        if uid is None or uid != self._uid:
            await self._refuse(writer, f"this run belongs to another user (peer uid {uid})")
            return
        try:
            first = await asyncio.wait_for(reader.readline(), HELLO_TIMEOUT)
            hello = wire.decode_client(first)
        except (asyncio.TimeoutError, ValueError, wire.WireError) as exc:
            await self._refuse(writer, f"the first frame must be hello: {exc}"[:300])
            return
        if not isinstance(hello, wire.Hello):
            await self._refuse(writer, "the first frame must be hello")
            return
        if hello.version != wire.PROTOCOL_VERSION:
            await self._refuse(writer, f"this run speaks protocol {wire.PROTOCOL_VERSION}, the client "
                                       f"{hello.version}: attach with the tuiagents that started the run")
            return
        client = _Client(writer, self._unique(Sender(user=user_name(uid), client=view_kind(hello.sender.client)
                                                     or "client", where=view_where(hello.sender.where))))
        self.clients.add(client)
        client.send(self._line(self._welcome().model_copy(update={"you": client.sender})))
        pump = client.pump = asyncio.create_task(self._pump(client))
        try:
            await self._read_frames(reader, client)
        finally:
            self.clients.discard(client)
            client.subscribed = False
            client.queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pump, 2.0)

    def _unique(self, sender: Sender) -> Sender:
        """`sender`, told apart from every view connected now: a second view claiming the same
        terminal (a forged hello, a copy of one) gets a number, so it never passes for the first."""
        taken = [c.sender for c in self.clients]
        where, n = sender.where, 1
        while sender in taken:
            n += 1
            sender = sender.model_copy(update={"where": f"{where} #{n}"})
        return sender

    async def _pump(self, client: _Client) -> None:
        """Write the client's queued lines in order; a None ends it, once all is sent."""
        while True:
            data = await client.queue.get()
            if data is None:
                break
            client.writer.write(data)
            await client.writer.drain()
        with contextlib.suppress(Exception):
            client.writer.close()
            await client.writer.wait_closed()  # the transport's buffer is flushed first

    async def _read_frames(self, reader: asyncio.StreamReader, client: _Client) -> None:
        while client in self.clients:
            try:
                line = await reader.readline()
            except ValueError:  # longer than MAX_CLIENT_LINE
                self._refuse_client(client, "a line longer than the protocol allows")
                return
            if not line:
                return
            try:
                frame = wire.decode_client(line)
            except wire.WireError as exc:
                self._refuse_client(client, str(exc))
                return
            if isinstance(frame, wire.Subscribe):
                past = self.handle.events_since(frame.after)
                step = wire.EVENTS_PER_FRAME
                for at in range(0, max(len(past), 1), step):
                    client.send(self._line(wire.Events(id=frame.id, events=past[at:at + step],
                                                       more=at + step < len(past))))
                client.subscribed = True  # no await since the snapshot: no event between them
                continue
            reply = self._reply(frame, client)
            if reply is None:
                self._refuse_client(client, "hello comes once, first")
                return
            client.send(self._line(reply))

    def _refuse_client(self, client: _Client, reason: str) -> None:
        client.send(wire.encode(wire.Refused(reason=reason)))
        self._drop(client, reason)

    def _reply(self, frame: Any, client: _Client) -> Any:
        handle = self.handle
        if isinstance(frame, wire.Answer):
            # an answer from a view is a person's, and theirs: who gave it is the peer the socket
            # vouches for, never what the frame claims
            decision = frame.decision.model_copy(update={"by": DecidedBy.HUMAN, "sender": None})
            return wire.AnswerReply(id=frame.id, answered=handle.answer(frame.request_id, decision,
                                                                        self._sender(client, frame.client)))
        if isinstance(frame, wire.ControlFrame):
            return wire.ControlReply(id=frame.id, done=handle.control(frame.control,
                                                                      self._sender(client, frame.client)))
        if isinstance(frame, wire.StatusQuery):
            return self.status(frame.id)
        return None

    @staticmethod
    def _sender(client: _Client, kind: str | None) -> Sender:
        """Who sent a frame: the peer's real user, and the view kind the frame or its hello names."""
        kind = view_kind(kind) if kind else ""
        return client.sender.model_copy(update={"client": kind}) if kind else client.sender

    # -- what the run is -------------------------------------------------------------------------
    def _welcome(self) -> wire.Welcome:
        run = self.handle.run
        return wire.Welcome(run_id=run.run_id, team=run.team_name, team_kind=run.team_kind,
                            agents=[a.info for a in run.agents.values()], session_path=self.session_path,
                            pid=os.getpid())

    def status(self, frame_id: int = 0) -> wire.Status:
        """The run's state and who waits for a person, as `tuiagents ps` shows them."""
        run = self.handle.run
        waiting = sorted({e.request.agent for e in run.pending if self.handle.is_open(e.request.id)})
        if run.stopped is not None or any(isinstance(e, RunStopped) for e in run.bus.history[-1:]):
            state = "ended"
        elif waiting:
            state = "waiting"
        elif run.paused:
            state = "paused"
        else:
            state = "running"
        return wire.Status(id=frame_id, run_id=run.run_id, team=run.team_name, state=state, waiting=waiting,
                           started=self.started, clients=len(self.clients))

