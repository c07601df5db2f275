"""Tagging over a real SQLite store, no HTTP: TagResource, UntagResource,
ListTagsForResource, the create-time tag checks, and ARN building/parsing."""

from __future__ import annotations

import pytest

from emulator.aws.errors import BadRequestException, NotFoundException, ValidationException
from emulator.service.arns import RESOURCE_TYPES, STORE_KINDS, ParsedArn, parse_arn, resource_arn
from emulator.service.context import RequestContext
from emulator.service.tags import RESOURCE_NOT_FOUND, Tagging, validate_new_tags
from emulator.storage.store import Record, Store

REGION = "us-west-2"
ACCOUNT = "111122223333"
CTX = RequestContext(REGION, ACCOUNT)


def _tags(**pairs: str) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def _record(kind: str, region: str, name: str, doc: dict) -> Record:
    return Record(kind, region, name, "COMPLETED", 1.0, doc, {})


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(tmp_path / "state.db")
    store.insert(_record("transcription-job", REGION, "my-job", {"TranscriptionJobName": "my-job"}))
    vocabulary = {"VocabularyName": "my-vocab", "Tags": _tags(team="speech")}
    store.insert(_record("vocabulary", REGION, "my-vocab", vocabulary))
    store.insert(_record("medical-transcription-job", REGION, "my-job", {"MedicalTranscriptionJobName": "my-job"}))
    store.insert(_record("transcription-job", "eu-west-1", "eu-job", {"TranscriptionJobName": "eu-job"}))
    return store


@pytest.fixture
def tagging(store) -> Tagging:
    return Tagging(store)


