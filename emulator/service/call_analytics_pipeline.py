"""The Call Analytics job pipeline: the batch pipeline (emulator.service.pipeline) transcribes
each channel, then the call is analysed (emulator.service.call_analytics_output), the POST_CALL
categories evaluated (emulator.service.call_analytics_rules) and AWS's post-call analytics JSON
written.

Participants: `ChannelDefinitions` map channel 0 and 1 to AGENT and CUSTOMER (without them,
channel 0 is the AGENT, as AWS's example of the member has it). Mono media: two speakers are
told apart by diarization (a call has two parties: exactly two speakers are sought) and the first to speak takes channel 0's role (AWS documents
ChannelDefinitions for stereo calls only; README "Differences from AWS").
ContentRedaction: the redacted file (`redacted-<name>.json`) shows `[PII]` words with their
`Redaction`; its sentiment, insights and categories are computed on the redacted text.
Summarization: an extractive summary (engine.call_insights) in
ConversationCharacteristics.ContactSummary; a call too short for one is reported in
CallAnalyticsJobDetails.Skipped (INSUFFICIENT_CONVERSATION_CONTENT), as AWS does.
"""

from __future__ import annotations

from pathlib import Path

from emulator.engine.media import SAMPLE_RATE
from emulator.engine.pii import PiiModelMissing
from emulator.service.call_analytics import KIND
from emulator.service.call_analytics_output import AGENT, CUSTOMER, analyse, call_turns, render_call_analytics, summary
from emulator.service.call_analytics_rules import matched_categories
from emulator.service.pipeline import JobFailed, JobRun, Outcome, TranscriptionPipeline, media_format, redacted_key
from emulator.service.redaction import find_pii, redact
from emulator.service.speakers import label_speakers
from emulator.storage.store import Record

SKIPPED_SUMMARY = {
    "Feature": "GENERATIVE_SUMMARIZATION",
    "ReasonCode": "INSUFFICIENT_CONVERSATION_CONTENT",
    "Message": "The conversation has too little content for a summary.",
}


def channel_roles(definitions: list[dict] | None) -> tuple[str, str]:
    """(role of channel 0, role of channel 1) from ChannelDefinitions (AGENT on 0 by default;
    a definition without a role takes the one the other leaves)."""
    roles = {0: AGENT, 1: CUSTOMER}
    given = {d["ChannelId"]: d["ParticipantRole"] for d in definitions or () if d.get("ParticipantRole")}
    for channel, role in given.items():
        roles[channel] = role
        roles[1 - channel] = CUSTOMER if role == AGENT else AGENT
    return roles[0], roles[1]


class CallAnalyticsPipeline(TranscriptionPipeline):
    """Callable for the worker pool: `pipeline((region, job_name))` for Call Analytics jobs.
    categories: the CallAnalyticsCategories service (None: no category is evaluated)."""

    kind = KIND
    status_member = "CallAnalyticsJobStatus"

    def __init__(self, *args, categories=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = categories

    def _run(self, record: Record, work_dir: Path, run: JobRun) -> Outcome | None:
        plan = run.plan
        media = self._load_media(record, plan, work_dir)
        run.audio_seconds = len(media.mono) / SAMPLE_RATE
        language, tokens, _ = self.final_tokens(record.region, (self.kind, record.region, record.name), run, media)
        roles = channel_roles(record.doc.get("ChannelDefinitions"))
        if media.channels.shape[0] == 1:
            tokens = label_speakers(tokens, self.diarizer.diarize(media.mono, max_speakers=2, min_speakers=2))
            order = list(dict.fromkeys(t.speaker for t in tokens if t.speaker))
            role_of = lambda t: roles[min(order.index(t.speaker), 1)] if t.speaker in order else roles[0]  # noqa: E731
            samples = {role: media.mono for role in roles}
        else:
            role_of = lambda t: roles[int(t.channel.removeprefix("ch_"))]  # noqa: E731
            samples = {role: media.channels[i] for i, role in enumerate(roles)}
        categories = self.categories.post_call_categories(record.region) if self.categories else []
        settings = record.doc.get("Settings", {})
        wants_summary = settings.get("Summarization", {}).get("GenerateAbstractiveSummary", False)

        def document(final_tokens, redacted: bool) -> tuple[dict, bool]:
            analysis = analyse(call_turns(final_tokens, role_of), samples, SAMPLE_RATE, run.audio_seconds)
            text = summary(analysis) if wants_summary else None
            matched = matched_categories(categories, analysis)
            name, account = record.name, plan.output.account_id
            return render_call_analytics(name, account, language.code, analysis, matched, redacted, text), bool(text)

        if self.store.get(self.kind, record.region, record.name) is None:
            return None  # deleted while it ran: write nothing
        outcome = Outcome(
            doc={
                "LanguageCode": language.code,
                "MediaFormat": plan.media.format or media_format(media.info, media.key),
                "MediaSampleRateHertz": plan.media.sample_rate or media.info.sample_rate,
            }
        )
        if "IdentifiedLanguageScore" in language.job_members:
            outcome.doc["IdentifiedLanguageScore"] = language.job_members["IdentifiedLanguageScore"]
        if plan.redaction is None or plan.redaction.output == "redacted_and_unredacted":
            raw, summarized = document(tokens, redacted=False)
            self._put_json(media.output, raw)
            outcome.internal["Transcript"] = media.output
        if plan.redaction is not None:
            types = list(plan.redaction.entity_types) if plan.redaction.entity_types is not None else None
            try:
                hidden = redact(find_pii(tokens, self.pii_detector, types))
            except PiiModelMissing as e:
                raise JobFailed(f"Internal failure: {e}") from None
            masked, summarized = document(hidden, redacted=True)
            location = {**media.output, "key": redacted_key(media.output["key"])}
            self._put_json(location, masked)
            outcome.internal["RedactedTranscript"] = location
        if wants_summary and not summarized:
            outcome.doc["CallAnalyticsJobDetails"] = {"Skipped": [SKIPPED_SUMMARY]}
        return outcome
