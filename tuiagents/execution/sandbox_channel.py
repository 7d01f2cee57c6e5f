"""The host's end of the line to the sandbox watchdog: its frames over the container's stdin/stdout.

The watchdog (:mod:`sandbox_runner`) is the container's PID 1 and runs as root; only the Docker
daemon and that process hold its stdin/stdout, so nothing a block runs can write what comes back
on this line. How those bytes travel is the transport's business (:mod:`sandbox_transport`: Docker's
attach stream today); inside the stdout bytes are the watchdog's own frames (kind byte, 4-byte
length, payload). Everything here runs on the event loop with asyncio streams: no thread per block
and no Docker API round trip per block, which is what makes a block cheaper than a ``docker exec``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from typing import Any

from tuiagents.execution.sandbox_transport import STDOUT, DockerAttachTransport, SandboxTransport

log = logging.getLogger(__name__)

HEAD = struct.Struct(">cI")


class ChannelClosed(Exception):
    """The transport ended: the container (and so the watchdog) is gone."""


class SandboxChannel:
    """Frames to and from one container's watchdog; ``frames`` yields what it sends."""

    def __init__(self, transport: SandboxTransport) -> None:
        self.transport = transport
        self.frames: asyncio.Queue[tuple[bytes, bytes] | None] = asyncio.Queue()
        self.stderr = bytearray()  # the watchdog's own complaints, for error messages
        self.closed = False
        self.closed_by_owner = False  # close() of the executor, not a crash
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def attach(cls, api: Any, container_id: str, timeout: float) -> SandboxChannel:
        """Attach to the container's stdin/stdout/stderr (created or running); no hello yet.

        Attaching to a container that is only created, then starting it (as ``docker run``
        does), leaves no moment where the watchdog runs with nobody on the line.
        """

        return cls(await DockerAttachTransport.attach(api, container_id, timeout))

    @classmethod
    async def open(cls, api: Any, container_id: str, timeout: float) -> SandboxChannel:
        """Attach to a running container and wait for the watchdog's hello."""
        channel = await cls.attach(api, container_id, timeout)
        await channel.handshake(timeout)
        return channel

    async def handshake(self, timeout: float) -> dict:
        """Ping the watchdog (it exits if no ping comes soon); return its hello (what it can do)."""
        channel = self
        channel.send(b"P")
        try:
            kind, payload = await asyncio.wait_for(channel.next_frame(), timeout)
        except (asyncio.TimeoutError, ChannelClosed):
            channel.close()
            raise ChannelClosed("the sandbox watchdog did not start: "
                                + channel.stderr.decode(errors="replace")[-500:]) from None
        if kind != b"R":
            channel.close()
            raise ChannelClosed(f"unexpected first frame from the sandbox watchdog: {kind!r}")
        hello = json.loads(payload)
        log.debug("sandbox watchdog ready: %s", hello)
        return hello

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        """Queue one frame for the watchdog (the transport writes it without blocking)."""
        if self.closed:
            raise ChannelClosed("the sandbox is gone")
        self.transport.write(HEAD.pack(kind, len(payload)) + payload)

    async def drain(self, timeout: float) -> None:
        """Wait until what was sent is handed to the daemon."""
        await asyncio.wait_for(self.transport.drain(), timeout)

    async def next_frame(self) -> tuple[bytes, bytes]:
        """The next frame from the watchdog; raises :class:`ChannelClosed` at the end."""
        frame = await self.frames.get()
        if frame is None:
            self.frames.put_nowait(None)  # every later reader sees the end too
            raise ChannelClosed("the sandbox container ended")
        return frame

    async def _read(self) -> None:
        buffer = bytearray()
        try:
            while True:
                stream, data = await self.transport.read()
                if stream != STDOUT:
                    self.stderr += data
                    del self.stderr[:-4096]
                    continue
                buffer += data
                while len(buffer) >= HEAD.size:
                    kind, length = HEAD.unpack_from(buffer)
                    if len(buffer) < HEAD.size + length:
                        break
                    payload = bytes(buffer[HEAD.size:HEAD.size + length])
                    del buffer[:HEAD.size + length]
                    self.frames.put_nowait((kind, payload))
        except (EOFError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self.closed = True
            self.frames.put_nowait(None)

    def close(self) -> None:
        """Drop the line (the container's stdin closes: the watchdog exits)."""
        self.closed = True
        self._task.cancel()
        self.transport.close()
