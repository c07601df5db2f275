"""Toxic-language scores of English text: an overall toxicity and seven categories, 0..1 each.

Knows nothing of AWS; the categories are those Amazon Transcribe's toxicity detection names
(developer guide, "Detecting toxic speech"): profanity, hate speech, sexual, insult, violence or
threat, graphic, harassment or abuse.

Method (measured in tests/unit/test_toxicity.py on a labelled set of 40 sentences):
* The classifier: `alt-profanity-check`'s trained model (a TF-IDF vectorizer and a calibrated
  linear SVM, scikit-learn, shipped in the PyPI wheel, trained on ~200k labelled offensive and
  non-offensive texts). Its probability `p` that a text is offensive carries profanity and
  insults well and threats, hate speech, graphic violence and harassment poorly.
* The lexicon below: for each category, regular expressions over the lower-cased text, each with
  a weight (0.4 weak, 0.7 medium, 0.9 strong). Threat patterns need a person as object ("kill
  you", not "kill the process"). A category's lexicon evidence is `e = 1 - prod(1 - weight)`
  over its matches (several hits make it surer).
* A category's score is `e + (1 - e) * p * PRIOR[c]`: its own evidence, plus the part of the
  classifier's probability that the category usually explains (the classifier's training data
  is mostly profanity and insults). The overall toxicity is `max(p, max_c e_c)`: either the
  classifier or one category's evidence makes a text toxic.
The classifier loads on first use (about 1.5 s, once per process); `score_texts` is blocking and
thread-safe.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

PROFANITY = "profanity"
HATE_SPEECH = "hate_speech"
SEXUAL = "sexual"
INSULT = "insult"
VIOLENCE_OR_THREAT = "violence_or_threat"
GRAPHIC = "graphic"
HARASSMENT_OR_ABUSE = "harassment_or_abuse"
CATEGORIES = (PROFANITY, HATE_SPEECH, SEXUAL, INSULT, VIOLENCE_OR_THREAT, GRAPHIC, HARASSMENT_OR_ABUSE)

STRONG, MEDIUM, WEAK = 0.9, 0.7, 0.4

# The share of the classifier's probability each category takes when its lexicon is silent.
PRIOR = {
    PROFANITY: 0.6,
    INSULT: 0.5,
    HARASSMENT_OR_ABUSE: 0.3,
    HATE_SPEECH: 0.2,
    SEXUAL: 0.15,
    VIOLENCE_OR_THREAT: 0.15,
    GRAPHIC: 0.05,
}

_PERSON = r"(?:you|ya|him|her|them|your \w+|his \w+|their \w+)"

LEXICON: dict[str, tuple[tuple[str, float], ...]] = {
    PROFANITY: (
        (r"\bf+u+c+k\w*|\bmotherf\w*|\bc+u+n+t\w*", STRONG),
        (r"\bshit\w*|\bbullshit\w*|\bbitch\w*|\bbastard\w*|\basshole\w*|\bgoddamn\w*|\bwtf\b", STRONG),
        (r"\b[a-z]\*+[a-z]*\b|\*{2,}", MEDIUM),  # a word masked with stars (a vocabulary filter's mask)
        (r"\bdamn\w*|\bcrap\w*|\bpiss\w*|\bdick\w*|\bass\b|\bprick\w*|\bbollocks\b|\bbloody hell\b", MEDIUM),
        (r"\bhell\b|\bfreaking\b|\bfrigging\b|\bsucks?\b", WEAK),
    ),
    HATE_SPEECH: (
        (r"\bsubhuman\w*|\bvermin\b|\binferior (?:race|people)|\bethnic cleansing\b|\bexterminat\w*", STRONG),
        (r"\bgo back to (?:your|their) (?:own )?country\b|\bdon'?t belong here\b|\bnot welcome here\b", STRONG),
        (r"\b(?:all|those|these|people like) (?:immigrants|foreigners|refugees|muslims|jews|christians|"
         r"blacks|whites|gays|women|men|people|them) (?:are|should)\b", WEAK),
        (r"\b(?:do not|don'?t|doesn'?t) deserve to live\b|\bshould be (?:banned|deported|wiped out)\b", STRONG),
        (r"\b(?:religion|race|immigrants?|foreigners?) (?:is|are) (?:a )?(?:disease|plague|cancer|criminals?)\b",
         STRONG),
    ),
    SEXUAL: (
        (r"\bporn\w*|\bhorny\b|\borgasm\w*|\bblow ?job\w*|\bhand ?job\w*|\bnudes?\b|\bnaked\b", STRONG),
        (r"\bsex\b|\bsexy\b|\bsexual\w*|\bboobs?\b|\btits?\b|\bpenis\w*|\bvagina\w*|\berection\w*", STRONG),
        (r"\b(?:sleep|have sex|get laid|hook up) with\b|\bin bed\b|\bundress\w*|\bstrip for\b", MEDIUM),
        (r"\bslut\w*|\bwhore\w*|\bhooker\w*", STRONG),
    ),
    INSULT: (
        (r"\bidiot\w*|\bmoron\w*|\bimbecile\w*|\bretard\w*|\bdumbass\w*|\bloser\w*|\bjerk\w*|\bscum\w*", STRONG),
        (r"\bstupid\w*|\bdumb\w*|\bpathetic\b|\bworthless\b|\buseless\b|\bincompetent\b|\bclown\b|\bfreak\b", MEDIUM),
        (r"\bshut up\b|\bshut your (?:mouth|face)\b|\bpiece of (?:shit|garbage|trash|crap)\b", STRONG),
        (r"\bugly\b|\bdisgusting\b|\bfat\b|\btrash\b|\bfool\b|\bignorant\b", WEAK),
    ),
    VIOLENCE_OR_THREAT: (
        (rf"\b(?:kill|murder|shoot|stab|strangle|choke|slaughter|behead|burn)(?:s|ed|ing)? {_PERSON}\b", STRONG),
        (rf"\b(?:hurt|beat|punch|smash|hit|attack|destroy|crush|get)(?:s|ed|ing)? {_PERSON}(?: up)?\b", MEDIUM),
        (r"\bbreak (?:your|his|her|their) (?:\w+ )?(?:legs?|arms?|neck|face|jaw|bones)\b", STRONG),
        (r"\bwatch your back\b|\byou(?:'re| are) (?:dead|going to die|gonna die)\b|\byou will (?:die|pay)\b", STRONG),
        (r"\b(?:bomb|gun|knife) (?:you|your)\b|\bblow (?:you|it|them) up\b|\bi'?(?:ll| will) find you\b", MEDIUM),
    ),
    GRAPHIC: (
        (r"\bmutilat\w*|\bdismember\w*|\bdecapitat\w*|\bdisembowel\w*|\bentrails\b|\bgore\b|\bgory\b", STRONG),
        (r"\bcorpses?\b|\bguts\b|\bripped (?:open|apart|out)\b|\bhead cut off\b|\bsevered\b|\bsplatter\w*", STRONG),
        (r"\bblood\w*|\bbleed\w*|\btortur\w*|\bbrains? (?:out|blown|splattered)\b", MEDIUM),
    ),
    HARASSMENT_OR_ABUSE: (
        (r"\bkill yourself\b|\bkys\b|\bgo die\b|\byou should (?:die|not exist)\b", STRONG),
        (r"\bi know where you live\b|\bi(?:'m| am) watching you\b|\byou can(?:'t|not) hide\b", STRONG),
        (r"\b(?:nobody|no one|everyone) (?:likes|loves|wants|hates|cares about) you\b", STRONG),
        (r"\bkeep (?:calling|following|texting|messaging) you\b|\buntil you answer\b", MEDIUM),
        (r"\byou(?:'re| are) (?:nothing|a waste|a disgrace|an embarrassment)\b|\bget lost\b", MEDIUM),
    ),
}

_COMPILED = {c: tuple((re.compile(p), w) for p, w in patterns) for c, patterns in LEXICON.items()}


@dataclass(frozen=True)
class ToxicityScores:
    """toxicity: overall, 0..1; categories: each of CATEGORIES -> 0..1."""

    toxicity: float
    categories: dict[str, float]


def lexicon_evidence(text: str) -> dict[str, float]:
    """Each category's lexicon evidence in `text`, 0..1 (0: no pattern matched)."""
    lowered = text.lower().replace("’", "'")
    evidence = {}
    for category, patterns in _COMPILED.items():
        missing = 1.0
        for pattern, weight in patterns:
            missing *= (1.0 - weight) ** len(pattern.findall(lowered))
        evidence[category] = 1.0 - missing
    return evidence


def combine(probability: float, evidence: dict[str, float]) -> ToxicityScores:
    """The scores from the classifier's probability and the lexicon's evidence (module docstring)."""
    categories = {c: evidence[c] + (1.0 - evidence[c]) * probability * PRIOR[c] for c in CATEGORIES}
    return ToxicityScores(max(probability, *evidence.values()), categories)


_classifier = None
_classifier_lock = threading.Lock()


def _offensive_probabilities(texts: list[str]) -> list[float]:
    global _classifier
    with _classifier_lock:
        if _classifier is None:
            # Imported on first use: importing it loads the model (joblib, about 1.5 s).
            from profanity_check import profanity_check

            _classifier = profanity_check
    return [float(p) for p in _classifier.predict_prob(texts)]


def score_texts(texts: list[str]) -> list[ToxicityScores]:
    """The scores of each text, in order. Blocking (the first call loads the classifier)."""
    if not texts:
        return []
    probabilities = _offensive_probabilities(texts)
    return [combine(p, lexicon_evidence(text)) for p, text in zip(probabilities, texts)]
