"""EventBridge PutEvents from a background thread: queued, batched, retried, never blocking.

An adapter: it knows PutEvents (botocore's `events` client, SigV4-signed with the emulator's
credentials, one client per region) and nothing of Transcribe. `publish` only puts the entry
on a bounded queue; a daemon thread sends up to 10 entries a call (PutEvents' limit) and
retries a failed call or failed entries with exponential backoff (RETRY_DELAYS), then drops
them with a warning: delivery is best effort, as AWS documents for service events.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

BATCH = 10  # PutEvents takes at most 10 entries a call
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # seconds before each further try
QUEUE_SIZE = 10_000  # entries waiting at most; beyond it the oldest waiting ones are dropped


@dataclass(frozen=True)
class Entry:
    """One PutEventsRequestEntry (botocore shape): Source, DetailType, Detail (a JSON string),
    Time; sent in `region`."""

    region: str
    source: str
    detail_type: str
    detail: str
    time: float  # epoch seconds


class EventBridgePublisher:
    """Sends entries to the EventBridge API at `endpoint` (an http(s) URL)."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, retry_delays=RETRY_DELAYS):
        self.endpoint = endpoint
        self._credentials = (access_key, secret_key)
        self._retry_delays = tuple(retry_delays)
        self._queue: queue.Queue[Entry | None] = queue.Queue(QUEUE_SIZE)
        self._clients: dict[str, object] = {}
        self._thread = threading.Thread(target=self._run, daemon=True, name="eventbridge")
        self._thread.start()

    def publish(self, entry: Entry) -> None:
        """Queues `entry`; returns at once."""
        while True:
            try:
                self._queue.put_nowait(entry)
                return
            except queue.Full:
                try:
                    dropped = self._queue.get_nowait()
                    log.warning("EventBridge queue full: dropped the %s event", getattr(dropped, "detail_type", ""))
                except queue.Empty:
                    pass

    def close(self, timeout: float = 5.0) -> None:
        """Sends what is queued (within `timeout` seconds), then stops the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _client(self, region: str):
        if region not in self._clients:
            import botocore.session
            from botocore.config import Config

            session = botocore.session.get_session()
            self._clients[region] = session.create_client(
                "events",
                region_name=region,
                endpoint_url=self.endpoint,
                aws_access_key_id=self._credentials[0],
                aws_secret_access_key=self._credentials[1],
                config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10),
            )
        return self._clients[region]

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._send(batch)
                    return
                batch.append(more)
            self._send(batch)

    def _send(self, batch: list[Entry]) -> None:
        """Sends `batch` (by region), retrying what failed; drops what still fails."""
        by_region: dict[str, list[Entry]] = {}
        for entry in batch:
            by_region.setdefault(entry.region, []).append(entry)
        for region, entries in by_region.items():
            pending = entries
            for delay in (*self._retry_delays, None):
                pending = self._put(region, pending)
                if not pending or delay is None:
                    break
                time.sleep(delay)
            if pending:
                log.warning("EventBridge at %s: %d event(s) not delivered, dropped", self.endpoint, len(pending))

    def _put(self, region: str, entries: list[Entry]) -> list[Entry]:
        """One PutEvents call; returns the entries to try again."""
        request = [
            {"Source": e.source, "DetailType": e.detail_type, "Detail": e.detail, "Time": e.time, "Resources": []}
            for e in entries
        ]
        try:
            answer = self._client(region).put_events(Entries=request)
        except Exception as e:  # unreachable, refused, throttled: all worth another try
            log.debug("EventBridge PutEvents failed: %s", e)
            return entries
        return [e for e, result in zip(entries, answer.get("Entries", ())) if result.get("ErrorCode")]
