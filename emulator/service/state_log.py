"""The log lines of state changes: one per change of a job (logger `emulator.jobs`) or of a
vocabulary, vocabulary filter, medical vocabulary or language model (`emulator.resources`).

Called where the change is written to the store, once per change. Fields (emulator.logs puts
them into JSON lines): `job` or `resource` (the name), `kind` (the Store kind, e.g.
`transcription-job`, `vocabulary`), `region`, `from` and `to` (None: not there before / deleted),
and on a job's last change `audio_seconds`, `wall_seconds` (since a worker took it), `rtf`
(wall / audio); `failure_reason` on FAILED, which logs at warning.

`listeners` are told of each change too, as `listener(kind, region, name, before, after,
failure_reason)` on the thread that made it: they must return at once (the EventBridge
events of emulator.service.events only queue the event).
"""

from __future__ import annotations

import logging
from typing import Callable

jobs_log = logging.getLogger("emulator.jobs")
resources_log = logging.getLogger("emulator.resources")
listeners: list[Callable[[str, str, str, str | None, str | None, str | None], None]] = []


def _notify(kind: str, region: str, name: str, before: str | None, after: str | None, failure: str | None) -> None:
    for listener in list(listeners):
        try:
            listener(kind, region, name, before, after, failure)
        except Exception:  # a listener's bug must not fail the job or resource that changed
            logging.getLogger(__name__).exception("state-change listener failed")


def _change(before: str | None, after: str | None) -> str:
    return f"{before or 'none'} -> {after or 'deleted'}"


def job_changed(
    kind: str,
    region: str,
    name: str,
    before: str | None,
    after: str | None,
    audio_seconds: float | None = None,
    wall_seconds: float | None = None,
    failure_reason: str | None = None,
) -> None:
    """`job NAME (KIND) FROM -> TO [audio A s] [wall W s rtf R][: REASON]`."""
    fields: dict = {"job": name, "kind": kind, "region": region, "from": before, "to": after}
    text = f"job {name} ({kind}) {_change(before, after)}"
    if audio_seconds is not None:
        fields["audio_seconds"] = round(audio_seconds, 3)
        text += f" audio {audio_seconds:.1f} s"
    if wall_seconds is not None:
        fields["wall_seconds"] = round(wall_seconds, 3)
        text += f" wall {wall_seconds:.1f} s"
        if audio_seconds:
            fields["rtf"] = round(wall_seconds / audio_seconds, 3)
            text += f" rtf {wall_seconds / audio_seconds:.2f}"
    if failure_reason is not None:
        fields["failure_reason"] = failure_reason
        text += f": {failure_reason}"
    level = logging.WARNING if after == "FAILED" else logging.INFO
    jobs_log.log(level, "%s", text, extra={"fields": fields})
    _notify(kind, region, name, before, after, failure_reason)


def job_resumed(kind: str, region: str, name: str, status: str) -> None:
    """`job NAME (KIND) resumed STATUS`: a job a stop left unfinished goes back to a worker."""
    fields = {"job": name, "kind": kind, "region": region, "status": status, "resumed": True}
    jobs_log.info("job %s (%s) resumed %s", name, kind, status, extra={"fields": fields})


def resource_changed(
    kind: str, region: str, name: str, before: str | None, after: str | None, failure_reason: str | None = None
) -> None:
    """`KIND NAME FROM -> TO[: REASON]`, e.g. `vocabulary my-words PENDING -> READY`."""
    fields: dict = {"resource": name, "kind": kind, "region": region, "from": before, "to": after}
    text = f"{kind} {name} {_change(before, after)}"
    if failure_reason is not None:
        fields["failure_reason"] = failure_reason
        text += f": {failure_reason}"
    level = logging.WARNING if after == "FAILED" else logging.INFO
    resources_log.log(level, "%s", text, extra={"fields": fields})
    _notify(kind, region, name, before, after, failure_reason)
