"""Rendering recognition results as Amazon Transcribe's transcript JSON.

Shape source: digest §4 and the real output recorded in
shared/reference/aws-recorded-responses.json (test_transcribe_speaker_diarization):
`{"jobName", "accountId", "status", "results": {"transcripts", "items", "audio_segments"}}` (key order
as in real output files),,
every time and confidence inside `results` a string, punctuation items without times,
`id` on items (0-based), punctuation confidence "0.0".
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.engine.recognizer import Transcription

# Punctuation Transcribe emits as separate items.
PUNCTUATION = ".,?!;:"
# Characters Whisper attaches to words that Transcribe does not emit at all.
_STRIP = "\"“”„«»‘’¿¡()[]{}"


def format_seconds(seconds: float) -> str:
    """AWS style: up to 3 decimals, trailing zeros dropped, at least one ("2.19", "0.0")."""
    text = f"{max(seconds, 0.0):.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def format_confidence(probability: float) -> str:
    """0..1 as a string with up to 4 decimals ("0.998", "1.0")."""
    text = f"{min(max(probability, 0.0), 1.0):.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


@dataclass(frozen=True)
class Token:
    """One output item before numbering: a word or a punctuation mark.
    start/end in seconds (None for punctuation)."""

    kind: str  # "pronunciation" | "punctuation"
    content: str
    confidence: float
    start: float | None = None
    end: float | None = None


def split_word(text: str) -> tuple[str, list[str]]:
    """Whisper word text -> (the word, the punctuation marks that follow it).

    " Americans," -> ("Americans", [","]); ' "Hello?"' -> ("Hello", ["?"]); "..." -> ("", ["."])
    """
    core = text.strip().strip(_STRIP)
    marks: list[str] = []
    while core and core[-1] in PUNCTUATION + _STRIP:
        char = core[-1]
        core = core[:-1]
        if char in PUNCTUATION and (not marks or marks[0] != char):
            marks.insert(0, char)
    return core.lstrip(PUNCTUATION + _STRIP), marks


def _continues(text: str) -> bool:
    """Whisper splits "ill-disposed" into " ill" + "-disposed" and "it's" sometimes into " it" + "'s"."""
    return text[:1] in ("-", "'")


def tokens_for_segment(segment) -> list[Token]:
    tokens: list[Token] = []
    for word in segment.words:
        if _continues(word.text) and tokens and tokens[-1].kind == "pronunciation":
            previous = tokens.pop()
            core, marks = split_word(previous.content + word.text)
            tokens.append(
                Token(
                    "pronunciation",
                    core,
                    min(previous.confidence, word.probability),
                    previous.start,
                    word.end,
                )
            )
        else:
            core, marks = split_word(word.text)
            if core:
                tokens.append(Token("pronunciation", core, word.probability, word.start, word.end))
        for mark in marks:
            if tokens and tokens[-1].kind == "punctuation" and tokens[-1].content == mark:
                continue
            if tokens:  # a transcript never starts with punctuation
                tokens.append(Token("punctuation", mark, 0.0))
    return tokens


def join_tokens(tokens: list[Token]) -> str:
    """Words separated by spaces, punctuation attached to the word before it."""
    out = ""
    for token in tokens:
        if token.kind == "punctuation" or not out:
            out += token.content
        else:
            out += " " + token.content
    return out


def render_item(item_id: int, token: Token, channel_label: str | None = None) -> dict:
    item: dict = {"id": item_id}
    if channel_label:
        item["channel_label"] = channel_label
    item["type"] = token.kind
    item["alternatives"] = [{"confidence": format_confidence(token.confidence), "content": token.content}]
    if token.kind == "pronunciation":
        item["start_time"] = format_seconds(token.start)
        item["end_time"] = format_seconds(token.end)
    return item


def _render(labelled_segments: list[tuple[str | None, object]]) -> dict:
    """Items, audio segments and transcript of segments in the order given."""
    items: list[dict] = []
    audio_segments: list[dict] = []
    all_tokens: list[Token] = []
    for label, segment in labelled_segments:
        tokens = tokens_for_segment(segment)
        words = [t for t in tokens if t.kind == "pronunciation"]
        if not words:
            continue
        first_id = len(items)
        for token in tokens:
            items.append(render_item(len(items), token, label))
        all_tokens.extend(tokens)
        audio_segment = {
            "id": len(audio_segments),
            "transcript": join_tokens(tokens),
            "start_time": format_seconds(words[0].start),
            "end_time": format_seconds(words[-1].end),
        }
        if label:
            audio_segment["channel_label"] = label
        audio_segment["items"] = list(range(first_id, len(items)))
        audio_segments.append(audio_segment)
    return {
        "transcripts": [{"transcript": join_tokens(all_tokens)}],
        "items": items,
        "audio_segments": audio_segments,
    }


def render_results(transcription: Transcription) -> dict:
    """`results` of a plain job: transcripts, items, audio_segments."""
    return _render([(None, segment) for segment in transcription.segments])


def channel_label(index: int) -> str:
    return f"ch_{index}"


def render_channel_results(channels: list[Transcription]) -> dict:
    """`results` of a ChannelIdentification job (digest §4.3), one transcription per channel,
    before its `channel_labels` section (see add_channel_labels).

    Segments of all channels in time order make the items (each with `channel_label`),
    audio_segments and the one merged transcript.
    """
    labelled = sorted(
        ((channel_label(i), segment) for i, t in enumerate(channels) for segment in t.segments),
        key=lambda pair: (pair[1].start, pair[0]),
    )
    return _render(labelled)


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


def wrap_transcript(job_name: str, account_id: str, results: dict) -> dict:
    """The whole transcript file around a `results` dict."""
    return {"jobName": job_name, "accountId": account_id, "status": "COMPLETED", "results": results}


def render_transcript(job_name: str, account_id: str, transcription: Transcription) -> dict:
    """The whole transcript file of a plain job."""
    return wrap_transcript(job_name, account_id, render_results(transcription))
