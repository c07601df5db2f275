"""A user's aws-sdk-transcribe-streaming (Python >= 3.12, smithy, awscrt HTTP/2) session, run in a
throwaway Python 3.12 venv by tests/streaming/test_http2_python.py.

    SSL_CERT_FILE=<emulator CA> python3.12 smithy_client.py --endpoint https://127.0.0.1:PORT \
        --pcm FILE [--medical] [--pace 1.0] [--setting show_speaker_label=true ...]

Output: JSON lines as tests/streaming/amazon_transcribe_client.py prints them ({"event":
"headers" | "result" | "sent" | "done" | "error", ...}); results are the SDK's dataclasses as
dicts (snake_case member names).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time

from aws_sdk_transcribe_streaming.client import AsyncTranscribeStreamingClient
from aws_sdk_transcribe_streaming.config import AsyncTranscribeStreamingConfig
from aws_sdk_transcribe_streaming.models import (
    AudioEvent,
    AudioStreamAudioEvent,
    StartMedicalStreamTranscriptionInput,
    StartStreamTranscriptionInput,
)
from smithy_aws_core.identity import AWSCredentialsIdentity
from smithy_aws_core.identity.static import StaticCredentialsResolver
from smithy_http.aio.crt import AWSCRTHTTPClient
from smithy_http.interfaces import HTTPClientConfiguration

_BOOLEAN = {"true": True, "false": False}


def _plain(value):
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    return value


def _setting(text: str):
    name, _, raw = text.partition("=")
    if raw.lower() in _BOOLEAN:
        return name, _BOOLEAN[raw.lower()]
    if raw.isdigit():
        return name, int(raw)
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
    parser.add_argument("--pace", type=float, default=1.0)
    parser.add_argument("--medical", action="store_true")
    parser.add_argument("--setting", action="append", default=[])
    args = parser.parse_args()

    client = AsyncTranscribeStreamingClient(
        config=await AsyncTranscribeStreamingConfig.resolve(
            endpoint_uri=args.endpoint,
            region=args.region,
            aws_credentials_identity_resolver=StaticCredentialsResolver(
                AWSCredentialsIdentity(access_key_id=args.access_key, secret_access_key=args.secret_key)
            ),
            transport=AWSCRTHTTPClient(client_config=HTTPClientConfiguration(force_http_2=True)),
        )
    )
    settings = dict(_setting(s) for s in args.setting)
    common = dict(language_code="en-US", media_sample_rate_hertz=args.sample_rate, media_encoding="pcm")
    start = time.monotonic()
    try:
        if args.medical:
            settings.setdefault("specialty", "PRIMARYCARE")
            settings.setdefault("type", "DICTATION")
            stream = await client.start_medical_stream_transcription(
                input=StartMedicalStreamTranscriptionInput(**common, **settings)
            )
        else:
            stream = await client.start_stream_transcription(input=StartStreamTranscriptionInput(**common, **settings))
    except Exception as error:
        emit(start, event="error", code=type(error).__name__, message=str(error))
        return 0
    with open(args.pcm, "rb") as f:
        audio = f.read()
    chunk = args.sample_rate * 2 // 10  # 100 ms

    async def send() -> None:
        for offset in range(0, len(audio), chunk):
            await stream.input_stream.send(AudioStreamAudioEvent(value=AudioEvent(audio_chunk=audio[offset : offset + chunk])))
            if args.pace:
                await asyncio.sleep(0.1 * args.pace)
        emit(start, event="sent")
        await stream.input_stream.close()

    sender = asyncio.create_task(send())
    try:
        output, receiver = await stream.await_output()
        emit(start, event="headers", session_id=getattr(output, "session_id", None))
        async for event in receiver:
            value = getattr(event, "value", None)
            transcript = getattr(value, "transcript", None)
            if transcript is None:
                emit(start, event="error", code=type(event).__name__, message=str(_plain(value)))
                continue
            for result in transcript.results or []:
                emit(start, event="result", result=_plain(result))
    except Exception as error:
        emit(start, event="error", code=type(error).__name__, message=str(error))
    else:
        emit(start, event="done")
    await sender
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
