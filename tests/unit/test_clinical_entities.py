"""Clinical entities (emulator.engine.clinical_entities): precision and recall on a labelled set
of spoken clinical sentences (tests/unit/clinical_entities_labelled.tsv), and the attributes.

An entity counts as found when its category and its text (case aside) match a labelled one.
Measured (2026-12-06): dev (20 sentences, 27 entities, used while writing the gazetteer)
precision 1.00, recall 0.96; held-out (20 sentences, 41 entities, never tuned on) precision 0.97
(36 of 37), recall 0.88 (36 of 41: "nauseous", "anxious", "sore" and "upset" as conditions are
missed, "ribs" is found without "lower"). The asserts
below sit under the measured figures so that a regression fails them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.engine.clinical_entities import extract, extract_many

LABELLED = Path(__file__).with_name("clinical_entities_labelled.tsv")
FLOORS = {"dev": (0.95, 0.9), "heldout": (0.9, 0.8)}  # (precision, recall) at least


def labelled(split: str) -> list[tuple[str, list[tuple[str, str]]]]:
    rows = []
    for line in LABELLED.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, sentence, *rest = line.split("\t")
        if name == split:
            wanted = [tuple(e.split(":", 1)) for e in (rest[0] if rest else "").split("|") if e]
            rows.append((sentence, [(c, t.lower()) for c, t in wanted]))
    return rows


def precision_recall(split: str) -> tuple[float, float, list]:
    rows = labelled(split)
    found = extract_many([sentence for sentence, _ in rows])
    true_positive = predicted = expected = 0
    misses = []
    for (sentence, wanted), entities in zip(rows, found):
        got = [(e.category, e.span.text.lower()) for e in entities]
        hits = [g for g in got if g in wanted]
        true_positive += len(hits)
        predicted += len(got)
        expected += len(wanted)
        if set(got) != set(wanted):
            misses.append((sentence, sorted(set(got) - set(wanted)), sorted(set(wanted) - set(got))))
    return true_positive / max(predicted, 1), true_positive / max(expected, 1), misses


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_precision_and_recall(split):
    precision, recall, misses = precision_recall(split)
    floor_p, floor_r = FLOORS[split]
    assert precision >= floor_p and recall >= floor_r, (precision, recall, misses)


def test_spans_are_character_offsets():
    text = "I have been taking Tylenol and ibuprofen for the headaches."
    for entity in extract(text):
        assert text[entity.span.begin : entity.span.end] == entity.span.text
    assert [(e.category, e.type, e.span.text) for e in extract(text)] == [
        ("MEDICATION", "BRAND_NAME", "Tylenol"),
        ("MEDICATION", "GENERIC_NAME", "ibuprofen"),
        ("MEDICAL_CONDITION", "DX_NAME", "headaches"),
    ]


def test_medication_attributes():
    (drug,) = [e for e in extract("Take 500 milligrams of amoxicillin by mouth three times a day for ten days.")]
    assert [(a.type, a.span.text) for a in drug.attributes] == [
        ("DOSAGE", "500 milligrams"),
        ("ROUTE_OR_MODE", "by mouth"),
        ("FREQUENCY", "three times a day"),
        ("DURATION", "for ten days"),
    ]


def test_test_values_direction_and_acuity():
    pressure, temperature = extract("Your blood pressure is 120 over 80 and your temperature is 101 degrees.")
    assert [(a.type, a.span.text) for a in pressure.attributes] == [("TEST_VALUE", "120 over 80")]
    assert [(a.type, a.span.text) for a in temperature.attributes] == [("TEST_VALUE", "101"), ("TEST_UNIT", "degrees")]
    (knee,) = [e for e in extract("The pain is in my left knee.") if e.category == "ANATOMY"]
    assert [(a.type, a.span.text) for a in knee.attributes] == [("DIRECTION", "left")]
    (sinusitis,) = [e for e in extract("She has chronic sinusitis.")]
    assert [(a.type, a.span.text) for a in sinusitis.attributes] == [("ACUITY", "chronic")]


@pytest.mark.parametrize(
    "sentence",
    ["Please come back next week.", "I need to rest my case.", "Keep the pressure on them at work."],
)
def test_ambiguous_words_need_to_be_clinical_nouns(sentence):
    assert [e.span.text for e in extract(sentence) if e.span.text.lower() in ("back", "rest", "pressure")] == []
