"""The HealthScribe job pipeline: the batch pipeline (emulator.service.pipeline) transcribes the
conversation, then the emulator writes AWS HealthScribe's two output files (AWS developer guide,
"AWS HealthScribe" output pages) into OutputBucketName:

* `<job>/transcript.json`: `{"Conversation": {ConversationId, JobName, JobType: "ASYNC",
  LanguageCode, ClinicalInsights, TranscriptItems, TranscriptSegments}}`; ClinicalInsights:
  emulator.service.clinical_insights. An item: `{Alternatives: [{Confidence, Content}],
  BeginAudioTime, EndAudioTime, Type: PRONUNCIATION | PUNCTUATION}` (seconds; confidences with
  4 decimals, 0 for punctuation, which takes the end time of the word before it;
  `VocabularyFilterMatch: true` on a word a "tag" filter matched). A segment (what one
  participant says in one audio segment): `{BeginAudioTime, Content, EndAudioTime,
  ParticipantDetails: {ParticipantRole}, SectionDetails: {SectionName}, SegmentId}`.
  Members, their order and the number forms are those of the transcript example in AWS's
  developer guide, "Starting an AWS HealthScribe transcription job"
  (starting-health-scribe-job.html, "Transcription job output examples").
* `<job>/summary.json`: the clinical document (emulator.service.clinical_notes, extracted from
  the segments, never generated).

Participant roles: with ChannelIdentification, each channel's role from ChannelDefinitions with
the suffix `_0` (CLINICIAN_0, PATIENT_0); with speaker labels, AWS identifies the roles from what
is said, and so does the emulator: emulator.service.clinical_roles scores each speaker's
sentences (questions, examination / assessment / plan language against first-person symptoms)
and makes the likeliest clinician CLINICIAN_0, the others PATIENT_0, PATIENT_1, ... in order of
first speech (README "Differences from AWS").
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Callable

from emulator.engine.media import SAMPLE_RATE
from emulator.service.call_analytics_output import Turn, call_turns
from emulator.service.clinical_insights import clinical_insights
from emulator.service.clinical_notes import clinical_document, transcript_section
from emulator.service.clinical_roles import assign_roles
from emulator.service.medical_scribe import KIND, SCRIBE_LANGUAGE, clinical_document_key
from emulator.service.pipeline import JobRun, Outcome, TranscriptionPipeline
from emulator.service.tokens import PRONUNCIATION, Token
from emulator.storage.store import Record


def _seconds(value: float) -> float:
    return round(value, 3)


def participant_roles(tokens: list[Token], definitions: list[dict] | None):
    """token -> ParticipantRole (module docstring)."""
    if definitions:
        roles = {f"ch_{d['ChannelId']}": f"{d['ParticipantRole']}_0" for d in definitions}
        return lambda t: roles.get(t.channel, "CLINICIAN_0")
    turns = call_turns([t for t in tokens if t.speaker], lambda t: t.speaker)
    names = assign_roles([(turn.role, turn.content) for turn in turns])
    return lambda t: names.get(t.speaker, "CLINICIAN_0")


def transcript_items(tokens: list[Token]) -> list[dict]:
    """TranscriptItems of tokens in time order (module docstring)."""
    items, last_end = [], 0.0
    for token in tokens:
        if token.kind == PRONUNCIATION:
            begin, end = token.start, token.end
            last_end = end
        else:
            begin = end = last_end
        confidence = round(token.confidence, 4) if token.kind == PRONUNCIATION else 0
        item = {
            "Alternatives": [{"Confidence": confidence, "Content": token.content}],
            "BeginAudioTime": _seconds(begin),
            "EndAudioTime": _seconds(end),
            "Type": token.kind.upper(),  # AWS HealthScribe writes PRONUNCIATION | PUNCTUATION
        }
        if token.filter_match:
            item["VocabularyFilterMatch"] = True
        items.append(item)
    return items


def transcript_segments(turns: list[Turn], segment_id: Callable[[Turn], str] | None = None) -> list[dict]:
    """TranscriptSegments of the turns (call_turns: one participant, one audio segment, in time
    order; module docstring). segment_id(turn): its SegmentId (None: a new UUID each)."""
    segments = []
    for turn in turns:
        content = turn.content
        segments.append(
            {
                "BeginAudioTime": _seconds(turn.begin),
                "Content": content,
                "EndAudioTime": _seconds(turn.end),
                "ParticipantDetails": {"ParticipantRole": turn.role},
                "SectionDetails": {"SectionName": transcript_section(content)},
                "SegmentId": segment_id(turn) if segment_id else str(uuid.uuid4()),
            }
        )
    return segments


def scribe_documents(
    tokens: list[Token],
    definitions: list[dict] | None,
    template: str | None,
    header: dict,
    segment_id: Callable[[Turn], str] | None = None,
) -> tuple[dict, dict]:
    """(transcript file, clinical document) of a HealthScribe job or stream (module docstring).

    tokens: the final tokens in time order (channel or speaker set); definitions: the
    ChannelDefinitions (None: roles from speaker labels); template: the NoteTemplate (None:
    HISTORY_AND_PHYSICAL); header: the Conversation's identifying members (a job: ConversationId,
    JobName, JobType; a stream: ConversationId, SessionId); segment_id: see transcript_segments."""
    turns = call_turns(tokens, participant_roles(tokens, definitions))
    segments = transcript_segments(turns, segment_id)
    conversation = {
        **header,
        "LanguageCode": SCRIBE_LANGUAGE,
        "ClinicalInsights": clinical_insights(segments),
        "TranscriptItems": transcript_items([t for turn in turns for t in turn.tokens]),
        "TranscriptSegments": segments,
    }
    return {"Conversation": conversation}, clinical_document(segments, template)


class MedicalScribePipeline(TranscriptionPipeline):
    """Callable for the worker pool: `pipeline((region, job_name))` for HealthScribe jobs."""

    kind = KIND
    status_member = "MedicalScribeJobStatus"

    def _run(self, record: Record, work_dir: Path, run: JobRun) -> Outcome | None:
        plan = run.plan
        media = self._load_media(record, plan, work_dir)
        run.audio_seconds = len(media.mono) / SAMPLE_RATE
        _, tokens, _ = self.final_tokens(record.region, (self.kind, record.region, record.name), run, media)
        header = {"ConversationId": str(uuid.uuid4()), "JobName": record.name, "JobType": "ASYNC"}
        template = record.doc["Settings"].get("ClinicalNoteGenerationSettings", {}).get("NoteTemplate")
        transcript, clinical = scribe_documents(tokens, record.doc.get("ChannelDefinitions"), template, header)
        if self.store.get(self.kind, record.region, record.name) is None:
            return None  # deleted while it ran: write nothing
        self._put_json(media.output, transcript)
        document = {**media.output, "key": clinical_document_key(media.output["key"])}
        self._put_json(document, clinical)
        outcome = Outcome(doc={"LanguageCode": SCRIBE_LANGUAGE})
        outcome.internal.update(Transcript=media.output, ClinicalDocument=document)
        return outcome
