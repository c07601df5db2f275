"""Custom language models as a service object (no HTTP): a real Store in tmp_path, a real
ObjectStore on an embedded SeaweedFS, the catalog's real tiny.en model; and the effect of a
trained model on real recordings."""

from __future__ import annotations

import re
import time
import uuid

import botocore.session
import pytest

from emulator.aws.errors import BadRequestException, ConflictException, NotFoundException
from emulator.engine.media import decode
from emulator.engine.recognizer import ModelLoadOptions, RecognitionOptions, Recognizer
from emulator.service import language_models as language_models_module
from emulator.service.context import RequestContext
from emulator.service.language_models import LanguageModels
from emulator.storage.models import ModelStore
from emulator.storage.s3 import ObjectNotFound, ObjectStore
from emulator.storage.store import Store
from tests.support import CARD_GAMES, audio_path, wer

ACCESS_KEY = "AKIALANGUAGEMODELTEST"
SECRET_KEY = "language-model-secret-key-0123456789"
BUCKET = "clm-data"
ROLE = "arn:aws:iam::123456789012:role/TranscribeDataAccess"
CTX = RequestContext("us-east-1", "123456789012")

# Training data a user might write for a card-game domain: prose, not a word list.


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return ModelStore(tmp_path_factory.mktemp("model-store"))


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "emulator.sqlite3")


@pytest.fixture
def language_models(store, objects, models):
    return LanguageModels(store, objects, models)


def upload_folder(objects: ObjectStore, *files: str | bytes) -> str:
    """Puts each file under a fresh prefix; returns the prefix as an S3Uri."""
    prefix = f"training-{uuid.uuid4().hex[:8]}/"
    for n, data in enumerate(files):
        body = data.encode() if isinstance(data, str) else data
        objects.put_bytes(BUCKET, f"{prefix}part-{n}.txt", body, "text/plain")
    return f"s3://{BUCKET}/{prefix}"


def params(name: str, s3_uri: str, **extra) -> dict:
    config = {"S3Uri": s3_uri, "DataAccessRoleArn": ROLE, **extra.pop("config", {})}
    return {"ModelName": name, "LanguageCode": "en-US", "BaseModelName": "WideBand", "InputDataConfig": config, **extra}