def arn(resource_type: str, name: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return resource_arn(region, account, resource_type, name)


JOB = arn("transcription-job", "my-job")
VOCAB = arn("vocabulary", "my-vocab")
MEDICAL_JOB = arn("medical-transcription-job", "my-job")


def listed(tagging: Tagging, resource: str) -> list[dict]:
    return tagging.list_tags_for_resource(CTX, {"ResourceArn": resource})["Tags"]


# --- ARNs -------------------------------------------------------------------------------


def test_resource_arn_has_the_documented_form():
    assert arn("transcription-job", "my-job") == "arn:aws:transcribe:us-west-2:111122223333:transcription-job/my-job"


def test_resource_arn_uses_the_region_partition():
    assert resource_arn("cn-north-1", ACCOUNT, "vocabulary", "v").startswith("arn:aws-cn:transcribe:cn-north-1:")


def test_parse_arn_round_trips_every_resource_type():
    for resource_type in RESOURCE_TYPES:
        parsed = parse_arn(arn(resource_type, "name.with_chars-1"))
        assert parsed == ParsedArn("aws", REGION, ACCOUNT, resource_type, "name.with_chars-1")
        assert parsed.store_kind == STORE_KINDS[resource_type] == resource_type


@pytest.mark.parametrize(
    "bad",
    [
        "not-an-arn",
        "arn:aws:s3:us-west-2:111122223333:transcription-job/my-job",  # another service
        "arn:aws:transcribe:us-west-2:12345:transcription-job/my-job",  # short account
        "arn:aws:transcribe:us-west-2:111122223333:transcription-job",  # no name
        "arn:aws:transcribe:us-west-2:111122223333:transcription-job/my job",  # space in name
        "arn:aws:transcribe:us-west-2:111122223333:transcription_job/my-job",  # '_' in type
        "",
    ],
)
def test_malformed_arn_is_a_validation_error_worded_like_the_wire(bad):
    with pytest.raises(ValidationException) as caught:
        parse_arn(bad)
    assert isinstance(caught.value, BadRequestException)
    assert f"Value '{bad}' at 'resourceArn' failed to satisfy constraint:" in caught.value.message
    assert "Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:transcribe:" in caught.value.message


def test_overlong_arn_reports_the_length_limit():
    with pytest.raises(ValidationException, match="Member must have length less than or equal to 1011"):
        parse_arn(arn("transcription-job", "j" * 1000))


def test_unknown_resource_type_is_a_bad_request():
    with pytest.raises(BadRequestException, match="The resource type 'stream' in the ARN isn't valid") as caught:
        parse_arn("arn:aws:transcribe:us-west-2:111122223333:stream/x")
    assert not isinstance(caught.value, ValidationException)


def test_resource_arn_refuses_an_unknown_type():
    with pytest.raises(ValueError):
        resource_arn(REGION, ACCOUNT, "stream", "x")


# --- ListTagsForResource ----------------------------------------------------------------


def test_list_returns_the_arn_as_sent_and_the_tags(tagging):
    assert tagging.list_tags_for_resource(CTX, {"ResourceArn": VOCAB}) == {
        "ResourceArn": VOCAB,
        "Tags": _tags(team="speech"),
    }


def test_list_of_an_untagged_resource_is_an_empty_list(tagging):
    assert listed(tagging, JOB) == []


# --- TagResource ------------------------------------------------------------------------


def test_tag_resource_answers_empty_and_persists(tagging, store):
    assert tagging.tag_resource(CTX, {"ResourceArn": JOB, "Tags": _tags(color="blue", shape="square")}) == {}
    assert store.get("transcription-job", REGION, "my-job").doc["Tags"] == _tags(color="blue", shape="square")
    assert listed(Tagging(store), JOB) == _tags(color="blue", shape="square")


def test_tag_resource_merges_and_overwrites_in_place(tagging):
    tagging.tag_resource(CTX, {"ResourceArn": VOCAB, "Tags": _tags(env="dev", team="asr")})
    assert listed(tagging, VOCAB) == _tags(team="asr", env="dev")


def test_tag_keys_are_case_sensitive(tagging):
    tagging.tag_resource(CTX, {"ResourceArn": JOB, "Tags": _tags(Env="a", env="b")})
    assert listed(tagging, JOB) == _tags(Env="a", env="b")


def test_empty_value_is_kept(tagging):
    tagging.tag_resource(CTX, {"ResourceArn": JOB, "Tags": _tags(flag="")})
    assert listed(tagging, JOB) == _tags(flag="")


def test_tags_of_one_kind_do_not_touch_another_kind_with_the_same_name(tagging):
    tagging.tag_resource(CTX, {"ResourceArn": MEDICAL_JOB, "Tags": _tags(phi="yes")})
    assert listed(tagging, MEDICAL_JOB) == _tags(phi="yes")
    assert listed(tagging, JOB) == []


def test_fifty_tags_fit(tagging):
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    tagging.tag_resource(CTX, {"ResourceArn": JOB, "Tags": tags})
    assert len(listed(tagging, JOB)) == 50


def test_overwriting_at_the_limit_is_not_an_addition(tagging):
    tagging.tag_resource(CTX, {"ResourceArn": JOB, "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(50)]})
    tagging.tag_resource(CTX, {"ResourceArn": JOB, "Tags": _tags(k0="new")})
    assert listed(tagging, JOB)[0] == {"Key": "k0", "Value": "new"}


def test_more_than_fifty_after_merge_is_refused_and_nothing_changes(tagging):
    # VOCAB starts with one tag: 1 + 48 = 49, then two more would make 51.
    tagging.tag_resource(CTX, {"ResourceArn": VOCAB, "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(48)]})
    with pytest.raises(BadRequestException, match="up to 50 tags per resource") as caught:
        tagging.tag_resource(CTX, {"ResourceArn": VOCAB, "Tags": _tags(a="1", b="2")})
    assert "51 tags" in caught.value.message
    assert len(listed(tagging, VOCAB)) == 49


def test_duplicate_key_in_one_request_is_refused(tagging):
    with pytest.raises(BadRequestException, match="The tag key 'env' appears more than once"):
        tagging.tag_resource(CTX, {"ResourceArn": JOB, "Tags": _tags(env="a") + _tags(env="b")})
    assert listed(tagging, JOB) == []


@pytest.mark.parametrize("key", ["aws:createdBy", "AWS:x", "Aws:y"])
def test_reserved_prefix_is_refused(tagging, key):
    with pytest.raises(BadRequestException, match="reserves for system-generated tags"):
        tagging.tag_resource(CTX, {"ResourceArn": JOB, "Tags": [{"Key": key, "Value": "v"}]})


def test_tag_checks_come_before_the_lookup(tagging):
    with pytest.raises(BadRequestException, match="appears more than once"):
        tagging.tag_resource(
            CTX, {"ResourceArn": arn("vocabulary", "nope"), "Tags": _tags(a="1") + _tags(a="2")}
        )


# --- UntagResource ----------------------------------------------------------------------


def test_untag_removes_keys_and_ignores_absent_ones(tagging):
    tagging.tag_resource(CTX, {"ResourceArn": JOB, "Tags": _tags(a="1", b="2", c="3")})
    assert tagging.untag_resource(CTX, {"ResourceArn": JOB, "TagKeys": ["b", "missing"]}) == {}
    assert listed(tagging, JOB) == _tags(a="1", c="3")


def test_untagging_everything_leaves_no_tags_member(tagging, store):
    tagging.untag_resource(CTX, {"ResourceArn": VOCAB, "TagKeys": ["team"]})
    assert listed(tagging, VOCAB) == []
    assert "Tags" not in store.get("vocabulary", REGION, "my-vocab").doc


def test_untag_of_a_reserved_key_is_refused(tagging):
    with pytest.raises(BadRequestException, match="'aws:cloudformation:stack-name' begins with 'aws:'"):
        tagging.untag_resource(CTX, {"ResourceArn": VOCAB, "TagKeys": ["aws:cloudformation:stack-name"]})


def test_untag_keeps_the_rest_of_the_document(tagging, store):
    tagging.untag_resource(CTX, {"ResourceArn": VOCAB, "TagKeys": ["team"]})
    assert store.get("vocabulary", REGION, "my-vocab").doc == {"VocabularyName": "my-vocab"}


# --- not found --------------------------------------------------------------------------

OPERATIONS = [
    ("tag_resource", {"Tags": _tags(a="1")}),
    ("untag_resource", {"TagKeys": ["a"]}),
    ("list_tags_for_resource", {}),
]


@pytest.mark.parametrize("operation, extra", OPERATIONS)
@pytest.mark.parametrize(
    "resource",
    [
        arn("transcription-job", "nope"),  # no such name
        arn("vocabulary", "my-job"),  # the name exists, as another kind
        arn("language-model", "my-vocab"),
        arn("transcription-job", "my-job", region="eu-west-1"),  # another region
        arn("transcription-job", "eu-job", region="eu-west-1"),  # exists, but not the caller's region
        arn("transcription-job", "my-job", account="999999999999"),  # another account
        "arn:aws-cn:transcribe:us-west-2:111122223333:transcription-job/my-job",  # another partition
    ],
)
def test_a_resource_the_caller_cannot_see_is_not_found(tagging, operation, extra, resource):
    with pytest.raises(NotFoundException) as caught:
        getattr(tagging, operation)(CTX, {"ResourceArn": resource, **extra})
    assert caught.value.message == RESOURCE_NOT_FOUND
    assert RESOURCE_NOT_FOUND == (
        "The requested resource couldn't be found. Check the resource name and try your request again."
    )


def test_the_other_region_sees_its_own_resource(tagging):
    eu = RequestContext("eu-west-1", ACCOUNT)
    eu_job = arn("transcription-job", "eu-job", region="eu-west-1")
    tagging.tag_resource(eu, {"ResourceArn": eu_job, "Tags": _tags(r="eu")})
    assert tagging.list_tags_for_resource(eu, {"ResourceArn": eu_job})["Tags"] == _tags(r="eu")


def test_resource_deleted_between_read_and_write_is_not_found(store):
    class Vanishing(Store):
        def get(self, kind, region, name):
            record = super().get(kind, region, name)
            self.delete(kind, region, name)  # gone before the write
            return record

    vanishing = Vanishing(store.path)
    with pytest.raises(NotFoundException):
        Tagging(vanishing).tag_resource(CTX, {"ResourceArn": JOB, "Tags": _tags(a="1")})


@pytest.mark.parametrize("operation, extra", OPERATIONS)
def test_malformed_arn_is_a_bad_request_in_every_operation(tagging, operation, extra):
    with pytest.raises(BadRequestException, match="failed to satisfy constraint"):
        getattr(tagging, operation)(CTX, {"ResourceArn": "arn:aws:transcribe:::job", **extra})


# --- create-time checks -----------------------------------------------------------------


def test_validate_new_tags_accepts_a_plain_set():
    validate_new_tags(_tags(color="blue", shape="square"))
    validate_new_tags([{"Key": f"k{i}", "Value": "v"} for i in range(50)])


def test_validate_new_tags_refuses_duplicates():
    with pytest.raises(BadRequestException, match="'color' appears more than once"):
        validate_new_tags(_tags(color="blue") + _tags(color="red"))


def test_validate_new_tags_refuses_the_reserved_prefix():
    with pytest.raises(BadRequestException, match="begins with 'aws:'"):
        validate_new_tags(_tags(ok="1") + [{"Key": "aws:x", "Value": "v"}])


def test_validate_new_tags_refuses_more_than_fifty():
    with pytest.raises(BadRequestException, match="up to 50 tags per resource"):
        validate_new_tags([{"Key": f"k{i}", "Value": "v"} for i in range(51)])


def test_tags_survive_a_concurrent_whole_job_update(store):
    """A worker finishing a job writes status and doc; tags added meanwhile are kept."""
    store.insert(Record("transcription-job", REGION, "racer", "IN_PROGRESS", 1.0, {"TranscriptionJobName": "racer"}, {}))
    arn = f"arn:aws:transcribe:{REGION}:{ACCOUNT}:transcription-job/racer"
    Tagging(store).tag_resource(CTX, {"ResourceArn": arn, "Tags": _tags(team="a")})

    def finish(record):
        record.status = record.doc["TranscriptionJobStatus"] = "COMPLETED"

    store.modify("transcription-job", REGION, "racer", finish)
    job = store.get("transcription-job", REGION, "racer")
    assert job.status == "COMPLETED"
    assert job.doc["Tags"] == _tags(team="a")
