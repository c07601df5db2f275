"""The streaming engine with the real tiny.en model on real shared recordings, fed in 100 ms
chunks as a streaming client sends them (no server: the engine knows nothing of AWS).

Each recording is streamed once per set of options (cached per module) to keep the CPU
cost down; the tests read the results. Pure helpers (VAD endpointing, LocalAgreement,
hallucination trimming) are tested on their own at the end.
"""

from __future__ import annotations

from functools import cache

import jiwer
import numpy as np
import pytest
from faster_whisper.vad import get_vad_model
from whisper_normalizer.english import EnglishTextNormalizer

from emulator.engine.media import SAMPLE_RATE, decode
from emulator.engine.recognizer import ModelLoadOptions, Recognizer
from emulator.engine.streaming import (
    VAD_WINDOW,
    Endpointer,
    HypWord,
    LocalAgreement,
    SpeechProbabilities,
    StreamingOptions,
    StreamingTranscriber,
    StreamResult,
    after_committed,
    drop_hallucinated_tail,
    without_hallucinations,
)
from emulator.storage.models import ModelStore
from tests.support import audio_path, manifest, wer

CHUNK = int(0.1 * SAMPLE_RATE)


@cache
def samples(item_id: str) -> np.ndarray:
    return decode(audio_path(item_id))


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def stream(transcriber: StreamingTranscriber, audio: np.ndarray, chunk: int = CHUNK) -> list[StreamResult]:
    results: list[StreamResult] = []
    for i in range(0, len(audio), chunk):
        results.extend(transcriber.accept(audio[i : i + chunk]))
    results.extend(transcriber.finish())
    return results


def finals(results: list[StreamResult]) -> list[StreamResult]:
    return [r for r in results if not r.is_partial]


def text_of(results: list[StreamResult]) -> str:
    return " ".join(r.text for r in finals(results))


def assert_well_formed(results: list[StreamResult]) -> None:
    """Each result_id: its partials, then exactly one final; result_ids do not interleave."""
    ids = list(dict.fromkeys(r.result_id for r in results))
    assert [r.result_id for r in results] == sorted((r.result_id for r in results), key=ids.index)
    for rid in ids:
        kinds = [r.is_partial for r in results if r.result_id == rid]
        assert kinds == [True] * (len(kinds) - 1) + [False], rid
        assert len({r.start for r in results if r.result_id == rid}) == 1


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory) -> Recognizer:
    return Recognizer(ModelStore(tmp_path_factory.mktemp("models")).resolve, ModelLoadOptions())


@pytest.fixture(scope="module")
def run(recognizer):
    """run(audio_key, **options) -> results; audio_key is a manifest id, or a tuple of
    manifest ids / seconds of silence joined in order. Cached per module."""
    cache: dict = {}

    def _run(key, **options) -> list[StreamResult]:
        cache_key = (key, tuple(sorted(options.items())))
        if cache_key not in cache:
            parts = key if isinstance(key, tuple) else (key,)
            audio = np.concatenate([silence(p) if isinstance(p, float) else samples(p) for p in parts])
            transcriber = StreamingTranscriber(recognizer, StreamingOptions(language="en", **options))
            cache[cache_key] = (stream(transcriber, audio), len(audio) / SAMPLE_RATE)
        return cache[cache_key][0]

    _run.duration = lambda key, **options: cache[(key, tuple(sorted(options.items())))][1]
    return _run


ONE_UTTERANCE = ("librivox_0870", 1.0)  # 7 s of continuous reading, then 1 s of silence


# --- one utterance ------------------------------------------------------------------------


def test_partials_grow_under_one_result_id_and_end_in_a_final(run):
    results = run(ONE_UTTERANCE, stability="medium")

    assert len({r.result_id for r in results}) == 1
    assert_well_formed(results)
    partials = [r for r in results if r.is_partial]
    assert len(partials) >= 3
    assert len(partials[0].words) < len(results[-1].words)
    assert wer(manifest()["librivox_0870"]["text"], results[-1].text) <= 0.1
    assert all(r.language == "en" for r in results)


