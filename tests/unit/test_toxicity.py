"""Toxicity scores (emulator.engine.toxicity) measured on labelled sentences, with the real
classifier of alt-profanity-check, and their rendering as `toxicity_detection`."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.aws.errors import BadRequestException
from emulator.engine.toxicity import CATEGORIES, combine, lexicon_evidence, score_texts
from emulator.service.toxicity import check_toxicity_request, toxicity_detection

HERE = Path(__file__).parent
THRESHOLD = 0.5


def _labelled(name: str) -> list[tuple[str, str]]:
    lines = (HERE / name).read_text().splitlines()
    return [tuple(line.split("\t")) for line in lines if line and not line.startswith("#")]


def measure(rows: list[tuple[str, str]]) -> dict[str, float]:
    """Overall precision and recall (toxicity >= 0.5 against label != NONE); for the toxic rows
    the share whose highest category is the label; category precision and recall over all
    (row, category) pairs with a score >= 0.5."""
    scores = score_texts([text for _, text in rows])
    tp = fp = fn = top = ctp = cfp = cfn = 0
    for (label, _), score in zip(rows, scores):
        toxic = score.toxicity >= THRESHOLD
        flagged = {c for c in CATEGORIES if score.categories[c] >= THRESHOLD}
        wanted = set() if label == "NONE" else {label.lower()}
        tp, fp, fn = tp + (toxic and bool(wanted)), fp + (toxic and not wanted), fn + (not toxic and bool(wanted))
        top += bool(wanted) and toxic and max(score.categories, key=score.categories.get) in wanted
        ctp, cfp, cfn = ctp + len(flagged & wanted), cfp + len(flagged - wanted), cfn + len(wanted - flagged)
    return {
        "precision": tp / max(tp + fp, 1),
        "recall": tp / max(tp + fn, 1),
        "top_category": top / max(tp + fn, 1),
        "category_precision": ctp / max(ctp + cfp, 1),
        "category_recall": ctp / max(ctp + cfn, 1),
    }


def test_the_labelled_set(capsys):
    # 40 sentences written with the lexicon (in-sample): the method must fit them.
    figures = measure(_labelled("toxicity_labelled.tsv"))
    with capsys.disabled():
        print("\ntoxicity, labelled set (40, in-sample):", {k: round(v, 3) for k, v in figures.items()})
    assert figures["precision"] >= 0.9 and figures["recall"] >= 0.9
    assert figures["top_category"] >= 0.9 and figures["category_recall"] >= 0.9


def test_the_held_out_set(capsys):
    # 20 sentences written after the lexicon and never used to tune it: the honest figures
    # (measured: precision 0.89, recall 0.80, top category 0.6, category P/R 0.6/0.6).
    figures = measure(_labelled("toxicity_heldout.tsv"))
    with capsys.disabled():
        print("\ntoxicity, held-out set (20):", {k: round(v, 3) for k, v in figures.items()})
    assert figures["precision"] >= 0.8 and figures["recall"] >= 0.7
    assert figures["top_category"] >= 0.5


def test_threats_need_a_person():
    assert lexicon_evidence("please kill the process")["violence_or_threat"] == 0
    assert lexicon_evidence("I will kill you")["violence_or_threat"] >= 0.9
    assert lexicon_evidence("A masked f*** word")["profanity"] > 0


def test_combine_takes_the_classifier_or_the_strongest_category():
    none = dict.fromkeys(CATEGORIES, 0.0)
    assert combine(0.8, none).toxicity == 0.8
    assert combine(0.1, {**none, "graphic": 0.9}).toxicity == 0.9
    scores = combine(1.0, none)
    assert scores.categories["profanity"] > scores.categories["graphic"]
    assert all(0 <= v <= 1 for v in scores.categories.values())


def test_toxicity_detection_renders_each_audio_segment():
    results = {
        "audio_segments": [
            {"id": 0, "transcript": "Good morning, everyone.", "start_time": "0.1", "end_time": "1.5", "items": [0]},
            {"id": 1, "transcript": "Shut up, you stupid idiot.", "start_time": "2.0", "end_time": "3.25", "items": [1]},
        ]
    }
    neutral, toxic = toxicity_detection(results)
    assert set(neutral) == {"text", "toxicity", "categories", "start_time", "end_time"}
    assert (neutral["text"], neutral["start_time"], neutral["end_time"]) == ("Good morning, everyone.", 0.1, 1.5)
    assert list(toxic["categories"]) == list(CATEGORIES)
    assert neutral["toxicity"] < 0.5 <= toxic["toxicity"] and toxic["categories"]["insult"] >= 0.5
    assert all(isinstance(v, float) and round(v, 4) == v for v in toxic["categories"].values())


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"LanguageCode": "en-GB"}, "the language code en-GB"),
        ({"IdentifyLanguage": True}, "language identification"),
    ],
)
def test_languages_other_than_us_english_are_refused(params, fragment):
    with pytest.raises(BadRequestException, match=fragment):
        check_toxicity_request({**params, "ToxicityDetection": [{"ToxicityCategories": ["ALL"]}]})
    check_toxicity_request({"LanguageCode": "en-US", "ToxicityDetection": [{"ToxicityCategories": ["ALL"]}]})
    check_toxicity_request({"LanguageCode": "en-GB"})
