"""Whisper's repetition loops found, decoded again and, if they stay, cut (issue 15):
emulator.engine.repetition (pure) and Recognizer._without_loop with the real model."""

from __future__ import annotations

import pytest

from emulator.engine.media import decode
from emulator.engine.recognizer import ModelLoadOptions, RecognitionOptions, Recognizer, Segment, Word
from emulator.engine.repetition import cut_loops, find_loops
from emulator.storage.models import ModelStore
from tests.support import audio_path, manifest, wer


def test_thirteen_yeahs_are_a_loop_and_three_are_not():
    words = ["So", " yeah,"] + [" yeah,"] * 12 + [" right."]

    assert find_loops(words) == [(1, 14, 1)]
    assert find_loops(["no,", " no,", " no."]) == []
    assert cut_loops(words) == ["So", " yeah,", " yeah,", " right."]


def test_a_repeated_sentence_is_one_loop():
    sentence = ["I", " think", " so."]
    words = ["Well"] + sentence * 5 + ["Bye."]

    assert find_loops(words) == [(1, 16, 3)]
    assert cut_loops(words) == ["Well"] + sentence * 2 + ["Bye."]


def test_ordinary_speech_has_no_loop():
    for item in ("jfk", "librivox_0870"):
        assert find_loops(manifest()[item]["text"].split()) == []


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory) -> tuple[Recognizer, str]:
    store = ModelStore(tmp_path_factory.mktemp("models"))
    return Recognizer(store.resolve, ModelLoadOptions()), store.model_for_language("en")


def test_a_looping_segment_is_decoded_again(recognizer):
    model_recognizer, name = recognizer
    samples = decode(audio_path("jfk"))
    yeahs = tuple(Word(0.3 + i * 0.5, 0.7 + i * 0.5, " yeah", 0.5) for i in range(13))
    looping = Segment(0.0, 11.0, "yeah " * 13, yeahs)

    segment = model_recognizer._without_loop(model_recognizer.model(name), samples, looping, RecognitionOptions("en"))

    assert not find_loops([w.text for w in segment.words])
    assert wer(manifest()["jfk"]["text"], segment.text) < 0.1
    assert 0.0 <= segment.words[0].start < segment.words[-1].end <= 11.0
