"""A run in another process, reached through its Unix socket: `RemoteRunHandle`.

It speaks the run wire (`session/wire.py`) and offers the same methods as `LocalRunHandle`
(`engine.handle.RunHandle`), so the cockpit uses either the same way. A reader thread takes the
server's frames: pushed events are kept (without token deltas) and handed to subscribers in
order, on that thread; replies wake the call that waits for them. Whether a request is open is
read from the events (asked, not yet recorded, not answered through this handle since), so no
key waits on a round trip for it. Closing the handle closes the connection, never the run.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuiagents.engine.decisions import Decision, Sender
from tuiagents.engine.events import (
    DecisionRecorded, DecisionRequested, Event, RunStarted, RunStopped, StopKind, TokenDelta,
)
from tuiagents.engine.handle import Answered, Control, ControlDone, answered_already, local_sender
from tuiagents.session import wire

REPLY_TIMEOUT = 15.0


class RunUnreachable(Exception):
    """The run's socket does not answer as a run (gone, refused, another version); says why."""


class RemoteRunHandle:
    """The run boundary for a run served on the Unix socket `path` (see the module's docstring)."""

    #: the run lives in another process: closing this view leaves it running
    local = False

    def __init__(self, path: str | os.PathLike, sender: Sender | None = None, *, timeout: float = 10.0,
                 subscribe: bool = True) -> None:
        self.path = Path(path)
        self.sender = sender or local_sender("attached")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(str(self.path))
        except OSError as exc:
            self._sock.close()
            raise RunUnreachable(f"cannot reach the run at {self.path}: {exc.strerror or exc}") from None
        self._file = self._sock.makefile("rb")
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._replies: dict[int, Any] = {}
        self._waiting: dict[int, threading.Event] = {}
        self._later: dict[int, Callable[[Any], object]] = {}  # frame id -> what takes its reply
        self._history: list[Event] = []
        self._subscribers: list[Callable[[Event], object]] = []
        self._asked: dict[str, int] = {}  # request id -> seq of its last DecisionRequested
        self._recorded: dict[str, tuple[int, DecisionRecorded]] = {}
        self._answered: dict[str, tuple[int, Sender | None, Decision]] = {}
        self._stopped: RunStopped | None = None
        #: why the connection ended (None while it is up)
        self.closed_reason: str | None = None
        self._send(wire.Hello(version=wire.PROTOCOL_VERSION, sender=self.sender))
        first = self._read_frame()
        if isinstance(first, wire.Refused):
            self.close()
            raise RunUnreachable(f"the run refused this view: {first.reason}")
        if not isinstance(first, wire.Welcome):
            self.close()
            raise RunUnreachable("the socket did not answer as a tuiagents run")
        #: what the run is: id, team, agents, its log
        self.welcome: wire.Welcome = first
        if first.you is not None:  # as the run records this view's answers: "you" is told by it
            self.sender = first.you
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, name=f"run-{first.run_id}-reader", daemon=True)
        self._reader.start()
        self._synced = False
        if subscribe:
            self.sync()

    # -- reading ------------------------------------------------------------------------------------
    def sync(self) -> None:
        """Fetch the events so far and take every new one from then on (once; blocks until here)."""
        if not self._synced:
            self._call(lambda i: wire.Subscribe(id=i, after=-1))
            self._synced = True

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.welcome.run_id

    @property
    def stopped(self) -> RunStopped | None:
        """The run's `RunStopped`, once it came."""
        return self._stopped

    def events_since(self, seq: int) -> list[Event]:
        """The run's events after `seq` (-1: all) as received, without token deltas."""
        with self._lock:
            return [e for e in self._history if e.seq > seq]

    def subscribe(self, callback: Callable[[Event], object], after: int | None = None) -> None:
        """Call `callback` with every event from now on (on the reader thread, in order); with
        `after`, the kept events after that seq first, with nothing between them and the live ones."""
        with self._lock:
            if after is not None:
                for event in self.events_since(after):
                    callback(event)
            self._subscribers.append(callback)

    def answer_of(self, request_id: str) -> Decision | None:
        """The decision given through this handle or recorded by the run, if any."""
        with self._lock:
            mine = self._answered.get(request_id)
            recorded = self._recorded.get(request_id)
        if mine is not None and (recorded is None or recorded[0] < mine[0]):
            return mine[2]
        return recorded[1].decision if recorded is not None else (mine[2] if mine else None)

    def is_open(self, request_id: str) -> bool:
        """True while `request_id` was asked and neither recorded nor answered here since."""
        with self._lock:
            asked = self._asked.get(request_id)
            if asked is None or self._stopped is not None or self.closed_reason is not None:
                return False
            recorded = self._recorded.get(request_id)
            mine = self._answered.get(request_id)
        return (recorded is None or recorded[0] < asked) and (mine is None or mine[0] < asked)

    # -- answering and controls --------------------------------------------------------------------
    def answer(self, request_id: str, decision: Decision, sender: Sender | None = None, *,
               on_refused: Callable[[Answered], object] | None = None) -> Answered:
        """Answer `request_id` in the run; the first answer wins, a later one is told who gave it.

        A request the events show answered already is refused here, with no round trip. Without
        `on_refused` the call waits for the run's verdict. With it, the answer is taken as given at
        once (a view shows it in the same frame as the key); should the run refuse it (another
        view's answer crossed it), it is dropped again and `on_refused` gets the run's verdict, on
        the reader thread.
        """
        known = self._refusal(request_id)
        if known is not None:
            return known
        frame = (lambda i: wire.Answer(id=i, request_id=request_id, decision=decision,
                                       client=self._kind(sender)))
        # the asking this answer is for, taken now: the run may ask again (an answer that did not
        # fit) before the reply wakes this thread
        mine = (self._asked.get(request_id, -1), sender, decision)
        if on_refused is None:
            try:
                answered = self._call(frame).answered
            except RunUnreachable as exc:
                return Answered(request_id=request_id, accepted=False, reason=str(exc))
            if answered.accepted:
                with self._lock:
                    self._answered[request_id] = mine
            return answered
        with self._lock:
            self._answered[request_id] = mine

        def settle(reply: wire.AnswerReply | None) -> None:
            if reply is None or reply.answered.accepted:  # taken, or the connection is gone (the view says so)
                return
            with self._lock:
                if self._answered.get(request_id) is mine:
                    del self._answered[request_id]
            on_refused(reply.answered)

        try:
            self._call_later(frame, settle)
        except RunUnreachable as exc:
            with self._lock:
                self._answered.pop(request_id, None)
            return Answered(request_id=request_id, accepted=False, reason=str(exc))
        return Answered(request_id=request_id, accepted=True)

    def _refusal(self, request_id: str) -> Answered | None:
        """Why an answer to `request_id` cannot be taken, when the events say so already."""
        with self._lock:
            asked = self._asked.get(request_id)
            recorded = self._recorded.get(request_id)
            mine = self._answered.get(request_id)
        if asked is not None and recorded is not None and recorded[0] > asked:
            return answered_already(request_id, recorded[1].decision)
        if asked is not None and mine is not None and mine[0] >= asked:
            return answered_already(request_id, mine[2].model_copy(update={"sender": mine[1]}))
        if self.closed_reason is not None:
            return Answered(request_id=request_id, accepted=False,
                            reason=f"not connected to the run: {self.closed_reason}")
        if self._stopped is not None:
            return Answered(request_id=request_id, accepted=False, reason="the run has stopped")
        return None  # open, or not seen here yet: the run decides

    def control(self, control: Control, sender: Sender | None = None, *,
                on_refused: Callable[[ControlDone], object] | None = None) -> ControlDone:
        """Send a typed control; the run announces it as an event saying who sent it.

        Without `on_refused` the call waits for the run's verdict. With it, the control is sent and
        taken as applied at once (a view never waits on the run's loop); should the run not apply
        it, `on_refused` gets why, on the reader thread.
        """
        frame = (lambda i: wire.ControlFrame(id=i, control=control, client=self._kind(sender)))
        try:
            if on_refused is None:
                return self._call(frame).done
            self._call_later(frame, lambda reply: reply is not None and not reply.done.applied
                             and on_refused(reply.done))
        except RunUnreachable as exc:
            return ControlDone(control=control.type, applied=False, reason=str(exc))
        return ControlDone(control=control.type, applied=True)

    def _kind(self, sender: Sender | None) -> str | None:
        """The view kind to name with a frame, when it is not the one the hello named."""
        return sender.client if sender is not None and sender.client != self.sender.client else None

    def status(self) -> wire.Status:
        """The run's state and who waits (what `tuiagents ps` shows)."""
        return self._call(lambda i: wire.StatusQuery(id=i))

    def close(self) -> None:
        """Close the connection; the run goes on."""
        if self.closed_reason is None:
            self.closed_reason = "closed by this view"
        for stream in (self._sock,):
            try:
                stream.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            stream.close()

    # -- the wire ------------------------------------------------------------------------------------
    def _send(self, frame: Any) -> None:
        data = wire.encode(frame)
        with self._send_lock:
            try:
                self._sock.sendall(data)
            except OSError as exc:
                raise RunUnreachable(f"the run's connection is gone: {exc.strerror or exc}") from None

    def _read_frame(self) -> Any:
        try:
            line = self._file.readline()
        except OSError as exc:
            raise RunUnreachable(f"cannot read from the run: {exc}") from None
        if not line:
            raise RunUnreachable("the run closed the connection")
        try:
            return wire.decode_server(line)
        except wire.WireError as exc:
            raise RunUnreachable(f"the run sent {exc}") from None

    def _call_later(self, make: Callable[[int], Any], then: Callable[[Any], object]) -> None:
        """Send a frame and return; `then` gets its reply on the reader thread (None: the
        connection ended first)."""
        if self.closed_reason is not None:
            raise RunUnreachable(f"not connected to the run: {self.closed_reason}")
        frame_id = next(self._ids)
        self._later[frame_id] = then
        try:
            self._send(make(frame_id))
        except RunUnreachable:
            self._later.pop(frame_id, None)
            raise

    def _call(self, make: Callable[[int], Any]) -> Any:
        if self.closed_reason is not None:
            raise RunUnreachable(f"not connected to the run: {self.closed_reason}")
        frame_id = next(self._ids)
        done = threading.Event()
        self._waiting[frame_id] = done
        self._send(make(frame_id))
        if not done.wait(REPLY_TIMEOUT) or frame_id not in self._replies:
            self._waiting.pop(frame_id, None)
            raise RunUnreachable(f"the run did not answer ({self.closed_reason or 'no reply in time'})")
        return self._replies.pop(frame_id)

    def _read_loop(self) -> None:
        try:
            while True:
                frame = self._read_frame()
                if isinstance(frame, wire.Push):
                    self._take(frame.event)
                elif isinstance(frame, wire.Events):
                    with self._lock:  # the snapshot, before any push that follows it
                        for event in frame.events:
                            self._take(event)
                    if not frame.more:
                        self._reply(frame.id, frame)
                elif isinstance(frame, wire.Refused):
                    self.closed_reason = f"the run dropped this view: {frame.reason}"
                    break
                elif hasattr(frame, "id"):
                    self._reply(frame.id, frame)
        except RunUnreachable as exc:
            if self.closed_reason is None:
                self.closed_reason = str(exc)
        finally:
            for done in list(self._waiting.values()):
                done.set()
            for frame_id in list(self._later):
                self._settle(self._later.pop(frame_id), None)
            if self._stopped is None and self.closed_reason != "closed by this view":
                self._lost()

    def _lost(self) -> None:
        """The run's process went away without its stop: the view is told it ended, and why.

        The stop is this view's, not the run's: it is not in the log, which a resume continues.
        """
        last = self._history[-1].seq if self._history else 0
        self._take(RunStopped(seq=last + 1, kind=StopKind.ERROR,
                              reason=f"the run's process ended without stopping the run ({self.closed_reason}); "
                                     f"`tuiagents resume {self.run_id}` continues it from its log"))

    def _reply(self, frame_id: int, frame: Any) -> None:
        later = self._later.pop(frame_id, None)
        if later is not None:
            self._settle(later, frame)
            return
        self._replies[frame_id] = frame
        done = self._waiting.pop(frame_id, None)
        if done is not None:
            done.set()

    @staticmethod
    def _settle(then: Callable[[Any], object], frame: Any) -> None:
        try:
            then(frame)
        except Exception:  # noqa: BLE001 - a view's callback must not end the reader
            pass

    def _take(self, event: Event) -> None:
        with self._lock:
            if not isinstance(event, TokenDelta):
                if self._history and event.seq <= self._history[-1].seq:
                    return  # seen already
                self._history.append(event)
                if isinstance(event, DecisionRequested):
                    self._asked[event.request.id] = event.seq
                elif isinstance(event, DecisionRecorded):
                    self._recorded[event.request_id] = (event.seq, event)
                elif isinstance(event, RunStopped):
                    self._stopped = event
                elif isinstance(event, RunStarted):  # a resumed run's next leg: it goes on
                    self._stopped = None
            # under the lock: a `subscribe(after=...)` cannot come between keeping it and handing it on
            for callback in self._subscribers:
                try:
                    callback(event)
                except Exception:  # noqa: BLE001 - one view's error must not stop the others' events
                    pass
