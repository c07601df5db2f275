"""S3 locations as Amazon Transcribe accepts and returns them.

Media URIs (botocore shape `Uri`, pattern `(s3://|http(s*)://).+`):
  s3://bucket/key
  https://s3.<region>.amazonaws.com/bucket/key     (path style; also s3.amazonaws.com, s3-<region>)
  https://bucket.s3.<region>.amazonaws.com/key     (virtual-hosted style)
  http(s)://<the emulator's S3 endpoint>/bucket/key
All of them name a bucket and key on the emulator's S3 server.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from emulator.aws.errors import BadRequestException

_AWS_PATH_STYLE = re.compile(r"^s3([.-][a-z0-9-]+)?(\.dualstack)?(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")
_AWS_VIRTUAL_HOSTED = re.compile(r"^(?P<bucket>.+)\.s3([.-][a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")


def parse_s3_uri(uri: str, own_endpoints: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """(bucket, key) of a media URI, or None if it names no S3 object (no bucket or no key)."""
    parts = urlsplit(uri)
    if parts.scheme == "s3":
        bucket, path = parts.netloc, parts.path
    elif parts.scheme in ("http", "https"):
        host = (parts.hostname or "").lower()
        own_hosts = {urlsplit(e).netloc.lower() for e in own_endpoints}
        if _AWS_PATH_STYLE.match(host) or parts.netloc.lower() in own_hosts:
            bucket, _, path = parts.path.lstrip("/").partition("/")
            path = "/" + path
        elif match := _AWS_VIRTUAL_HOSTED.match(host):
            bucket, path = match["bucket"], parts.path
        else:
            return None
        path = unquote(path)
    else:
        return None
    key = path.lstrip("/")
    if not bucket or not key:
        return None
    return bucket, key


def customer_output_key(job_name: str, output_key: str | None) -> str:
    """Where a job with OutputBucketName writes its transcript (digest §3.2).

    None -> "<job>.json"; "folder/" -> "folder/<job>.json"; "a/b.json" -> verbatim;
    "a/b" -> "a/b.json" (what moto does and real AWS was observed to do, against the API
    reference's wording, which would make it a folder; see README "Differences from AWS").
    """
    if not output_key:
        return f"{job_name}.json"
    if output_key.endswith("/"):
        return f"{output_key}{job_name}.json"
    if output_key.endswith(".json"):
        return output_key
    return f"{output_key}.json"


BAD_OUTPUT_KEY = (
    "The OutputKey {key!r} isn't a key that the emulator can write exactly: it {problem}. "
    "Use an OutputKey whose segments are separated by single slashes, without '.' or '..' segments, "
    "and try your request again."
)


def check_output_key(output_key: str | None) -> None:
    """Refuses an OutputKey whose object the S3 server would store under another key than
    TranscriptFileUri names (S3 servers normalise `a/../b`, `./a`, `a//b` and `/a` paths).
    Covers the keys derived from it too (subtitles `.srt`/`.vtt`, `redacted-` transcripts),
    which change only the last segment. Raises BadRequestException. [Emulator rule: AWS's
    own keys are opaque strings.]"""
    if not output_key:
        return
    segments = output_key.split("/")
    if output_key.startswith("/"):
        problem = "starts with '/'"
    elif "//" in output_key:
        problem = "contains '//'"
    elif any(segment in (".", "..") for segment in segments):
        problem = "has a '.' or '..' segment"
    else:
        return
    raise BadRequestException(BAD_OUTPUT_KEY.format(key=output_key, problem=problem))


def public_s3_url(region: str, bucket: str, key: str) -> str:
    """The unsigned path-style URL AWS returns for objects in a customer's bucket."""
    return f"https://s3.{region}.amazonaws.com/{bucket}/{key}"


def service_bucket(region: str) -> str:
    """The bucket that holds transcripts of jobs without OutputBucketName (AWS's naming)."""
    return f"aws-transcribe-{region}-prod"
