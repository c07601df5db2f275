"""A user's amazon-transcribe (awslabs, awscrt, HTTP/2 over TLS) session, run as a subprocess by
tests/streaming/test_http2_python.py.

    SSL_CERT_FILE=<emulator CA> python amazon_transcribe_client.py --endpoint https://127.0.0.1:PORT \
        --pcm FILE --sample-rate 16000 [--channels 2] [--pace 1.0] [--setting show_speaker_label=true ...]
        [--secret-key WRONG] [--malformed-after N]

Reads raw s16le PCM from --pcm, sends it in 100 ms AudioEvents (sleeping --pace x real time
between them; 0: as fast as possible), then ends the stream. Prints one JSON line per event:
{"t": seconds since start, "event": "result", "result": {...}} with the client's parsed Result
as a dict, then {"event": "done"} or {"event": "error", "code": ..., "message": ...}.
--malformed-after N writes garbage bytes instead of the (N+1)th event (to test the server's
answer to a malformed frame; the client's own serializer never produces one); --stall-after N
sends N events and then nothing (the server's no-audio timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from amazon_transcribe.auth import StaticCredentialResolver
from amazon_transcribe.client import TranscribeStreamingClient
from amazon_transcribe.endpoints import StaticEndpointResolver
from amazon_transcribe.model import TranscriptEvent

_BOOLEAN = {"true": True, "false": False}


def _plain(value):
    """The client's model objects as JSON-able dicts (attribute names as the SDK spells them)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k: _plain(v) for k, v in vars(value).items() if v is not None}
    return value


def _setting(text: str):
    name, _, raw = text.partition("=")
    if raw.lower() in _BOOLEAN:
        return name, _BOOLEAN[raw.lower()]
    if raw.isdigit():
        return name, int(raw)
    if name in ("language_options", "vocabulary_names", "vocab_filter_names"):
        return name, raw.split(",")
    return name, raw


def emit(start: float, **fields) -> None:
    print(json.dumps({"t": round(time.monotonic() - start, 3), **fields}), flush=True)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--access-key", default="test")
    parser.add_argument("--secret-key", default="test")
    parser.add_argument("--pcm", required=True)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--encoding", default="pcm")
    parser.add_argument("--pace", type=float, default=1.0)
    parser.add_argument("--language-code", default="en-US")
    parser.add_argument("--setting", action="append", default=[])
    parser.add_argument("--malformed-after", type=int, default=-1)
    parser.add_argument("--stall-after", type=int, default=-1, help="stop sending after N events, keep the stream open")
    args = parser.parse_args()

    client = TranscribeStreamingClient(
        region=args.region,
        endpoint_resolver=StaticEndpointResolver(args.endpoint),
        credential_resolver=StaticCredentialResolver(args.access_key, args.secret_key),
    )
    settings = dict(_setting(s) for s in args.setting)
    language_code = None if settings.get("identify_language") else args.language_code
    start = time.monotonic()
    try:
        stream = await client.start_stream_transcription(
            language_code=language_code,
            media_sample_rate_hz=args.sample_rate,
            media_encoding=args.encoding,
            **settings,
        )
    except Exception as error:  # the SDK raises its modelled exceptions here
        emit(start, event="error", code=type(error).__name__, message=str(getattr(error, "message", error)))
        return 0
    emit(start, event="headers")
    with open(args.pcm, "rb") as f:
        audio = f.read()
    chunk = args.sample_rate * 2 * args.channels // 10  # 100 ms
    if args.encoding != "pcm":
        chunk = 4000

    async def send() -> None:
        for n, offset in enumerate(range(0, len(audio), chunk)):
            if n == args.malformed_after:
                # Garbage where a signed event-stream message belongs (the SDK's own buffer).
                stream.input_stream._input_stream.write(b"\x00\x00\x00\x20" + b"not an event stream" * 3)
                break
            if n == args.stall_after:
                await asyncio.sleep(3600)  # the server is expected to end the stream first
            await stream.input_stream.send_audio_event(audio_chunk=audio[offset : offset + chunk])
            if args.pace:
                await asyncio.sleep(0.1 * args.pace)
        emit(start, event="sent")
        await stream.input_stream.end_stream()

    async def receive() -> None:
        try:
            async for event in stream.output_stream:
                if isinstance(event, TranscriptEvent):
                    for result in event.transcript.results:
                        emit(start, event="result", result=_plain(result))
        except Exception as error:
            emit(start, event="error", code=type(error).__name__, message=str(getattr(error, "message", error)))
            return
        emit(start, event="done")

    sender = asyncio.ensure_future(send())
    await receive()
    if not sender.done():
        sender.cancel()
    try:
        await sender
    except (asyncio.CancelledError, Exception):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
