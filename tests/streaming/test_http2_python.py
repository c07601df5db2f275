"""StartStreamTranscription over HTTP/2 + TLS with the real Python clients, real speech, the real model.

amazon-transcribe (awslabs, awscrt) runs in this interpreter's venv; aws-sdk-transcribe-streaming
(smithy, Python >= 3.12) in a throwaway 3.12 venv. Both run as subprocesses trusting the
emulator's local CA through SSL_CERT_FILE, as a user would set it.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.streaming.conftest import final_transcript, results, run_client, write_pcm
from tests.support import manifest, wer

UTTERANCE = "ls_61-70968-0000"  # 4.9 s, LibriSpeech
WER_BOUND = 0.35  # tiny.en streaming on one short utterance (batch tiny.en: about 0.11 pooled)


def _by_result_id(lines: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for result in results(lines):
        out.setdefault(result["result_id"], []).append(result)
    return out


def test_transcript_with_growing_and_settling_partials(amazon_transcribe_client, pcm):
    lines = amazon_transcribe_client(
        pcm(UTTERANCE),
        "--pace", "1.0",
        "--setting", "enable_partial_results_stabilization=true",
        "--setting", "partial_results_stability=high",
    )
    assert lines[0]["event"] == "headers" and lines[-1]["event"] == "done", lines[-3:]
    assert wer(manifest()[UTTERANCE]["text"], final_transcript(lines)) <= WER_BOUND, final_transcript(lines)

    grouped = _by_result_id(lines)
    with_partials = [rs for rs in grouped.values() if len(rs) > 1]
    assert with_partials, "no partial results"
    for rs in grouped.values():
        assert [r["is_partial"] for r in rs] == [True] * (len(rs) - 1) + [False]  # partials, then one final
    for rs in with_partials:
        first, last = rs[0]["alternatives"][0]["items"], rs[-2]["alternatives"][0]["items"]
        assert len(last) >= len(first)  # partials repeat the utterance so far: they grow
        stable_seen: dict[int, str] = {}
        for r in rs:
            items = r["alternatives"][0]["items"]
            assert all("stable" in item for item in items)
            for index, content in stable_seen.items():  # a stable item never changes again
                assert items[index]["content"] == content, (index, content, items)
            stable_seen.update({i: item["content"] for i, item in enumerate(items) if item["stable"]})
    final_items = [i for rs in grouped.values() for i in rs[-1]["alternatives"][0]["items"]]
    assert all("confidence" in i for i in final_items if i["item_type"] == "pronunciation")


def test_vocabulary_filter_masks_words(amazon_transcribe_client, pcm, transcribe):
    name = "streaming-mask-wizard"
    transcribe.create_vocabulary_filter(VocabularyFilterName=name, LanguageCode="en-US", Words=["wizard", "curtain"])
    lines = amazon_transcribe_client(
        pcm(UTTERANCE), "--pace", "0",
        "--setting", f"vocab_filter_name={name}", "--setting", "vocab_filter_method=mask",
    )
    text = final_transcript(lines).lower()
    assert "***" in text and "wizard" not in text and "curtain" not in text, text


def test_speaker_labels_on_two_speakers(amazon_transcribe_client, tmp_path):
    from emulator.engine.media import decode
    from tests.support import audio_path

    gap = np.zeros(int(1.2 * 16000), dtype=np.float32)
    pieces = ["sb_spk1_snt1", "sb_spk2_snt1", "sb_spk1_snt3", "sb_spk2_snt3"]
    audio = np.concatenate([part for item in pieces for part in (decode(audio_path(item)), gap)])
    lines = amazon_transcribe_client(
        write_pcm(audio, tmp_path / "two-speakers.pcm"), "--pace", "0", "--setting", "show_speaker_label=true"
    )
    finals = [r for r in results(lines) if not r["is_partial"]]
    assert len(finals) >= 3, final_transcript(lines)
    speakers_of = [{i["speaker"] for i in r["alternatives"][0]["items"]} for r in finals]
    assert all(len(s) == 1 for s in speakers_of[:1])
    assert len(set().union(*speakers_of)) >= 2, speakers_of


def test_channel_identification_on_stereo(amazon_transcribe_client, pcm):
    item = manifest()["fw_stereo_diarization"]
    lines = amazon_transcribe_client(
        pcm("fw_stereo_diarization", stereo=True), "--channels", "2", "--pace", "0",
        "--setting", "enable_channel_identification=true", "--setting", "number_of_channels=2",
    )
    assert {r.get("channel_id") for r in results(lines)} == {"ch_0", "ch_1"}
    for channel, label in (("0", "ch_0"), ("1", "ch_1")):
        assert wer(item["channel_text"][channel], final_transcript(lines, label)) <= 0.5


def test_channel_identification_keeps_the_other_talkers_leak_off_each_channel(amazon_transcribe_client, tmp_path):
    # Two talkers in one room (bench/meetings.py stereo2): each loud on his own channel and
    # -12 dB on the other's. Without the stream's crosstalk cancellation the second channel
    # carried both talkers' words (WER 1.16, bench/stream_channels.py).
    from bench.meetings import stereo_mixes

    mix = next(m for m in stereo_mixes() if m.id == "stereo2")
    lines = amazon_transcribe_client(
        write_pcm(mix.samples, tmp_path / "stereo2.pcm"), "--channels", "2", "--pace", "0",
        "--setting", "enable_channel_identification=true", "--setting", "number_of_channels=2",
    )
    for channel in (0, 1):
        transcript = final_transcript(lines, f"ch_{channel}")
        assert wer(mix.channel_text[channel], transcript) <= 0.1, (channel, transcript)


def test_invalid_setting_fails_before_the_stream(amazon_transcribe_client, pcm):
    lines = amazon_transcribe_client(pcm("cards_001"), "--language-code", "xx-XX")
    assert lines[0]["event"] == "error" and lines[0]["code"] == "BadRequestException", lines
    assert "Value 'xx-XX' at 'languageCode' failed to satisfy constraint" in lines[0]["message"]


def test_bad_signature_fails_before_the_stream(amazon_transcribe_client, pcm):
    lines = amazon_transcribe_client(pcm("cards_001"), "--secret-key", "not-the-secret")
    assert lines[0]["event"] == "error" and "signature" in lines[0]["message"].lower(), lines
    assert not results(lines)


def test_malformed_frame_gets_an_exception_event_and_the_server_goes_on(amazon_transcribe_client, pcm):
    lines = amazon_transcribe_client(pcm(UTTERANCE), "--pace", "0", "--malformed-after", "5")
    errors = [line for line in lines if line["event"] == "error"]
    assert errors and errors[0]["code"] == "BadRequestException", lines[-3:]
    assert "event stream message couldn't be read" in errors[0]["message"]
    after = amazon_transcribe_client(pcm("librivox_0880"), "--pace", "0")
    assert after[-1]["event"] == "done" and final_transcript(after)


def test_no_audio_for_15_seconds_ends_the_stream(amazon_transcribe_client, pcm):
    lines = amazon_transcribe_client(pcm("cards_001"), "--stall-after", "3", timeout=60)
    assert lines[-1]["event"] == "error", lines[-3:]
    assert lines[-1]["code"] == "BadRequestException"
    assert lines[-1]["message"] == "Your request timed out because no new audio was received for 15 seconds."
    assert 14 < lines[-1]["t"] < 30


@pytest.mark.parametrize("medical", [False, True], ids=["standard", "medical"])
def test_smithy_sdk_over_http2(py312, emulator, pcm, medical):
    script = __file__.replace("test_http2_python.py", "smithy_client.py")
    command = [str(py312), script, "--endpoint", emulator.https_endpoint, "--pcm", str(pcm(UTTERANCE)), "--pace", "0"]
    if medical:
        command.append("--medical")
    lines = run_client(command, {"SSL_CERT_FILE": str(emulator.ca_file)})
    assert lines[-1]["event"] == "done", lines[-3:]
    text = final_transcript(lines)
    assert wer(manifest()[UTTERANCE]["text"], text) <= WER_BOUND, text
    items = [i for r in results(lines) for i in r["alternatives"][0]["items"]]
    assert ("vocabulary_filter_match" in items[0]) is not medical  # MedicalItem has no such member


def test_pii_redaction_on_final_results(amazon_transcribe_client, tmp_path):
    from emulator.engine.media import decode
    from tests.support import speak

    spoken = decode(speak(tmp_path, "Hello, my name is John Smith and I live in Seattle."))
    lines = amazon_transcribe_client(
        write_pcm(spoken, tmp_path / "pii.pcm"), "--pace", "0", "--setting", "content_redaction_type=PII"
    )
    finals = [r for r in results(lines) if not r["is_partial"]]
    text = " ".join(r["alternatives"][0]["transcript"] for r in finals)
    assert "[PII]" in text and "Smith" not in text, text
    entities = [e for r in finals for e in r["alternatives"][0].get("entities", [])]
    assert {"NAME"} <= {e["entity_type"] for e in entities} and all(e["category"] == "PII" for e in entities)


def test_language_identification_among_options(amazon_transcribe_client, pcm):
    lines = amazon_transcribe_client(
        pcm("cheetah_test_de"), "--pace", "0",
        "--setting", "identify_language=true", "--setting", "language_options=en-US,de-DE",
    )
    finals = [r for r in results(lines) if not r["is_partial"]]
    # amazon-transcribe 0.6.4 parses LanguageCode but not LanguageIdentification (its scores).
    assert finals and {r["language_code"] for r in finals} == {"de-DE"}, finals


def test_ogg_opus_media_encoding(amazon_transcribe_client, tmp_path):
    import io

    import av

    from emulator.engine.media import decode
    from tests.support import audio_path

    samples = decode(audio_path(UTTERANCE))
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray((samples * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16000
        for resampled in av.AudioResampler(format="s16", layout="mono", rate=48000).resample(frame):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    path = tmp_path / "speech.opus"
    path.write_bytes(buffer.getvalue())
    lines = amazon_transcribe_client(path, "--pace", "0", "--encoding", "ogg-opus", "--sample-rate", "48000")
    assert wer(manifest()[UTTERANCE]["text"], final_transcript(lines)) <= WER_BOUND, final_transcript(lines)
