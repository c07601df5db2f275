""""Transcribe a file now" (TranscribeAudio) in a real browser against the session emulator, on
real speech: a file sent from the page (Media.MediaBytes) and one on S3 (Media.MediaFileUri),
the Results and Metadata shown; the API's errors (too short, too big, no such object) with
its own code and message. The form is multipart without scripts, so its CSRF token travels
as its first field (emulator.console.security); unit tests for that reader and for the
pure form and output functions of the new console pages close the module.
"""

from __future__ import annotations

import io
import time
import wave

import httpx
import numpy as np
import pytest

from emulator.console import family_forms
from emulator.console.analysis_views import MalformedOutput, call_view, clock, scribe_view
from emulator.console.security import first_multipart_field
from tests.support import audio_path, manifest, wait_for_job, wer

CLIP = "jfk"  # 11 s of English speech, flac 44.1 kHz stereo
BUSY_CLIP = "long_en_concat_dev"  # 269 s: holds the one worker 10-20 s (ami_dev00, 30 s, was done first in CI)


def _wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def submit(page, file=None, attempts: int = 30) -> None:
    """Clicks Transcribe (choosing `file` first, as a browser forgets it after each post) until
    the answer is not LimitExceededException: a job of another module may hold the one
    worker, and the SDK's standard retry mode waits that out just so."""
    for _ in range(attempts):
        if file is not None:
            page.set_input_files('[name="media_file"]', str(file))
        with page.expect_navigation(timeout=180_000):  # the answer comes when the audio is transcribed
            page.click("#transcribe", no_wait_after=True)
        if "LimitExceededException" not in (page.locator("#form-error").all_inner_texts() or [""])[0]:
            return
        time.sleep(2)
    raise AssertionError("the emulator stayed busy")


def _results_words(page) -> list[str]:
    return page.locator("#results [data-item] td:first-child").all_inner_texts()


def test_transcribe_a_file_from_this_computer(console, screenshot):
    page = console
    page.goto("/console")
    page.get_by_role("link", name="Transcribe a file now").click()
    page.check('[name="media_source"][value="upload"]')
    page.select_option('[name="Language"]', "en")
    submit(page, audio_path(CLIP))
    screenshot(page, "results")

    transcript = page.locator("#results [data-transcript]").inner_text()
    assert wer(manifest()[CLIP]["text"], transcript) < 0.25, transcript
    rows = page.locator("#results [data-item]")
    words = [w for w in _results_words(page) if w not in ".,?!;:"]
    assert words and " ".join(words).lower().split()[:3] == transcript.lower().replace(",", "").split()[:3]
    starts = [float(t.removesuffix(" s")) for t in page.locator("#results [data-item] td:nth-child(2)").all_inner_texts() if t]
    assert starts == sorted(starts) and 0 <= starts[0] < starts[-1] < 12
    assert rows.count() >= len(words)
    metadata = page.locator("#metadata").inner_text()
    assert "flac" in metadata and "44100 Hz" in metadata
    assert set(page.locator("#results [data-item] td:nth-child(6)").all_inner_texts()) == {"en-US"}
    assert "Last sent: jfk.flac" in page.locator('[data-field="Media.MediaBytes"]').inner_text()


def test_transcribe_a_file_on_s3_with_channel_labels(console, upload):
    uri = upload(CLIP, "console-now-jfk.flac")
    page = console
    page.goto("/console/transcribe-now")
    page.check('[name="media_source"][value="s3"]')
    page.fill('[name="Media.MediaFileUri"]', uri)
    page.check('[name="ChannelIdentification"]')
    submit(page)
    channels = set(page.locator("#results [data-item] td:nth-child(5)").all_inner_texts())
    assert channels <= {"ch_0", "ch_1"} and channels
    assert "2" in page.locator("#metadata").inner_text()


