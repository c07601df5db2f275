"""Smithy RPC v2 CBOR end to end: boto3 forced onto the protocol botocore's transcribe model
lists first (`tests.support.cbor_session`), against the session's running emulator.

Every operation the suite covers over awsJson runs here over CBOR: a transcription job on a
short real clip (Start, Get until COMPLETED, List, Delete), a medical job, vocabularies and
vocabulary filters (Create, Get, List, Update, Delete), medical vocabularies, tags, a custom
language model (Create, Describe until COMPLETED, List, Delete), and the errors
(ConflictException, BadRequestException, validation, NotFoundException). Reads are made
through both protocols and must parse to the same answer; errors must reach the client as the
same exception class with the same code, message and status. Raw requests (httpx, signed with
botocore's SigV4Auth) check the wire itself: headers, the CBOR error body, SigV4 over the CBOR
body, malformed bodies. The rules are emulator/aws/cbor_protocol.py's.
"""

from __future__ import annotations

import time
import uuid

import boto3
import cbor2
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support import CARD_GAMES, CREDENTIALS, cbor_session, manifest, wait_for_job, wer

CLIP = "librivox_0870"  # 7 s, 16 kHz mono WAV: also a valid medical input
PATH = "/service/Transcribe/operation/"
MEDICAL_BUCKET = "cbor-medical"
ROLE = "arn:aws:iam::000000000000:role/transcribe"
# Recorded against real AWS (shared/reference/aws-recorded-responses.json), as tests/e2e/test_wire.py.
JOB_NOT_FOUND = "The requested job couldn't be found. Check the job name and try your request again."
JOB_EXISTS = "The requested job name already exists. Use a different job name."


# --- clients and helpers ----------------------------------------------------------------------


def _client(emulator, session=None, **config):
    session = session or cbor_session(emulator.data_dir.parent / "cbor-model")
    return session.client(
        "transcribe",
        endpoint_url=emulator.endpoint,
        config=Config(retries={"max_attempts": 1}, **config),
        **CREDENTIALS,
    )


@pytest.fixture(scope="module")
def wire():
    """Every request the CBOR clients sent (botocore's prepared requests)."""
    return []


@pytest.fixture(scope="module")
def cbor(emulator, wire):
    client = _client(emulator)
    client.meta.events.register("before-send.transcribe", lambda request, **_: wire.append(request))
    return client


@pytest.fixture(scope="module")
def clients(emulator):
    """(awsJson client, CBOR client); both without botocore's parameter validation, so the
    server's validation answers."""
    json_client = _client(emulator, boto3.session.Session(), parameter_validation=False)
    return json_client, _client(emulator, parameter_validation=False)


def answer(response):
    """A parsed response without its metadata, presigned URLs without their (time-stamped) query."""
    if isinstance(response, dict):
        return {k: answer(v) for k, v in response.items() if k != "ResponseMetadata"}
    if isinstance(response, list):
        return [answer(v) for v in response]
    if isinstance(response, str) and "X-Amz-Signature=" in response:
        return response.split("?", 1)[0]
    return response


def both(json_client, cbor_client, operation: str, **params) -> dict:
    """The operation's answer over CBOR, checked equal to its answer over awsJson."""
    via_cbor = answer(getattr(cbor_client, operation)(**params))
    assert via_cbor == answer(getattr(json_client, operation)(**params))
    return via_cbor


def same_error(clients, operation: str, **params) -> tuple[str, str]:
    """Calls `operation` over awsJson and over CBOR; both must raise the same modelled exception
    class with the same code, message and status. Returns (code, message)."""
    seen = []
    for client in clients:
        with pytest.raises(ClientError) as info:
            getattr(client, operation)(**params)
        error = info.value.response
        code = error["Error"]["Code"]
        assert isinstance(info.value, getattr(client.exceptions, code)), type(info.value)
        assert error["ResponseMetadata"]["RequestId"]
        status = error["ResponseMetadata"]["HTTPStatusCode"]
        seen.append((type(info.value).__name__, code, error["Error"]["Message"], status))
    assert seen[0] == seen[1]
    return seen[1][1], seen[1][2]