def test_stable_words_never_change(run):
    for stability in ("high", "medium", "low"):
        results = run(ONE_UTTERANCE, stability=stability)
        committed: list = []
        for r in results:
            assert list(r.words[: len(committed)]) == committed, stability
            stable = [w for w in r.words if w.stable]
            assert r.words[: len(stable)] == tuple(stable), "stable words form a prefix"
            committed = stable
        assert any(w.stable for r in results if r.is_partial for w in r.words), stability
        assert all(w.stable for w in results[-1].words)


def test_high_stability_commits_sooner_than_low(run):
    def first_stable_at(stability: str) -> float:
        results = run(ONE_UTTERANCE, stability=stability)
        return next(r.end for r in results if any(w.stable for w in r.words))

    assert first_stable_at("high") < first_stable_at("low")


def test_without_stability_partials_report_nothing_stable(run):
    results = run(ONE_UTTERANCE)

    assert not any(w.stable for r in results if r.is_partial for w in r.words)
    assert all(w.stable for w in results[-1].words)
    assert wer(manifest()["librivox_0870"]["text"], results[-1].text) <= 0.1


@pytest.mark.parametrize("item_id", ["jfk", "ls_61-70968-0000", "librivox_0890"])
def test_final_transcript_is_accurate(run, item_id):
    results = run((item_id, 1.0))

    assert wer(manifest()[item_id]["text"], text_of(results)) <= 0.15


def test_finish_flushes_a_pending_utterance(recognizer):
    transcriber = StreamingTranscriber(recognizer, StreamingOptions(language="en"))
    audio = samples("librivox_0870")[: 4 * SAMPLE_RATE]  # cut in the middle of the sentence
    during = [r for i in range(0, len(audio), CHUNK) for r in transcriber.accept(audio[i : i + CHUNK])]

    assert during and all(r.is_partial for r in during)
    flushed = transcriber.finish()
    assert len(flushed) == 1 and not flushed[0].is_partial
    assert flushed[0].result_id == during[-1].result_id
    heard = {word.text.strip(".,!?").lower() for word in flushed[0].words}
    assert {"john", "dashwood"} <= heard  # "and mister john dashwood had then leisure to consider how ..."
    assert transcriber.finish() == []


# --- several utterances, silence, long speech ----------------------------------------------


def test_two_utterances_separated_by_silence_get_two_result_ids(run):
    key = (0.5, "ls_61-70968-0000", 1.5, "librivox_0930", 1.0)
    results = run(key)
    first, second = finals(results)

    assert first.result_id != second.result_id
    assert_well_formed(results)
    assert first.end <= second.start
    split = 0.5 + len(samples("ls_61-70968-0000")) / SAMPLE_RATE + 0.75  # middle of the silence
    assert first.words[-1].end < split < second.words[0].start
    assert wer(manifest()["ls_61-70968-0000"]["text"], first.text) <= 0.15
    assert wer(manifest()["librivox_0930"]["text"], second.text) <= 0.15


def test_silence_gives_no_results(run):
    assert run((2.0, "nst_sv_u0016001_silence", 1.0)) == []


def test_a_long_utterance_is_cut_into_several_results_without_losing_words(run):
    item = "sonnet_001_first9s_ogg"
    results = run((item, 1.0), stability="high", max_utterance_s=4.0)

    assert len(finals(results)) >= 2
    assert_well_formed(results)
    # Cut 4 s pieces lose context (more substitutions than one decode), but no word may be
    # lost or doubled where they join.
    normalise = EnglishTextNormalizer()
    measures = jiwer.process_words(normalise(manifest()[item]["text"]), normalise(text_of(results)))
    assert measures.deletions <= 1 and measures.insertions <= 2
    assert measures.wer <= 0.4
    for r in finals(results):
        assert r.end - r.start <= 4.0 + 1.0 + 0.1  # max_utterance_s + step_s + a chunk


@pytest.mark.parametrize("key", [ONE_UTTERANCE, (0.5, "ls_61-70968-0000", 1.5, "librivox_0930", 1.0), ("jfk", 1.0)])
def test_times_are_monotonic_and_within_the_audio(run, key):
    results = run(key)
    duration = run.duration(key)
    previous_final_end = 0.0
    for r in results:
        assert 0.0 <= r.start <= r.end <= duration + 1e-6
        times = [t for w in r.words for t in (w.start, w.end)]
        assert times == sorted(times)
        assert all(r.start <= t <= r.end for t in times)
        assert r.start >= previous_final_end - 1e-6
        if not r.is_partial:
            previous_final_end = r.end