def test_the_api_errors_are_shown(console, screenshot, tmp_path):
    page = console
    page.goto("/console/transcribe-now")

    # Too short: AWS's BadRequestException with its Reason.
    short = tmp_path / "short.wav"
    short.write_bytes(_wav(np.zeros(3200, dtype=np.float32)))  # 0.2 s
    submit(page, short)
    alert = page.locator("#form-error").inner_text()
    assert "BadRequestException" in alert and "at least 0.5 seconds" in alert, alert
    assert page.locator("#error-reason").inner_text() == "Reason: audioTooShort"

    # Too big for MediaBytes: the model's length constraint, as the API words it.
    big = tmp_path / "big.wav"
    big.write_bytes(b"\0" * (26_214_400 + 1024))
    page.set_input_files('[name="media_file"]', str(big))
    page.click("#transcribe")
    assert "less than or equal to 26214400" in page.locator('[data-field="Media.MediaBytes"] .field-error').inner_text()
    screenshot(page, "too-big")

    # No such object on S3; and no file at all.
    page.check('[name="media_source"][value="s3"]')
    page.fill('[name="Media.MediaFileUri"]', "s3://media/no-such-key.wav")
    submit(page)
    assert "BadRequestException" in page.locator("#form-error").inner_text()
    page.check('[name="media_source"][value="upload"]')
    page.click("#transcribe")
    assert "Choose a media file" in page.locator('[data-field="Media.MediaBytes"] .field-error').inner_text()


def test_busy_emulator_answers_limit_exceeded(console, transcribe, upload, job_name):
    """A transcription job holds the one worker: TranscribeAudio is refused at once, as AWS
    refuses requests beyond its concurrency quota, and the page says so in the API's words."""
    uri = upload(CLIP, "console-now-busy.flac")
    transcribe.start_transcription_job(TranscriptionJobName=job_name, LanguageCode="en-US", Media={"MediaFileUri": upload(BUSY_CLIP)})
    deadline = time.monotonic() + 120
    while transcribe.get_transcription_job(TranscriptionJobName=job_name)["TranscriptionJob"]["TranscriptionJobStatus"] == "QUEUED":
        assert time.monotonic() < deadline, "the busy job never started"
        time.sleep(0.2)
    page = console
    page.goto("/console/transcribe-now")
    page.check('[name="media_source"][value="s3"]')
    page.fill('[name="Media.MediaFileUri"]', uri)
    # The answer: refused at once, or (the busy job ended first) the transcript, no alert at all.
    with page.expect_navigation(timeout=180_000):
        page.click("#transcribe", no_wait_after=True)
    alert = " ".join(page.locator("#form-error").all_inner_texts())
    status = transcribe.get_transcription_job(TranscriptionJobName=job_name)["TranscriptionJob"]["TranscriptionJobStatus"]
    if status != "IN_PROGRESS":
        pytest.skip(f"the busy job ended ({status}) before the page's request: the CPU was faster than this test assumes")
    assert "LimitExceededException" in alert and "workers" in alert, alert
    wait_for_job(transcribe, job_name)


def test_a_multipart_post_needs_the_token(emulator):
    with httpx.Client(base_url=emulator.endpoint) as client:
        client.get("/console/transcribe-now")  # the CSRF cookie
        files = {"media_file": ("a.wav", b"RIFF")}
        wrong = client.post("/console/transcribe-now", data={"csrf_token": "forged"}, files=files)
        assert wrong.status_code == 403 and "CSRF" in wrong.text
        token = client.cookies["console_csrf"]
        late = client.post("/console/transcribe-now", files={"media_file": ("a.wav", b"RIFF"), "csrf_token": (None, token)})
        assert late.status_code == 403  # the token must be the first part
        first = client.post("/console/transcribe-now", files={"csrf_token": (None, token), "media_source": (None, "upload"),
                                                               "media_file": ("a.wav", b"RIFF")})
        assert first.status_code == 400 and "BadRequestException" in first.text  # the API's answer to 4 bytes of media


# --- pure functions -------------------------------------------------------------------------------


def test_first_multipart_field():
    body = b'--XY\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nabc.def\r\n--XY\r\nContent-Disposition: form-data; name="f"'
    assert first_multipart_field(body, b"XY") == ("csrf_token", "abc.def")
    assert first_multipart_field(body[:40], b"XY") is None  # not complete yet
    upload = b'--XY\r\nContent-Disposition: form-data; name="csrf_token"; filename="t"\r\n\r\nabc\r\n--XY--'
    assert first_multipart_field(upload, b"XY") is None  # a file part never carries the token
    assert first_multipart_field(b"--other\r\n", b"XY") is None