def _poll(read, done, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, value
        time.sleep(0.1)


def _name(prefix: str) -> str:
    return f"cbor-{prefix}-{uuid.uuid4().hex[:8]}"


# --- the protocol on the wire -------------------------------------------------------------------


def test_requests_go_out_as_cbor_and_answers_come_back_as_cbor(cbor, wire):
    response = cbor.list_transcription_jobs(MaxResults=5)

    sent = wire[-1]
    assert sent.url.endswith(PATH + "ListTranscriptionJobs")
    headers_sent = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in sent.headers.items()}
    assert headers_sent["smithy-protocol"] == "rpc-v2-cbor"
    assert headers_sent["content-type"] == "application/cbor"
    assert "x-amz-target" not in headers_sent
    assert cbor2.loads(sent.body) == {"MaxResults": 5}
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/cbor"
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    assert response["ResponseMetadata"]["RequestId"] == headers["x-amzn-requestid"]


def _raw(emulator, operation: str, body=b"\xa0", *, service="Transcribe", headers=None, sign=True, send=None):
    """POSTs `body` to the RPC v2 CBOR path, signed with botocore's SigV4Auth; `send`: other
    bytes to send than those signed; a header given as None is left out."""
    url = f"{emulator.endpoint}/service/{service}/operation/{operation}"
    wanted = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"}
    wanted = {k: v for k, v in {**wanted, **(headers or {})}.items() if v is not None}
    request = AWSRequest(method="POST", url=url, data=body, headers=wanted)
    if sign:
        SigV4Auth(Credentials("test", "test"), "transcribe", "us-east-1").add_auth(request)
    return httpx.post(url, content=body if send is None else send, headers=dict(request.headers.items()), timeout=30)


def cbor_error(response: httpx.Response, status: int, code: str) -> dict:
    """Checks the RPC v2 CBOR error envelope and returns the decoded body."""
    assert response.status_code == status, response.content
    assert response.headers["content-type"] == "application/cbor"
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert response.headers["x-amzn-requestid"]
    assert "x-amzn-query-error" not in response.headers  # Transcribe is not awsQueryCompatible
    body = cbor2.loads(response.content)
    assert body["__type"].rsplit("#", 1)[1] == code
    return body


def test_a_signed_cbor_request_is_answered_in_cbor(emulator):
    response = _raw(emulator, "ListVocabularies", cbor2.dumps({"MaxResults": 1}))

    assert response.status_code == 200, response.content
    assert response.headers["content-type"] == "application/cbor"
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert isinstance(cbor2.loads(response.content)["Vocabularies"], list)


def test_an_operation_without_output_answers_an_empty_body(emulator, transcribe):
    name = _name("empty")
    transcribe.create_vocabulary_filter(VocabularyFilterName=name, LanguageCode="en-US", Words=["darn"])

    response = _raw(emulator, "DeleteVocabularyFilter", cbor2.dumps({"VocabularyFilterName": name}))

    assert response.status_code == 200 and response.content == b""
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"


def test_errors_name_the_shape_id_in_a_cbor_body(emulator):
    body = cbor_error(
        _raw(emulator, "GetTranscriptionJob", cbor2.dumps({"TranscriptionJobName": _name("none")})),
        400,
        "BadRequestException",
    )

    assert body == {"__type": "com.amazonaws.transcribe#BadRequestException", "Message": JOB_NOT_FOUND}


@pytest.mark.parametrize(
    "operation, service", [("NoSuchOperation", "Transcribe"), ("ListTranscriptionJobs", "Translate")]
)
def test_an_unknown_operation_or_service_is_an_unknown_operation(emulator, operation, service):
    body = cbor_error(_raw(emulator, operation, service=service), 400, "UnknownOperationException")

    assert body == {"__type": "com.amazon.coral.service#UnknownOperationException"}


def test_sigv4_covers_the_cbor_body(emulator):
    signed = cbor2.dumps({"MaxResults": 1})

    changed = _raw(emulator, "ListTranscriptionJobs", signed, send=cbor2.dumps({"MaxResults": 2}))
    cbor_error(changed, 403, "InvalidSignatureException")
    cbor_error(_raw(emulator, "ListTranscriptionJobs", signed, sign=False), 403, "MissingAuthenticationTokenException")


