"""Chunk signatures of event-stream envelopes (HTTP/2 streaming input), verified as a chain.

Source: TRANSCRIBE_API_DIGEST.md §6.3 and the SDK signers (amazon-transcribe
`eventstream.EventSigner`, smithy `aws_sdk_signers`): every message the client sends is
wrapped in an outer message whose only headers are `:date` (timestamp, ms) and
`:chunk-signature` (32 raw bytes); the outer payload is the encoded inner message
(AudioEvent), or empty for the end-of-stream envelope. With `prior` = the hex signature of
the previous envelope (the first one: the request's SigV4 `Signature`):

    string_to_sign = "AWS4-HMAC-SHA256-PAYLOAD\\n" + <:date as YYYYMMDDTHHMMSSZ> + "\\n"
                   + "<YYYYMMDD>/<region>/<service>/aws4_request\\n" + prior + "\\n"
                   + hex(SHA256(encoded :date header)) + "\\n" + hex(SHA256(outer payload))
    :chunk-signature = HMAC-SHA256(signing key of (secret, YYYYMMDD, region, service), string_to_sign)

Use (server side):

    chain = ChunkSignatureChain(identity.signature, secret_key, identity.region)
    for message in decoder.feed(data):
        if is_signed_envelope(message):
            inner = chain.open(message)      # bytes of the inner message, None at end of stream
        else:
            inner = None                      # an unsigned AudioEvent (WebSocket clients send these)

`chain.open` raises `BadRequestException` when the envelope is malformed or its signature
does not continue the chain (the client's next envelopes cannot verify either: the stream is
over). `sign_envelope` is the client side of the same computation (tests, tools).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone

from emulator.aws.errors import BadRequestException
from emulator.aws.eventstream import Message, Timestamp, encode_headers, encode_message

__all__ = [
    "ChunkSignatureChain",
    "is_signed_envelope",
    "sign_envelope",
    "chunk_signature",
    "MSG_CHUNK_SIGNATURE_MISMATCH",
]

ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
_FORMAT = "%Y%m%dT%H%M%SZ"
# Emulator wording modelled on SigV4's mismatch message; AWS does not document this one.
MSG_CHUNK_SIGNATURE_MISMATCH = (
    "The event signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
MSG_MALFORMED_ENVELOPE = (
    "A signed event must carry the ':date' (timestamp) and ':chunk-signature' (bytes) headers."
)


def is_signed_envelope(message: Message) -> bool:
    """True when the message is a signing wrapper (has `:chunk-signature`, no `:message-type`)."""
    return ":chunk-signature" in message.headers and ":message-type" not in message.headers


def _signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(b"AWS4" + secret_key.encode("utf-8"), day.encode("utf-8"), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def chunk_signature(
    secret_key: str, region: str, service: str, prior_hex: str, date_ms: int, payload: bytes
) -> bytes:
    """The 32-byte `:chunk-signature` of an envelope with `:date` = date_ms and this payload."""
    moment = datetime.fromtimestamp(date_ms / 1000, tz=timezone.utc)
    stamp = moment.strftime(_FORMAT)
    day = stamp[:8]
    string_to_sign = "\n".join(
        (
            ALGORITHM,
            stamp,
            f"{day}/{region}/{service}/aws4_request",
            prior_hex,
            hashlib.sha256(encode_headers({":date": Timestamp(date_ms)})).hexdigest(),
            hashlib.sha256(payload).hexdigest(),
        )
    )
    key = _signing_key(secret_key, day, region, service)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).digest()


def sign_envelope(
    payload: bytes, prior_hex: str, secret_key: str, region: str, when: datetime, service: str = "transcribe"
) -> tuple[bytes, str]:
    """Client side: (encoded envelope carrying `payload`, its signature hex = the next prior)."""
    moment = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    date_ms = int(moment.timestamp()) * 1000  # SDKs send whole seconds
    signature = chunk_signature(secret_key, region, service, prior_hex, date_ms, payload)
    envelope = encode_message({":date": Timestamp(date_ms), ":chunk-signature": signature}, payload)
    return envelope, signature.hex()


class ChunkSignatureChain:
    """Verifies consecutive envelopes of one stream.

    seed_signature: the hex SigV4 signature of the start request
    (`emulator.aws.sigv4.SignedIdentity.signature`); secret_key: the signer's secret;
    region/service: the request's credential scope. Not thread-safe; one per stream.
    """

    def __init__(self, seed_signature: str, secret_key: str, region: str, service: str = "transcribe"):
        self._prior = seed_signature.strip().lower()
        self._secret_key = secret_key
        self.region = region
        self.service = service
        self.count = 0  # envelopes verified so far

    def open(self, envelope: Message) -> bytes | None:
        """Verify one envelope; return its payload (the inner message bytes), or None for the
        empty end-of-stream envelope. Raises BadRequestException (malformed envelope, or a
        signature that does not continue the chain)."""
        date = envelope.headers.get(":date")
        signature = envelope.headers.get(":chunk-signature")
        if not isinstance(date, int) or isinstance(date, bool) or not isinstance(signature, bytes):
            raise BadRequestException(MSG_MALFORMED_ENVELOPE)
        expected = chunk_signature(
            self._secret_key, self.region, self.service, self._prior, int(date), envelope.payload
        )
        if not hmac.compare_digest(expected, signature):
            raise BadRequestException(MSG_CHUNK_SIGNATURE_MISMATCH)
        self._prior = expected.hex()
        self.count += 1
        return envelope.payload or None
