"""The host's side of the watchdog protocol: one block's frames, a cancelled block's outcome, deletions.

Independent of how the watchdog is reached (a :class:`SandboxChannel` over any
:mod:`sandbox_transport`) and of the container runtime, so an executor for another runtime reuses
it as it is. The frames are described in :mod:`sandbox_runner`.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from tuiagents.execution.output import OutputCapture
from tuiagents.execution.sandbox_channel import ChannelClosed, SandboxChannel

# If the watchdog does not answer, how long before the host gives up on it.
RUNNER_GRACE = 10.0
# Deleting what the host deleted (a big tree, on a slow disk) gets longer, but not forever.
DELETE_TIMEOUT = 60.0


@dataclass
class BlockReply:
    """How a block's exchange with the watchdog ended."""

    outcome: dict | None = None  # the watchdog's outcome frame, when it came
    lost: str | None = None  # "timeout" (no answer in time) or "closed" (the line ended)
    asked: bool = False  # whether a cancel was sent


async def exchange_block(channel: SandboxChannel, run_id: str, header: bytes, code: bytes,
                         capture: OutputCapture, cancel: asyncio.Event | None, timeout: float,
                         sent: Callable[[], None]) -> BlockReply:
    """Send one block, feed its output to ``capture`` and wait for its outcome.

    ``sent`` is called once the block is on its way (its outcome is then owed, even if this task
    is cancelled). A set ``cancel`` sends a cancel and waits a little for the outcome; silence for
    ``timeout`` + a grace ends the exchange as lost.
    """
    reply = BlockReply()
    deadline = time.monotonic() + timeout + RUNNER_GRACE
    cancel_wait = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
    getter: asyncio.Future | None = None
    try:
        channel.send(b"B", struct.pack(">I", len(header)) + header + code)
        sent()
        while reply.outcome is None:
            if getter is None:
                getter = asyncio.ensure_future(channel.next_frame())
            waiting = {getter} if reply.asked or cancel_wait is None else {getter, cancel_wait}
            left = deadline - time.monotonic()
            done, _ = await asyncio.wait(waiting, timeout=max(0.0, left),
                                         return_when=asyncio.FIRST_COMPLETED)
            if not done:
                getter.cancel()
                reply.lost = "timeout"
                break
            if cancel_wait is not None and cancel_wait in done and not reply.asked:
                reply.asked = True
                channel.send(b"C", run_id.encode())
                deadline = min(deadline, time.monotonic() + RUNNER_GRACE)
            if getter not in done:
                continue
            try:
                kind, payload = getter.result()
            except ChannelClosed:
                reply.lost = "closed"
                break
            getter = None
            if kind == b"O":
                await capture.feed(payload)
            elif kind == b"T":
                capture.skip(struct.unpack(">Q", payload[:8])[0])
                await capture.feed(payload[8:])
            elif kind == b"K":  # the watchdog is saving the block's files: give it time
                deadline = max(deadline, time.monotonic() + RUNNER_GRACE)
            elif kind == b"X":
                candidate = json.loads(payload)
                if candidate.get("id") == run_id:
                    reply.outcome = candidate
    except asyncio.CancelledError:
        if not channel.closed:
            channel.send(b"C", run_id.encode())
        capture.finish()
        raise
    finally:
        if cancel_wait is not None:
            cancel_wait.cancel()
        if getter is not None:
            getter.cancel()
    return reply


async def settle_block(channel: SandboxChannel, pending: str) -> bool:
    """Read the outcome of block ``pending`` whose task was cancelled; False if it never comes."""
    try:
        end = time.monotonic() + RUNNER_GRACE
        while True:
            kind, payload = await asyncio.wait_for(channel.next_frame(),
                                                   max(0.0, end - time.monotonic()))
            if kind == b"X" and json.loads(payload).get("id") == pending:
                return True
            if kind == b"K":  # still saving that block's files
                end = max(end, time.monotonic() + RUNNER_GRACE)
    except (asyncio.TimeoutError, ChannelClosed):
        return False


async def delete_paths(channel: SandboxChannel, paths: list[str]) -> list[str]:
    """Between blocks: have the watchdog delete ``paths`` from a copied work dir; what failed."""
    channel.send(b"D", json.dumps(paths).encode())
    end = time.monotonic() + DELETE_TIMEOUT
    while True:
        kind, payload = await asyncio.wait_for(channel.next_frame(),
                                               max(0.0, end - time.monotonic()))
        if kind == b"d":
            return list(json.loads(payload))
