"""Vocabularies, vocabulary filters, language models and medical jobs in a real browser,
against the session emulator."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from tests.support import manifest, wer


def field(page, name: str):
    return page.locator(f'[data-field="{name}"]').first


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_create_list_and_view_a_vocabulary(console, screenshot, transcribe):
    page = console
    name = unique("console-vocabulary")
    page.goto("/console/vocabularies")
    page.click("#create-resource")
    page.fill('[name="VocabularyName"]', name)
    page.select_option('[name="LanguageCode"]', "en-US")
    page.fill('[name="Phrases"]', "Los-Angeles\nWizard-of-Oz\nclubs")
    screenshot(page, "1-create")
    page.click("#create")
    page.wait_for_url(f"**/console/vocabularies/{name}")
    # PENDING -> READY: the page refreshes itself until the vocabulary is processed.
    page.locator("#resource-details .status-ready").wait_for(timeout=60_000)
    terms = page.locator("#content-table").inner_text()
    assert "Los-Angeles" in terms and "Wizard-of-Oz" in terms
    api = transcribe.get_vocabulary(VocabularyName=name)
    assert api["VocabularyState"] == "READY"
    screenshot(page, "2-view")

    page.goto("/console/vocabularies")
    row = page.locator(f'tr[data-name="{name}"]')
    assert "en-US" in row.inner_text() and "Ready" in row.inner_text()

    # The same name again: ConflictException beside the name, worded as the API words it.
    page.goto("/console/vocabularies/create")
    page.fill('[name="VocabularyName"]', name)
    page.fill('[name="Phrases"]', "clubs")
    page.click("#create")
    with pytest.raises(ClientError) as caught:
        transcribe.create_vocabulary(VocabularyName=name, LanguageCode="en-US", Phrases=["clubs"])
    assert field(page, "VocabularyName").locator(".field-error").inner_text() == caught.value.response["Error"]["Message"]
    screenshot(page, "3-duplicate")


def test_create_and_view_a_vocabulary_filter(console, screenshot, transcribe):
    page = console
    name = unique("console-filter")
    page.goto("/console/vocabulary-filters/create")
    page.fill('[name="VocabularyFilterName"]', name)
    page.fill('[name="Words"]', "darn\nheck")
    page.click("#create")
    page.wait_for_url(f"**/console/vocabulary-filters/{name}")
    assert "darn" in page.locator("#content-table").inner_text()
    assert transcribe.get_vocabulary_filter(VocabularyFilterName=name)["VocabularyFilterName"] == name
    page.goto("/console/vocabulary-filters")
    assert page.locator(f'tr[data-name="{name}"]').count() == 1
    screenshot(page, "list")


def test_language_model_form_shows_the_api_errors(console, screenshot, transcribe):
    page = console
    page.goto("/console/language-models/create")
    page.fill('[name="ModelName"]', "bad name!")
    page.fill('[name="InputDataConfig.S3Uri"]', "not-a-uri")
    page.click("#create")
    assert "at 'modelName'" in field(page, "ModelName").locator(".field-error").inner_text()
    assert "at 'inputDataConfig.s3Uri'" in field(page, "InputDataConfig.S3Uri").locator(".field-error").inner_text()
    with pytest.raises(ClientError) as caught:
        transcribe.create_language_model(
            ModelName="bad name!", LanguageCode="en-US", BaseModelName="WideBand",
            InputDataConfig={"S3Uri": "not-a-uri", "DataAccessRoleArn": "arn:aws:iam::000000000000:role/TranscribeEmulator"},
        )
    assert page.locator("#form-error .alert-message").inner_text() == caught.value.response["Error"]["Message"]
    screenshot(page, "errors")


def test_medical_jobs_list_create_and_details(console, screenshot, transcribe, upload, s3):
    page = console
    page.goto("/console/medical-jobs")
    name = unique("console-medical")
    s3.create_bucket(Bucket="console-medical-output")
    media = upload("librivox_0880")
    page.click("#create-job")
    page.fill('[name="MedicalTranscriptionJobName"]', name)
    page.fill('[name="Media.MediaFileUri"]', media)
    page.click("#create")
    # OutputBucketName is required for medical jobs: the API's message, beside the field.
    assert "outputBucketName" in field(page, "OutputBucketName").locator(".field-error").inner_text()
    page.fill('[name="OutputBucketName"]', "console-medical-output")
    page.click("#create")
    page.wait_for_url(f"**/console/medical-jobs/{name}")
    page.locator("#job-status[data-status=COMPLETED], #job-status[data-status=FAILED]").wait_for(timeout=120_000)
    job = transcribe.get_medical_transcription_job(MedicalTranscriptionJobName=name)["MedicalTranscriptionJob"]
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    note = page.locator("#customer-output")
    assert "s3://console-medical-output/" in note.inner_text()
    preview = " ".join(page.locator(".turn-text").all_inner_texts())
    assert wer(manifest()["librivox_0880"]["text"], preview) < 0.3, preview
    assert "PRIMARYCARE" in page.locator("#job-details").inner_text()
    screenshot(page, "details")

    page.goto("/console/medical-jobs")
    assert "Complete" in page.locator(f'tr[data-job="{name}"]').inner_text()
    screenshot(page, "list")