def test_form_builders():
    form = {"CallAnalyticsJobName": ["c"], "Media.MediaFileUri": ["s3://m/c.wav"], "channel_mode": ["channels"],
            "agent_channel": ["1"], "language_mode": ["specific"], "language": ["en-GB"], "Settings.LanguageOptions": ["en-US"],
            "Settings.VocabularyFilterName": ["f"], "Settings.ContentRedaction": ["on"],
            "Settings.ContentRedaction.PiiEntityTypes": ["NAME"], "Settings.Summarization": ["on"]}
    assert family_forms.start_call_analytics_job(form) == {
        "CallAnalyticsJobName": "c", "Media": {"MediaFileUri": "s3://m/c.wav"},
        "ChannelDefinitions": [{"ChannelId": 1, "ParticipantRole": "AGENT"}, {"ChannelId": 0, "ParticipantRole": "CUSTOMER"}],
        "Settings": {"LanguageOptions": ["en-GB"], "VocabularyFilterName": "f", "VocabularyFilterMethod": "mask",
                     "ContentRedaction": {"RedactionType": "PII", "RedactionOutput": "redacted", "PiiEntityTypes": ["NAME"]},
                     "Summarization": {"GenerateAbstractiveSummary": True}},
    }
    assert "ChannelDefinitions" not in family_forms.start_call_analytics_job({"channel_mode": ["mono"]})
    rule = {"CategoryName": ["x"], "rule1.type": ["TranscriptFilter"], "rule1.Targets": ["a b\n\n c "],
            "rule1.range": ["AbsoluteTimeRange"], "rule1.Last": ["5000"], "rule2.type": [""], "rule3.type": ["SentimentFilter"],
            "rule3.Sentiments": ["MIXED"], "rule3.range": ["RelativeTimeRange"], "rule3.StartTime": ["10"], "rule3.EndTime": ["x"]}
    assert family_forms.create_call_analytics_category(rule)["Rules"] == [
        {"TranscriptFilter": {"TranscriptFilterType": "EXACT", "Targets": ["a b", "c"], "AbsoluteTimeRange": {"Last": 5000}}},
        {"SentimentFilter": {"Sentiments": ["MIXED"], "RelativeTimeRange": {"StartPercentage": 10, "EndPercentage": "x"}}},
    ]
    scribe = family_forms.start_medical_scribe_job({"audio_mode": ["speakers"], "Settings.MaxSpeakerLabels": ["3"]})
    assert scribe["Settings"] == {"ShowSpeakerLabels": True, "MaxSpeakerLabels": 3} and "ChannelDefinitions" not in scribe
    now = family_forms.transcribe_audio({"media_source": ["upload"], "language_mode": ["identify"], "LanguageOptions": ["en", "fr"]}, "QUJD")
    assert now == {"Media": {"MediaBytes": "QUJD"}, "LanguageDetectionMode": "IDENTIFY_LANGUAGE", "LanguageOptions": ["en", "fr"]}


def test_output_views():
    turn = {"ParticipantRole": "CUSTOMER", "Content": "It is broken. Thanks.", "BeginOffsetMillis": 1500, "EndOffsetMillis": 4000,
            "Sentiment": "NEGATIVE", "IssuesDetected": [{"CharacterOffsets": {"Begin": 0, "End": 13}}],
            "OutcomesDetected": [], "ActionItemsDetected": []}
    view = call_view({"Transcript": [turn], "Categories": {"MatchedCategories": ["c"], "MatchedDetails": {"c": {"PointsOfInterest": []}}}})
    (shown,) = view.turns
    assert [(p.text, p.kinds) for p in shown.pieces] == [("It is broken.", ("issue",)), (" Thanks.", ())]
    assert view.matched == [("c", [])] and view.insight_counts["issue"] == 1 and view.roles == ("AGENT", "CUSTOMER")
    with pytest.raises(MalformedOutput):
        call_view({"Transcript": [{**turn, "IssuesDetected": [{"CharacterOffsets": {"Begin": 5, "End": 99}}]}]})
    segment = {"SegmentId": "s1", "Content": "I have a cough.", "ParticipantDetails": {"ParticipantRole": "PATIENT_0"}}
    document = {"ClinicalDocumentation": {"Sections": [{"SectionName": "SUBJECTIVE", "Summary": [
        {"SummarizedSegment": "I have a cough.", "EvidenceLinks": [{"SegmentId": "s1"}]}]}]}}
    scribe = scribe_view({"Conversation": {"TranscriptSegments": [segment]}}, document)
    assert scribe.sections[0][1][0].evidence == ["s1"] and scribe.segments[0].role == "PATIENT_0"
    with pytest.raises(MalformedOutput, match="s2"):
        scribe_view({"Conversation": {"TranscriptSegments": [{**segment, "SegmentId": "s2x"}]}},
                    {"ClinicalDocumentation": {"Sections": [{"Summary": [{"EvidenceLinks": [{"SegmentId": "s2"}]}]}]}})
    assert clock(65_349) == "1:05.3" and clock(3_725_300) == "1:02:05.3"
