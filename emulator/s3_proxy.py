"""One endpoint for both services: S3 requests that reach the API port go to the S3 server.

With `AWS_ENDPOINT_URL=http://127.0.0.1:8080` an SDK sends its S3 calls to the API port too.
`S3Proxy` is an ASGI middleware in front of the app: a request that `is_s3_request` picks is
passed to the S3 server (embedded SeaweedFS or --s3-endpoint) as a transparent reverse proxy:
same method, path, query and headers, Host included, so SigV4 signatures, presigned URLs and
aws-chunked uploads verify at the S3 server exactly as they would there; bodies stream both
ways in pieces (hypercorn's bounded receive queue and `drain()` give back-pressure), so a
200 MB upload never sits in the emulator's memory. Everything else goes to the app unchanged.

The upstream side is h11 (hypercorn's own HTTP/1.1 engine) over asyncio streams, one
connection per request: no client library, no pooling to keep right.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from urllib.parse import parse_qsl, urlsplit

import h11

from emulator.aws.sigv4 import service_from_unverified

log = logging.getLogger(__name__)

# Paths of the emulator itself: never S3, whatever the request looks like. (A bucket named
# "console" is still reachable: a signed S3 request is routed by its credential scope first.)
RESERVED_PREFIXES = ("/_emulator", "/console", "/service/", "/stream-transcription", "/medical-stream-transcription")

# Query parameters only S3 uses (sub-resources and presigned-URL members): a request that has
# one and no X-Amz-Target is an S3 request even without a signature.
S3_QUERY = frozenset(
    "acl cors delete encryption lifecycle list-type location logging notification object-lock policy "
    "publicAccessBlock replication requestPayment restore retention select tagging uploadId uploads "
    "versioning versions versionId website partNumber prefix delimiter max-keys continuation-token "
    "x-id response-content-type response-content-disposition".split()
)
# Hop-by-hop headers (RFC 9110 7.6.1) and Expect, which hypercorn has already answered with
# 100 Continue; none of them is part of a SigV4 signature (botocore never signs them).
_HOP_BY_HOP = frozenset(
    b"connection keep-alive proxy-connection proxy-authenticate proxy-authorization te trailer upgrade expect".split()
)
CHUNK = 64 * 1024  # bytes read from the S3 server at a time
CONNECT_TIMEOUT = 10.0  # seconds


def is_s3_request(scope: dict) -> bool:
    """True for a request the S3 server should answer. Only what SDKs send decides:

    - a SigV4 credential scope (Authorization header or X-Amz-Credential) names the service:
      `s3` goes to S3, anything else (`transcribe`) stays;
    - no signature: an S3-shaped request (no X-Amz-Target, an S3 method, not a path of the
      emulator) goes to S3, except `GET /` or `HEAD /` without S3 query parameters, which stays
      (a browser's `GET /` is redirected to the console; an SDK's ListBuckets is always signed).
    """
    if scope["type"] != "http":
        return False
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    query_string = scope.get("query_string", b"").decode("latin-1")
    query = parse_qsl(query_string, keep_blank_values=True)
    service = service_from_unverified(scope["headers"], query_string)
    if service is not None:
        return service == "s3"
    path = scope["path"]
    if "x-amz-target" in headers or path.startswith(RESERVED_PREFIXES):
        return False
    method = scope["method"]
    has_s3_query = any(k in S3_QUERY for k, _ in query)
    if method == "POST":  # awsJson posts anywhere; S3 posts only with its sub-resources
        return has_s3_query
    if method not in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS"):
        return False
    return path != "/" or has_s3_query


class S3Proxy:
    """ASGI middleware: S3 requests to `upstream` (an http or https URL), the rest to `app`."""

    def __init__(self, app, upstream: str):
        self.app = app
        parts = urlsplit(upstream)
        self._tls = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._tls else 80)

    async def __call__(self, scope, receive, send) -> None:
        if not is_s3_request(scope):
            await self.app(scope, receive, send)
            return
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    self._host, self._port, ssl=ssl.create_default_context() if self._tls else None
                ),
                CONNECT_TIMEOUT,
            )
        except (OSError, asyncio.TimeoutError) as e:
            log.warning("S3 server %s:%d unreachable: %s", self._host, self._port, e)
            await _s3_error(send, 503, "ServiceUnavailable", "The emulator's S3 server is not reachable.")
            return
        response = _Response(send)
        try:
            await _forward(scope, receive, response, reader, writer)
        except (h11.ProtocolError, OSError, _ClientGone) as e:
            # A header h11 cannot frame, a dropped connection on either side: S3's 502 if no
            # answer has started, else the client sees its connection end.
            log.info("S3 request %s %s not completed: %s", scope["method"], scope["path"], e)
            if not response.started:
                await _s3_error(send, 502, "BadGateway", "The request could not be passed to the S3 server.")
        finally:
            writer.close()


class _ClientGone(Exception):
    """The client disconnected before its request body was complete."""


class _Response:
    """The client side of `send`, remembering whether the answer has begun."""

    def __init__(self, send):
        self.send = send
        self.started = False

    async def __call__(self, message: dict) -> None:
        self.started = True
        await self.send(message)


async def _forward(scope, receive, send, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Sends the request (body streamed as it arrives) while relaying the response; a response
    that comes before the whole body (an early 403) ends the upload."""
    connection = h11.Connection(h11.CLIENT)
    target = scope.get("raw_path") or scope["path"].encode()
    if scope.get("query_string"):
        target += b"?" + scope["query_string"]
    headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
    if scope.get("http_version") == "2":  # h2c: no Host header, the authority pseudo-header's value
        if not any(k.lower() == b"host" for k, _ in headers):
            headers.insert(0, (b"host", _authority(scope)))
    if not any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in headers) and scope["method"] in (
        "PUT",
        "POST",
    ):
        headers.append((b"transfer-encoding", b"chunked"))  # a body of unknown length (HTTP/2)
    writer.write(connection.send(h11.Request(method=scope["method"], target=target, headers=headers)))
    upload = asyncio.ensure_future(_upload(connection, receive, writer))
    try:
        await _relay_response(connection, reader, send, upload)
    finally:
        if not upload.done():
            upload.cancel()
        await asyncio.gather(upload, return_exceptions=True)


