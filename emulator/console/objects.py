"""What the console reads from and writes to S3: the emulator's object store, and nothing else.

Every bucket and key a user gives is checked here (S3 naming rules; no empty, `.` or `..`
key segments, no control characters) before it reaches `emulator.storage.s3.ObjectStore`,
so no request can name a file on disk or leave the emulator's S3. Locations of outputs
come from the jobs themselves (their presigned or path-style URIs, parsed with the API's
own `s3_uri.parse_s3_uri`). Blocking calls: run them in a thread.

What the browser gets from S3 is typed here too: downloads keep only types no browser
runs (`content_type_for`: JSON, subtitles, plain text, audio/video; anything else is
application/octet-stream), and the audio player gets a presigned GET (`MediaLinks`) whose
Content-Type S3 overrides to the media's audio/video type, never the stored one.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from minio import Minio

from emulator.service import s3_uri
from emulator.storage.s3 import ObjectNotFound, ObjectStore, StorageError

# S3 bucket naming rules (AWS "Bucket naming rules"): 3-63 of a-z 0-9 . -, starting and
# ending with a letter or digit.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_KEY_LENGTH = 1024  # bytes of UTF-8, S3's limit
MAX_UPLOAD_BYTES = 512 * 1024 * 1024  # console uploads are held in memory once; bigger: use an S3 client
MAX_LISTED = 1000  # keys shown by the picker


class BadLocation(ValueError):
    """A bucket or key the console refuses; the message says why."""


@dataclass(frozen=True)
class Location:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def filename(self) -> str:
        return self.key.rsplit("/", 1)[-1]


def check_bucket(bucket: str) -> str:
    """The bucket name, or BadLocation."""
    if not _BUCKET.fullmatch(bucket or "") or ".." in bucket:
        raise BadLocation(
            "Bucket names are 3 to 63 characters: lowercase letters, digits, dots and hyphens, "
            "starting and ending with a letter or digit."
        )
    return bucket


def check_key(key: str) -> str:
    """The object key, or BadLocation."""
    if not key or len(key.encode()) > MAX_KEY_LENGTH:
        raise BadLocation(f"Object keys are 1 to {MAX_KEY_LENGTH} bytes long.")
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise BadLocation("Object keys can't contain control characters.")
    if any(part in ("", ".", "..") for part in key.split("/")[:-1]) or key.split("/")[-1] in (".", ".."):
        raise BadLocation("Object keys can't start with '/' or contain empty, '.' or '..' segments.")
    return key


def check_location(bucket: str, key: str) -> Location:
    return Location(check_bucket(bucket), check_key(key))


def location_of(uri: str | None, objects: ObjectStore) -> Location | None:
    """The emulator S3 object a job's URI names (s3://, path style, the emulator's own or
    public endpoint, presigned), or None when it names none or fails the checks."""
    if not uri:
        return None
    parsed = s3_uri.parse_s3_uri(uri, (objects.endpoint, objects.public_endpoint))
    if parsed is None:
        return None
    try:
        return check_location(*parsed)
    except BadLocation:
        return None


def list_buckets(objects: ObjectStore) -> list[str]:
    """Names of every bucket on the emulator's S3, sorted."""
    return objects.list_buckets()


def list_keys(objects: ObjectStore, bucket: str, prefix: str = "") -> list[str]:
    """Keys of `bucket` under `prefix`, at most MAX_LISTED. Raises BadLocation, ObjectNotFound."""
    check_bucket(bucket)
    return objects.list_keys(bucket, prefix)[:MAX_LISTED]


def read(objects: ObjectStore, location: Location) -> bytes:
    """The object's bytes. Raises ObjectNotFound, StorageError."""
    return objects.get_bytes(location.bucket, location.key)


def upload(objects: ObjectStore, bucket: str, key: str, data: bytes, content_type: str | None) -> Location:
    """Puts `data` at bucket/key, creating the bucket when missing. Raises BadLocation, StorageError."""
    location = check_location(bucket, key)
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadLocation(f"The console uploads files up to {MAX_UPLOAD_BYTES // 2**20} MiB; use an S3 client for larger ones.")
    objects.ensure_bucket(location.bucket)
    guessed = mimetypes.guess_type(key)[0]
    objects.put_bytes(location.bucket, location.key, data, content_type or guessed or "application/octet-stream")
    return location