@pytest.mark.parametrize(
    "body, headers, message",
    [
        (b"\xa1\x6aMaxResults", None, ""),  # cut short
        (b"\x80", None, "Start of list found where not expected"),
        (cbor2.dumps({"MaxResults": "5"}), None, "STRING_VALUE cannot be converted to Integer"),  # as awsJson
        (cbor2.dumps({"JobNameContains": b"bytes"}), None, "Unexpected field type"),
        (b"\xa0", {"smithy-protocol": None}, "Expected the header smithy-protocol: rpc-v2-cbor"),
        (b"\xa0", {"Content-Type": "application/json"}, "Expected the header Content-Type: application/cbor"),
    ],
    ids=["truncated", "array", "wrong-type", "bytes-for-text", "no-protocol-header", "json-content-type"],
)
def test_a_body_cbor_cannot_carry_is_a_serialization_error(emulator, body, headers, message):
    error = cbor_error(_raw(emulator, "ListTranscriptionJobs", body, headers=headers), 400, "SerializationException")

    assert error.get("Message", "") == message


def test_an_oversized_body_is_refused_before_it_is_read(emulator):
    response = _raw(emulator, "CreateVocabulary", b"\x00" * (4 * 1024 * 1024 + 1), sign=False)

    cbor_error(response, 413, "RequestEntityTooLargeException")


# --- a transcription job -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cbor_job(cbor, upload):
    """(name, Start's answer, the completed job), all over CBOR, on one short clip."""
    name = _name("job")
    started = cbor.start_transcription_job(
        TranscriptionJobName=name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload(CLIP)},
        Tags=[{"Key": "protocol", "Value": "cbor"}],
    )["TranscriptionJob"]
    return name, started, wait_for_job(cbor, name)


def test_a_job_starts_and_completes_over_cbor(cbor_job):
    name, started, job = cbor_job

    assert started["TranscriptionJobName"] == name
    assert started["TranscriptionJobStatus"] in ("QUEUED", "IN_PROGRESS")
    assert started["CreationTime"].tzinfo is not None  # tag 1 read as a datetime
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["CreationTime"] <= job["StartTime"] <= job["CompletionTime"]
    assert job["MediaSampleRateHertz"] == 16000 and job["MediaFormat"] == "wav"
    transcript = httpx.get(job["Transcript"]["TranscriptFileUri"], timeout=30).json()
    assert wer(manifest()[CLIP]["text"], transcript["results"]["transcripts"][0]["transcript"]) < 0.2


def test_get_and_list_answer_the_same_over_both_protocols(transcribe, cbor, cbor_job):
    name = cbor_job[0]

    job = both(transcribe, cbor, "get_transcription_job", TranscriptionJobName=name)["TranscriptionJob"]
    page = both(transcribe, cbor, "list_transcription_jobs", JobNameContains=name)

    assert job["Tags"] == [{"Key": "protocol", "Value": "cbor"}]
    assert [s["TranscriptionJobName"] for s in page["TranscriptionJobSummaries"]] == [name]
    assert page["TranscriptionJobSummaries"][0]["CompletionTime"] == job["CompletionTime"]


def test_a_taken_job_name_is_a_conflict(clients, upload, cbor_job):
    code, message = same_error(
        clients,
        "start_transcription_job",
        TranscriptionJobName=cbor_job[0],
        LanguageCode="en-GB",
        Media={"MediaFileUri": upload(CLIP)},
    )

    assert (code, message) == ("ConflictException", JOB_EXISTS)


def test_delete_over_cbor_then_the_job_is_not_found(cbor, clients, cbor_job):
    name = cbor_job[0]

    cbor.delete_transcription_job(TranscriptionJobName=name)

    for operation in ("get_transcription_job", "delete_transcription_job"):
        assert same_error(clients, operation, TranscriptionJobName=name) == ("BadRequestException", JOB_NOT_FOUND)


# --- a medical job -----------------------------------------------------------------------------------


