"""Language identification with the real multilingual "base" model on real shared recordings."""

from __future__ import annotations

import numpy as np
import pytest
from faster_whisper import WhisperModel

from emulator.engine.language_id import (
    LanguageScore,
    NoSpeechError,
    identify_language,
    identify_language_spans,
)
from emulator.engine.media import decode
from emulator.storage.models import ModelStore
from tests.support import audio_path


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> WhisperModel:
    model_dir = ModelStore(tmp_path_factory.mktemp("models")).resolve("base")
    return WhisperModel(str(model_dir), device="cpu", compute_type="int8", local_files_only=True)


@pytest.fixture(scope="module")
def samples():
    cache: dict[str, np.ndarray] = {}

    def _samples(item_id: str) -> np.ndarray:
        if item_id not in cache:
            cache[item_id] = decode(audio_path(item_id))
        return cache[item_id]

    return _samples


@pytest.mark.parametrize(
    "item_id, language",
    [
        ("cheetah_test_de", "de"),
        ("cheetah_test_fr", "fr"),
        ("aeneas_es_capitan_veneno", "es"),  # 70 s: several windows averaged
        ("jfk", "en"),
    ],
)
def test_top_language_is_the_spoken_one(model, samples, item_id, language):
    scores = identify_language(model, samples(item_id))

    assert scores[0].language == language
    assert scores[0].probability > 0.8
    assert [s.probability for s in scores] == sorted((s.probability for s in scores), reverse=True)
    assert sum(s.probability for s in scores) == pytest.approx(1.0, abs=1e-3)


def test_candidates_restrict_and_renormalise(model, samples):
    scores = identify_language(model, samples("cheetah_test_fr"), candidates=["en", "es", "it"])

    assert {s.language for s in scores} == {"en", "es", "it"}
    assert sum(s.probability for s in scores) == pytest.approx(1.0)


def test_candidates_rescue_a_weak_clip(model, samples):
    # Unrestricted, "base" hears this short Spanish clip as Greek; among likely options it is Spanish.
    scores = identify_language(model, samples("cheetah_test_es"), candidates=["en", "es", "fr", "de", "it"])

    assert scores[0] == LanguageScore("es", scores[0].probability)


def test_silence_raises_no_speech(model, samples):
    with pytest.raises(NoSpeechError):
        identify_language(model, samples("nst_sv_u0016001_silence"))
    with pytest.raises(NoSpeechError):
        identify_language_spans(model, samples("nst_sv_u0016001_silence"))


def test_unknown_candidate_is_refused(model, samples):
    with pytest.raises(ValueError):
        identify_language(model, samples("jfk"), candidates=["en", "xx"])


def test_spans_follow_the_switch_from_english_to_german(model, samples):
    # English licence text until 29.3 s, a pause, then its German translation from 30.8 s.
    spans = identify_language_spans(model, samples("fw_multilingual_en_de"))  # default 10 s windows

    assert [s.language for s in spans] == ["en", "de"]
    english, german = spans
    assert english.start < 1.0 and 28.0 < english.end <= german.start < 32.0
    assert german.end > 59.0
    assert english.duration == pytest.approx(29, abs=1.5)
    assert german.duration == pytest.approx(29, abs=1.5)


def test_spans_keep_to_candidates(model, samples):
    spans = identify_language_spans(model, samples("fw_multilingual_en_de"), candidates=["de", "fr"], window_seconds=30)

    assert {s.language for s in spans} <= {"de", "fr"}
    assert spans[-1].language == "de"


def test_english_only_model_is_refused(tmp_path, samples):
    english_only = WhisperModel(
        str(ModelStore(tmp_path).resolve("tiny.en")), device="cpu", compute_type="int8", local_files_only=True
    )

    with pytest.raises(ValueError):
        identify_language(english_only, samples("jfk"))
