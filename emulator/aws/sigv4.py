"""Server-side verification of AWS Signature Version 4 (header-signed and presigned).

Sources: TRANSCRIBE_API_DIGEST.md §6.1 (header-signed requests: the awsJson1.1 batch
API and the HTTP/2 `StartStreamTranscription` start request) and §6.2 (presigned
query-string requests: the WebSocket `/stream-transcription-websocket` URL);
the canonicalisation itself is botocore's (`botocore.auth.SigV4Auth`), so whatever
boto3/botocore signs verifies byte-for-byte.

How it works: the request as received is rebuilt as a `botocore.awsrequest.AWSRequest`
holding exactly the headers the client listed in `SignedHeaders`
(`X-Amz-SignedHeaders`), `request.context["timestamp"]` is set to the client's
`X-Amz-Date`, and `canonical_request → string_to_sign → signature` of a
`SigV4Auth` subclass whose `headers_to_sign()` returns only those headers computes
the signature the client should have sent. The comparison is constant-time.

Canonicalisation details this relies on (checked against botocore 1.44):

* Path: botocore uses `quote(remove_dot_segments(urlsplit(url).path), safe="/~")`,
  i.e. the path as it appears in the client's URL, encoded once more (non-S3 services
  double-encode). The caller must therefore pass the *raw* request target path as
  sent on the wire (ASGI `scope["raw_path"]`, HTTP/2 `:path`), not the decoded one:
  `/a%2Fb` then canonicalises to `/a%252Fb` on both sides.
* Query: the received query is decoded (`+` and `%XX`, as `parse_qsl`) and handed to
  botocore as params, which re-encodes them RFC 3986 style and sorts them. botocore's
  own wire encoding (`urlencode`, spaces as `+`) and presigned encoding
  (`percent_encode_sequence`) both round-trip through this.
* Headers: values are trimmed and inner whitespace runs collapsed by botocore's
  `_header_value`; a header that arrives several times keeps every value and botocore
  joins them with `,` (`canonical_headers` uses `get_all`).
* Payload hash: SHA-256 of the body as received, so the signature covers the body.
  `X-Amz-Content-SHA256`, when sent (signed or not), must equal that hash (hex, any
  case), or else be one of the caller's `streaming_payload_hashes`: a value such as
  `STREAMING-AWS4-HMAC-SHA256-EVENTS` that stands for a body verified later, event by
  event (digest §6.3), and is then used verbatim. Anything else, `UNSIGNED-PAYLOAD`
  included, is a mismatch. The header is put in the rebuilt request exactly once
  (botocore's `canonical_request` uses it as the payload hash). Presigned requests hash
  an empty body.

Error choices (exception classes from `emulator.aws.errors`; messages are AWS's
wording for JSON services where known, documented here where invented):

* no `Authorization` header / no `X-Amz-Algorithm` query parameter →
  MissingAuthenticationTokenException "Missing Authentication Token".
* Authorization header lacking parts (or no date header) → IncompleteSignatureException
  "Authorization header requires 'Credential' parameter. ... Authorization header
  requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=<value>"
  (only the missing parts; AWS's order).
* Unknown algorithm with all parts present → IncompleteSignatureException
  "Unsupported AWS 'algorithm': '<alg>'. Authorization=<value>" (emulator wording).
* Credential not `key/date/region/service/aws4_request` shaped →
  IncompleteSignatureException "Credential must have exactly 5 slash-delimited
  elements, e.g. keyid/date/region/service/term, got '<credential>'" (AWS wording).
* `host` (or `:authority`) not among the signed headers → IncompleteSignatureException
  "'Host' must be a 'SignedHeader' in the AWS Authorization." (AWS wording).
* X-Amz-Date (or Date) unparseable → IncompleteSignatureException "Date must be in
  ISO-8601 'basic format'. Got '<value>'. See http://en.wikipedia.org/wiki/ISO_8601".
* Scope checks → InvalidSignatureException, AWS wording:
  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from
  HTTP: '<scope>' != '<date>', from '<X-Amz-Date>'.";
  "Credential should be scoped to a valid region, not '<region>'. " (region empty or
  not `[a-z0-9-]`; any well-formed region is accepted, the caller may check it);
  "Credential should be scoped to correct service: 'transcribe'. ";
  "Credential should be scoped with a valid terminator: 'aws4_request', not '<t>'. ".
* Clock skew beyond `max_skew_seconds` → InvalidSignatureException
  "Signature expired: <date> is now earlier than <now-skew> (<now> - 15 min.)" or
  "Signature not yet current: <date> is still later than <now+skew> (<now> + 15 min.)".
  The span prints as "N min." when it is whole minutes, else "N sec.".
* Unknown access key → UnrecognizedClientException "The security token included in the
  request is invalid." (checked after the clock, as AWS does).
* Wrong signature → InvalidSignatureException "The request signature we calculated does
  not match the signature you provided. Check your AWS Secret Access Key and signing
  method. Consult the service documentation for details." The same error, checked after
  the access key, for an `X-Amz-Content-SHA256` that is not the hash of the body received
  (or is sent twice): AWS's wording for a mismatched payload hash.
* Presigned only (emulator wording, AWS's S3 equivalents differ):
  missing parameters → IncompleteSignatureException "AWS query-string parameters must
  include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date',
  'X-Amz-SignedHeaders', 'X-Amz-Expires'. Re-examine the query-string parameters.";
  X-Amz-Expires not a number / negative → IncompleteSignatureException
  "X-Amz-Expires should be a number" / "X-Amz-Expires must be non-negative";
  X-Amz-Expires above `max_expires` → InvalidSignatureException "X-Amz-Expires must be
  less than or equal to 300 seconds (5 min.) for this service, got 600.";
  URL past `X-Amz-Date + X-Amz-Expires` → InvalidSignatureException
  "Signature expired: <date> is now earlier than <now-expires> (<now> - 5 min.)";
  `X-Amz-Date` more than `max_skew_seconds` ahead → "Signature not yet current: ...".

Session tokens (`X-Amz-Security-Token`) are accepted whatever their value: they are
covered by the signature (signed header, or a query parameter for presigned URLs).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from emulator.aws.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

__all__ = ["ALGORITHM", "EVENT_STREAM_PAYLOAD_HASHES", "SignedIdentity", "SigV4Verifier", "region_from_unverified"]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_TIMESTAMP_RE = re.compile(r"^\d{8}T\d{6}Z$")
_REGION_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Any host works: botocore only reads the URL's path (and its scheme, to decide
# payload signing, which is on for both); the `host` value comes from the headers.
_URL_BASE = "https://localhost"

MSG_MISSING_TOKEN = "Missing Authentication Token"
MSG_UNRECOGNIZED = "The security token included in the request is invalid."
MSG_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
# X-Amz-Content-SHA256 values an event-stream start request may declare (digest §6.3):
# the body that follows is signed message by message (or, as the streaming endpoints also
# accept, not signed), so it is not hashed here. awsJson requests accept none of them.
EVENT_STREAM_PAYLOAD_HASHES = frozenset({"STREAMING-AWS4-HMAC-SHA256-EVENTS", "UNSIGNED-PAYLOAD"})
MSG_HOST_NOT_SIGNED = "'Host' must be a 'SignedHeader' in the AWS Authorization."
_PRESIGN_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
MSG_PRESIGN_MISSING = (
    "AWS query-string parameters must include "
    + ", ".join(f"'{name}'" for name in _PRESIGN_REQUIRED)
    + ". Re-examine the query-string parameters."
)

HeadersInput = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class SignedIdentity:
    """Who signed a verified request, and the values that seed event signing (§6.3)."""

    access_key: str
    region: str  # from the credential scope
    service: str
    signature: str  # lower-case hex; the first `prior` of the event-stream chain
    signing_date: str  # the X-Amz-Date value, YYYYMMDDTHHMMSSZ


class _VerifyingSigV4Auth(SigV4Auth):
    """botocore's SigV4Auth, restricted to the headers the client says it signed.

    botocore's default `headers_to_sign()` drops hop-by-hop and tracing headers
    (`user-agent`, `expect`, `transfer-encoding`, ...) and invents `host` from the URL;
    a non-botocore client may have signed any of those, so the client's list rules.
    """

    def __init__(self, credentials: Credentials, service: str, region: str, signed: list[str]):
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        header_map = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or ():
                header_map[name] = value
        return header_map


@dataclass
class _Scope:
    access_key: str
    date: str
    region: str
    service: str
    terminator: str


def _to_str(value: str | bytes) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return value


def _header_list(headers: HeadersInput) -> list[tuple[str, str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(_to_str(name).lower(), _to_str(value)) for name, value in items]


def _first(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _format_ts(moment: datetime) -> str:
    return moment.strftime(_TIMESTAMP_FORMAT)


def _span(seconds: int) -> str:
    if seconds % 60 == 0:
        return f"{seconds // 60} min."
    return f"{seconds} sec."


def _bad_date(value: str) -> IncompleteSignatureException:
    return IncompleteSignatureException(
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _parse_amz_date(value: str) -> datetime:
    if not _TIMESTAMP_RE.match(value):
        raise _bad_date(value)
    try:
        return datetime.strptime(value, _TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise _bad_date(value) from None


def _parse_http_date(value: str) -> datetime:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise _bad_date(value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _payload_hash(headers: list[tuple[str, str]], body: bytes, streaming: Collection[str]) -> str:
    """The payload hash of the canonical request: the X-Amz-Content-SHA256 value when it
    is the SHA-256 of `body` (hex, any case) or one of `streaming`; else a mismatch."""
    declared = [value.strip() for name, value in headers if name == "x-amz-content-sha256"]
    if not declared:
        return hashlib.sha256(body).hexdigest()
    if len(declared) > 1:
        raise InvalidSignatureException(MSG_MISMATCH)
    value = declared[0]
    if value in streaming:
        return value
    if not hmac.compare_digest(value.lower().encode(), hashlib.sha256(body).hexdigest().encode()):
        raise InvalidSignatureException(MSG_MISMATCH)
    return value


def _split_credential(credential: str) -> _Scope:
    parts = credential.split("/")
    if len(parts) != 5:
        raise IncompleteSignatureException(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'"
        )
    return _Scope(*parts)


def region_from_unverified(headers: HeadersInput = (), query_string: str = "") -> str | None:
    """The region of the credential scope `key/date/REGION/service/aws4_request` of a request
    that is not verified (signature checks off), from the `Authorization` header's
    `Credential=` (headers: name, value pairs, str or bytes) or the presigned URL's
    `X-Amz-Credential` (query_string: the raw query). None when neither carries a scope of at
    least 5 elements with a region."""
    for credential in _unverified_credentials(headers, query_string):
        region = _scope_region(credential)
        if region:
            return region
    return None


def service_from_unverified(headers: HeadersInput = (), query_string: str = "") -> str | None:
    """The service (`s3`, `transcribe`) of an unverified request's credential scope
    `key/date/region/SERVICE/aws4_request`, read as region_from_unverified reads the region;
    None when no well-formed scope is there. What the API port routes on (emulator.s3_proxy)."""
    for credential in _unverified_credentials(headers, query_string):
        parts = credential.split("/")
        if len(parts) == 5 and parts[4] == "aws4_request" and parts[3]:
            return parts[3]
    return None


def _unverified_credentials(headers: HeadersInput, query_string: str):
    """The credential scopes a request carries: the Authorization header's, then the query's."""
    for name, value in _header_list(headers):
        if name == "authorization" and "Credential=" in value:
            yield value.split("Credential=", 1)[1].split(",", 1)[0].strip()
    for name, value in parse_qsl(query_string):
        if name == "X-Amz-Credential":
            yield value


def _scope_region(credential: str) -> str | None:
    parts = credential.split("/")
    return parts[2] if len(parts) >= 5 and parts[2] else None


def _split_path(path: str, query_string: str) -> tuple[str, str]:
    # Convenience for HTTP/2 `:path`, which carries the query.
    if "?" in path and not query_string:
        path, _, query_string = path.partition("?")
    return path, query_string


def _parse_authorization(value: str) -> tuple[str, dict[str, str]]:
    """Split `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`."""
    text = value.strip()
    algorithm, _, rest = text.partition(" ")
    if "=" in algorithm:  # no algorithm token at all
        algorithm, rest = "", text
    params: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if sep and key and key not in params:
            params[key] = val.strip()
    return algorithm, params


class SigV4Verifier:
    """Verify SigV4-signed requests against a table of access keys.

    `credentials` maps access key id → secret access key (kept by reference, so a
    mutable mapping may change later). `service` is the signing name every credential
    scope must carry ("transcribe" for both the batch and the streaming API).
    `max_skew_seconds` bounds |now − X-Amz-Date| (AWS: 15 minutes). `clock` returns the
    current time (aware, or naive UTC); tests inject it.

    Source: digest §6.1/§6.2, botocore.auth.SigV4Auth.
    """

    def __init__(
        self,
        credentials: Mapping[str, str],
        service: str = "transcribe",
        max_skew_seconds: int = 900,
        clock: Callable[[], datetime] = _utc_now,
    ):
        self._credentials = credentials
        self.service = service
        self.max_skew_seconds = int(max_skew_seconds)
        self._clock = clock

    # --- public API -------------------------------------------------------------

    def verify_headers(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: HeadersInput,
        body: bytes,
        *,
        streaming_payload_hashes: Collection[str] = EVENT_STREAM_PAYLOAD_HASHES,
    ) -> SignedIdentity:
        """Verify a request signed with an `Authorization: AWS4-HMAC-SHA256 ...` header.

        Inputs: the HTTP method; the *raw* (still percent-encoded) path as sent; the raw
        query string without `?` (a query left on `path` is split off when this is
        empty); the headers (names any case, repeats allowed, values `str` or `bytes`,
        bytes decoded as UTF-8); the complete body as received (bytes; the payload hash
        is its SHA-256). `streaming_payload_hashes`: the `X-Amz-Content-SHA256` values
        accepted verbatim instead of the body's hash, for a body the caller verifies
        itself (default, for event-stream start requests: `STREAMING-AWS4-HMAC-SHA256-EVENTS`
        and `UNSIGNED-PAYLOAD`; awsJson passes none, so both are refused there). `host`
        comes from the `host` header, else `:authority`.

        Returns the SignedIdentity. Raises MissingAuthenticationTokenException,
        IncompleteSignatureException, InvalidSignatureException (scope, clock skew,
        payload hash or signature mismatch) or UnrecognizedClientException (unknown
        access key); see the module docstring for the messages. Source: digest §6.1.
        """
        path, query_string = _split_path(path, query_string)
        header_list = _header_list(headers)
        authorization = _first(header_list, "authorization")
        if authorization is None:
            raise MissingAuthenticationTokenException(MSG_MISSING_TOKEN)

        algorithm, params = _parse_authorization(authorization)
        amz_date_header = _first(header_list, "x-amz-date")
        date_header = _first(header_list, "date")
        missing = [
            f"Authorization header requires '{name}' parameter."
            for name in ("Credential", "Signature", "SignedHeaders")
            if name not in params
        ]
        if amz_date_header is None and date_header is None:
            missing.append(
                "Authorization header requires existence of either a 'X-Amz-Date' "
                "or a 'Date' header."
            )
        if missing:
            raise IncompleteSignatureException(
                " ".join(missing) + f" Authorization={authorization}"
            )
        if algorithm != ALGORITHM:
            raise IncompleteSignatureException(
                f"Unsupported AWS 'algorithm': '{algorithm}'. Authorization={authorization}"
            )

        scope = _split_credential(params["Credential"])
        signed = self._signed_header_names(params["SignedHeaders"])
        if amz_date_header is not None:
            amz_date = amz_date_header.strip()
            signing_time = _parse_amz_date(amz_date)
        else:
            signing_time = _parse_http_date(date_header or "")
            amz_date = _format_ts(signing_time)

        self._check_scope(scope, amz_date)
        self._check_skew(amz_date, signing_time)
        secret = self._secret_for(scope.access_key)

        content_sha = _payload_hash(header_list, body, streaming_payload_hashes)
        request = self._rebuild(
            method, path, query_string, header_list, signed, body, content_sha256=content_sha
        )
        return self._check_signature(request, scope, secret, signed, amz_date, params["Signature"])

    def verify_presigned(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: HeadersInput,
        max_expires: int = 300,
    ) -> SignedIdentity:
        """Verify a presigned (query-string) request, e.g. the WebSocket upgrade GET.

        Inputs as for `verify_headers` (no body: the payload hash is SHA-256 of
        nothing); `max_expires` caps `X-Amz-Expires` (Transcribe streaming: 300 s).
        The canonical query is every received parameter except `X-Amz-Signature`.

        Returns the SignedIdentity. Raises MissingAuthenticationTokenException (no
        `X-Amz-Algorithm`), IncompleteSignatureException (missing/malformed
        parameters), InvalidSignatureException (scope, expiry, X-Amz-Expires too
        large, mismatch) or UnrecognizedClientException. Source: digest §6.2.
        """
        path, query_string = _split_path(path, query_string)
        header_list = _header_list(headers)
        pairs = parse_qsl(query_string, keep_blank_values=True)
        query: dict[str, str] = {}
        for key, value in pairs:
            query.setdefault(key, value)
        if "X-Amz-Algorithm" not in query:
            raise MissingAuthenticationTokenException(MSG_MISSING_TOKEN)
        if any(name not in query for name in _PRESIGN_REQUIRED):
            raise IncompleteSignatureException(MSG_PRESIGN_MISSING)
        if query["X-Amz-Algorithm"] != ALGORITHM:
            raise IncompleteSignatureException(
                f"Unsupported AWS 'algorithm': '{query['X-Amz-Algorithm']}'."
            )

        scope = _split_credential(query["X-Amz-Credential"])
        signed = self._signed_header_names(query["X-Amz-SignedHeaders"])
        amz_date = query["X-Amz-Date"]
        signing_time = _parse_amz_date(amz_date)
        expires = self._parse_expires(query["X-Amz-Expires"], max_expires)

        self._check_scope(scope, amz_date)
        now = self._now()
        if now > signing_time + timedelta(seconds=expires):
            raise InvalidSignatureException(
                f"Signature expired: {amz_date} is now earlier than "
                f"{_format_ts(now - timedelta(seconds=expires))} "
                f"({_format_ts(now)} - {_span(expires)})"
            )
        self._check_not_future(amz_date, signing_time, now)
        secret = self._secret_for(scope.access_key)

        unsigned_pairs = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
        request = self._rebuild(
            method, path, unsigned_pairs, header_list, signed, b"", content_sha256=None
        )
        return self._check_signature(
            request, scope, secret, signed, amz_date, query["X-Amz-Signature"]
        )

    # --- shared steps -----------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            return now.replace(tzinfo=timezone.utc)
        return now.astimezone(timezone.utc)

    @staticmethod
    def _signed_header_names(value: str) -> list[str]:
        names = [name.strip().lower() for name in value.split(";") if name.strip()]
        if "host" not in names and ":authority" not in names:
            raise IncompleteSignatureException(MSG_HOST_NOT_SIGNED)
        return names

    @staticmethod
    def _parse_expires(value: str, max_expires: int) -> int:
        try:
            expires = int(value)
        except ValueError:
            raise IncompleteSignatureException("X-Amz-Expires should be a number") from None
        if expires < 0:
            raise IncompleteSignatureException("X-Amz-Expires must be non-negative")
        if expires > max_expires:
            raise InvalidSignatureException(
                f"X-Amz-Expires must be less than or equal to {max_expires} seconds "
                f"({_span(max_expires)}) for this service, got {expires}."
            )
        return expires

    def _check_scope(self, scope: _Scope, amz_date: str) -> None:
        if scope.date != amz_date[:8]:
            raise InvalidSignatureException(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                f"of date from HTTP: '{scope.date}' != '{amz_date[:8]}', from '{amz_date}'."
            )
        if not _REGION_RE.match(scope.region):
            raise InvalidSignatureException(
                f"Credential should be scoped to a valid region, not '{scope.region}'. "
            )
        if scope.service != self.service:
            raise InvalidSignatureException(
                f"Credential should be scoped to correct service: '{self.service}'. "
            )
        if scope.terminator != TERMINATOR:
            raise InvalidSignatureException(
                "Credential should be scoped with a valid terminator: "
                f"'{TERMINATOR}', not '{scope.terminator}'. "
            )

    def _check_skew(self, amz_date: str, signing_time: datetime) -> None:
        now = self._now()
        skew = timedelta(seconds=self.max_skew_seconds)
        if signing_time < now - skew:
            raise InvalidSignatureException(
                f"Signature expired: {amz_date} is now earlier than "
                f"{_format_ts(now - skew)} ({_format_ts(now)} - {_span(self.max_skew_seconds)})"
            )
        self._check_not_future(amz_date, signing_time, now)

    def _check_not_future(self, amz_date: str, signing_time: datetime, now: datetime) -> None:
        skew = timedelta(seconds=self.max_skew_seconds)
        if signing_time > now + skew:
            raise InvalidSignatureException(
                f"Signature not yet current: {amz_date} is still later than "
                f"{_format_ts(now + skew)} ({_format_ts(now)} + {_span(self.max_skew_seconds)})"
            )

    def _secret_for(self, access_key: str) -> str:
        secret = self._credentials.get(access_key)
        if secret is None:
            raise UnrecognizedClientException(MSG_UNRECOGNIZED)
        return secret

    @staticmethod
    def _rebuild(
        method: str,
        path: str,
        query: str | list[tuple[str, str]],
        header_list: list[tuple[str, str]],
        signed: list[str],
        body: bytes,
        content_sha256: str | None,
    ) -> AWSRequest:
        """The received request as an AWSRequest botocore can canonicalise (§6.1 step 4)."""
        pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else query
        request = AWSRequest(method=method.upper(), url=_URL_BASE + path, data=body, params=pairs)
        present = {name for name, _ in header_list}
        # HTTP/2 carries the host as `:authority`; ASGI servers hand it over as `host`. A client
        # may have signed either name (the JS SDK signs `:authority`): read it from the other.
        other = {"host": ":authority", ":authority": "host"}
        for name in dict.fromkeys(signed):  # each signed name once, all its values
            source = other[name] if name in other and name not in present else name
            for key, value in header_list:
                if key == source:
                    request.headers[name] = value
        if content_sha256 is not None and "x-amz-content-sha256" not in signed:
            request.headers["X-Amz-Content-SHA256"] = content_sha256
        return request

    def _check_signature(
        self,
        request: AWSRequest,
        scope: _Scope,
        secret: str,
        signed: list[str],
        amz_date: str,
        client_signature: str,
    ) -> SignedIdentity:
        request.context["timestamp"] = amz_date
        signer = _VerifyingSigV4Auth(
            Credentials(scope.access_key, secret), scope.service, scope.region, signed
        )
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        expected = signer.signature(string_to_sign, request)
        if not hmac.compare_digest(
            expected.encode("utf-8"), client_signature.strip().encode("utf-8")
        ):
            raise InvalidSignatureException(MSG_MISMATCH)
        return SignedIdentity(
            access_key=scope.access_key,
            region=scope.region,
            service=scope.service,
            signature=expected,
            signing_date=amz_date,
        )
