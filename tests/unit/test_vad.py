"""One Silero pass per audio (emulator.engine.vad) with faster-whisper's real VAD model."""

import os

import numpy as np
from faster_whisper.utils import get_assets_path
from faster_whisper.vad import VadOptions, get_speech_timestamps

from emulator.engine import vad
from emulator.engine.media import decode
from tests.support import audio_path


class Counted:
    """faster-whisper's model, counting the calls that reach the network."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def __call__(self, audio, *args, **kwargs):
        self.calls += 1
        return self.model(audio, *args, **kwargs)


def test_speech_questions_about_one_audio_run_the_network_once(monkeypatch):
    """The sharing wrapper around faster-whisper's model answers as the model does, and runs
    it once per audio, whatever thresholds are asked for."""
    import faster_whisper.vad as fw_vad

    plain = fw_vad.SileroVADModel(os.path.join(get_assets_path(), "silero_vad_v6.onnx"))  # as faster-whisper loads it
    counted = Counted(plain)
    shared = vad.SharedProbabilities(counted)
    monkeypatch.setattr(fw_vad, "get_vad_model", lambda: shared)
    samples = decode(audio_path("jfk"))
    transcribe_like = VadOptions()  # faster-whisper's transcribe defaults
    pause_like = VadOptions(threshold=0.5, min_silence_duration_ms=300, speech_pad_ms=200, min_speech_duration_ms=100)

    first = get_speech_timestamps(samples, transcribe_like)
    second = get_speech_timestamps(samples, pause_like)
    other = get_speech_timestamps(samples[: len(samples) // 2], pause_like)

    assert counted.calls == 2  # the whole clip once, its first half once
    monkeypatch.setattr(fw_vad, "get_vad_model", lambda: plain)
    assert first == get_speech_timestamps(samples, transcribe_like)
    assert second == get_speech_timestamps(samples, pause_like)
    assert other == get_speech_timestamps(samples[: len(samples) // 2], pause_like)
    assert len(second) > len(first) >= 1  # the settings still decide the regions


def test_kept_probabilities_are_read_only_and_bounded():
    calls = []
    shared = vad.SharedProbabilities(lambda audio: calls.append(1) or np.ones(len(audio) // 512, np.float32), kept=2)
    audios = [np.full(1024, i, dtype=np.float32) for i in range(3)]

    out = [shared(a) for a in audios] + [shared(audios[2]), shared(audios[0])]

    assert len(calls) == 4  # the third audio came back from memory; the first had been let go
    assert not out[0].flags.writeable


def test_the_recognizer_installs_the_sharing():
    import faster_whisper.vad as fw_vad

    vad.share_speech_probabilities()
    vad.share_speech_probabilities()

    assert isinstance(fw_vad.get_vad_model(), vad.SharedProbabilities)
    assert fw_vad.get_vad_model() is fw_vad.get_vad_model()


def test_digital_silence_finds_runs_of_16_bit_zero_and_nothing_in_a_quiet_room():
    rate = 16000
    room = decode(audio_path("jfk"))[rate // 10 : rate]  # its room tone before the first word (-43 dBFS), and "And"
    samples = np.concatenate([room, np.zeros(rate // 2, np.float32), room, np.full(rate // 20, 2.0**-16, np.float32)])
    samples[int(1.1 * rate)] = 2.0**-15  # one 16-bit step is still silence
    assert vad.digital_silence(room) == []
    assert vad.digital_silence(samples) == [(0.9, 1.4)]  # the 50 ms at the end is under min_seconds
    assert vad.digital_silence(samples, min_seconds=0.05) == [(0.9, 1.4), (2.3, 2.35)]
    samples[int(1.1 * rate)] = 2.0**-14  # two steps are sound: the run is cut there
    assert vad.digital_silence(samples) == [(0.9, 1.1), (1.11, 1.4)]  # whole 10 ms frames


def test_without_splits_spans_around_holes():
    spans = [(0.0, 1.0), (2.0, 5.0), (6.0, 7.0)]
    holes = [(0.5, 0.6), (1.5, 2.5), (3.0, 3.2), (4.9, 6.0), (6.5, 8.0)]
    assert vad.without(spans, holes) == [(0.0, 0.5), (0.6, 1.0), (2.5, 3.0), (3.2, 4.9), (6.0, 6.5)]
    assert vad.without(spans, []) == spans
    assert vad.without([(1.0, 2.0)], [(0.0, 3.0)]) == []
    assert vad.without([(2.0, 3.0), (0.0, 1.0)], [(0.5, 2.5)]) == [(2.5, 3.0), (0.0, 0.5)]  # the spans' order
