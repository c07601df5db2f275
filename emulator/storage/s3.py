"""S3 access through the `minio` client: the media the jobs read, the transcripts they write.

Works against any S3 server (the embedded SeaweedFS, MinIO in compose).

Failure model: every call has CONNECT_TIMEOUT / READ_TIMEOUT and urllib3's bounded RETRIES,
so no call hangs on a frozen server for more than ~36 s; errors leave as ObjectNotFound,
StorageUnavailable (refused, timed out, 5xx: worth retrying) or StorageError (anything
else, e.g. AccessDenied). Background work wraps its calls in `patiently()`, which waits out
an outage of up to OUTAGE_GRACE (60 s); request paths never do, and never call S3 at all
unless the operation needs the object (presigning is a pure computation here).
"""

from __future__ import annotations

import errno
import io
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable, TypeVar
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

log = logging.getLogger(__name__)
T = TypeVar("T")
# urllib3 logs a warning for each retry it makes; our StorageUnavailable (and patiently's
# one line per outage) already say it, so its retries stay quiet.
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


class ObjectNotFound(Exception):
    """The bucket or the key does not exist (S3 NoSuchBucket / NoSuchKey)."""


class StorageError(Exception):
    """Any other S3 failure (access denied, server down)."""


class StorageUnavailable(StorageError):
    """The S3 server could not be reached or answered 5xx (refused, timed out, restarting):
    worth retrying, unlike AccessDenied or NoSuchKey."""


# S3 error codes that mean "try again later", not "you may not".
_TRANSIENT_CODES = {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "ServerBusy"}

# The data client's limits: a connection to a local S3 server takes milliseconds, so 2 s
# means it is down; 15 s without a byte on an open connection means it hangs (frozen,
# overloaded). urllib3 then retries twice (once for a read, since a frozen server would
# only hang again), 0.25 s and 0.5 s apart. Worst case for one call: ~36 s.
CONNECT_TIMEOUT = 2.0  # seconds
READ_TIMEOUT = 15.0  # seconds between bytes, not for a whole transfer
RETRIES = urllib3.Retry(
    total=2, connect=2, read=1, status=2, backoff_factor=0.25,
    status_forcelist=(500, 502, 503, 504), raise_on_status=False,
)

# How long a background step (a job, a vocabulary, a language model) waits out an S3
# outage before it fails: long enough for the embedded server's watchdog to restart it
# (about 1-3 s) or for a container to come back, short enough that a job does not hang.
OUTAGE_GRACE = 60.0  # seconds


@dataclass(frozen=True)
class ObjectInfo:
    size: int  # bytes
    content_type: str | None


def _client(endpoint: str, access_key: str, secret_key: str, region: str, http_client=None) -> Minio:
    parts = urlsplit(endpoint)
    # A region keeps minio from asking the server for the bucket location before each call
    # and makes presigning a pure computation.
    return Minio(
        parts.netloc,
        access_key=access_key,
        secret_key=secret_key,
        secure=parts.scheme == "https",
        region=region,
        http_client=http_client,
    )


PING_TIMEOUT = 2.0  # seconds, connect and read, no retries: a health probe must not hang


