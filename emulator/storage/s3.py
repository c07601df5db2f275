"""S3 access through the `minio` client: the media the jobs read, the transcripts they write.

Works against any S3 server (the embedded SeaweedFS, MinIO in compose).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error


class ObjectNotFound(Exception):
    """The bucket or the key does not exist (S3 NoSuchBucket / NoSuchKey)."""


class StorageError(Exception):
    """Any other S3 failure (access denied, server down)."""


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
        self._client = _client(self.endpoint, access_key, secret_key, region)
        self._presigner = _client(self.public_endpoint, access_key, secret_key, region)
        self._prober = _client(
            self.endpoint, access_key, secret_key, region,
            http_client=urllib3.PoolManager(timeout=urllib3.Timeout(PING_TIMEOUT, PING_TIMEOUT), retries=False),
        )

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except S3Error as e:
            if e.code in ("NoSuchKey", "NoSuchBucket", "NoSuchObject", "ResourceNotFound"):
                raise ObjectNotFound(f"{e.code}: {e.bucket_name}/{e.object_name}") from e
            raise StorageError(f"{e.code}: {e.message}") from e
        except urllib3.exceptions.HTTPError as e:  # connection refused, timeouts (no OSError in urllib3 2)
            raise StorageError(f"S3 at {self.endpoint} unreachable: {type(e).__name__}") from e
        except (OSError, ValueError) as e:
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
        if not self.bucket_exists(bucket):
            try:
                self._client.make_bucket(bucket)
            except S3Error as e:
                if e.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise StorageError(f"{e.code}: {e.message}") from e

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        """Raises ObjectNotFound, StorageError."""
        st = self._call(self._client.stat_object, bucket, key)
        return ObjectInfo(size=int(st.size or 0), content_type=st.content_type)

    def download(self, bucket: str, key: str, path: Path) -> None:
        """Writes the object to `path`. Raises ObjectNotFound, StorageError."""
        self._call(self._client.fget_object, bucket, key, str(path))

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        """Keys under `prefix` (S3 prefix semantics, recursive), folder markers left out.
        Raises ObjectNotFound (no such bucket), StorageError."""

        def listing() -> list[str]:
            found = self._client.list_objects(bucket, prefix=prefix or None, recursive=True)
            return [o.object_name for o in found if not o.is_dir and not o.object_name.endswith("/")]

        return self._call(listing)

    def get_bytes(self, bucket: str, key: str) -> bytes:
        response = self._call(self._client.get_object, bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        self._call(self._client.put_object, bucket, key, io.BytesIO(data), len(data), content_type=content_type)

    def delete(self, bucket: str, key: str) -> None:
        self._call(self._client.remove_object, bucket, key)

    def presigned_get(self, bucket: str, key: str, expires: timedelta) -> str:
        """A GET URL on the public endpoint, valid for `expires`."""
        return self._presigner.presigned_get_object(bucket, key, expires=expires)
