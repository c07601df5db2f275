"""The awsJson1.1 wire, SigV4 and validation, end to end against a running emulator.

Requests go out the way users send them: boto3 and the AWS CLI, or raw HTTP (httpx)
signed with botocore's own SigV4 signer where a test needs to control the headers or
the body. Expected messages are AWS's: recorded against real AWS where a recording
exists (shared/reference/aws-recorded-responses.json), otherwise the generic AWS
wording the emulator documents (digest §1.2, §1.3, §6; emulator/aws/sigv4.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from unittest import mock

import boto3
import botocore.session
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support import CREDENTIALS, EmulatorProcess

CONTENT_TYPE = "application/x-amz-json-1.1"
TEST_CREDENTIALS = Credentials("test", "test")

# Recorded against real AWS (aws-recorded-responses.json).
JOB_NOT_FOUND = "The requested job couldn't be found. Check the job name and try your request again."
JOB_EXISTS = "The requested job name already exists. Use a different job name."
LANGUAGE_MISSING = (
    "The language code is missing. Either add a language code or turn on language identification."
)
BAD_LANGUAGE_PREFIX = (
    "1 validation error detected: Value 'non-existent' at 'languageCode' failed to satisfy constraint: "
    "Member must satisfy enum value set: ["
)
# AWS's generic SigV4 wording (digest §1.3, §6.1).
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
JOB_NAME_PATTERN = "^[0-9a-zA-Z._-]+"
STAMP = r"\d{8}T\d{6}Z"  # an X-Amz-Date in messages


# --- helpers ------------------------------------------------------------------------------


def _bytes(body) -> bytes:
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode()
    return body.encode() if isinstance(body, str) else body


def sign(emulator, target: str, body=b"{}", *, region="us-east-1", credentials=TEST_CREDENTIALS) -> dict:
    """The headers botocore's SigV4 signer puts on `POST /` with this target and body."""
    request = AWSRequest(
        method="POST",
        url=emulator.endpoint + "/",
        data=_bytes(body),
        headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": target},
    )
    SigV4Auth(credentials, "transcribe", region).add_auth(request)
    return dict(request.headers.items())


def post(emulator, headers: dict, body=b"{}") -> httpx.Response:
    return httpx.post(emulator.endpoint + "/", content=_bytes(body), headers=headers, timeout=30)


def signed_post(emulator, target: str, body=b"{}", **signing) -> httpx.Response:
    return post(emulator, sign(emulator, target, body, **signing), body)


def unsigned_headers(target: str) -> dict:
    return {"Content-Type": CONTENT_TYPE, "X-Amz-Target": target}


