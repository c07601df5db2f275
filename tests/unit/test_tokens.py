"""Post-processing on tokens (emulator.service.tokens) decides as it did on a `results` dict:
the tokens' rendering equals what the former dict transforms returned for the same speech
(vocabulary filter, DisplayAs, speaker labels, channels, redaction), and PII/PHI found on tokens
is what the former items finder found.

Those transforms (apply_vocabulary_filter, apply_display_as, render_channel_results,
add_speaker_labels, redact_results, find_pii_items, identify_phi) are gone now that batch and
streaming both post-process tokens; their outputs for these inputs are kept, as they returned
them, in test_tokens_expected.json (one entry per test below). The speaker-label entries
("speakers", "speakers_channels", "redacted") were recorded again when speaker segments began
to end at pauses (issue 15: no speaker segment bridges more than 1 s of silence);
`_no_segment_bridges_a_pause` checks that rule on them.
"""

import json
from pathlib import Path

import pytest

from emulator.engine.diarization import SpeakerTurn
from emulator.engine.pii import PiiEntity
from emulator.engine.recognizer import Segment, Transcription, Word
from emulator.service.filtering import display_as, vocabulary_filter
from emulator.service.output import channel_tokens, render_job_results, render_tokens, transcription_tokens
from emulator.service.phi import phi_entities, render_entities
from emulator.service.redaction import find_pii, redact
from emulator.service.speakers import label_speakers
from emulator.service.tokens import Pii
from emulator.service.vocabulary_tables import parse_table

EXPECTED = json.loads((Path(__file__).parent / "test_tokens_expected.json").read_text())


def _transcription(*segments: str, offset: float = 0.0) -> Transcription:
    """Each segment's words 0.5 s apart, confidences falling from 0.99."""
    built, t = [], offset
    for text in segments:
        words = []
        for n, word in enumerate(text.split(" ")):
            words.append(Word(t, t + 0.4, " " + word, 0.99 - 0.01 * n))
            t += 0.5
        built.append(Segment(words[0].start, words[-1].end, text, tuple(words)))
        t += 1.0
    return Transcription("en", 1.0, t, tuple(built))


SPEECH = _transcription(
    "Darn. It works in Los Angeles, darn!",
    "I said, darn it, good grief.",
    "Darn darn.",
    "Dynamo D.B. is in los-angeles.",
)
VOCABULARY = parse_table(
    b"Phrase\tIPA\tSoundsLike\tDisplayAs\nLos-Angeles\t\t\tL.A.\nDynamo-D.B.\t\t\tDynamoDB\n"
)


@pytest.mark.parametrize("method", ["mask", "remove", "tag"])
def test_vocabulary_filter_on_tokens_renders_as_on_results(method):
    words = ["darn", "good grief"]
    expected = EXPECTED[f"vocabulary_filter_{method}"]  # apply_vocabulary_filter(render_results(SPEECH), ...)
    tokens = vocabulary_filter(transcription_tokens(SPEECH), words, method)
    assert render_tokens(tokens) == expected
    assert expected != render_tokens(transcription_tokens(SPEECH))


def test_display_as_on_tokens_renders_as_on_results():
    expected = EXPECTED["display_as"]  # apply_display_as(render_results(SPEECH), VOCABULARY)
    assert render_tokens(display_as(transcription_tokens(SPEECH), VOCABULARY)) == expected
    assert "L.A." in expected["transcripts"][0]["transcript"]


def test_channel_tokens_render_as_channel_results():
    channels = [SPEECH, _transcription("Hello there.", offset=0.7)]
    assert render_tokens(channel_tokens(channels)) == EXPECTED["channels"]  # render_channel_results(channels)


class _Detector:
    """Finds "Angeles" as a LOCATION."""

    def detect(self, text, language, types):
        start = text.find("Angeles")
        return [PiiEntity(start, start + len("Angeles"), "LOCATION", 0.875)] if start >= 0 else []


def test_pii_on_tokens_finds_what_the_items_finder_finds():
    tokens = transcription_tokens(SPEECH)
    # find_pii_items(render_results(SPEECH)["items"], <content>, _Detector(), ["LOCATION"], "en")
    found = {position: Pii(kind, score) for position, kind, score in EXPECTED["pii"]}
    marked = find_pii(tokens, _Detector())
    assert {i: t.pii for i, t in enumerate(marked) if t.pii} == found
    assert set(found.values()) == {Pii("ADDRESS", 0.875)}
    assert [t.content for t in redact(marked) if t.pii] == ["[PII]"] * len(found)


def test_phi_on_tokens_is_the_entities_list():
    entities = EXPECTED["phi"]  # identify_phi(render_results(SPEECH), _Detector())
    assert render_entities(phi_entities(transcription_tokens(SPEECH), _Detector())) == entities
    assert [e["content"] for e in entities] == ["Angeles"]


@pytest.mark.parametrize("channels", [False, True])
def test_speaker_labels_on_tokens_render_as_on_results(channels):
    turns = [SpeakerTurn(0, 0.0, 3.1), SpeakerTurn(1, 3.2, 9.0), SpeakerTurn(2, 9.0, 30.0)]
    if channels:
        speech = [SPEECH, _transcription("Hello there.", offset=0.7)]
        tokens = channel_tokens(speech)
        expected = EXPECTED["speakers_channels"]  # add_speaker_labels(<channel results with channel_labels>, turns)
    else:
        tokens = transcription_tokens(SPEECH)
        expected = EXPECTED["speakers"]  # add_speaker_labels(render_results(SPEECH), turns)
    results = render_job_results(tokens, 2 if channels else None)
    rendered = render_job_results(label_speakers(tokens, turns), 2 if channels else None, speakers=True)
    assert rendered == expected
    _no_segment_bridges_a_pause(rendered)
    assert len(expected["audio_segments"]) > len(results["audio_segments"])


def test_redacted_tokens_render_as_redacted_results():
    turns = [SpeakerTurn(0, 0.0, 3.1), SpeakerTurn(1, 3.2, 30.0)]
    tokens = label_speakers(transcription_tokens(SPEECH), turns)
    expected = EXPECTED["redacted"]  # redact_results(render_job_results(tokens, speakers=True), _Detector())
    assert render_job_results(redact(find_pii(tokens, _Detector())), speakers=True) == expected
    _no_segment_bridges_a_pause(expected)
    assert "[PII]" in expected["transcripts"][0]["transcript"]


def _no_segment_bridges_a_pause(results: dict, pause: float = 1.0) -> None:
    """No speaker segment holds two consecutive words more than `pause` seconds apart, and
    the pause split really happened here (the speech has a 1.1 s pause at 3.4-4.5 s)."""
    labels = results["speaker_labels"]
    channels = labels["channels"] if "channels" in labels else [labels]
    segments = [s for c in channels for s in c["segments"]]
    for segment in segments:
        times = [(float(i["start_time"]), float(i["end_time"])) for i in segment["items"]]
        assert all(b[0] - a[1] <= pause for a, b in zip(times, times[1:])), segment
    assert any(float(s["start_time"]) == 4.5 for s in segments)
