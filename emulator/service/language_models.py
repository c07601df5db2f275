"""Custom language models: CreateLanguageModel, DescribeLanguageModel, ListLanguageModels,
DeleteLanguageModel, and the Whisper prompt a transcription job gets from its model.

Lifecycle (botocore `ModelStatus`): Create answers IN_PROGRESS at once; a small pool of daemon
threads then reads every object under `InputDataConfig.S3Uri` (and `TuningDataS3Uri`), checks it
against AWS's data rules, derives the domain prompt, and ends COMPLETED, or FAILED with a
`FailureReason`. A model still IN_PROGRESS when the process stops is trained again by
`resume_in_progress()` at the next start.

Training-data rules (developer guide, "Creating a custom language model",
https://docs.aws.amazon.com/transcribe/latest/dg/custom-language-models-create.html): any number
of files under an S3 prefix, plain text, UTF-8, no special characters or formatting such as HTML
tags, at most 2 GB of training data and 200 MB of tuning data combined; "If any of these criteria
are not met, your model fails." AWS doesn't publish its FailureReason texts, so the ones below
are the emulator's, written in AWS's register.

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

Shapes: botocore `CreateLanguageModelResponse`, `DescribeLanguageModelResponse`
(`LanguageModel`), `ListLanguageModelsResponse`. Wording: the not-found and conflict messages
follow the pattern AWS uses for jobs and vocabularies (digest section 1.3), as a moto fork's
transcribe backend also spells them for language models [not recorded against AWS].
Known deviations from AWS: training takes seconds; the data's language isn't checked;
BaseModelName (NarrowBand, WideBand) is recorded but doesn't change recognition;
UpgradeAvailability is always false; Delete is accepted while a model is IN_PROGRESS;
DataAccessRoleArn is not assumed.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from tokenizers import Tokenizer, decoders, pre_tokenizers

from emulator.aws.errors import BadRequestException, ConflictException, NotFoundException
from emulator.service import s3_uri
from emulator.service.clock import aws_now
from emulator.service.context import RequestContext
from emulator.service.pagination import paginate
from emulator.service.state_log import resource_changed
from emulator.service.tags import validate_new_tags
from emulator.service.vocabularies import CANNOT_ACCESS, NOT_AN_S3_URI, pick_members
from emulator.service.worker import WorkerPool
from emulator.storage.models import ModelStore
from emulator.storage.s3 import ObjectNotFound, ObjectStore, StorageError, StorageUnavailable, patiently
from emulator.storage.store import AlreadyExists, Record, Store, wait_for_room

log = logging.getLogger(__name__)

KIND = "language-model"  # also the ARN resource type (emulator.service.arns)

MODEL_NOT_FOUND = (
    "The requested language model couldn't be found. Check the language model name and try your request again."
)
MODEL_EXISTS = "The requested language model name already exists. Use a different language model name."
NOT_COMPLETED = (
    "The requested language model {name} isn't ready: its status is {status}. "
    "Wait until the model status is COMPLETED, then try your request again."
)
LANGUAGE_MISMATCH = (
    "The language code of the language model {name} ({model}) doesn't match the language code of "
    "the transcription job ({job}). Use a language model with the job's language code and try your request again."
)
NO_FILES = (
    "The S3 location {uri} doesn't contain any files. Upload your {kind} data as plain text files "
    "under that location, then create your model again."
)
NO_TEXT = "The {kind} data under {uri} doesn't contain any words. Add text to your files, then create your model again."
NOT_PLAIN_TEXT = (
    "The file {uri} isn't plain text with UTF-8 encoding. Training and tuning data must be plain text "
    "files with UTF-8 encoding."
)
FORMATTING = (
    "The file {uri} contains formatting such as HTML tags. Training and tuning data can't contain "
    "special characters or formatting."
)
TOO_LARGE = (
    "The {kind} data under {uri} is larger than {limit}. The maximum combined size is 2 GB for "
    "training data and 200 MB for tuning data."
)

S3_UNAVAILABLE = (
    "Internal failure: {cause}; still failing after 60 seconds of retries. "
    "Check that the emulator's S3 server runs, then create your model again."
)

TRAINING_LIMIT = 2 * 1024**3  # bytes, developer guide
TUNING_LIMIT = 200 * 1024**2
PROMPT_TOKENS = 200  # faster-whisper keeps the last 223 prompt tokens; stay under with room to spare

# Output members, in the order of botocore's shapes.
_CREATE_MEMBERS = ("LanguageCode", "BaseModelName", "ModelName", "InputDataConfig", "ModelStatus")
_MODEL_MEMBERS = (
    "ModelName",
    "CreateTime",
    "LastModifiedTime",
    "LanguageCode",
    "BaseModelName",
    "ModelStatus",
    "UpgradeAvailability",
    "FailureReason",
    "InputDataConfig",
    "EncryptionConfiguration",
)


class LanguageModels:
    """The four language model operations over the store and S3, with their own training threads.

    models: the Whisper model store; training reads the tokenizer of the model that will
    transcribe the language, as its measure of how common a word is.
    """

    def __init__(
        self,
        store: Store,
        objects: ObjectStore,
        models: ModelStore,
        clock: Callable[[], float] = aws_now,
        workers: int = 1,
    ):
        self.store = store
        self.objects = objects
        self.models = models
        self.clock = clock
        self._rarities: dict[str, BpeRarity] = {}
        self._rarities_lock = threading.Lock()
        self._pool = WorkerPool(workers, self._train, name="language-model-worker")

    def operations(self) -> dict[str, Callable[[RequestContext, dict], dict]]:
        """AWS operation name -> method(ctx, params)."""
        return {
            "CreateLanguageModel": self.create_language_model,
            "DescribeLanguageModel": self.describe_language_model,
            "ListLanguageModels": self.list_language_models,
            "DeleteLanguageModel": self.delete_language_model,
        }

    # --- CreateLanguageModel ------------------------------------------------------------

    def create_language_model(self, ctx: RequestContext, params: dict) -> dict:
        """-> CreateLanguageModelResponse, ModelStatus IN_PROGRESS. BadRequestException (tags, a
        URI that names no bucket of this S3), ConflictException (name taken in the region)."""
        validate_new_tags(params.get("Tags", []))
        config = params["InputDataConfig"]
        for member in ("S3Uri", "TuningDataS3Uri"):
            if member in config and self._prefix(config[member]) is None:
                raise BadRequestException(NOT_AN_S3_URI)
        now = self.clock()
        doc = {
            "ModelName": params["ModelName"],
            "CreateTime": now,
            "LastModifiedTime": now,
            "LanguageCode": params["LanguageCode"],
            "BaseModelName": params["BaseModelName"],
            "ModelStatus": "IN_PROGRESS",
            "UpgradeAvailability": False,
            "InputDataConfig": dict(config),
        }
        for member in ("EncryptionConfiguration", "Tags"):
            if member in params:
                doc[member] = params[member]
        internal = {"AccountId": ctx.account_id, "Revision": uuid.uuid4().hex}
        record = Record(KIND, ctx.region, doc["ModelName"], "IN_PROGRESS", now, doc, internal)
        try:
            self.store.insert(record)
        except AlreadyExists:
            raise ConflictException(MODEL_EXISTS) from None
        resource_changed(KIND, ctx.region, record.name, None, "IN_PROGRESS")
        self._submit(record)
        return pick_members(doc, _CREATE_MEMBERS)

    def _prefix(self, uri: str) -> tuple[str, str] | None:
        """(bucket, key prefix) that an S3Uri names; the prefix is "" for a whole bucket."""
        endpoints = (self.objects.endpoint, self.objects.public_endpoint)
        location = s3_uri.parse_s3_uri(uri, endpoints)
        if location is not None:
            return location
        # parse_s3_uri wants a key, but training data may fill a bucket ("s3://bucket/").
        location = s3_uri.parse_s3_uri(uri.rstrip("/") + "/-", endpoints)
        return (location[0], "") if location is not None else None

    # --- DescribeLanguageModel ----------------------------------------------------------

    def describe_language_model(self, ctx: RequestContext, params: dict) -> dict:
        """-> {"LanguageModel": LanguageModel}. NotFoundException."""
        return {"LanguageModel": pick_members(self._find(ctx.region, params["ModelName"]).doc, _MODEL_MEMBERS)}

    # --- ListLanguageModels -------------------------------------------------------------

    def list_language_models(self, ctx: RequestContext, params: dict) -> dict:
        """-> ListLanguageModelsResponse: newest CreateTime first (a model that finishes training
        keeps its place); StatusEquals, NameContains (case-insensitive), MaxResults (default 5),
        NextToken. BadRequestException (bad token)."""
        records = self.store.list(KIND, ctx.region, params.get("StatusEquals"), params.get("NameContains"))
        page, next_token = paginate(records, params)
        response: dict = {}
        if next_token:
            response["NextToken"] = next_token
        response["Models"] = [pick_members(r.doc, _MODEL_MEMBERS) for r in page]
        return response

    # --- DeleteLanguageModel ------------------------------------------------------------

    def delete_language_model(self, ctx: RequestContext, params: dict) -> dict:
        """-> {}. NotFoundException: botocore declares none on DeleteLanguageModel, but does on
        DescribeLanguageModel and DeleteVocabulary; an unknown name reads the same everywhere."""
        record = self.store.get(KIND, ctx.region, params["ModelName"])
        if record is None or not self.store.delete(KIND, ctx.region, record.name):
            raise NotFoundException(MODEL_NOT_FOUND)
        resource_changed(KIND, ctx.region, record.name, record.status, None)
        return {}

    # --- for StartTranscriptionJob ------------------------------------------------------

    def prompt_for_job(self, region: str, name: str, language_code: str) -> str:
        """The Whisper initial_prompt of the COMPLETED model `name` for a job in `language_code`.

        Raises BadRequestException (how AWS reports a job's bad settings) when the model doesn't
        exist, isn't COMPLETED, or has another language code (AWS: a model only transcribes
        audio in its own language).
        """
        record = self.store.get(KIND, region, name)
        if record is None:
            raise BadRequestException(MODEL_NOT_FOUND)
        if record.status != "COMPLETED":
            raise BadRequestException(NOT_COMPLETED.format(name=name, status=record.status))
        if record.doc["LanguageCode"] != language_code:
            raise BadRequestException(
                LANGUAGE_MISMATCH.format(name=name, model=record.doc["LanguageCode"], job=language_code)
            )
        return record.internal["Prompt"]

    # --- training -----------------------------------------------------------------------

    def resume_in_progress(self) -> int:
        """Trains again every model left IN_PROGRESS by a stop; returns how many."""
        records = self.store.with_status(KIND, ("IN_PROGRESS",))
        for record in records:
            self._submit(record)
        return len(records)

    def _submit(self, record: Record) -> None:
        self._pool.reserve()
        self._pool.submit((record.region, record.name, record.internal["Revision"]))

    def _train(self, key: tuple[str, str, str]) -> None:
        region, name, revision = key
        record = self.store.get(KIND, region, name)
        if record is None or record.internal.get("Revision") != revision:
            return  # deleted (and perhaps created again) since; the newer request has its own turn
        config = record.doc["InputDataConfig"]
        try:
            training = self._read_text(config["S3Uri"], "training", TRAINING_LIMIT)
            tuning = ""
            if "TuningDataS3Uri" in config:
                tuning = self._read_text(config["TuningDataS3Uri"], "tuning", TUNING_LIMIT)
            domain = build_prompt(training, self._rarity(record.doc["LanguageCode"]), tuning_text=tuning)
        except TrainingDataError as e:
            self._finish(region, name, revision, failure=str(e))
        except Exception as e:  # a bug or a broken model store must not leave the model training forever
            log.exception("language model %s failed unexpectedly", name)
            self._finish(region, name, revision, failure=f"Internal failure: {type(e).__name__}: {e}")
        else:
            outcome = {
                "Prompt": domain.prompt,  # what prompt_for_job hands to the recognizer
                "Terms": [[t.text, t.count] for t in domain.terms[:50]],  # kept for inspection
            }
            self._finish(region, name, revision, outcome=outcome)

    def _read_text(self, uri: str, kind: str, limit: int) -> str:
        """Every object under the URI's prefix, decoded and checked, joined by newlines.
        Raises TrainingDataError with the FailureReason."""
        location = self._prefix(uri)
        if location is None:  # checked at the request; a stored record may predate that
            raise TrainingDataError(NOT_AN_S3_URI)
        bucket, prefix = location
        try:
            keys = patiently(lambda: self.objects.list_keys(bucket, prefix), what=f"listing {uri}")
        except ObjectNotFound:  # no such bucket
            keys = []
        except StorageUnavailable as e:
            raise TrainingDataError(S3_UNAVAILABLE.format(cause=e)) from None
        except StorageError:
            raise TrainingDataError(CANNOT_ACCESS) from None
        if not keys:
            raise TrainingDataError(NO_FILES.format(uri=uri, kind=kind))
        texts, size = [], 0
        for key in keys:
            file_uri = f"s3://{bucket}/{key}"
            try:
                data = patiently(lambda: self.objects.get_bytes(bucket, key), what=f"reading {file_uri}")
            except StorageUnavailable as e:
                raise TrainingDataError(S3_UNAVAILABLE.format(cause=e)) from None
            except (ObjectNotFound, StorageError):
                raise TrainingDataError(CANNOT_ACCESS) from None
            size += len(data)
            if size > limit:
                raise TrainingDataError(TOO_LARGE.format(kind=kind, uri=uri, limit=_human_size(limit)))
            texts.append(check_plain_text(data, file_uri))
        text = "\n".join(texts)
        if not words(text):
            raise TrainingDataError(NO_TEXT.format(kind=kind, uri=uri))
        return text

    def _rarity(self, language_code: str) -> BpeRarity:
        """The word-rarity measure of the Whisper model that transcribes `language_code`."""
        model_name = self.models.model_for_language(language_code.split("-")[0])
        with self._rarities_lock:
            if model_name not in self._rarities:
                path = self.models.resolve(model_name) / "tokenizer.json"
                self._rarities[model_name] = BpeRarity(Tokenizer.from_file(str(path)))
            return self._rarities[model_name]

    def _finish(
        self, region: str, name: str, revision: str, outcome: dict | None = None, failure: str | None = None
    ) -> None:
        """Ends training COMPLETED or FAILED, unless the model was deleted (or deleted and created
        again) meanwhile. Store.modify keeps a concurrent TagResource."""
        changed = False

        def change(record: Record) -> None:
            nonlocal changed
            if record.internal.get("Revision") != revision:
                return
            changed = True
            record.doc["LastModifiedTime"] = self.clock()
            if failure:
                record.status = record.doc["ModelStatus"] = "FAILED"
                record.doc["FailureReason"] = failure
            else:
                record.status = record.doc["ModelStatus"] = "COMPLETED"
                record.internal.update(outcome or {})

        wait_for_room(lambda: self.store.modify(KIND, region, name, change), f"language model {name}")
        if changed:
            resource_changed(KIND, region, name, "IN_PROGRESS", "FAILED" if failure else "COMPLETED", failure)

    # --- shared -------------------------------------------------------------------------

    def _find(self, region: str, name: str) -> Record:
        record = self.store.get(KIND, region, name)
        if record is None:
            raise NotFoundException(MODEL_NOT_FOUND)
        return record


class TrainingDataError(Exception):
    """The training or tuning data breaks AWS's rules; the message is the FailureReason."""


_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def check_plain_text(data: bytes, uri: str) -> str:
    """The text of one data file (a UTF-8 byte order mark is dropped).
    Raises TrainingDataError when it isn't UTF-8 plain text or carries HTML-like tags."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TrainingDataError(NOT_PLAIN_TEXT.format(uri=uri)) from None
    if _CONTROL.search(text):
        raise TrainingDataError(NOT_PLAIN_TEXT.format(uri=uri))
    if _HTML_TAG.search(text):
        raise TrainingDataError(FORMATTING.format(uri=uri))
    return text


def _human_size(size: int) -> str:
    return f"{size // 1024**3} GB" if size >= 1024**3 else f"{size // 1024**2} MB"


# --- the domain prompt (pure: text and a tokenizer in, prompt out) ------------------------------

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