def test_a_medical_job_over_cbor(transcribe, cbor, s3, upload):
    s3.create_bucket(Bucket=MEDICAL_BUCKET)
    name = _name("medical")
    started = cbor.start_medical_transcription_job(
        MedicalTranscriptionJobName=name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload(CLIP)},
        OutputBucketName=MEDICAL_BUCKET,
        Specialty="PRIMARYCARE",
        Type="DICTATION",
    )["MedicalTranscriptionJob"]
    assert started["TranscriptionJobStatus"] in ("QUEUED", "IN_PROGRESS")

    job = _poll(
        lambda: cbor.get_medical_transcription_job(MedicalTranscriptionJobName=name)["MedicalTranscriptionJob"],
        lambda job: job["TranscriptionJobStatus"] in ("COMPLETED", "FAILED"),
        timeout=180,
    )

    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["Transcript"]["TranscriptFileUri"].endswith(f"/{MEDICAL_BUCKET}/medical/{name}.json")
    assert both(transcribe, cbor, "get_medical_transcription_job", MedicalTranscriptionJobName=name)
    page = both(transcribe, cbor, "list_medical_transcription_jobs", JobNameContains=name)
    assert [s["MedicalTranscriptionJobName"] for s in page["MedicalTranscriptionJobSummaries"]] == [name]
    cbor.delete_medical_transcription_job(MedicalTranscriptionJobName=name)
    code, _ = same_error((transcribe, cbor), "get_medical_transcription_job", MedicalTranscriptionJobName=name)
    assert code == "BadRequestException"


# --- vocabularies, filters, tags, language models ----------------------------------------------------


def test_vocabulary_lifecycle_and_tags_over_cbor(transcribe, cbor, clients):
    name = _name("vocabulary")
    created = cbor.create_vocabulary(
        VocabularyName=name, LanguageCode="en-US", Phrases=["Kubernetes"], Tags=[{"Key": "k", "Value": "v"}]
    )
    assert created["VocabularyState"] == "PENDING" and created["LastModifiedTime"].tzinfo is not None
    ready = _poll(lambda: cbor.get_vocabulary(VocabularyName=name), lambda v: v["VocabularyState"] != "PENDING")
    assert ready["VocabularyState"] == "READY", ready.get("FailureReason")
    both(transcribe, cbor, "get_vocabulary", VocabularyName=name)
    listed = both(transcribe, cbor, "list_vocabularies", NameContains=name)["Vocabularies"]
    assert [v["VocabularyName"] for v in listed] == [name]
    code, _ = same_error(clients, "create_vocabulary", VocabularyName=name, LanguageCode="en-US", Phrases=["x"])
    assert code == "ConflictException"

    arn = f"arn:aws:transcribe:us-east-1:000000000000:vocabulary/{name}"
    cbor.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "asr"}])
    cbor.untag_resource(ResourceArn=arn, TagKeys=["k"])
    tags = both(transcribe, cbor, "list_tags_for_resource", ResourceArn=arn)["Tags"]
    assert tags == [{"Key": "team", "Value": "asr"}]

    updated = cbor.update_vocabulary(VocabularyName=name, LanguageCode="en-US", Phrases=["Kafka"])
    assert updated["VocabularyState"] == "PENDING"
    _poll(lambda: cbor.get_vocabulary(VocabularyName=name), lambda v: v["VocabularyState"] == "READY")
    cbor.delete_vocabulary(VocabularyName=name)
    same_error(clients, "get_vocabulary", VocabularyName=name)  # the code AWS gives, whichever the emulator answers
    code, _ = same_error(clients, "list_tags_for_resource", ResourceArn=arn)
    assert code == "NotFoundException"


def test_vocabulary_filter_lifecycle_over_cbor(transcribe, cbor, clients):
    name = _name("filter")
    created = cbor.create_vocabulary_filter(VocabularyFilterName=name, LanguageCode="en-US", Words=["darn"])
    assert created["VocabularyFilterName"] == name and created["LastModifiedTime"].tzinfo is not None
    got = both(transcribe, cbor, "get_vocabulary_filter", VocabularyFilterName=name)
    assert httpx.get(cbor.get_vocabulary_filter(VocabularyFilterName=name)["DownloadUri"], timeout=30).text.split() == [
        "darn"
    ]
    assert got["LanguageCode"] == "en-US"

    cbor.update_vocabulary_filter(VocabularyFilterName=name, Words=["heck"])
    listed = both(transcribe, cbor, "list_vocabulary_filters", NameContains=name)["VocabularyFilters"]
    assert [f["VocabularyFilterName"] for f in listed] == [name]
    cbor.delete_vocabulary_filter(VocabularyFilterName=name)

    code, _ = same_error(clients, "get_vocabulary_filter", VocabularyFilterName=name)
    assert code == "NotFoundException"


