"""List pagination shared by every List* operation: MaxResults and NextToken as AWS documents them.

Source: botocore `MaxResults` (1-100, default 5 when omitted) and `NextToken` documentation.
Tokens are opaque to clients; ours encode an offset into the filtered, sorted list.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import timedelta
from typing import Sequence, TypeVar

from emulator.aws.errors import BadRequestException

T = TypeVar("T")

DEFAULT_MAX_RESULTS = 5
PRESIGNED_URL_LIFETIME = timedelta(minutes=15)  # AWS: service-bucket URIs are valid 15 minutes
INVALID_NEXT_TOKEN = "The NextToken that you provided is invalid. Check the token and try your request again."


def paginate(items: Sequence[T], params: dict) -> tuple[Sequence[T], str | None]:
    """(this page, NextToken or None) of already sorted `items`.
    Raises BadRequestException for a token this emulator did not issue."""
    start = _decode_token(params["NextToken"]) if "NextToken" in params else 0
    limit = params.get("MaxResults", DEFAULT_MAX_RESULTS)
    next_token = _encode_token(start + limit) if start + limit < len(items) else None
    return items[start : start + limit], next_token


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadRequestException(INVALID_NEXT_TOKEN) from None
    if not isinstance(offset, int) or offset < 0:
        raise BadRequestException(INVALID_NEXT_TOKEN)
    return offset