def aws_error(response: httpx.Response, status: int, code: str) -> dict:
    """Checks the awsJson1.1 error envelope (digest §1.2) and returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == CONTENT_TYPE
    assert response.headers["x-amzn-errortype"] == code
    assert response.headers["x-amzn-requestid"]
    body = response.json()
    assert body["__type"] == code
    return body


def client_error(call, code: str, status: int = 400, **params) -> str:
    """Calls a boto3 operation that must fail with `code`; returns the error message."""
    with pytest.raises(ClientError) as info:
        call(**params)
    error = info.value.response
    assert error["Error"]["Code"] == code, error
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error["ResponseMetadata"]["RequestId"]
    return error["Error"]["Message"]


def aws_cli(emulator, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    aws = Path(sys.executable).parent / "aws"
    return subprocess.run(
        [str(aws), *args, "--endpoint-url", emulator.endpoint, "--region", "us-east-1", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def unvalidated(emulator):
    """A boto3 client that skips botocore's own checks, so the server's validation answers."""
    return boto3.client(
        "transcribe",
        endpoint_url=emulator.endpoint,
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
        **CREDENTIALS,
    )


@pytest.fixture(scope="module")
def media(upload):
    return {"MediaFileUri": upload("jfk")}


# --- the awsJson1.1 wire --------------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["Transcribe.NoSuchOp", "Foo.ListTranscriptionJobs", "ListTranscriptionJobs"]
)
def test_an_unknown_target_is_an_unknown_operation(emulator, target):
    response = signed_post(emulator, target)

    assert aws_error(response, 400, "UnknownOperationException") == {"__type": "UnknownOperationException"}


def test_a_malformed_json_body_is_a_serialization_error(emulator):
    response = signed_post(emulator, "Transcribe.ListTranscriptionJobs", b'{"MaxResults": 5')

    aws_error(response, 400, "SerializationException")


def test_a_json_array_body_is_a_serialization_error(emulator):
    response = signed_post(emulator, "Transcribe.ListTranscriptionJobs", b"[]")

    body = aws_error(response, 400, "SerializationException")
    assert body["Message"] == "Start of list found where not expected"


def test_a_value_of_the_wrong_json_type_is_a_serialization_error(emulator):
    response = signed_post(emulator, "Transcribe.ListTranscriptionJobs", {"MaxResults": "5"})

    body = aws_error(response, 400, "SerializationException")
    assert body["Message"] == "STRING_VALUE cannot be converted to Integer"


def test_a_decimal_max_results_is_truncated_like_aws(emulator, transcribe, media, job_name):
    # Coral (Jackson) truncates a JSON decimal sent for an Integer member; the
    # emulator's validator says it does the same (emulator/aws/validation.py `_coerce`).
    for n in (1, 2):
        transcribe.start_transcription_job(
            TranscriptionJobName=f"{job_name}-{n}", LanguageCode="en-US", Media=media
        )

    response = signed_post(
        emulator, "Transcribe.ListTranscriptionJobs", {"JobNameContains": job_name, "MaxResults": 1.9}
    )

    assert response.status_code == 200, response.text
    page = response.json()
    assert len(page["TranscriptionJobSummaries"]) == 1
    assert "NextToken" in page


def test_a_decimal_sample_rate_is_truncated_like_aws(emulator, media, job_name):
    body = {
        "TranscriptionJobName": job_name,
        "LanguageCode": "en-US",
        "MediaSampleRateHertz": 44100.5,
        "Media": media,
    }

    response = signed_post(emulator, "Transcribe.StartTranscriptionJob", body)

    assert response.status_code == 200, response.text
    assert response.json()["TranscriptionJob"]["MediaSampleRateHertz"] == 44100


@pytest.mark.parametrize("body", [b"{}", b""], ids=["empty-object", "no-body"])
def test_list_transcription_jobs_needs_no_input(emulator, body):
    response = signed_post(emulator, "Transcribe.ListTranscriptionJobs", body)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CONTENT_TYPE
    assert "x-amzn-errortype" not in response.headers
    assert isinstance(response.json()["TranscriptionJobSummaries"], list)


def test_every_response_carries_its_own_request_id(emulator):
    responses = [
        signed_post(emulator, "Transcribe.ListTranscriptionJobs"),
        signed_post(emulator, "Transcribe.ListTranscriptionJobs"),
        signed_post(emulator, "Transcribe.NoSuchOp"),
        post(emulator, unsigned_headers("Transcribe.ListTranscriptionJobs")),
    ]

    ids = [r.headers["x-amzn-requestid"] for r in responses]
    assert all(uuid.UUID(i) for i in ids)
    assert len(set(ids)) == len(ids)


# --- SigV4 ----------------------------------------------------------------------------------


def test_an_unsigned_request_is_missing_its_token(emulator):
    response = post(emulator, unsigned_headers("Transcribe.ListTranscriptionJobs"))

    body = aws_error(response, 403, "MissingAuthenticationTokenException")
    assert body["Message"] == "Missing Authentication Token"


def test_an_unknown_access_key_is_an_unrecognized_client(emulator):
    client = emulator.transcribe(aws_access_key_id="AKIDNOBODYKNOWS")

    message = client_error(client.list_transcription_jobs, "UnrecognizedClientException", 400)
    assert message == "The security token included in the request is invalid."


def test_a_wrong_secret_key_is_an_invalid_signature(emulator):
    client = emulator.transcribe(aws_secret_access_key="not-the-secret")

    message = client_error(client.list_transcription_jobs, "InvalidSignatureException", 403)
    assert message == SIGNATURE_MISMATCH


def test_a_signature_from_16_minutes_ago_has_expired(emulator):
    sixteen_minutes_ago = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=16)
    with mock.patch("botocore.auth.get_current_datetime", return_value=sixteen_minutes_ago):
        headers = sign(emulator, "Transcribe.ListTranscriptionJobs")

    body = aws_error(post(emulator, headers), 403, "InvalidSignatureException")
    signed_at = headers["X-Amz-Date"]
    expected = rf"Signature expired: {signed_at} is now earlier than {STAMP} \({STAMP} - 15 min\.\)"
    assert re.fullmatch(expected, body["Message"]), body["Message"]


def test_a_signature_dated_16_minutes_ahead_is_not_yet_current(emulator):
    sixteen_minutes_ahead = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(minutes=16)
    with mock.patch("botocore.auth.get_current_datetime", return_value=sixteen_minutes_ahead):
        headers = sign(emulator, "Transcribe.ListTranscriptionJobs")

    body = aws_error(post(emulator, headers), 403, "InvalidSignatureException")
    signed_at = headers["X-Amz-Date"]
    expected = rf"Signature not yet current: {signed_at} is still later than {STAMP} \({STAMP} \+ 15 min\.\)"
    assert re.fullmatch(expected, body["Message"]), body["Message"]


def test_temporary_credentials_with_a_session_token_are_accepted(emulator):
    client = emulator.transcribe(aws_session_token="FwoGZXIvYXdzEXAMPLETOKEN")

    response = client.list_transcription_jobs()

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_body_changed_after_signing_fails_the_signature(emulator):
    headers = sign(emulator, "Transcribe.ListTranscriptionJobs", {"MaxResults": 5})

    response = post(emulator, headers, {"MaxResults": 6})

    assert aws_error(response, 403, "InvalidSignatureException")["Message"] == SIGNATURE_MISMATCH


def test_a_target_changed_after_signing_fails_the_signature(emulator):
    headers = sign(emulator, "Transcribe.ListTranscriptionJobs", {"TranscriptionJobName": "x"})
    headers["X-Amz-Target"] = "Transcribe.DeleteTranscriptionJob"

    response = post(emulator, headers, {"TranscriptionJobName": "x"})

    assert aws_error(response, 403, "InvalidSignatureException")["Message"] == SIGNATURE_MISMATCH


def test_a_malformed_authorization_header_is_an_incomplete_signature(emulator):
    headers = sign(emulator, "Transcribe.ListTranscriptionJobs")
    headers["Authorization"] = "AWS4-HMAC-SHA256 garbage"

    body = aws_error(post(emulator, headers), 400, "IncompleteSignatureException")
    assert body["Message"] == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization=AWS4-HMAC-SHA256 garbage"
    )


# --- the region comes from the credential scope ---------------------------------------------


def test_a_job_started_in_one_region_is_not_visible_in_another(emulator, media, job_name):
    ireland = emulator.transcribe(region_name="eu-west-1")
    virginia = emulator.transcribe(region_name="us-east-1")
    ireland.start_transcription_job(TranscriptionJobName=job_name, LanguageCode="en-US", Media=media)

    seen_in_ireland = ireland.get_transcription_job(TranscriptionJobName=job_name)["TranscriptionJob"]
    message = client_error(
        virginia.get_transcription_job, "BadRequestException", TranscriptionJobName=job_name
    )

    assert seen_in_ireland["TranscriptionJobName"] == job_name
    assert message == JOB_NOT_FOUND
    listed = virginia.list_transcription_jobs(JobNameContains=job_name)["TranscriptionJobSummaries"]
    assert listed == []


def test_the_same_job_name_may_be_used_in_two_regions(emulator, media, job_name):
    for region in ("eu-west-1", "us-east-1"):
        client = emulator.transcribe(region_name=region)
        job = client.start_transcription_job(TranscriptionJobName=job_name, LanguageCode="en-US", Media=media)
        assert job["TranscriptionJob"]["TranscriptionJobName"] == job_name


# --- signature verification off ---------------------------------------------------------------


@pytest.fixture(scope="module")
def lenient_emulator(tmp_path_factory):
    process = EmulatorProcess(
        tmp_path_factory.mktemp("lenient") / "data", extra_args=["--no-verify-signatures"]
    ).start()
    try:
        yield process
    finally:
        process.stop()


def test_without_signature_checks_an_unsigned_request_is_answered(emulator, lenient_emulator):
    headers = unsigned_headers("Transcribe.ListTranscriptionJobs")

    lenient = post(lenient_emulator, headers)
    strict = post(emulator, headers)

    assert lenient.status_code == 200, lenient.text
    assert lenient.json()["TranscriptionJobSummaries"] == []
    assert lenient_emulator.health()["verify_signatures"] is False
    aws_error(strict, 403, "MissingAuthenticationTokenException")


# --- input validation, worded as AWS words it -------------------------------------------------


def test_an_unknown_language_code_lists_the_allowed_values(transcribe, media, job_name):
    message = client_error(
        transcribe.start_transcription_job,
        "BadRequestException",
        TranscriptionJobName=job_name,
        LanguageCode="non-existent",
        Media=media,
    )

    assert message.startswith(BAD_LANGUAGE_PREFIX)
    assert message.endswith("]")
    model = botocore.session.get_session().get_service_model("transcribe")
    allowed = model.shape_for("LanguageCode").enum
    assert sorted(message[len(BAD_LANGUAGE_PREFIX) : -1].split(", ")) == sorted(allowed)


def test_a_job_name_with_a_space_breaks_the_name_pattern(transcribe, media):
    message = client_error(
        transcribe.start_transcription_job,
        "BadRequestException",
        TranscriptionJobName="my job",
        LanguageCode="en-US",
        Media=media,
    )

    assert message == (
        "1 validation error detected: Value 'my job' at 'transcriptionJobName' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {JOB_NAME_PATTERN}"
    )


def test_max_results_zero_is_out_of_range(unvalidated):
    message = client_error(unvalidated.list_transcription_jobs, "BadRequestException", MaxResults=0)

    assert message == (
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )


def test_one_max_speaker_label_is_reported_at_its_nested_path(unvalidated, media, job_name):
    message = client_error(
        unvalidated.start_transcription_job,
        "BadRequestException",
        TranscriptionJobName=job_name,
        LanguageCode="en-US",
        Media=media,
        Settings={"ShowSpeakerLabels": True, "MaxSpeakerLabels": 1},
    )

    assert message == (
        "1 validation error detected: Value '1' at 'settings.maxSpeakerLabels' failed to satisfy "
        "constraint: Member must have value greater than or equal to 2"
    )


def test_two_violations_are_reported_together(unvalidated, media):
    message = client_error(
        unvalidated.start_transcription_job,
        "BadRequestException",
        TranscriptionJobName="my job",
        LanguageCode="en-US",
        MediaSampleRateHertz=1000,
        Media=media,
    )

    assert message == (
        "2 validation errors detected: "
        "Value 'my job' at 'transcriptionJobName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {JOB_NAME_PATTERN}; "
        "Value '1000' at 'mediaSampleRateHertz' failed to satisfy constraint: "
        "Member must have value greater than or equal to 8000"
    )


def test_an_output_bucket_name_with_an_underscore_breaks_the_bucket_pattern(transcribe, media, job_name):
    message = client_error(
        transcribe.start_transcription_job,
        "BadRequestException",
        TranscriptionJobName=job_name,
        LanguageCode="en-US",
        Media=media,
        OutputBucketName="Bad_Bucket",
    )

    assert message == (
        "1 validation error detected: Value 'Bad_Bucket' at 'outputBucketName' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: [a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9]"
    )


def test_a_missing_job_name_must_not_be_null(unvalidated, media):
    message = client_error(
        unvalidated.start_transcription_job, "BadRequestException", LanguageCode="en-US", Media=media
    )

    assert message == (
        "1 validation error detected: Value null at 'transcriptionJobName' failed to satisfy "
        "constraint: Member must not be null"
    )


# --- job errors recorded against AWS ------------------------------------------------------------


def test_a_job_without_any_language_is_refused(transcribe, media, job_name):
    message = client_error(
        transcribe.start_transcription_job, "BadRequestException", TranscriptionJobName=job_name, Media=media
    )

    assert message == LANGUAGE_MISSING
    never_created = client_error(
        transcribe.get_transcription_job, "BadRequestException", TranscriptionJobName=job_name
    )
    assert never_created == JOB_NOT_FOUND


def test_getting_an_unknown_job_is_a_bad_request(transcribe, job_name):
    message = client_error(
        transcribe.get_transcription_job, "BadRequestException", TranscriptionJobName=job_name
    )

    assert message == JOB_NOT_FOUND


def test_deleting_an_unknown_job_is_a_bad_request(transcribe, job_name):
    message = client_error(
        transcribe.delete_transcription_job, "BadRequestException", TranscriptionJobName=job_name
    )

    assert message == JOB_NOT_FOUND


def test_starting_a_job_under_a_taken_name_is_a_conflict(transcribe, media, job_name):
    transcribe.start_transcription_job(TranscriptionJobName=job_name, LanguageCode="en-US", Media=media)

    message = client_error(
        transcribe.start_transcription_job,
        "ConflictException",
        TranscriptionJobName=job_name,
        LanguageCode="en-GB",
        Media=media,
    )

    assert message == JOB_EXISTS
    kept = transcribe.get_transcription_job(TranscriptionJobName=job_name)["TranscriptionJob"]
    assert kept["LanguageCode"] == "en-US"


# --- the AWS CLI ----------------------------------------------------------------------------------


def test_the_aws_cli_lists_jobs(emulator):
    result = aws_cli(emulator, "transcribe", "list-transcription-jobs")

    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout)["TranscriptionJobSummaries"], list)


def test_the_aws_cli_reports_an_unknown_job(emulator):
    result = aws_cli(emulator, "transcribe", "get-transcription-job", "--transcription-job-name", "nope")

    assert result.returncode != 0
    assert (
        "An error occurred (BadRequestException) when calling the GetTranscriptionJob operation: "
        + JOB_NOT_FOUND
    ) in result.stderr
