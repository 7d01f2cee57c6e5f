"""How the watchdog's stdin and stdout reach the host: the transport under the sandbox channel.

The watchdog protocol (:mod:`sandbox_channel` frames, :mod:`sandbox_protocol` blocks) needs only
a byte stream to the watchdog's stdin and the bytes of its stdout and stderr told apart. Docker
gives that by attaching to the container (:class:`DockerAttachTransport`); another runtime (a
Kubernetes pod's attach, say) gives it its own way and reuses everything above.
"""

from __future__ import annotations

import asyncio
import struct
from abc import ABC, abstractmethod
from typing import Any

STDOUT, STDERR = 1, 2
DOCKER_HEAD = struct.Struct(">BxxxI")


class SandboxTransport(ABC):
    """A duplex byte stream to one watchdog: its stdin one way, its stdout and stderr back."""

    @abstractmethod
    async def read(self) -> tuple[int, bytes]:
        """The next piece of output as ``(STDOUT or STDERR, bytes)``; raises ``EOFError`` at the end."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Queue ``data`` for the watchdog's stdin without blocking."""

    @abstractmethod
    async def drain(self) -> None:
        """Wait until what was written is handed on."""

    @abstractmethod
    def close(self) -> None:
        """Drop the stream: the watchdog's stdin closes, so it stops the block and exits."""


class DockerAttachTransport(SandboxTransport):
    """The container's stdin/stdout/stderr through the Docker API's attach (one socket).

    Docker multiplexes stdout and stderr on it with an 8-byte header per piece.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, keep: Any) -> None:
        self._reader = reader
        self._writer = writer
        self._keep = keep  # the SDK's socket wrapper: closing it would close our socket

    @classmethod
    async def attach(cls, api: Any, container_id: str, timeout: float) -> DockerAttachTransport:
        """Attach to the container (created or running), within ``timeout`` s."""

        def attach() -> Any:
            params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            return api.attach_socket(container_id, params=params)

        wrapper = await asyncio.wait_for(asyncio.to_thread(attach), timeout)
        sock = getattr(wrapper, "_sock", wrapper)
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 22)
        return cls(reader, writer, wrapper)

    async def read(self) -> tuple[int, bytes]:
        """See :meth:`SandboxTransport.read`."""
        try:
            stream, size = DOCKER_HEAD.unpack(await self._reader.readexactly(DOCKER_HEAD.size))
            data = await self._reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            raise EOFError(str(exc)) from None
        return (STDOUT if stream == 1 else STDERR), data

    def write(self, data: bytes) -> None:
        """See :meth:`SandboxTransport.write`."""
        self._writer.write(data)

    async def drain(self) -> None:
        """See :meth:`SandboxTransport.drain`."""
        await self._writer.drain()

    def close(self) -> None:
        """See :meth:`SandboxTransport.close`."""
        try:
            self._writer.close()
        except Exception:  # noqa: BLE001 - already closed
            pass
        try:
            self._keep.close()
        except Exception:  # noqa: BLE001
            pass
