"""ToxicityDetection of a batch job: `results.toxicity_detection`, one entry per audio segment.

Shape (AWS developer guide, "Detecting toxic speech", its example output; botocore
`ToxicityDetectionSettings`): `"toxicity_detection": [{"text", "toxicity", "categories":
{"profanity", "hate_speech", "sexual", "insult", "violence_or_threat", "graphic",
"harassment_or_abuse"}, "start_time", "end_time"}]` - unlike items, scores and times are JSON
numbers; scores 0..1 with 4 decimals, as AWS's example shows them. The segments are the job's
`audio_segments` (the recogniser's segments, split at pauses), their text as the transcript
shows it (after DisplayAs, a vocabulary filter and redaction). With ChannelIdentification an
audio segment holds one channel's speech, and its toxicity entry carries the segment's
`channel_label` ("ch_0", "ch_1") after `end_time`, as the job's `audio_segments` and items do:
AWS's example output is of a one-channel job and shows no channel member (README "Differences
from AWS"). The scores come from
emulator.engine.toxicity (a trained classifier and a lexicon; its docstring has the method).

AWS offers toxicity detection in US English only (botocore `ToxicityDetection` docs link to
the guide's language table); `check_toxicity_request` refuses the rest at Start.
"""

from __future__ import annotations

from emulator.aws.errors import BadRequestException
from emulator.engine.toxicity import CATEGORIES, score_texts

TOXICITY_LANGUAGES = ("en-US",)
# AWS's wording is not published; ours names the one language AWS supports.
LANGUAGE_NOT_SUPPORTED = (
    "Toxicity detection isn't supported for {what}. ToxicityDetection requires LanguageCode en-US; "
    "change the language code or remove ToxicityDetection and try your request again."
)


def check_toxicity_request(params: dict) -> None:
    """BadRequestException when ToxicityDetection is asked for anything but LanguageCode en-US
    (language identification included: AWS supports en-US only)."""
    if not params.get("ToxicityDetection"):
        return
    code = params.get("LanguageCode")
    if code not in TOXICITY_LANGUAGES:
        what = f"the language code {code}" if code else "language identification"
        raise BadRequestException(LANGUAGE_NOT_SUPPORTED.format(what=what))


def toxicity_detection(results: dict) -> list[dict]:
    """`toxicity_detection` for rendered `results`: one entry per `audio_segments` entry, in order
    (with its `channel_label` when it has one)."""
    segments = [s for s in results.get("audio_segments", []) if s.get("transcript")]
    scores = score_texts([s["transcript"] for s in segments])
    entries = []
    for segment, score in zip(segments, scores):
        entry = {
            "text": segment["transcript"],
            "toxicity": round(score.toxicity, 4),
            "categories": {category: round(score.categories[category], 4) for category in CATEGORIES},
            "start_time": float(segment["start_time"]),
            "end_time": float(segment["end_time"]),
        }
        if segment.get("channel_label"):
            entry["channel_label"] = segment["channel_label"]
        entries.append(entry)
    return entries


def add_toxicity(results: dict) -> dict:
    """`results` with `toxicity_detection` last."""
    return {**results, "toxicity_detection": toxicity_detection(results)}
