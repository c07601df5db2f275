"""Vocabularies and vocabulary filters as service objects (no HTTP): a real Store in tmp_path
and a real ObjectStore on an embedded SeaweedFS."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid

import botocore.session
import pytest

from emulator.aws.errors import BadRequestException, ConflictException, NotFoundException
from emulator.service.context import RequestContext
from emulator.service.vocabularies import Vocabularies
from emulator.service.vocabulary_filters import VocabularyFilters
from emulator.service.vocabulary_tables import INVALID_HEADERS, INVALID_TERMS, VocabularyEntry
from emulator.storage.s3 import ObjectStore
from emulator.storage.store import Store

ACCESS_KEY = "AKIAVOCABULARYTEST"
SECRET_KEY = "vocabulary-secret-key-0123456789"
BUCKET = "vocab-input"
CTX = RequestContext("us-east-1", "123456789012")


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "emulator.sqlite3")


@pytest.fixture
def vocabularies(store, objects):
    return Vocabularies(store, objects)


@pytest.fixture
def filters(store, objects):
    return VocabularyFilters(store, objects)


def upload(objects: ObjectStore, text: str | bytes) -> str:
    key = f"{uuid.uuid4().hex}.txt"
    objects.put_bytes(BUCKET, key, text.encode() if isinstance(text, str) else text, "text/plain")
    return f"s3://{BUCKET}/{key}"


def wait_until_settled(vocabularies: Vocabularies, name: str, timeout: float = 15) -> dict:
    """Polls GetVocabulary until READY or FAILED (what boto3's VocabularyReady waiter does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = vocabularies.get_vocabulary(CTX, {"VocabularyName": name})
        if got["VocabularyState"] != "PENDING":
            return got
        time.sleep(0.02)
    raise TimeoutError(f"vocabulary {name} still PENDING after {timeout} s")


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def output_members(operation: str) -> set[str]:
    model = botocore.session.get_session().get_service_model("transcribe")
    return set(model.operation_model(operation).output_shape.members)


TABLE = "Phrase\tIPA\tSoundsLike\tDisplayAs\nLos-Angeles\t\t\tLos Angeles\nEtienne\t\teh-tee-en\t\n"


# --- vocabularies -------------------------------------------------------------------------------


def test_create_from_phrases_becomes_ready(vocabularies):
    created = vocabularies.create_vocabulary(
        CTX, {"VocabularyName": "phrases", "LanguageCode": "en-US", "Phrases": ["Los-Angeles", "Kubernetes"]}
    )
    assert created["VocabularyState"] == "PENDING"
    assert set(created) == {"VocabularyName", "LanguageCode", "VocabularyState", "LastModifiedTime"}
    assert set(created) <= output_members("CreateVocabulary")
    got = wait_until_settled(vocabularies, "phrases")
    assert got["VocabularyState"] == "READY"
    assert set(got) <= output_members("GetVocabulary")
    assert "FailureReason" not in got
    assert fetch(got["DownloadUri"]).splitlines() == [
        "Phrase\tIPA\tSoundsLike\tDisplayAs",
        "Los-Angeles\t\t\t",
        "Kubernetes\t\t\t",
    ]
    assert vocabularies.terms_for_job("us-east-1", "phrases", "en-US").phrases() == ["Los Angeles", "Kubernetes"]


def test_create_from_table_in_s3(vocabularies, objects):
    uri = upload(objects, TABLE)
    vocabularies.create_vocabulary(CTX, {"VocabularyName": "table", "LanguageCode": "en-US", "VocabularyFileUri": uri})
    got = wait_until_settled(vocabularies, "table")
    assert got["VocabularyState"] == "READY"
    assert fetch(got["DownloadUri"]) == TABLE
    assert vocabularies.terms_for_job("us-east-1", "table", "en-US").entries == (
        VocabularyEntry("Los Angeles", display_as="Los Angeles"),
        VocabularyEntry("Etienne", sounds_like=("eh", "tee", "en")),
    )


def test_table_with_bad_headers_fails(vocabularies, objects):
    uri = upload(objects, "Phrase\tSpelling\nLos-Angeles\tLA\n")
    vocabularies.create_vocabulary(CTX, {"VocabularyName": "bad-head", "LanguageCode": "en-US", "VocabularyFileUri": uri})
    got = wait_until_settled(vocabularies, "bad-head")
    assert got["VocabularyState"] == "FAILED"
    assert got["FailureReason"].startswith(INVALID_HEADERS)
    assert "DownloadUri" not in got
    with pytest.raises(BadRequestException, match="isn't ready: its state is FAILED"):
        vocabularies.terms_for_job("us-east-1", "bad-head", "en-US")


def test_table_with_bad_row_fails_naming_the_line(vocabularies, objects):
    uri = upload(objects, "Phrase\tDisplayAs\nKubernetes\t\nLos Angeles\tLA\n")
    vocabularies.create_vocabulary(CTX, {"VocabularyName": "bad-row", "LanguageCode": "en-US", "VocabularyFileUri": uri})
    reason = wait_until_settled(vocabularies, "bad-row")["FailureReason"]
    assert reason.startswith(INVALID_TERMS) and "Line 3:" in reason


def test_missing_file_fails(vocabularies):
    vocabularies.create_vocabulary(
        CTX, {"VocabularyName": "no-file", "LanguageCode": "en-US", "VocabularyFileUri": f"s3://{BUCKET}/absent.txt"}
    )
    got = wait_until_settled(vocabularies, "no-file")
    assert got["VocabularyState"] == "FAILED"
    assert got["FailureReason"].startswith("The URI that you provided doesn't point to an S3 object.")


def test_request_errors(vocabularies):
    base = {"VocabularyName": "errors", "LanguageCode": "en-US"}
    for extra in ({}, {"Phrases": ["a"], "VocabularyFileUri": f"s3://{BUCKET}/x.txt"}):
        with pytest.raises(BadRequestException, match="^Either Phrases or VocabularyFileUri field should be provided.$"):
            vocabularies.create_vocabulary(CTX, {**base, **extra})
    with pytest.raises(BadRequestException) as err:
        vocabularies.create_vocabulary(CTX, {**base, "Phrases": ["Los Angeles"]})
    assert err.value.message.startswith(INVALID_TERMS)
    with pytest.raises(BadRequestException, match="doesn't point to an S3 object"):
        vocabularies.create_vocabulary(CTX, {**base, "VocabularyFileUri": "https://example.com/vocab.txt"})
    with pytest.raises(BadRequestException):
        vocabularies.get_vocabulary(CTX, {"VocabularyName": "errors"})  # nothing was created


def test_name_conflict(vocabularies):
    params = {"VocabularyName": "twice", "LanguageCode": "en-US", "Phrases": ["Kubernetes"]}
    vocabularies.create_vocabulary(CTX, params)
    with pytest.raises(ConflictException) as err:
        vocabularies.create_vocabulary(CTX, params)
    assert err.value.message == "The requested vocabulary name already exists. Use a different vocabulary name."
    # Regions are separate namespaces.
    other = RequestContext("eu-west-1", CTX.account_id)
    assert vocabularies.create_vocabulary(other, params)["VocabularyState"] == "PENDING"


def test_not_found(vocabularies):
    message = "The requested vocabulary couldn't be found. Check the vocabulary name and try your request again."
    for call, params in (
        (vocabularies.get_vocabulary, {"VocabularyName": "ghost"}),
        (vocabularies.delete_vocabulary, {"VocabularyName": "ghost"}),
        (vocabularies.update_vocabulary, {"VocabularyName": "ghost", "LanguageCode": "en-US", "Phrases": ["x"]}),
    ):
        # AWS answers BadRequestException for a missing vocabulary (FIELD_NOTES: AWS's .NET
        # integration tests assert it; issue 13 §4), not the model's NotFoundException.
        with pytest.raises(BadRequestException) as err:
            call(CTX, params)
        assert err.value.message == message
    with pytest.raises(BadRequestException) as err:
        vocabularies.terms_for_job("us-east-1", "ghost", "en-US")
    assert err.value.message == message


def test_language_must_match_the_job(vocabularies):
    vocabularies.create_vocabulary(CTX, {"VocabularyName": "german", "LanguageCode": "de-DE", "Phrases": ["Kubernetes"]})
    wait_until_settled(vocabularies, "german")
    with pytest.raises(BadRequestException, match=r"\(de-DE\) doesn't match .* \(en-US\)"):
        vocabularies.terms_for_job("us-east-1", "german", "en-US")
    assert vocabularies.terms_for_job("us-east-1", "german", "de-DE").phrases() == ["Kubernetes"]


def test_list_filters_and_pages(store, objects):
    ticks = iter(range(1000, 2000))
    vocabularies = Vocabularies(store, objects, clock=lambda: float(next(ticks)))
    for name in ("alpha-one", "beta-two", "Alpha-three", "gamma"):
        vocabularies.create_vocabulary(CTX, {"VocabularyName": name, "LanguageCode": "en-US", "Phrases": ["Kubernetes"]})
    for name in ("alpha-one", "beta-two", "Alpha-three", "gamma"):
        wait_until_settled(vocabularies, name)
    vocabularies.create_vocabulary(
        CTX, {"VocabularyName": "broken", "LanguageCode": "en-US", "VocabularyFileUri": f"s3://{BUCKET}/absent.txt"}
    )
    wait_until_settled(vocabularies, "broken")

    everything = vocabularies.list_vocabularies(CTX, {"MaxResults": 100})
    assert [v["VocabularyName"] for v in everything["Vocabularies"]] == [
        "broken", "gamma", "Alpha-three", "beta-two", "alpha-one"
    ]
    assert "NextToken" not in everything and "Status" not in everything
    assert set(everything["Vocabularies"][0]) == {"VocabularyName", "LanguageCode", "LastModifiedTime", "VocabularyState"}
    assert set(everything) <= output_members("ListVocabularies")

    first = vocabularies.list_vocabularies(CTX, {})  # MaxResults defaults to 5
    assert len(first["Vocabularies"]) == 5 and "NextToken" not in first
    page = vocabularies.list_vocabularies(CTX, {"MaxResults": 2})
    names = [v["VocabularyName"] for v in page["Vocabularies"]]
    while "NextToken" in page:
        page = vocabularies.list_vocabularies(CTX, {"MaxResults": 2, "NextToken": page["NextToken"]})
        names += [v["VocabularyName"] for v in page["Vocabularies"]]
    assert names == ["broken", "gamma", "Alpha-three", "beta-two", "alpha-one"]

    alphas = vocabularies.list_vocabularies(CTX, {"NameContains": "ALPHA"})
    assert [v["VocabularyName"] for v in alphas["Vocabularies"]] == ["Alpha-three", "alpha-one"]
    failed = vocabularies.list_vocabularies(CTX, {"StateEquals": "FAILED"})
    assert failed["Status"] == "FAILED"
    assert [v["VocabularyName"] for v in failed["Vocabularies"]] == ["broken"]
    assert vocabularies.list_vocabularies(CTX, {"StateEquals": "PENDING"})["Vocabularies"] == []
    with pytest.raises(BadRequestException, match="NextToken"):
        vocabularies.list_vocabularies(CTX, {"NextToken": "not-a-token"})

    # An update makes a vocabulary the newest.
    vocabularies.update_vocabulary(CTX, {"VocabularyName": "alpha-one", "LanguageCode": "en-US", "Phrases": ["Helm"]})
    listed = vocabularies.list_vocabularies(CTX, {"MaxResults": 1})["Vocabularies"]
    assert listed[0]["VocabularyName"] == "alpha-one"


def test_update_goes_pending_then_ready(vocabularies, objects):
    vocabularies.create_vocabulary(
        CTX, {"VocabularyName": "updated", "LanguageCode": "en-US", "VocabularyFileUri": upload(objects, "Phrase\nx y\n")}
    )
    assert wait_until_settled(vocabularies, "updated")["VocabularyState"] == "FAILED"
    updated = vocabularies.update_vocabulary(
        CTX, {"VocabularyName": "updated", "LanguageCode": "en-GB", "VocabularyFileUri": upload(objects, TABLE)}
    )
    assert updated["VocabularyState"] == "PENDING"
    assert set(updated) == {"VocabularyName", "LanguageCode", "LastModifiedTime", "VocabularyState"}
    assert set(updated) <= output_members("UpdateVocabulary")
    got = wait_until_settled(vocabularies, "updated")
    assert (got["VocabularyState"], got["LanguageCode"]) == ("READY", "en-GB")
    assert "FailureReason" not in got
    assert fetch(got["DownloadUri"]) == TABLE
    assert vocabularies.terms_for_job("us-east-1", "updated", "en-GB").phrases() == ["Los Angeles", "Etienne"]


def test_rapid_updates_end_with_the_last_one(vocabularies):
    vocabularies.create_vocabulary(CTX, {"VocabularyName": "rapid", "LanguageCode": "en-US", "Phrases": ["one"]})
    for word in ("two", "three", "four"):
        vocabularies.update_vocabulary(CTX, {"VocabularyName": "rapid", "LanguageCode": "en-US", "Phrases": [word]})
    wait_until_settled(vocabularies, "rapid")
    assert vocabularies.terms_for_job("us-east-1", "rapid", "en-US").phrases() == ["four"]


def test_delete(vocabularies, objects):
    vocabularies.create_vocabulary(CTX, {"VocabularyName": "doomed", "LanguageCode": "en-US", "Phrases": ["Kubernetes"]})
    download = wait_until_settled(vocabularies, "doomed")["DownloadUri"]
    assert vocabularies.delete_vocabulary(CTX, {"VocabularyName": "doomed"}) == {}
    with pytest.raises(BadRequestException):
        vocabularies.get_vocabulary(CTX, {"VocabularyName": "doomed"})
    with pytest.raises(urllib.error.HTTPError):
        fetch(download)
    # The name is free again.
    vocabularies.create_vocabulary(CTX, {"VocabularyName": "doomed", "LanguageCode": "en-US", "Phrases": ["Helm"]})
    wait_until_settled(vocabularies, "doomed")
    assert vocabularies.terms_for_job("us-east-1", "doomed", "en-US").phrases() == ["Helm"]


def test_tags_are_kept_but_not_shown_by_get(vocabularies, store):
    tags = [{"Key": "team", "Value": "speech"}]
    vocabularies.create_vocabulary(
        CTX, {"VocabularyName": "tagged", "LanguageCode": "en-US", "Phrases": ["Kubernetes"], "Tags": tags}
    )
    assert store.get("vocabulary", "us-east-1", "tagged").doc["Tags"] == tags
    assert "Tags" not in wait_until_settled(vocabularies, "tagged")


def test_resume_pending_after_restart(store, objects):
    # A vocabulary answered PENDING, then the process stopped before processing it: simulated
    # by a service without processing threads.
    stopped = Vocabularies(store, objects, workers=0)
    stopped.create_vocabulary(
        CTX, {"VocabularyName": "survivor", "LanguageCode": "en-US", "VocabularyFileUri": upload(objects, TABLE)}
    )
    assert store.get("vocabulary", "us-east-1", "survivor").status == "PENDING"

    # A TagResource while it waits (tags.py writes through Store.modify) must survive processing.
    tags = [{"Key": "team", "Value": "speech"}]
    store.modify("vocabulary", "us-east-1", "survivor", lambda record: record.doc.update(Tags=tags))

    restarted = Vocabularies(store, objects)
    assert restarted.resume_pending() == 1
    got = wait_until_settled(restarted, "survivor")
    assert got["VocabularyState"] == "READY"
    assert fetch(got["DownloadUri"]) == TABLE
    assert store.get("vocabulary", "us-east-1", "survivor").doc["Tags"] == tags
    assert restarted.resume_pending() == 0


# --- vocabulary filters -------------------------------------------------------------------------


def test_filter_from_words(filters):
    created = filters.create_vocabulary_filter(
        CTX, {"VocabularyFilterName": "words", "LanguageCode": "en-US", "Words": ["darn", "heck", "Darn"]}
    )
    assert set(created) == {"VocabularyFilterName", "LanguageCode", "LastModifiedTime"}
    assert set(created) <= output_members("CreateVocabularyFilter")
    got = filters.get_vocabulary_filter(CTX, {"VocabularyFilterName": "words"})
    assert set(got) <= output_members("GetVocabularyFilter")
    assert fetch(got["DownloadUri"]) == "darn\nheck\n"
    assert filters.words_for_job("us-east-1", "words", "en-US") == ["darn", "heck"]


def test_filter_from_file(filters, objects):
    uri = upload(objects, "darn\r\nheck\n\ngood grief\n")
    filters.create_vocabulary_filter(
        CTX, {"VocabularyFilterName": "file", "LanguageCode": "en-US", "VocabularyFilterFileUri": uri}
    )
    assert filters.words_for_job("us-east-1", "file", "en-US") == ["darn", "heck", "good grief"]
    got = filters.get_vocabulary_filter(CTX, {"VocabularyFilterName": "file"})
    assert fetch(got["DownloadUri"]) == "darn\nheck\ngood grief\n"


def test_filter_request_errors(filters, objects):
    base = {"VocabularyFilterName": "bad", "LanguageCode": "en-US"}
    for extra in ({}, {"Words": ["a"], "VocabularyFilterFileUri": f"s3://{BUCKET}/x.txt"}):
        with pytest.raises(BadRequestException, match="^Either Words or VocabularyFilterFileUri field should be provided.$"):
            filters.create_vocabulary_filter(CTX, {**base, **extra})
    with pytest.raises(BadRequestException, match="doesn't point to an S3 object"):
        filters.create_vocabulary_filter(CTX, {**base, "VocabularyFilterFileUri": f"s3://{BUCKET}/absent.txt"})
    with pytest.raises(BadRequestException, match="UTF-8"):
        filters.create_vocabulary_filter(CTX, {**base, "VocabularyFilterFileUri": upload(objects, b"\xff\xfe\x00")})
    with pytest.raises(BadRequestException, match="doesn't contain any words"):
        filters.create_vocabulary_filter(CTX, {**base, "VocabularyFilterFileUri": upload(objects, "\n\n")})
    with pytest.raises(NotFoundException):
        filters.get_vocabulary_filter(CTX, {"VocabularyFilterName": "bad"})  # nothing was created


def test_filter_conflict_and_not_found(filters):
    params = {"VocabularyFilterName": "once", "LanguageCode": "en-US", "Words": ["darn"]}
    filters.create_vocabulary_filter(CTX, params)
    with pytest.raises(ConflictException) as err:
        filters.create_vocabulary_filter(CTX, params)
    assert err.value.message == (
        "The requested vocabulary filter name already exists. Use a different vocabulary filter name."
    )
    message = (
        "The requested vocabulary filter couldn't be found. Check the vocabulary filter name and try your request again."
    )
    for call, params in (
        (filters.get_vocabulary_filter, {"VocabularyFilterName": "ghost"}),
        (filters.delete_vocabulary_filter, {"VocabularyFilterName": "ghost"}),
        (filters.update_vocabulary_filter, {"VocabularyFilterName": "ghost", "Words": ["x"]}),
    ):
        with pytest.raises(NotFoundException) as err:
            call(CTX, params)
        assert err.value.message == message
    with pytest.raises(BadRequestException) as err:
        filters.words_for_job("us-east-1", "ghost", "en-US")
    assert err.value.message == message
    with pytest.raises(BadRequestException, match=r"\(en-US\) doesn't match .* \(fr-FR\)"):
        filters.words_for_job("us-east-1", "once", "fr-FR")


def test_filter_update_and_delete(store, objects):
    ticks = iter(range(1000, 2000))
    filters = VocabularyFilters(store, objects, clock=lambda: float(next(ticks)))
    filters.create_vocabulary_filter(CTX, {"VocabularyFilterName": "changing", "LanguageCode": "en-GB", "Words": ["darn"]})
    updated = filters.update_vocabulary_filter(
        CTX, {"VocabularyFilterName": "changing", "VocabularyFilterFileUri": upload(objects, "heck\n")}
    )
    assert updated == {"VocabularyFilterName": "changing", "LanguageCode": "en-GB", "LastModifiedTime": 1001.0}
    assert set(updated) <= output_members("UpdateVocabularyFilter")
    assert filters.words_for_job("us-east-1", "changing", "en-GB") == ["heck"]
    download = filters.get_vocabulary_filter(CTX, {"VocabularyFilterName": "changing"})["DownloadUri"]
    assert fetch(download) == "heck\n"
    with pytest.raises(BadRequestException, match="Either Words"):
        filters.update_vocabulary_filter(CTX, {"VocabularyFilterName": "changing"})

    assert filters.delete_vocabulary_filter(CTX, {"VocabularyFilterName": "changing"}) == {}
    with pytest.raises(NotFoundException):
        filters.get_vocabulary_filter(CTX, {"VocabularyFilterName": "changing"})
    with pytest.raises(urllib.error.HTTPError):
        fetch(download)


def test_filter_list(store, objects):
    ticks = iter(range(1000, 2000))
    filters = VocabularyFilters(store, objects, clock=lambda: float(next(ticks)))
    for name in ("swear-a", "Swear-b", "other", "swear-c"):
        filters.create_vocabulary_filter(CTX, {"VocabularyFilterName": name, "LanguageCode": "en-US", "Words": ["darn"]})
    listed = filters.list_vocabulary_filters(CTX, {})
    assert [f["VocabularyFilterName"] for f in listed["VocabularyFilters"]] == ["swear-c", "other", "Swear-b", "swear-a"]
    assert set(listed["VocabularyFilters"][0]) == {"VocabularyFilterName", "LanguageCode", "LastModifiedTime"}
    assert set(listed) <= output_members("ListVocabularyFilters")
    page = filters.list_vocabulary_filters(CTX, {"NameContains": "SWEAR", "MaxResults": 2})
    assert [f["VocabularyFilterName"] for f in page["VocabularyFilters"]] == ["swear-c", "Swear-b"]
    page = filters.list_vocabulary_filters(CTX, {"NameContains": "SWEAR", "MaxResults": 2, "NextToken": page["NextToken"]})
    assert [f["VocabularyFilterName"] for f in page["VocabularyFilters"]] == ["swear-a"]
    assert "NextToken" not in page
    # Vocabulary filters and vocabularies are separate namespaces in the store.
    assert Vocabularies(store, objects).list_vocabularies(CTX, {})["Vocabularies"] == []


def test_filters_survive_a_restart(store, objects):
    VocabularyFilters(store, objects).create_vocabulary_filter(
        CTX, {"VocabularyFilterName": "durable", "LanguageCode": "en-US", "Words": ["darn"]}
    )
    assert VocabularyFilters(Store(store.path), objects).words_for_job("us-east-1", "durable", "en-US") == ["darn"]


def test_operation_tables_name_the_model_operations(vocabularies, filters):
    model = botocore.session.get_session().get_service_model("transcribe")
    for name, method in {**vocabularies.operations(), **filters.operations()}.items():
        assert name in model.operation_names
        assert callable(method)
