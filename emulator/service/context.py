"""Who is asking: the request context every service operation takes first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    """region: from the SigV4 credential scope (or --region for unsigned requests);
    account_id: the emulator's account (--account-id), used in ARNs and output paths."""

    region: str
    account_id: str
