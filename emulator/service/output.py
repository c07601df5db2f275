"""Rendering recognition results as Amazon Transcribe's transcript JSON.

Recognition becomes tokens here (`transcription_tokens`, `channel_tokens`); post-processing
works on the tokens (emulator.service.tokens); `render_job_results` renders the final tokens
as `results` last: items, audio_segments, transcripts, channel and speaker sections.

Shape source: digest §4 and the real output recorded in
shared/reference/aws-recorded-responses.json (test_transcribe_speaker_diarization):
`{"jobName", "accountId", "status", "results": {"transcripts", "items", "audio_segments"}}` (key order
as in real output files), every time and confidence inside `results` a string, punctuation items without times,
`id` on items (0-based), punctuation confidence "0.0".
"""

from __future__ import annotations

from dataclasses import replace

from emulator.engine.recognizer import Transcription
from emulator.service.speakers import speaker_sections
from emulator.service.tokens import PRONUNCIATION, PUNCTUATION, Pii, Token, join_tokens

# Punctuation Transcribe emits as separate items.
MARKS = ".,?!;:"
PII_CATEGORY = "PII"  # the `category` of every redaction
# Characters Whisper attaches to words that Transcribe does not emit at all.
_STRIP = "\"“”„«»‘’¿¡()[]{}"


def format_seconds(seconds: float) -> str:
    """AWS style: up to 3 decimals, trailing zeros dropped, at least one ("2.19", "0.0")."""
    text = f"{max(seconds, 0.0):.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def format_confidence(probability: float, decimals: int = 3) -> str:
    """0..1 as a string with up to `decimals` decimals, trailing zeros dropped ("0.998", "1.0").

    An item's confidence has 3 (the recorded AWS transcript: "0.998", "0.438", "0.0"); AWS's
    examples give 4 to a redaction's and a language score ("0.9987", "0.9612": digest §4).
    """
    text = f"{min(max(probability, 0.0), 1.0):.{decimals}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def split_word(text: str) -> tuple[str, list[str]]:
    """Whisper word text -> (the word, the punctuation marks that follow it).

    " Americans," -> ("Americans", [","]); ' "Hello?"' -> ("Hello", ["?"]); "..." -> ("", ["."])
    """
    core = text.strip().strip(_STRIP)
    marks: list[str] = []
    while core and core[-1] in MARKS + _STRIP:
        char = core[-1]
        core = core[:-1]
        if char in MARKS and (not marks or marks[0] != char):
            marks.insert(0, char)
    return core.lstrip(MARKS + _STRIP), marks


def _continues(text: str) -> bool:
    """Whisper splits "ill-disposed" into " ill" + "-disposed" and "it's" sometimes into " it" + "'s"."""
    return text[:1] in ("-", "'")


def tokens_for_segment(segment) -> list[Token]:
    """The tokens of one recognised segment (or hypothesis): Whisper's words with their
    punctuation split off, word pieces joined; punctuation without times."""
    tokens: list[Token] = []
    for word in segment.words:
        if _continues(word.text) and tokens and tokens[-1].kind == "pronunciation":
            previous = tokens.pop()
            core, marks = split_word(previous.content + word.text)
            tokens.append(
                Token(PRONUNCIATION, core, min(previous.confidence, word.probability), previous.start, word.end)
            )
        else:
            core, marks = split_word(word.text)
            if core:
                tokens.append(Token(PRONUNCIATION, core, word.probability, word.start, word.end))
        for mark in marks:
            if tokens and tokens[-1].kind == "punctuation" and tokens[-1].content == mark:
                continue
            if tokens:  # a transcript never starts with punctuation
                tokens.append(Token(PUNCTUATION, mark, 0.0))
    return tokens


def transcription_tokens(transcription: Transcription) -> list[Token]:
    """The tokens of a plain job's recognition, numbered by audio segment (segments without
    a word leave no token)."""
    return _numbered([(None, segment) for segment in transcription.segments])


def channel_tokens(channels: list[Transcription]) -> list[Token]:
    """The tokens of a ChannelIdentification job (digest §4.3), one transcription per channel:
    segments of all channels in time order, each token with its `channel`."""
    labelled = sorted(
        ((channel_label(i), segment) for i, t in enumerate(channels) for segment in t.segments),
        key=lambda pair: (pair[1].start, pair[0]),
    )
    return _numbered(labelled)


