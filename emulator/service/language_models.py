"""Custom language models: CreateLanguageModel, DescribeLanguageModel, ListLanguageModels,
UpdateLanguageModel, DeleteLanguageModel, and the Whisper prompt a transcription job gets from
its model.

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

UpdateLanguageModel (botocore `UpdateLanguageModelRequest`/`Response` and the operation's
documentation in botocore 1.44): it changes a model's `EncryptionConfiguration`; "the model
artifacts are re-encrypted in place. No model training is required", so the prompt stays as
trained. The model must not be IN_PROGRESS (neither training nor updating); the update answers
IN_PROGRESS and the training pool settles it COMPLETED, revision-guarded like training; "your
custom language model remains available for transcription jobs while the update is being
processed", so `prompt_for_job` serves an updating model. Without `EncryptionConfiguration` the
artifacts go back to an AWS owned key (the member is removed). A FAILED model has no artifacts:
its configuration changes at once and it stays FAILED.

How a model biases recognition: training distils the text into a Whisper `initial_prompt`
(emulator.engine.prompt_mining, which explains the approximation and its measured effect).

Shapes: botocore `CreateLanguageModelResponse`, `DescribeLanguageModelResponse`
(`LanguageModel`), `ListLanguageModelsResponse`. Wording: the not-found and conflict messages
follow the pattern AWS uses for jobs and vocabularies (digest section 1.3), as a moto fork's
transcribe backend also spells them for language models [not recorded against AWS].
Known deviations from AWS: training takes seconds; an update settles at once (no KMS is
involved) and answers ConflictException for a model IN_PROGRESS (AWS declares the exception
without saying when); the data's language isn't checked;
BaseModelName (NarrowBand, WideBand) is recorded but doesn't change recognition;
UpgradeAvailability is always false; Delete is accepted while a model is IN_PROGRESS;
DataAccessRoleArn is not assumed.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Callable

from tokenizers import Tokenizer

from emulator.aws.errors import BadRequestException, ConflictException
from emulator.engine.prompt_mining import BpeRarity, build_prompt, words
from emulator.service import s3_uri
from emulator.service.clock import aws_now
from emulator.service.context import RequestContext
from emulator.service.resources import ProcessedResources, copy_members, new_revision, pick
from emulator.service.state_log import resource_changed
from emulator.service.tags import validate_new_tags
from emulator.service.vocabularies import CANNOT_ACCESS, NOT_AN_S3_URI
from emulator.storage.models import ModelStore
from emulator.storage.s3 import ObjectNotFound, ObjectStore, StorageError, StorageUnavailable, patiently
from emulator.storage.store import Record, Store

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
    "The language code of the language model {name} ({theirs}) doesn't match the language code of "
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

# AWS doesn't publish this message; it says what the operation's documentation requires.
UPDATE_IN_PROGRESS = (
    "The requested language model {name} is IN_PROGRESS. You can't update a language model while it's "
    "being created or updated. Wait until its status is COMPLETED or FAILED, then try your request again."
)

TRAINING_LIMIT = 2 * 1024**3  # bytes, developer guide
TUNING_LIMIT = 200 * 1024**2

class LanguageModels(ProcessedResources):
    """The four language model operations over the store and S3, with their own training threads.

    models: the Whisper model store; training reads the tokenizer of the model that will
    transcribe the language, as its measure of how common a word is.
    """

    kind = KIND
    NOT_FOUND = MODEL_NOT_FOUND
    EXISTS = MODEL_EXISTS
    list_shape = "ListLanguageModelsResponse"
    status_filter = "StatusEquals"  # newest CreateTime first: the store's order
    pending = "IN_PROGRESS"
    status_member = "ModelStatus"
    label = "language model"

    def __init__(
        self,
        store: Store,
        objects: ObjectStore,
        models: ModelStore,
        clock: Callable[[], float] = aws_now,
        workers: int = 1,
    ):
        super().__init__(store, clock, workers, name="language-model-worker")
        self.objects = objects
        self.models = models
        self._rarities: dict[str, BpeRarity] = {}
        self._rarities_lock = threading.Lock()

    def operations(self) -> dict[str, Callable[[RequestContext, dict], dict]]:
        """AWS operation name -> method(ctx, params)."""
        return {
            "CreateLanguageModel": self.create_language_model,
            "DescribeLanguageModel": self.describe_language_model,
            "ListLanguageModels": self.list_language_models,
            "UpdateLanguageModel": self.update_language_model,
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
        copy_members(doc, params, ("EncryptionConfiguration", "Tags"))
        internal = {"AccountId": ctx.account_id, "Revision": new_revision()}
        record = Record(KIND, ctx.region, doc["ModelName"], "IN_PROGRESS", now, doc, internal)
        self._insert(record)
        resource_changed(KIND, ctx.region, record.name, None, "IN_PROGRESS")
        self._submit(record)
        return pick(doc, "CreateLanguageModelResponse")

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
        return {"LanguageModel": pick(self._find(ctx.region, params["ModelName"]).doc, "LanguageModel")}

    # --- ListLanguageModels -------------------------------------------------------------

    def list_language_models(self, ctx: RequestContext, params: dict) -> dict:
        """-> ListLanguageModelsResponse: newest CreateTime first (a model that finishes training
        keeps its place); StatusEquals, NameContains (case-insensitive), MaxResults (default 5),
        NextToken. BadRequestException (bad token)."""
        return self._list(ctx.region, params, lambda r: pick(r.doc, "LanguageModel"))

    # --- UpdateLanguageModel ------------------------------------------------------------

    def update_language_model(self, ctx: RequestContext, params: dict) -> dict:
        """-> UpdateLanguageModelResponse {ModelName, ModelStatus, LastModifiedTime}: IN_PROGRESS
        for a COMPLETED model (settled COMPLETED by the training pool), FAILED for a FAILED one.
        NotFoundException (no such model), ConflictException (the model is IN_PROGRESS)."""
        name = params["ModelName"]
        before = None

        def change(record: Record) -> None:  # an exception here leaves the record as it was
            nonlocal before
            before = record.status
            if before == "IN_PROGRESS":
                raise ConflictException(UPDATE_IN_PROGRESS.format(name=name))
            doc = record.doc
            doc["LastModifiedTime"] = self.clock()
            doc.pop("EncryptionConfiguration", None)
            copy_members(doc, params, ("EncryptionConfiguration",))
            if before == "COMPLETED":
                record.status = doc["ModelStatus"] = "IN_PROGRESS"
                record.internal.update(Revision=new_revision(), Updating=True)

        with self._lock:
            record = self.store.modify(KIND, ctx.region, name, change)
        if record is None:
            raise self.not_found(self.NOT_FOUND)
        if record.status == "IN_PROGRESS":
            resource_changed(KIND, ctx.region, name, before, "IN_PROGRESS")
            self._submit(record)
        return pick(record.doc, "UpdateLanguageModelResponse")

    # --- DeleteLanguageModel ------------------------------------------------------------

    def delete_language_model(self, ctx: RequestContext, params: dict) -> dict:
        """-> {}. NotFoundException: botocore declares none on DeleteLanguageModel, but does on
        DescribeLanguageModel and DeleteVocabulary; an unknown name reads the same everywhere."""
        self._delete(ctx.region, params["ModelName"])
        return {}

    # --- for StartTranscriptionJob ------------------------------------------------------

    def prompt_for_job(self, region: str, name: str, language_code: str) -> str:
        """The Whisper initial_prompt of the COMPLETED model `name` for a job in `language_code`.

        Raises BadRequestException (how AWS reports a job's bad settings) when the model doesn't
        exist, isn't COMPLETED, or has another language code (AWS: a model only transcribes
        audio in its own language).
        """
        record = self._usable(region, name, language_code, LANGUAGE_MISMATCH)
        updating = record.status == "IN_PROGRESS" and record.internal.get("Updating")
        if record.status != "COMPLETED" and not updating:  # an update keeps the model usable
            raise BadRequestException(NOT_COMPLETED.format(name=name, status=record.status))
        return record.internal["Prompt"]

    # --- training -----------------------------------------------------------------------

    def resume_in_progress(self) -> int:
        """Trains again every model left IN_PROGRESS by a stop; returns how many."""
        return self.resume()

    def _process(self, record: Record) -> None:
        region, name, revision = record.region, record.name, record.internal["Revision"]
        if record.internal.get("Updating"):  # UpdateLanguageModel: re-encryption, no training
            self._finish(region, name, revision, outcome={})
            return
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
        again) meanwhile."""

        def apply(record: Record) -> None:
            record.doc["LastModifiedTime"] = self.clock()
            record.internal.update(outcome or {})
            record.internal.pop("Updating", None)

        self._settle(region, name, revision, "FAILED" if failure else "COMPLETED", failure, apply)


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