def wait_until_trained(language_models: LanguageModels, name: str, timeout: float = 30) -> dict:
    """Polls DescribeLanguageModel until COMPLETED or FAILED."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = language_models.describe_language_model(CTX, {"ModelName": name})["LanguageModel"]
        if model["ModelStatus"] != "IN_PROGRESS":
            return model
        time.sleep(0.02)
    raise TimeoutError(f"language model {name} still IN_PROGRESS after {timeout} s")


def output_members(operation: str) -> set[str]:
    model = botocore.session.get_session().get_service_model("transcribe")
    return set(model.operation_model(operation).output_shape.members)


def language_model_members() -> set[str]:
    model = botocore.session.get_session().get_service_model("transcribe")
    return set(model.shape_for("LanguageModel").members)


# --- lifecycle ---------------------------------------------------------------------------------


def test_create_then_completed(language_models, objects):
    uri = upload_folder(objects, CARD_GAMES)
    created = language_models.create_language_model(CTX, params("cards", uri))
    assert created == {
        "LanguageCode": "en-US",
        "BaseModelName": "WideBand",
        "ModelName": "cards",
        "InputDataConfig": {"S3Uri": uri, "DataAccessRoleArn": ROLE},
        "ModelStatus": "IN_PROGRESS",
    }
    assert set(created) <= output_members("CreateLanguageModel")

    model = wait_until_trained(language_models, "cards")
    assert model["ModelStatus"] == "COMPLETED"
    assert set(model) == {
        "ModelName", "CreateTime", "LastModifiedTime", "LanguageCode", "BaseModelName", "ModelStatus",
        "UpgradeAvailability", "InputDataConfig",
    }
    assert set(model) <= language_model_members()
    assert model["UpgradeAvailability"] is False
    assert model["CreateTime"] <= model["LastModifiedTime"]

    prompt = language_models.prompt_for_job("us-east-1", "cards", "en-US")
    assert "clubs, diamonds, hearts and spades" in prompt and "king of clubs" in prompt


def test_every_file_under_the_prefix_and_the_tuning_data_are_read(language_models, objects):
    first, second = CARD_GAMES.split("\n\n", 1)
    training = upload_folder(objects, first, second, "")  # an empty file among others is fine
    tuning = upload_folder(objects, "Four of clubs. Seven of hearts. Queen of clubs.")
    language_models.create_language_model(CTX, params("tuned", training, config={"TuningDataS3Uri": tuning}))
    assert wait_until_trained(language_models, "tuned")["ModelStatus"] == "COMPLETED"
    prompt = language_models.prompt_for_job("us-east-1", "tuned", "en-US")
    # Sentences from the tuning data (the text closest to the audio), after the terms of both
    # training files that they lack.
    assert prompt.endswith(". Four of clubs. Seven of hearts. Queen of clubs.")
    assert prompt.startswith("spades, diamonds, ace")


@pytest.mark.parametrize(
    "files, reason",
    [
        ((), r"^The S3 location s3://clm-data/training-\w+/ doesn't contain any files\."),
        (("", "  \n\n"), r"^The training data under s3://clm-data/training-\w+/ doesn't contain any words\."),
        ((CARD_GAMES, b"\xff\xfe\x00c\x00l"), r"^The file s3://clm-data/training-\w+/part-1.txt isn't plain text"),
        (("<html><body>clubs</body></html>",), r"^The file s3://.*/part-0.txt contains formatting such as HTML"),
    ],
    ids=["no-files", "no-words", "not-utf8", "html"],
)
def test_bad_training_data_fails(language_models, objects, files, reason):
    language_models.create_language_model(CTX, params("bad-data", upload_folder(objects, *files)))
    model = wait_until_trained(language_models, "bad-data")
    assert model["ModelStatus"] == "FAILED"
    assert re.match(reason, model["FailureReason"])
    with pytest.raises(BadRequestException, match="isn't ready: its status is FAILED"):
        language_models.prompt_for_job("us-east-1", "bad-data", "en-US")


def test_missing_bucket_and_bad_tuning_data_fail(language_models, objects):
    language_models.create_language_model(CTX, params("no-bucket", "s3://no-such-bucket/data/"))
    assert wait_until_trained(language_models, "no-bucket")["FailureReason"].startswith(
        "The S3 location s3://no-such-bucket/data/ doesn't contain any files."
    )
    training, tuning = upload_folder(objects, CARD_GAMES), upload_folder(objects)
    language_models.create_language_model(CTX, params("no-tuning", training, config={"TuningDataS3Uri": tuning}))
    assert "Upload your tuning data" in wait_until_trained(language_models, "no-tuning")["FailureReason"]


def test_data_over_the_size_limit_fails(language_models, objects, monkeypatch):
    # AWS allows 2 GB of training data; scaled down so that the test uploads kilobytes.
    monkeypatch.setattr(language_models_module, "TRAINING_LIMIT", len(CARD_GAMES) + 10)
    language_models.create_language_model(CTX, params("huge", upload_folder(objects, CARD_GAMES, CARD_GAMES)))
    reason = wait_until_trained(language_models, "huge")["FailureReason"]
    assert re.match(r"^The training data under s3://clm-data/training-\w+/ is larger than ", reason)
    assert reason.endswith("The maximum combined size is 2 GB for training data and 200 MB for tuning data.")


def test_list_keys_reads_a_prefix_recursively(objects):
    for key in ("lk/a.txt", "lk/sub/b.txt", "lk2/c.txt"):
        objects.put_bytes(BUCKET, key, b"clubs", "text/plain")
    assert objects.list_keys(BUCKET, "lk/") == ["lk/a.txt", "lk/sub/b.txt"]
    assert objects.list_keys(BUCKET, "lk") == ["lk/a.txt", "lk/sub/b.txt", "lk2/c.txt"]  # S3 prefix semantics
    assert objects.list_keys(BUCKET, "nothing-here/") == []
    with pytest.raises(ObjectNotFound):
        objects.list_keys("no-such-bucket", "")


def test_request_errors(language_models):
    with pytest.raises(BadRequestException, match="doesn't point to an S3 object"):
        language_models.create_language_model(CTX, params("elsewhere", "https://example.com/data/"))
    with pytest.raises(BadRequestException, match="appears more than once"):
        tags = [{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}]
        language_models.create_language_model(CTX, params("tags", f"s3://{BUCKET}/x/", Tags=tags))
    assert language_models.list_language_models(CTX, {})["Models"] == []  # nothing was created


def test_name_conflict(language_models, objects):
    uri = upload_folder(objects, CARD_GAMES)
    language_models.create_language_model(CTX, params("twice", uri))
    with pytest.raises(ConflictException) as err:
        language_models.create_language_model(CTX, params("twice", uri))
    assert err.value.message == "The requested language model name already exists. Use a different language model name."
    # Regions are separate namespaces.
    other = RequestContext("eu-west-1", CTX.account_id)
    assert language_models.create_language_model(other, params("twice", uri))["ModelStatus"] == "IN_PROGRESS"


def test_not_found(language_models):
    message = (
        "The requested language model couldn't be found. Check the language model name and try your request again."
    )
    for call in (language_models.describe_language_model, language_models.delete_language_model):
        with pytest.raises(NotFoundException) as err:
            call(CTX, {"ModelName": "ghost"})
        assert err.value.message == message
    with pytest.raises(BadRequestException) as err:
        language_models.prompt_for_job("us-east-1", "ghost", "en-US")
    assert err.value.message == message


def test_language_must_match_the_job(language_models, objects):
    british = {**params("british", upload_folder(objects, CARD_GAMES)), "LanguageCode": "en-GB"}
    language_models.create_language_model(CTX, british)
    wait_until_trained(language_models, "british")
    with pytest.raises(BadRequestException, match=r"\(en-GB\) doesn't match .* \(en-US\)"):
        language_models.prompt_for_job("us-east-1", "british", "en-US")
    assert "clubs" in language_models.prompt_for_job("us-east-1", "british", "en-GB")


def test_list_filters_and_pages(store, objects, models):
    ticks = iter(range(1000, 2000))
    language_models = LanguageModels(store, objects, models, clock=lambda: float(next(ticks)))
    good = upload_folder(objects, CARD_GAMES)
    for name in ("alpha-one", "beta-two", "Alpha-three", "gamma"):
        language_models.create_language_model(CTX, params(name, good))
    language_models.create_language_model(CTX, params("broken", upload_folder(objects)))
    for name in ("alpha-one", "beta-two", "Alpha-three", "gamma", "broken"):
        wait_until_trained(language_models, name)

    everything = language_models.list_language_models(CTX, {"MaxResults": 100})
    assert [m["ModelName"] for m in everything["Models"]] == ["broken", "gamma", "Alpha-three", "beta-two", "alpha-one"]
    assert "NextToken" not in everything
    assert set(everything) <= output_members("ListLanguageModels")
    gamma = language_models.describe_language_model(CTX, {"ModelName": "gamma"})["LanguageModel"]
    assert everything["Models"][1] == gamma

    page = language_models.list_language_models(CTX, {"MaxResults": 2})
    names = [m["ModelName"] for m in page["Models"]]
    while "NextToken" in page:
        page = language_models.list_language_models(CTX, {"MaxResults": 2, "NextToken": page["NextToken"]})
        names += [m["ModelName"] for m in page["Models"]]
    assert names == ["broken", "gamma", "Alpha-three", "beta-two", "alpha-one"]

    alphas = language_models.list_language_models(CTX, {"NameContains": "ALPHA"})
    assert [m["ModelName"] for m in alphas["Models"]] == ["Alpha-three", "alpha-one"]
    failed = language_models.list_language_models(CTX, {"StatusEquals": "FAILED"})
    assert [(m["ModelName"], m["ModelStatus"]) for m in failed["Models"]] == [("broken", "FAILED")]
    assert language_models.list_language_models(CTX, {"StatusEquals": "IN_PROGRESS"})["Models"] == []
    with pytest.raises(BadRequestException, match="NextToken"):
        language_models.list_language_models(CTX, {"NextToken": "not-a-token"})


def test_delete(language_models, objects):
    uri = upload_folder(objects, CARD_GAMES)
    language_models.create_language_model(CTX, params("doomed", uri))
    wait_until_trained(language_models, "doomed")
    assert language_models.delete_language_model(CTX, {"ModelName": "doomed"}) == {}
    with pytest.raises(NotFoundException):
        language_models.describe_language_model(CTX, {"ModelName": "doomed"})
    with pytest.raises(BadRequestException, match="couldn't be found"):
        language_models.prompt_for_job("us-east-1", "doomed", "en-US")
    # The name is free again.
    language_models.create_language_model(CTX, params("doomed", uri))
    assert wait_until_trained(language_models, "doomed")["ModelStatus"] == "COMPLETED"


def test_tags_are_kept_but_not_shown(language_models, store, objects):
    tags = [{"Key": "team", "Value": "speech"}]
    language_models.create_language_model(CTX, params("tagged", upload_folder(objects, CARD_GAMES), Tags=tags))
    assert "Tags" not in wait_until_trained(language_models, "tagged")
    assert store.get("language-model", "us-east-1", "tagged").doc["Tags"] == tags


def test_resume_in_progress_after_restart(store, objects, models):
    # Create answered IN_PROGRESS, then the process stopped before training: simulated by a
    # service without training threads.
    stopped = LanguageModels(store, objects, models, workers=0)
    stopped.create_language_model(CTX, params("survivor", upload_folder(objects, CARD_GAMES)))
    assert store.get("language-model", "us-east-1", "survivor").status == "IN_PROGRESS"

    # A TagResource while it waits (tags.py writes through Store.modify) must survive training.
    tags = [{"Key": "team", "Value": "speech"}]
    store.modify("language-model", "us-east-1", "survivor", lambda record: record.doc.update(Tags=tags))

    restarted = LanguageModels(store, objects, models)
    assert restarted.resume_in_progress() == 1
    assert wait_until_trained(restarted, "survivor")["ModelStatus"] == "COMPLETED"
    assert "clubs" in restarted.prompt_for_job("us-east-1", "survivor", "en-US")
    assert store.get("language-model", "us-east-1", "survivor").doc["Tags"] == tags
    assert restarted.resume_in_progress() == 0


KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_update_re_encrypts_in_place_without_training(store, objects, models):
    """botocore's UpdateLanguageModel docs: the artifacts are re-encrypted in place, no training;
    the model must not be IN_PROGRESS; it stays usable for jobs while the update runs."""
    trained = LanguageModels(store, objects, models)
    uri = upload_folder(objects, CARD_GAMES)
    trained.create_language_model(CTX, params("secured", uri))
    before = wait_until_trained(trained, "secured")
    prompt = trained.prompt_for_job("us-east-1", "secured", "en-US")
    # New data under the model's prefix changes nothing: an update does not train.
    objects.put_bytes(BUCKET, uri.removeprefix(f"s3://{BUCKET}/") + "chess.txt", b"Bishop takes rook.", "text/plain")

    paused = LanguageModels(store, objects, models, workers=0)  # the update stays IN_PROGRESS
    encryption = {"KMSKey": KMS_KEY, "KMSEncryptionContext": {"team": "speech"}}
    updated = paused.update_language_model(CTX, {"ModelName": "secured", "EncryptionConfiguration": encryption})
    assert set(updated) == {"ModelName", "ModelStatus", "LastModifiedTime"} == output_members("UpdateLanguageModel")
    assert updated["ModelStatus"] == "IN_PROGRESS" and updated["LastModifiedTime"] >= before["LastModifiedTime"]
    assert paused.prompt_for_job("us-east-1", "secured", "en-US") == prompt  # still available to jobs
    with pytest.raises(ConflictException, match="IN_PROGRESS"):
        paused.update_language_model(CTX, {"ModelName": "secured"})

    assert trained.resume_in_progress() == 1  # the pool settles it (as after a restart)
    after = wait_until_trained(trained, "secured")
    assert after["ModelStatus"] == "COMPLETED" and after["EncryptionConfiguration"] == encryption
    assert after["InputDataConfig"] == before["InputDataConfig"] and after["CreateTime"] == before["CreateTime"]
    assert trained.prompt_for_job("us-east-1", "secured", "en-US") == prompt

    # Without EncryptionConfiguration, the artifacts go back to an AWS owned key.
    assert trained.update_language_model(CTX, {"ModelName": "secured"})["ModelStatus"] == "IN_PROGRESS"
    assert "EncryptionConfiguration" not in wait_until_trained(trained, "secured")


def test_update_errors_and_a_failed_model(store, objects, models):
    language_models = LanguageModels(store, objects, models, workers=0)  # training never ends
    with pytest.raises(NotFoundException, match="couldn't be found"):
        language_models.update_language_model(CTX, {"ModelName": "ghost"})
    language_models.create_language_model(CTX, params("training", upload_folder(objects, CARD_GAMES)))
    with pytest.raises(ConflictException, match="being created or updated"):
        language_models.update_language_model(CTX, {"ModelName": "training"})

    working = LanguageModels(store, objects, models)
    working.create_language_model(CTX, params("broken", upload_folder(objects)))
    assert wait_until_trained(working, "broken")["ModelStatus"] == "FAILED"
    updated = working.update_language_model(CTX, {"ModelName": "broken", "EncryptionConfiguration": {"KMSKey": KMS_KEY}})
    assert updated["ModelStatus"] == "FAILED"  # nothing to re-encrypt; it stays FAILED
    described = working.describe_language_model(CTX, {"ModelName": "broken"})["LanguageModel"]
    assert described["EncryptionConfiguration"] == {"KMSKey": KMS_KEY} and described["FailureReason"]


def test_delete_during_an_update(store, objects, models):
    working = LanguageModels(store, objects, models)
    working.create_language_model(CTX, params("brief", upload_folder(objects, CARD_GAMES)))
    wait_until_trained(working, "brief")
    LanguageModels(store, objects, models, workers=0).update_language_model(CTX, {"ModelName": "brief"})
    working.delete_language_model(CTX, {"ModelName": "brief"})
    assert working.resume_in_progress() == 0
    with pytest.raises(NotFoundException):
        working.describe_language_model(CTX, {"ModelName": "brief"})


def test_operation_table_names_the_model_operations(language_models):
    model = botocore.session.get_session().get_service_model("transcribe")
    assert set(language_models.operations()) == {
        "CreateLanguageModel", "DescribeLanguageModel", "ListLanguageModels", "UpdateLanguageModel",
        "DeleteLanguageModel",
    }
    assert set(language_models.operations()) <= set(model.operation_names)


# --- the effect on recognition -----------------------------------------------------------------


@pytest.fixture(scope="module")
def recognizer(models):
    return Recognizer(models.resolve, ModelLoadOptions())


def transcribe(recognizer: Recognizer, item_id: str, prompt: str | None) -> str:
    transcription = recognizer.transcribe(
        decode(audio_path(item_id)), "tiny.en", RecognitionOptions(language="en", initial_prompt=prompt)
    )
    return " ".join(segment.text for segment in transcription.segments)


def spoken(text: str) -> str:
    """Lower-case words only, for phrase checks ("Four, queen of clubs." -> "four queen of clubs")."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


@pytest.mark.parametrize(
    "item_id, reference, phrase",
    [
        # tiny.en alone (int8, CPU) hears "four of close" and "4. Queen of Clothes" ("Cloves" in float32).
        ("cards_005", "eight of spades four of clubs seven of hearts", "four of clubs"),
        ("cards_002", "four queen of clubs", "queen of clubs"),
    ],
)
def test_a_card_game_model_fixes_the_suits(language_models, objects, recognizer, item_id, reference, phrase):
    language_models.create_language_model(CTX, params("card-games", upload_folder(objects, CARD_GAMES)))
    assert wait_until_trained(language_models, "card-games")["ModelStatus"] == "COMPLETED"
    prompt = language_models.prompt_for_job("us-east-1", "card-games", "en-US")

    plain = transcribe(recognizer, item_id, None)
    adapted = transcribe(recognizer, item_id, prompt)

    assert phrase not in spoken(plain) and wer(reference, plain) > 0
    assert phrase in spoken(adapted) and wer(reference, adapted) == 0
