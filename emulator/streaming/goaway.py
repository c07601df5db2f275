"""hypercorn HTTP/2 as the AWS SDK for JavaScript v3 needs it: a graceful client GOAWAY.

The SDK streams over an isolated HTTP/2 session
(`@smithy/node-http-handler` `NodeHttp2Handler.handle`: `disableConcurrentStreams`, which
`@aws-sdk/client-transcribe-streaming` sets) and calls `session.close()` as soon as the
response headers arrive. Node then sends GOAWAY (NO_ERROR) while the request stream is still
sending audio and the response stream still has transcripts to deliver. RFC 9113 §6.8 makes
that a graceful shutdown: "existing streams ... continue to completion". hypercorn 0.18 and
h2 4.x treat it as the end of the connection instead:

* h2 (`H2Connection._receive_goaway_frame`) moves the connection state machine to CLOSED, so
  the DATA frames that follow raise ProtocolError;
* hypercorn (`H2Protocol._handle_events`) answers `ConnectionTerminated` with `Closed()`, which
  drops the TCP connection; the JS client gets at most one TranscriptEvent, and no error.

`install()` changes that, for server-side hypercorn HTTP/2 connections only (h2 used
elsewhere in the process is untouched): a GOAWAY with error code NO_ERROR that arrives while
streams are open is recorded and otherwise ignored; once the last stream has ended and its
buffered response bytes (END_STREAM included) are written, the server sends its own GOAWAY and
closes the connection. A GOAWAY with an error code, or one on an idle connection, closes the
connection at once as before. Call it once at server start-up (`emulator/server.py` does); it
is idempotent and `uninstall()` restores hypercorn's behaviour (for experiments). Checked
against hypercorn 0.18.0 and h2 4.3/4.4.

Guards: tests/unit/test_goaway.py (GOAWAY with and without the patch, h2 client against a real
hypercorn) and tests/streaming/test_node_clients.py (the JS SDK over h2c and TLS; without the
GOAWAY patch no TranscriptEvent arrives). The SDK also signs `:authority` rather than `host`;
emulator/aws/sigv4.py reads either from the other.
"""

from __future__ import annotations

import functools

import h2.connection
import h2.errors
import h2.events
import h2.exceptions
from hypercorn.events import Closed
from hypercorn.protocol.h2 import H2Protocol
from hyperframe.frame import GoAwayFrame

__all__ = ["install", "uninstall", "installed"]

_ORIGINALS: dict[str, object] = {}
_PEER_GOAWAY = "_emulator_peer_goaway"  # attribute set on an H2Protocol once the client said GOAWAY


def installed() -> bool:
    return bool(_ORIGINALS)


def _receive_goaway_gracefully(connection: h2.connection.H2Connection, original, frame: GoAwayFrame):
    """h2 frame handler: a NO_ERROR GOAWAY with open streams leaves the connection OPEN.

    The `ConnectionTerminated` event is still emitted (hypercorn's wrapper below decides what to
    do with it); the state machine and the outbound buffer are left alone so the open streams
    can finish. Anything else goes to h2's own handler.
    """
    if frame.error_code != h2.errors.ErrorCodes.NO_ERROR or connection.open_inbound_streams == 0:
        return original(frame)
    event = h2.events.ConnectionTerminated()
    event.error_code = h2.errors.ErrorCodes.NO_ERROR
    event.last_stream_id = frame.last_stream_id
    event.additional_data = frame.additional_data or None
    return [], [event]


def _patched_init(self: H2Protocol, *args, **kwargs) -> None:
    _ORIGINALS["__init__"](self, *args, **kwargs)
    setattr(self, _PEER_GOAWAY, False)
    table = self.connection._frame_dispatch_table
    table[GoAwayFrame] = functools.partial(_receive_goaway_gracefully, self.connection, table[GoAwayFrame])


def _graceful(event: h2.events.Event) -> bool:
    return isinstance(event, h2.events.ConnectionTerminated) and event.error_code == h2.errors.ErrorCodes.NO_ERROR


async def _patched_handle_events(self: H2Protocol, events: list) -> None:
    if self.streams and any(_graceful(event) for event in events):
        setattr(self, _PEER_GOAWAY, True)
        events = [event for event in events if not _graceful(event)]
    await _ORIGINALS["_handle_events"](self, events)


async def _close_when_drained(self: H2Protocol) -> None:
    """After a client GOAWAY: close once no stream is open and no response bytes are pending."""
    if getattr(self, _PEER_GOAWAY, False) and not self.closed and not self.streams and not self.stream_buffers:
        setattr(self, _PEER_GOAWAY, False)
        try:
            self.connection.close_connection()
        except h2.exceptions.ProtocolError:
            pass
        await self._flush()
        await self.send(Closed())


async def _patched_stream_send(self: H2Protocol, event) -> None:
    await _ORIGINALS["stream_send"](self, event)
    await _close_when_drained(self)


async def _patched_send_data(self: H2Protocol, stream_id: int) -> None:
    await _ORIGINALS["_send_data"](self, stream_id)
    await _close_when_drained(self)


_PATCHES = {
    "__init__": _patched_init,
    "_handle_events": _patched_handle_events,
    "stream_send": _patched_stream_send,
    "_send_data": _patched_send_data,
}


def install() -> None:
    """Patch hypercorn's H2Protocol (process-wide, idempotent). Call before serving."""
    if _ORIGINALS:
        return
    for name, patched in _PATCHES.items():
        _ORIGINALS[name] = getattr(H2Protocol, name)
        setattr(H2Protocol, name, patched)


def uninstall() -> None:
    """Restore hypercorn's own methods (connections created meanwhile keep their h2 handler)."""
    for name, original in _ORIGINALS.items():
        setattr(H2Protocol, name, original)
    _ORIGINALS.clear()