async def _upload(connection: h11.Connection, receive, writer: asyncio.StreamWriter) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            writer.close()  # the S3 server sees the body cut short; the relay ends with it
            raise _ClientGone("client disconnected mid-body")
        body = message.get("body", b"")
        if body:
            writer.write(connection.send(h11.Data(data=body)))
            await writer.drain()
        if not message.get("more_body", False):
            writer.write(connection.send(h11.EndOfMessage()))
            await writer.drain()
            return


async def _relay_response(connection: h11.Connection, reader: asyncio.StreamReader, send, upload) -> None:
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(CHUNK)
            if not data and upload.done() and not upload.cancelled() and upload.exception():
                raise upload.exception()
            connection.receive_data(data)  # b"": the S3 server closed; h11 raises if mid-message
            continue
        if isinstance(event, h11.InformationalResponse):  # a 100 Continue the client never asked of us
            continue
        if isinstance(event, h11.Response):
            headers = [(k, v) for k, v in event.headers if k not in _HOP_BY_HOP and k != b"transfer-encoding"]
            await send({"type": "http.response.start", "status": event.status_code, "headers": headers})
        elif isinstance(event, h11.Data):
            await send({"type": "http.response.body", "body": bytes(event.data), "more_body": True})
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            if not send.started:
                raise h11.RemoteProtocolError("the S3 server closed the connection without an answer")
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return


def _authority(scope) -> bytes:
    host, port = scope.get("server") or ("127.0.0.1", 80)
    return f"{host}:{port}".encode()


async def _s3_error(send, status: int, code: str, message: str) -> None:
    """An S3-style XML error, as S3 clients parse them."""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    ).encode()
    headers = [(b"content-type", b"application/xml"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