def test_one_big_chunk_gives_the_same_utterances_as_small_chunks(recognizer, run):
    key = (0.5, "ls_61-70968-0000", 1.5, "librivox_0930", 1.0)
    audio = np.concatenate([silence(0.5), samples("ls_61-70968-0000"), silence(1.5), samples("librivox_0930"), silence(1.0)])
    transcriber = StreamingTranscriber(recognizer, StreamingOptions(language="en"))
    big = stream(transcriber, audio, chunk=len(audio))

    assert [r.is_partial for r in big] == [False, False]  # no partial: the chunk held everything
    small = finals(run(key))
    assert [round(r.start, 2) for r in big] == [round(r.start, 2) for r in small]
    assert wer(text_of(small), text_of(big)) <= 0.15


# --- language identification (multilingual model) -------------------------------------------


def test_identifies_the_language_among_candidates(recognizer):
    options = StreamingOptions(language=None, candidate_languages=("en", "de", "fr"), model_name="base")
    results = stream(StreamingTranscriber(recognizer, options), np.concatenate([samples("cheetah_test_de"), silence(1.0)]))

    assert finals(results)
    assert {r.language for r in finals(results)} == {"de"}
    assert text_of(results).strip()


# --- errors ------------------------------------------------------------------------------------


def test_bad_options_and_input_are_refused(recognizer):
    with pytest.raises(ValueError):
        StreamingTranscriber(recognizer, StreamingOptions(language="en", stability="extreme"))
    with pytest.raises(ValueError):
        StreamingTranscriber(recognizer, StreamingOptions(language=None, candidate_languages=("en", "xx"), model_name="base"))
    with pytest.raises(ValueError):
        StreamingTranscriber(recognizer, StreamingOptions(language="de", model_name="tiny.en"))
    transcriber = StreamingTranscriber(recognizer, StreamingOptions(language="en"))
    with pytest.raises(ValueError):
        transcriber.accept(np.zeros((2, 1600), dtype=np.float32))
    assert transcriber.accept(np.zeros(0, dtype=np.float32)) == []
    transcriber.finish()
    with pytest.raises(RuntimeError):
        transcriber.accept(silence(0.1))


# --- pure parts ------------------------------------------------------------------------------