def content_type_for(key: str) -> str:
    """The Content-Type a download of `key` is served with: JSON, WebVTT, SubRip, plain
    text, audio/video by the key's extension; application/octet-stream for anything else
    (HTML, SVG, XML, scripts: types a browser would run are never served as such)."""
    if key.endswith(".json"):
        return "application/json"
    if key.endswith(".vtt"):
        return "text/vtt; charset=utf-8"
    if key.endswith(".srt"):
        return "application/x-subrip; charset=utf-8"
    guessed = mimetypes.guess_type(key)[0] or ""
    if guessed in ("text/plain", "text/csv", "text/tab-separated-values"):
        return guessed + "; charset=utf-8"
    return media_type_for(key) or "application/octet-stream"


# Transcribe's MediaFormat -> the type browsers play it as (keys without an extension).
_FORMAT_TYPES = {
    "mp3": "audio/mpeg", "mp4": "video/mp4", "m4a": "audio/mp4", "wav": "audio/wav",
    "flac": "audio/flac", "ogg": "audio/ogg", "amr": "audio/amr", "webm": "audio/webm",
}


def media_type_for(key: str, media_format: str | None = None) -> str | None:
    """The audio/* or video/* type of `key` by its extension; for a key with no known
    extension, by the job's `MediaFormat`; None when it is not audio or video (a key
    ending .html is never media, whatever the job says)."""
    guessed = mimetypes.guess_type(key)[0]
    if guessed:
        return guessed if guessed.split("/")[0] in ("audio", "video") else None
    return _FORMAT_TYPES.get((media_format or "").lower())


def safe_filename(name: str) -> str:
    """`name` with anything but letters, digits, `.`, `_`, `-` replaced by `_` (a
    Content-Disposition filename that needs no quoting); "download" when empty."""
    return "".join(c if c.isalnum() and c.isascii() or c in "._-" else "_" for c in name) or "download"


class MediaLinks:
    """Presigned S3 GETs for the audio player, on the endpoint the browser reaches.

    S3 itself answers them, Range requests included (seeking), so no media passes through
    the console. `ObjectStore.presigned_get` cannot override response headers, hence a
    presigner of its own: the signed `response-content-type` / `response-content-disposition`
    make S3 answer with the media's audio/video type inline, or application/octet-stream
    as an attachment for anything else, whatever Content-Type the object was stored with.

    endpoint: `--s3-public-endpoint`, else the S3 endpoint (`ObjectStore.public_endpoint`);
    a browser on another machine needs the public one set to an address it reaches.
    LIFETIME: how long a link stays valid (a page left open longer needs a reload to seek).
    """

    LIFETIME = timedelta(hours=6)

    def __init__(self, endpoint: str, access_key: str, secret_key: str, region: str):
        parts = urlsplit(endpoint)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._presigner = Minio(parts.netloc, access_key=access_key, secret_key=secret_key,
                                secure=parts.scheme == "https", region=region)

    @classmethod
    def for_settings(cls, settings, objects: ObjectStore) -> "MediaLinks":
        return cls(
            objects.public_endpoint,
            settings.s3_access_key or settings.access_key,
            settings.s3_secret_key or settings.secret_key,
            settings.region,
        )

    def url(self, location: Location, media_format: str | None = None) -> str:
        """A presigned GET of `location`, valid for LIFETIME. Pure computation, no S3 call."""
        media_type = media_type_for(location.key, media_format)
        name = safe_filename(location.filename)
        overrides = {
            "response-content-type": media_type or "application/octet-stream",
            "response-content-disposition": f'{"inline" if media_type else "attachment"}; filename="{name}"',
        }
        return self._presigner.presigned_get_object(location.bucket, location.key, expires=self.LIFETIME,
                                                    response_headers=overrides)


__all__ = [
    "BadLocation",
    "Location",
    "ObjectNotFound",
    "StorageError",
    "check_bucket",
    "check_key",
    "check_location",
    "MediaLinks",
    "content_type_for",
    "media_type_for",
    "safe_filename",
    "list_buckets",
    "list_keys",
    "location_of",
    "read",
    "upload",
]
