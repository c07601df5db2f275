"""Prompt mining: a domain text distilled into a Whisper `initial_prompt` (pure: text and a
tokenizer in, prompt out; knows nothing of AWS). Custom language models
(emulator.service.language_models) train with it.

How a model biases recognition (the approximation). AWS adapts its decoder's language model to
the domain text; Whisper has no pluggable language model, but it conditions on `initial_prompt`
as if it were the preceding transcript. Training therefore distils the text into a prompt of at
most 200 BPE tokens (faster-whisper keeps the last 223), `build_prompt`:
* distinctive terms (`distinctive_terms`): words far more frequent in the data than in general
  use. General use is estimated from the byte-level BPE vocabulary of the Whisper model that
  transcribes the language (`ModelStore.model_for_language`: tiny.en's GPT-2 vocabulary for
  English, the multilingual one otherwise): BPE learns merges in order of corpus frequency, so a
  whole-word token's merge rank approximates the word's frequency rank, and a word the vocabulary
  must split into k pieces is rarer than any whole-word token (`BpeRarity`). With Zipf's law for
  the expected share, keyness = ln(observed share / expected share); words seen at least twice
  and at least ten times over-represented are terms, ranked by count x keyness (the shape of a
  log-likelihood score).
* representative sentences (`representative_sentences`): sentences of the data (of the tuning
  data when given: AWS says it should be closest to the audio) that carry the most term weight
  per token, chosen greedily with diminishing credit for terms already covered. Whisper follows
  phrasing ("four of clubs") far more than bare words, and a bare list invites it to continue
  with lists (hallucinated "No. No. No." or digit strings on short clips), so the prompt is the
  sentences, in the data's order, preceded only by the best terms they don't contain.
Measured with tiny.en (int8, CPU) and the card-game text of the integration test: the
pocketsphinx card recordings cards_001-005 go from WER 0.47 (mean) to 0; 6 of 29 unrelated
English clips change for the worse, mostly by a word, which is the price of any prompt.
Limits: the BPE vocabularies learned mostly English, so for other languages common function
words ("und", "der") pass as terms; they are always inside the chosen sentences, so they
steer the choice a little but are never listed. Japanese and other scripts without spaces give
"words" that are whole runs between punctuation, so their term list is weak; the sentences
still carry the domain.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from tokenizers import Tokenizer, decoders, pre_tokenizers

PROMPT_TOKENS = 200  # faster-whisper keeps the last 223 prompt tokens; stay under with room to spare

# Letters and the combining marks that some scripts need inside a word (Devanagari vowel signs),
# with inner apostrophes and hyphens ("don't", "follow-up").
_MARKS = "".join(
    re.escape(chr(c)) for c in range(0x300, 0x10000) if unicodedata.category(chr(c)).startswith("M")
)
_LETTER = rf"(?:[^\W\d_]|[{_MARKS}])"
_WORD = re.compile(rf"{_LETTER}+(?:['’\-]{_LETTER}+)*")
# Sentence ends: Latin punctuation before a space; CJK and Devanagari full stops anywhere.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？।])")


def words(text: str) -> list[str]:
    """The words of `text` as written (letters, marks, inner ' and -); digits and punctuation dropped."""
    return _WORD.findall(text)


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`: each line split at sentence-final punctuation, whitespace collapsed."""
    sentences = []
    for line in text.splitlines():
        for piece in _SENTENCE_END.split(line):
            sentence = " ".join(piece.split())
            if sentence:
                sentences.append(sentence)
    return sentences


class BpeRarity:
    """How common a word is in general use, estimated from a Whisper (byte-level BPE) tokenizer.

    `rank(word)`: an estimated frequency rank, 1 = most common. A word that is one vocabulary
    token (" clubs") ranks by when BPE merged it among the whole-word tokens (merges are learned
    in order of corpus frequency); a word that takes k > 1 pieces (" spades" = " sp" + "ades")
    ranks k times beyond the last whole-word token. Case variants count as the same word.
    """

    def __init__(self, tokenizer: Tokenizer):
        self._tokenizer = tokenizer
        self._byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
        decoder = decoders.ByteLevel()
        whole_words = sorted(
            (token_id, token)
            for token, token_id in tokenizer.get_vocab().items()
            if token.startswith("Ġ") and _WORD.fullmatch(decoder.decode([token])[1:])
        )
        self._ranks = {token: rank for rank, (_, token) in enumerate(whole_words, start=1)}
        self.whole_words = len(whole_words)
        # Normaliser of Zipf's law over the whole-word ranks: p(rank r) = 1 / (r * harmonic).
        self.harmonic = math.log(self.whole_words) + 0.5772

    def rank(self, word: str) -> float:
        forms = {word, word.lower(), word[:1].upper() + word[1:].lower()}
        ranks = [self._ranks.get(self._byte_level.pre_tokenize_str(" " + form)[0][0]) for form in forms]
        found = [r for r in ranks if r is not None]
        if found:
            return float(min(found))
        pieces = min(self.count_tokens(form) for form in forms)
        return float(self.whole_words * max(pieces, 2))

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` as Whisper encodes a prompt (with a leading space)."""
        return len(self._tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)


@dataclass(frozen=True)
class Term:
    """A distinctive word of the training text.
    text: its most frequent spelling; count: occurrences (any case); rank: estimated general
    frequency rank (BpeRarity); score: count x keyness, keyness = ln(observed / expected frequency)."""

    text: str
    count: int
    rank: float
    score: float


@dataclass(frozen=True)
class DomainPrompt:
    prompt: str  # the Whisper initial_prompt, at most max_tokens tokens
    terms: tuple[Term, ...]  # every distinctive term, best first
    listed: tuple[str, ...]  # the terms the prompt lists before its sentences
    sentences: tuple[str, ...]  # the sentences the prompt carries, in text order


MIN_KEYNESS = math.log(10)  # a term is at least ten times as frequent as in general use
# The first hundred whole-word tokens are function words and word-initial fragments (" the",
# " of", " t", " wh"): never domain terms, and their merge ranks overstate their rarity.
MIN_RANK = 100
MAX_TERMS = 10
MIN_COUNT = 2


def distinctive_terms(text: str, rarity: BpeRarity, min_keyness: float = MIN_KEYNESS) -> list[Term]:
    """Words of `text` that are frequent there but rare in general use, best (highest score) first.

    Keyness compares a word's share of `text` with the share Zipf's law gives its estimated
    rank: ln(count / total * rank * harmonic). Words under `min_keyness` or ranked within the
    MIN_RANK most common, single letters, and words seen fewer than MIN_COUNT times are left out.
    """
    spellings: dict[str, Counter] = {}
    for word in words(text):
        spellings.setdefault(word.lower(), Counter())[word] += 1
    total = sum(sum(c.values()) for c in spellings.values())
    terms = []
    for key, forms in spellings.items():
        count = sum(forms.values())
        # A domain repeats its terms; and under Zipf's law almost every word of a text is
        # individually rare, so a single sighting says nothing.
        if count < MIN_COUNT or len(key) < 2:
            continue
        # The most frequent spelling; on a tie the lower-case one (sentence starts are capitalised).
        spelling = max(forms, key=lambda form: (forms[form], form == key))
        rank = rarity.rank(spelling)
        if rank <= MIN_RANK:
            continue
        keyness = math.log(count / total * rank * rarity.harmonic)
        if keyness >= min_keyness:
            terms.append(Term(spelling, count, rank, count * keyness))
    terms.sort(key=lambda t: (-t.score, t.text))
    return terms


def representative_sentences(
    sentences: list[str], terms: list[Term], count_tokens: Callable[[str], int], budget: int
) -> list[str]:
    """Sentences that carry the most term weight per token, within `budget` tokens, in text order.

    Greedy: each round takes the sentence with the best gain per token, a term's score counting
    half as much each time it is covered again, so the choice spreads over the domain.
    Sentences of 3-30 words only; repeated sentences once.
    """
    weight = {t.text.lower(): t.score for t in terms}
    candidates = []
    seen: set[str] = set()
    for index, sentence in enumerate(sentences):
        keys = [w.lower() for w in words(sentence)]
        hits = {k for k in keys if k in weight}
        if not hits or not 3 <= len(keys) <= 30 or sentence in seen:
            continue
        seen.add(sentence)
        candidates.append((index, sentence, hits))
    # Large corpora: consider the densest few hundred only.
    candidates.sort(key=lambda c: -sum(weight[k] for k in c[2]) / (len(c[1]) + 40))
    candidates = [(i, s, hits, count_tokens(s)) for i, s, hits in candidates[:400]]

    covered: Counter = Counter()
    chosen: list[tuple[int, str]] = []
    spent = 0
    while candidates:
        best = max(
            candidates,
            key=lambda c: sum(weight[k] * 0.5 ** covered[k] for k in c[2]) / (c[3] + 8),
        )
        candidates.remove(best)
        index, sentence, hits, tokens = best
        if spent + tokens + 1 > budget:
            continue
        chosen.append((index, sentence))
        covered.update(hits)
        spent += tokens + 1
    return [sentence for _, sentence in sorted(chosen)]


def build_prompt(
    training_text: str,
    rarity: BpeRarity,
    tuning_text: str = "",
    max_tokens: int = PROMPT_TOKENS,
    max_terms: int = MAX_TERMS,
) -> DomainPrompt:
    """The Whisper initial_prompt for a domain: "term, term, ... ." then representative sentences.

    Terms come from the training and tuning text together. Sentences come from the tuning text
    when it has any (AWS: tuning data is the text closest to the audio), else from the training
    text, within `max_tokens` less a quarter kept for the term list. The list then names, best
    first, up to `max_terms` terms that no chosen sentence contains, in the tokens left: a bare
    list invites Whisper to continue with lists, so terms appear in context wherever possible.
    """
    terms = distinctive_terms(training_text + "\n" + tuning_text, rarity)
    source = split_sentences(tuning_text) or split_sentences(training_text)
    sentences = representative_sentences(source, terms, rarity.count_tokens, max_tokens - max_tokens // 4)

    def join(listed: list[str], sentences: list[str]) -> str:
        term_list = ", ".join(listed) + "." if listed else ""
        return " ".join(part for part in (term_list, *sentences) if part)

    in_sentences = {w.lower() for sentence in sentences for w in words(sentence)}
    listed: list[str] = []
    for term in terms:
        if len(listed) == max_terms:
            break
        if term.text.lower() in in_sentences:
            continue
        if rarity.count_tokens(join([*listed, term.text], sentences)) <= max_tokens:
            listed.append(term.text)
    prompt = join(listed, sentences)
    while sentences and rarity.count_tokens(prompt) > max_tokens:  # joins can add a token or two
        sentences.pop()
        prompt = join(listed, sentences)
    return DomainPrompt(prompt, tuple(terms), tuple(listed), tuple(sentences))