def test_incremental_vad_equals_faster_whispers_vad_on_the_whole_audio():
    audio = samples("jfk")
    audio = audio[: len(audio) // VAD_WINDOW * VAD_WINDOW]
    whole = get_vad_model()(audio.copy()).reshape(-1)
    vad = SpeechProbabilities()
    pieces, i = [], 0
    for size in [100, 1600, 3, 5000, 512, 7777] * 100:  # odd sizes, across window edges
        pieces.append(vad.feed(audio[i : i + size]))
        i += size
        if i >= len(audio):
            break

    # All but the last window: faster-whisper's batch call zeroes the end of its last window.
    np.testing.assert_allclose(np.concatenate(pieces)[:-1], whole[:-1], atol=1e-5)


def test_endpointer_opens_on_speech_and_closes_after_enough_silence():
    endpointer = Endpointer(threshold=0.5, min_silence_windows=3)
    probabilities = [0.1, 0.9, 0.8, 0.1, 0.9, 0.1, 0.45, 0.1, 0.1, 0.1, 0.9]
    events = [(i, e) for i, p in enumerate(probabilities) if (e := endpointer.step(i, p))]

    # a 1-window pause (index 3) does not close; the silence from 5 on does (0.45 sits in the hysteresis band)
    assert events == [(1, ("start", VAD_WINDOW)), (7, ("end", 5 * VAD_WINDOW)), (10, ("start", 10 * VAD_WINDOW))]


def w(text: str, start: float, end: float | None = None) -> HypWord:
    return HypWord(" " + text, start, start + 0.3 if end is None else end, 0.9)


def test_local_agreement_commits_the_common_prefix_of_consecutive_hypotheses():
    agreement = LocalAgreement(agreements=2, tail_guard_s=0.0)

    assert agreement.insert([w("ask", 0.0), w("knot", 0.4)], audio_end=1.0) == []
    assert agreement.insert([w("ask", 0.0), w("not", 0.4), w("what", 0.8)], audio_end=1.5) == [w("ask", 0.0)]
    assert agreement.insert([w("ask", 0.0), w("not", 0.4), w("what", 0.8)], audio_end=2.0) == [
        w("not", 0.4), w("what", 0.8)]
    assert agreement.committed == [w("ask", 0.0), w("not", 0.4), w("what", 0.8)]


def test_local_agreement_holds_back_words_near_the_end_of_the_audio():
    agreement = LocalAgreement(agreements=2, tail_guard_s=0.5)
    hypothesis = [w("ask", 0.0), w("not", 0.4), w("what", 0.8)]
    agreement.insert(hypothesis, audio_end=1.1)

    assert agreement.insert(hypothesis, audio_end=1.1) == [w("ask", 0.0)]  # "not" ends at 0.7 > 1.1 - 0.5
    assert agreement.pending() == [w("not", 0.4), w("what", 0.8)]


def test_after_committed_drops_words_already_committed_and_a_repeated_head():
    committed = [w("my", 1.0), w("fellow", 1.3), w("Americans,", 1.6)]
    hypothesis = [w("my", 1.0), w("fellow", 1.3), w("Americans.", 1.6), w("Ask", 2.0)]
    assert after_committed(hypothesis, committed) == [w("Ask", 2.0)]
    shifted = [w("fellow", 1.95), w("Americans", 2.0), w("ask", 2.3)]  # times drifted, words repeated
    assert after_committed(shifted, committed) == [w("ask", 2.3)]


def test_a_loop_inside_a_window_is_cut_to_its_first_repeat():
    # stereo1_room's second channel streamed after cancellation (bench/stream_channels.py): the
    # sentence, then five repeats of it squeezed into 0.2 s, then the next words.
    sentence = ["What", "joy", "there", "is", "and", "living."]
    said = [w(x, 6.9 + 0.3 * i) for i, x in enumerate(sentence)]
    loop = [w(x, 8.7 + 0.01 * i, 8.7 + 0.01 * i) for i, x in enumerate(sentence * 4)]
    after = [w("Tear", 13.0), w("a", 13.6)]
    assert without_hallucinations(said + loop + after) == said + after
    no_no = [w("no,", 0.0), w("no,", 0.3), w("no.", 0.6)]  # said three times: no loop
    assert without_hallucinations(no_no) == no_no


def test_a_squeezed_repeat_inside_a_window_is_dropped():
    # The same channel in another draw: one repeat squeezed after the sentence, words after it.
    said = [w("What", 6.9), w("joy", 7.46), w("there", 7.82), w("is", 8.08), w("in", 8.28), w("living.", 8.44)]
    words = ("What", "joy", "there", "is", "in", "living.")
    squeezed = [w(x, 8.74 + 0.02 * i, 8.75 + 0.02 * i) for i, x in enumerate(words)]
    after = [w("Tear", 13.0), w("a", 13.6)]
    assert without_hallucinations(said + squeezed + after) == said + after
    said_again = said + [w(x.raw.strip(), 9.0 + 0.3 * i) for i, x in enumerate(said)]  # really said twice: kept
    assert without_hallucinations(said_again) == said_again


def test_drop_hallucinated_tail():
    real = [w("And", 0.0), w("so", 0.4), w("my", 0.8), w("fellow", 1.1), w("Americans.", 1.5)]
    squeezed = [w(x, 2.14, 2.14) for x in ("And", "so", "my", "fellow", "Americans.")]
    assert drop_hallucinated_tail(real + squeezed) == real
    assert drop_hallucinated_tail(real) == real
    repeated = [w("to", 3.0), w("go", 3.3), w("to", 3.6, 3.62), w("go", 3.62, 3.65)]
    assert drop_hallucinated_tail(repeated) == repeated[:2]
    said_twice = [w("go", 0.0), w("now", 0.4), w("go", 0.8), w("now", 1.2)]  # really said twice: kept
    assert drop_hallucinated_tail(said_twice) == said_twice