def test_language_model_lifecycle_over_cbor(transcribe, cbor, clients, upload, tmp_path):
    name = _name("model")
    training = tmp_path / "cards.txt"
    training.write_text(CARD_GAMES)
    upload(training, key=f"{name}/train/cards.txt")
    created = cbor.create_language_model(
        LanguageCode="en-US",
        BaseModelName="WideBand",
        ModelName=name,
        InputDataConfig={"S3Uri": f"s3://media/{name}/train/", "DataAccessRoleArn": ROLE},
    )
    assert created["ModelStatus"] == "IN_PROGRESS"

    model = _poll(
        lambda: cbor.describe_language_model(ModelName=name)["LanguageModel"],
        lambda model: model["ModelStatus"] != "IN_PROGRESS",
    )

    assert model["ModelStatus"] == "COMPLETED", model.get("FailureReason")
    assert model["CreateTime"] <= model["LastModifiedTime"]
    both(transcribe, cbor, "describe_language_model", ModelName=name)
    listed = both(transcribe, cbor, "list_language_models", NameContains=name)["Models"]
    assert [m["ModelName"] for m in listed] == [name]
    cbor.delete_language_model(ModelName=name)
    assert same_error(clients, "describe_language_model", ModelName=name)[0] == "NotFoundException"


def test_medical_vocabulary_lifecycle_over_cbor(transcribe, cbor, clients, upload, tmp_path):
    name = _name("medical-vocabulary")
    table = tmp_path / "medical.txt"
    table.write_text("Phrase\tIPA\tSoundsLike\tDisplayAs\nclubs\t\t\t\n")
    table_uri = upload(table, key=f"vocabularies/{name}.txt")
    created = cbor.create_medical_vocabulary(VocabularyName=name, LanguageCode="en-US", VocabularyFileUri=table_uri)
    assert created["VocabularyState"] == "PENDING"

    ready = _poll(lambda: cbor.get_medical_vocabulary(VocabularyName=name), lambda v: v["VocabularyState"] != "PENDING")

    assert ready["VocabularyState"] == "READY", ready.get("FailureReason")
    both(transcribe, cbor, "get_medical_vocabulary", VocabularyName=name)
    listed = both(transcribe, cbor, "list_medical_vocabularies", NameContains=name)["Vocabularies"]
    assert [v["VocabularyName"] for v in listed] == [name]
    cbor.delete_medical_vocabulary(VocabularyName=name)
    same_error(clients, "get_medical_vocabulary", VocabularyName=name)


# --- errors: the same exception classes, codes and messages as awsJson ------------------------------


@pytest.mark.parametrize(
    "operation, params, code, message",
    [
        ("get_transcription_job", {"TranscriptionJobName": "cbor-never-started"}, "BadRequestException", JOB_NOT_FOUND),
        (
            "start_transcription_job",
            {"TranscriptionJobName": "cbor-no-language", "Media": {"MediaFileUri": "s3://media/x.wav"}},
            "BadRequestException",
            "The language code is missing. Either add a language code or turn on language identification.",
        ),
        (
            "list_transcription_jobs",
            {"MaxResults": 0},
            "BadRequestException",
            "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1",
        ),
        (
            "start_transcription_job",
            {
                "TranscriptionJobName": "cbor one",
                "LanguageCode": "en-US",
                "Media": {"MediaFileUri": "s3://media/x.wav"},
                "Settings": {"ShowSpeakerLabels": True, "MaxSpeakerLabels": 1},
            },
            "BadRequestException",
            "2 validation errors detected: Value 'cbor one' at 'transcriptionJobName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[0-9a-zA-Z._-]+; "
            "Value '1' at 'settings.maxSpeakerLabels' failed to satisfy constraint: "
            "Member must have value greater than or equal to 2",
        ),
        ("get_vocabulary_filter", {"VocabularyFilterName": "cbor-no-such-filter"}, "NotFoundException", None),
        ("list_transcription_jobs", {"NextToken": "not-a-token"}, "BadRequestException", None),
    ],
    ids=["bad-request", "language-missing", "validation", "two-violations", "not-found", "bad-token"],
)
def test_errors_reach_the_client_as_over_aws_json(clients, operation, params, code, message):
    got = same_error(clients, operation, **params)

    assert got[0] == code
    if message is not None:
        assert got[1] == message
