"""Chunk signatures of HTTP/2 event streams (emulator.aws.event_signing, digest §6.3): the chain
verifies envelopes signed the way the SDKs sign them, seeded by a botocore-signed start request."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulator.aws.errors import BadRequestException
from emulator.aws.event_signing import ChunkSignatureChain, chunk_signature, is_signed_envelope, sign_envelope
from emulator.aws.eventstream import Timestamp, decode_message, encode_headers, encode_message
from emulator.aws.sigv4 import SigV4Verifier

REGION, SECRET = "us-east-1", "test-secret"
WHEN = datetime(2026, 11, 21, 12, 0, 0, tzinfo=timezone.utc)
AUDIO = encode_message({":message-type": "event", ":event-type": "AudioEvent"}, b"\x01\x02" * 800)
EMPTY_AUDIO = encode_message({":message-type": "event", ":event-type": "AudioEvent"}, b"")


def botocore_chunk_signature(prior_hex: str, date_ms: int, payload: bytes) -> bytes:
    """The same signature with botocore's SigV4 key derivation and HMAC (digest §6.3 string)."""
    stamp = datetime.fromtimestamp(date_ms / 1000, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256-PAYLOAD", stamp, f"{stamp[:8]}/{REGION}/transcribe/aws4_request", prior_hex,
        hashlib.sha256(encode_headers({":date": Timestamp(date_ms)})).hexdigest(),
        hashlib.sha256(payload).hexdigest(),
    ])
    request = AWSRequest("POST", "https://localhost/")
    request.context["timestamp"] = stamp
    return bytes.fromhex(SigV4Auth(Credentials("AKID", SECRET), "transcribe", REGION).signature(string_to_sign, request))


def signed_start_request() -> str:
    """A StartStreamTranscription request signed by botocore, verified: its signature (the seed)."""
    request = AWSRequest(
        "POST", "https://127.0.0.1:4443/stream-transcription",
        headers={"x-amzn-transcribe-language-code": "en-US", "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-EVENTS"},
    )
    SigV4Auth(Credentials("AKID", SECRET), "transcribe", REGION).add_auth(request)
    headers = [(k.lower(), v) for k, v in request.headers.items()] + [("host", "127.0.0.1:4443")]
    return SigV4Verifier({"AKID": SECRET}).verify_headers("POST", "/stream-transcription", "", headers, b"").signature


def test_signature_matches_botocore_key_derivation():
    date_ms = int(WHEN.timestamp()) * 1000
    assert chunk_signature(SECRET, REGION, "transcribe", "ab" * 32, date_ms, AUDIO) == botocore_chunk_signature(
        "ab" * 32, date_ms, AUDIO
    )


def test_chain_seeded_by_the_request_signature_opens_audio_then_ends():
    seed = signed_start_request()
    envelopes, prior = [], seed
    for payload in (AUDIO, EMPTY_AUDIO, b""):
        envelope, prior = sign_envelope(payload, prior, SECRET, REGION, WHEN)
        envelopes.append(decode_message(envelope))
    assert all(is_signed_envelope(e) for e in envelopes)
    chain = ChunkSignatureChain(seed, SECRET, REGION)
    assert [chain.open(e) for e in envelopes] == [AUDIO, EMPTY_AUDIO, None]


def test_wrong_seed_reordering_and_tampering_are_refused():
    seed = signed_start_request()
    first, prior = sign_envelope(AUDIO, seed, SECRET, REGION, WHEN)
    second, _ = sign_envelope(EMPTY_AUDIO, prior, SECRET, REGION, WHEN)
    with pytest.raises(BadRequestException, match="signature"):
        ChunkSignatureChain("00" * 32, SECRET, REGION).open(decode_message(first))
    with pytest.raises(BadRequestException):
        ChunkSignatureChain(seed, SECRET, REGION).open(decode_message(second))
    tampered = decode_message(first)
    tampered = type(tampered)(tampered.headers, tampered.payload[:-1] + b"\x00")
    with pytest.raises(BadRequestException):
        ChunkSignatureChain(seed, SECRET, REGION).open(tampered)


def test_envelopes_of_the_amazon_transcribe_signer_verify():
    from amazon_transcribe import eventstream
    from amazon_transcribe.auth import Credentials as ClientCredentials

    seed = signed_start_request()
    signer = eventstream.EventSigner("transcribe", REGION, utc_now=lambda: WHEN)
    serializer = eventstream.EventStreamMessageSerializer()
    chain = ChunkSignatureChain(seed, SECRET, REGION)
    prior = bytes.fromhex(seed)
    for payload in (AUDIO, b""):
        headers = signer.sign(payload, prior, ClientCredentials("AKID", SECRET))
        prior = headers[":chunk-signature"]
        assert chain.open(decode_message(serializer.serialize(headers, payload))) == (payload or None)