class ObjectStore:
    """Blocking S3 operations; call them from worker threads, never the event loop."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        public_endpoint: str | None = None,
    ):
        self.endpoint = endpoint.rstrip("/")
        self.public_endpoint = (public_endpoint or endpoint).rstrip("/")
        self._client = _client(
            self.endpoint, access_key, secret_key, region,
            http_client=urllib3.PoolManager(
                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT), retries=RETRIES, maxsize=16
            ),
        )
        self._presigner = _client(self.public_endpoint, access_key, secret_key, region)
        self._prober = _client(
            self.endpoint, access_key, secret_key, region,
            http_client=urllib3.PoolManager(timeout=urllib3.Timeout(PING_TIMEOUT, PING_TIMEOUT), retries=False),
        )

    def _call(self, fn, *args, **kwargs):
        """Runs one minio call; every failure leaves as ObjectNotFound, StorageUnavailable
        (retry may help) or StorageError, with a message that names S3 and the cause."""
        try:
            return fn(*args, **kwargs)
        except S3Error as e:
            if e.code in ("NoSuchKey", "NoSuchBucket", "NoSuchObject", "ResourceNotFound"):
                raise ObjectNotFound(f"{e.code}: {e.bucket_name}/{e.object_name}") from e
            if e.code in _TRANSIENT_CODES:
                raise StorageUnavailable(f"S3 at {self.endpoint} answered {e.code}: {e.message}") from e
            raise StorageError(f"{e.code}: {e.message}") from e
        except urllib3.exceptions.HTTPError as e:  # refused, timeouts, retries exhausted (MaxRetryError)
            raise StorageUnavailable(f"S3 at {self.endpoint} unreachable ({_cause(e)})") from e
        except MinioException as e:  # InvalidResponseError: a 5xx without an S3 error document
            raise StorageUnavailable(f"S3 at {self.endpoint} answered badly ({str(e).splitlines()[0][:200]})") from e
        except OSError as e:  # a socket or local file error outside urllib3
            if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
                raise  # our own disk (a download's target), not S3: the caller reports it
            raise StorageUnavailable(f"S3 at {self.endpoint} unreachable ({type(e).__name__}: {e})") from e
        except ValueError as e:  # minio refuses an argument (an invalid bucket name)
            raise StorageError(str(e)) from e

    def ping(self) -> None:
        """One signed ListBuckets with PING_TIMEOUT and no retries. Raises StorageError."""
        self._call(self._prober.list_buckets)

    def bucket_exists(self, bucket: str) -> bool:
        return bool(self._call(self._client.bucket_exists, bucket))

    def list_buckets(self) -> list[str]:
        """Bucket names, sorted. Raises StorageError."""
        return sorted(b.name for b in self._call(self._client.list_buckets))

    def ensure_bucket(self, bucket: str) -> None:
        """Creates `bucket` unless it exists. Raises StorageError, StorageUnavailable."""
        if self.bucket_exists(bucket):
            return

        def make() -> None:
            try:
                self._client.make_bucket(bucket)
            except S3Error as e:
                if e.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

        self._call(make)

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        """Raises ObjectNotFound, StorageError."""
        st = self._call(self._client.stat_object, bucket, key)
        return ObjectInfo(size=int(st.size or 0), content_type=st.content_type)

    def download(self, bucket: str, key: str, path: Path) -> None:
        """Writes the object to `path`. Raises ObjectNotFound, StorageError, OSError (ENOSPC:
        no room for the copy on the local disk)."""
        self._call(self._client.fget_object, bucket, key, str(path))

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        """Keys under `prefix` (S3 prefix semantics, recursive), folder markers left out.
        Raises ObjectNotFound (no such bucket), StorageError."""

        def listing() -> list[str]:
            found = self._client.list_objects(bucket, prefix=prefix or None, recursive=True)
            return [o.object_name for o in found if not o.is_dir and not o.object_name.endswith("/")]

        return self._call(listing)

    def get_bytes(self, bucket: str, key: str) -> bytes:
        """The whole object. Raises ObjectNotFound, StorageError."""

        def read() -> bytes:
            response = self._client.get_object(bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return self._call(read)

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        self._call(self._client.put_object, bucket, key, io.BytesIO(data), len(data), content_type=content_type)

    def delete(self, bucket: str, key: str) -> None:
        self._call(self._client.remove_object, bucket, key)

    def presigned_get(self, bucket: str, key: str, expires: timedelta) -> str:
        """A GET URL on the public endpoint, valid for `expires`."""
        return self._presigner.presigned_get_object(bucket, key, expires=expires)


def _cause(error: Exception) -> str:
    """The root of a urllib3 error in a few words: "ConnectTimeoutError", "connection refused"."""
    reason = getattr(error, "reason", None) or error
    text = str(reason)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return f"timed out: {type(reason).__name__}"
    return type(reason).__name__


def patiently(call: Callable[[], T], grace: float = OUTAGE_GRACE, what: str = "S3 call") -> T:
    """Runs `call`, retrying StorageUnavailable with backoff (0.5 s doubling to 8 s) until
    `grace` seconds have passed; then raises the last StorageUnavailable. For background
    work only (jobs, vocabularies, language models): never on a request path. Logs one
    warning when the outage starts and one line when it ends."""
    started = time.monotonic()
    deadline = started + grace
    delay = 0.5
    failed = False
    while True:
        try:
            result = call()
        except StorageUnavailable as e:
            left = deadline - time.monotonic()
            if left <= 0:
                log.error("%s: gave up after %.0f s: %s", what, grace, e)
                raise
            if not failed:
                log.warning("%s failed, retrying for up to %.0f s: %s", what, grace, e)
                failed = True
            time.sleep(min(delay, left))
            delay = min(delay * 2, 8.0)
        else:
            if failed:
                log.info("%s succeeded after %.1f s of S3 outage", what, time.monotonic() - started)
            return result
