"""The GOAWAY patch (emulator/streaming/goaway.py) against a real hypercorn HTTP/2 (h2c) server.

The client (h2, prior knowledge) does what the AWS SDK for JavaScript v3 does: it sends
GOAWAY(NO_ERROR) right after the response headers, then keeps streaming its request body and
reading the response. With the patch every response chunk arrives and the server closes the
connection after END_STREAM; without it hypercorn drops the connection at the GOAWAY.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import h2.config
import h2.connection
import h2.events
import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from emulator.streaming import goaway
from tests.support import free_port

CHUNKS = 5


async def echo_app(scope, receive, send):
    """Answers headers at once, then one response chunk per request chunk (full duplex)."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if message.get("body"):
            await send({"type": "http.response.body", "body": b"echo:" + message["body"], "more_body": True})
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.body", "body": b"done", "more_body": False})


@pytest.fixture
def server():
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.call_soon(started.set)
        loop.run_until_complete(serve(echo_app, config, shutdown_trigger=stop.wait))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(5)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            threading.Event().wait(0.05)
    yield port
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


def stream_with_early_goaway(port: int) -> tuple[bytes, bool, bool]:
    """(response body, END_STREAM seen, connection closed by the server afterwards)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    stream_id = conn.get_next_available_stream_id()
    conn.send_headers(
        stream_id,
        [(":method", "POST"), (":path", "/"), (":scheme", "http"), (":authority", f"127.0.0.1:{port}")],
    )
    sock.sendall(conn.data_to_send())
    body, ended, headers_seen, sent = b"", False, False, 0

    while not ended:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            data = b""
        if not data:
            return body, ended, True
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived) and not headers_seen:
                headers_seen = True
                conn.close_connection()  # GOAWAY(NO_ERROR), as Node's session.close() does
                # h2 would refuse to send DATA after its own GOAWAY; the JS client keeps sending.
                conn.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
            elif isinstance(event, h2.events.DataReceived):
                body += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                ended = True
            elif isinstance(event, h2.events.ConnectionTerminated):
                return body, ended, True  # the server gave up on the connection
        if headers_seen and sent < CHUNKS:
            sent += 1
            conn.send_data(stream_id, f"chunk{sent}".encode(), end_stream=sent == CHUNKS)
        sock.sendall(conn.data_to_send())

    sock.settimeout(5)
    try:
        closed = sock.recv(65536) is not None  # GOAWAY frame or EOF, then EOF
        while sock.recv(65536):
            pass
    except (ConnectionResetError, socket.timeout):
        closed = False
    sock.close()
    return body, ended, closed


def test_streams_survive_a_client_goaway(server):
    goaway.install()
    try:
        body, ended, closed = stream_with_early_goaway(server)
    finally:
        goaway.uninstall()
    expected = b"".join(f"echo:chunk{i}".encode() for i in range(1, CHUNKS + 1)) + b"done"
    assert body == expected
    assert ended
    assert closed


def test_without_the_patch_the_connection_drops_at_the_goaway(server):
    assert not goaway.installed()
    body, ended, _ = stream_with_early_goaway(server)
    assert not ended
    assert b"done" not in body
