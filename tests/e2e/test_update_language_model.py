"""UpdateLanguageModel through boto3 (botocore `UpdateLanguageModelRequest`/`Response`): a
trained model's encryption is updated in place, IN_PROGRESS then COMPLETED, and jobs keep
using the model, during the update and after it."""

from __future__ import annotations

import time

import botocore.exceptions
import httpx
import pytest

from tests.support import CARD_GAMES, wait_for_job

KMS_KEY = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _error(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as error:
        call(**kwargs)
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def _settled(transcribe, model: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        described = transcribe.describe_language_model(ModelName=model)["LanguageModel"]
        if described["ModelStatus"] != "IN_PROGRESS":
            return described
        assert time.monotonic() < deadline
        time.sleep(0.1)


def _transcript_text(transcribe, name: str, **request) -> str:
    transcribe.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US", **request)
    job = wait_for_job(transcribe, name)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    results = httpx.get(job["Transcript"]["TranscriptFileUri"], timeout=30).json()["results"]
    return results["transcripts"][0]["transcript"]


def test_update_language_model_keeps_the_model_in_use(transcribe, upload, job_name, tmp_path):
    training = tmp_path / "cards.txt"
    training.write_text(CARD_GAMES)
    upload(training, key=f"clm-{job_name}/train/cards.txt")
    model = f"upd-{job_name[-8:]}"
    transcribe.create_language_model(
        LanguageCode="en-US",
        BaseModelName="WideBand",
        ModelName=model,
        InputDataConfig={
            "S3Uri": f"s3://media/clm-{job_name}/train/",
            "DataAccessRoleArn": "arn:aws:iam::000000000000:role/transcribe",
        },
    )
    trained = _settled(transcribe, model)
    assert trained["ModelStatus"] == "COMPLETED", trained.get("FailureReason")

    updated = transcribe.update_language_model(ModelName=model, EncryptionConfiguration={"KMSKey": KMS_KEY})
    assert updated["ModelName"] == model and updated["ModelStatus"] in ("IN_PROGRESS", "COMPLETED")
    assert updated["LastModifiedTime"] >= trained["LastModifiedTime"]
    after = _settled(transcribe, model)
    assert after["ModelStatus"] == "COMPLETED" and after["EncryptionConfiguration"] == {"KMSKey": KMS_KEY}

    # A job started after the update uses the model: "four of close" (plain tiny.en) is "four of clubs".
    media = upload("cards_005")
    assert "clubs" in _transcript_text(
        transcribe, job_name, Media={"MediaFileUri": media}, ModelSettings={"LanguageModelName": model}
    ).lower()

    assert _error(transcribe.update_language_model, ModelName=model + "-ghost")[0] == "NotFoundException"
    transcribe.delete_language_model(ModelName=model)