def _numbered(labelled_segments: list[tuple[str | None, object]]) -> list[Token]:
    tokens: list[Token] = []
    number = 0
    for label, segment in labelled_segments:
        segment_tokens = tokens_for_segment(segment)
        if not any(t.kind == PRONUNCIATION for t in segment_tokens):
            continue
        tokens.extend(replace(t, segment=number, channel=label) for t in segment_tokens)
        number += 1
    return tokens


def render_item(item_id: int, token: Token) -> dict:
    item: dict = {"id": item_id}
    if token.channel:
        item["channel_label"] = token.channel
    item["type"] = token.kind
    if token.pii is not None:  # redacted (batch marks PII only to redact it): no ASR confidence
        item["alternatives"] = [{"content": token.content, "redactions": [render_redaction(token.pii)]}]
    else:
        item["alternatives"] = [{"confidence": format_confidence(token.confidence), "content": token.content}]
    if token.kind == "pronunciation":
        item["start_time"] = format_seconds(token.start)
        item["end_time"] = format_seconds(token.end)
    if token.filter_match:
        item["vocabularyFilterMatch"] = True
    if token.speaker is not None:
        item["speaker_label"] = token.speaker
    return item


def render_redaction(pii: Pii) -> dict:
    """A redacted item's `redactions` entry (AWS's example output; emulator.service.redaction)."""
    return {"confidence": format_confidence(pii.score, 4), "type": pii.type, "category": PII_CATEGORY}


def render_tokens(tokens: list[Token]) -> dict:
    """`results` of tokens: transcripts, items (ids from 0), audio_segments (one per run of
    tokens of one `segment` with a word in it, ids from 0, with the segment's `channel_label`)."""
    items = [render_item(i, token) for i, token in enumerate(tokens)]
    audio_segments: list[dict] = []
    first = 0
    for last in range(len(tokens)):
        if last + 1 < len(tokens) and tokens[last + 1].segment == tokens[first].segment:
            continue
        group = tokens[first : last + 1]
        words = [t for t in group if t.kind == PRONUNCIATION]
        if words:
            audio_segment = {
                "id": len(audio_segments),
                "transcript": join_tokens(group),
                "start_time": format_seconds(words[0].start),
                "end_time": format_seconds(words[-1].end),
            }
            if group[0].channel:
                audio_segment["channel_label"] = group[0].channel
            audio_segment["items"] = list(range(first, last + 1))
            audio_segments.append(audio_segment)
        first = last + 1
    return {
        "transcripts": [{"transcript": join_tokens(tokens)}],
        "items": items,
        "audio_segments": audio_segments,
    }


def channel_label(index: int) -> str:
    return f"ch_{index}"


def add_channel_labels(results: dict, number_of_channels: int) -> dict:
    """Adds `channel_labels`: each channel's items (as in `items`, without ids) and the count.
    Built last, from the final items, so filters and DisplayAs apply to it too."""
    per_channel = {channel_label(i): [] for i in range(number_of_channels)}
    for item in results["items"]:
        per_channel[item["channel_label"]].append({k: v for k, v in item.items() if k != "id"})
    out = {"transcripts": results["transcripts"]}
    out["channel_labels"] = {
        "channels": [{"channel_label": label, "items": items} for label, items in per_channel.items()],
        "number_of_channels": number_of_channels,
    }
    out.update((k, v) for k, v in results.items() if k != "transcripts")
    return out


def render_job_results(tokens: list[Token], number_of_channels: int | None = None, speakers: bool = False) -> dict:
    """A job's `results` from its final tokens: transcripts, items, audio_segments; with
    `channel_labels` under channel identification (number_of_channels), with the speaker
    sections when speakers are labelled (emulator.service.speakers.speaker_sections)."""
    results = render_tokens(tokens)
    if number_of_channels:
        results = add_channel_labels(results, number_of_channels)
    return speaker_sections(results) if speakers else results


def wrap_transcript(job_name: str, account_id: str, results: dict) -> dict:
    """The whole transcript file around a `results` dict."""
    return {"jobName": job_name, "accountId": account_id, "status": "COMPLETED", "results": results}
