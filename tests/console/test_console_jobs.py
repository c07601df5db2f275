"""The transcription job flow in a real browser, against the session emulator, on real speech.

List -> Create job (upload from the page, step 1, step 2) -> the list refreshes while the
job runs -> details with the preview, the audio player and the downloads; validation and
service errors beside their fields with the API's own messages; a failed job's reason; a
running job's progress.
"""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.console.browser import wait_for_js
from tests.support import audio_path, manifest, wait_for_job, wer

CLIP = "jfk"  # 11 s of well-known English speech (flac, 44.1 kHz stereo)
# 30 s of speech: started through the API just before the console's job, it keeps the one
# worker busy, so the console's job is QUEUED when the list first shows it.
BUSY_CLIP = "ami_dev00"
# 53 s of speech: Whisper decodes it in two 30 s windows, so the progress stops in between.
LONG_CLIP = "sonnet_001"


def field(page, name: str):
    """The block of one form field (input, hint, errors), by its request member path."""
    return page.locator(f'[data-field="{name}"]').first


def upload_from_page(page, path, bucket: str, key: str | None = None) -> str:
    """Uses the upload box under the media field; returns the s3:// URI it filled in."""
    media = field(page, "Media.MediaFileUri")
    media.locator("summary").click()
    media.locator("[data-upload-file]").set_input_files(str(path))
    media.locator("[data-upload-bucket]").fill(bucket)
    if key:
        media.locator("[data-upload-key]").fill(key)
    media.locator("[data-upload-button]").click()
    status = media.locator("[data-upload-status]")
    status.filter(has_text=re.compile("Uploaded|failed")).wait_for()
    assert "Uploaded" in status.inner_text(), status.inner_text()
    return media.locator('input[name="Media.MediaFileUri"]').input_value()


def api_error(call) -> dict:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]


def test_get_root_redirects_to_the_console(emulator):
    response = httpx.get(emulator.endpoint + "/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/console"
    page = httpx.get(emulator.endpoint + "/", follow_redirects=True)
    assert page.status_code == 200 and str(page.url).endswith("/console/jobs")
    assert "Transcription jobs" in page.text


def test_create_job_from_an_uploaded_file_watch_it_and_read_the_transcript(
    console, screenshot, transcribe, upload, job_name, s3
):
    page = console
    reference = manifest()[CLIP]["text"]
    page.goto("/console/jobs")
    page.click("#create-job")
    page.wait_for_url("**/console/jobs/create")

    # Step 1: name, language, media uploaded from this computer, service-managed output.
    page.fill('[name="TranscriptionJobName"]', job_name)
    page.select_option('[name="LanguageCode"]', "en-US")
    uri = upload_from_page(page, audio_path(CLIP), bucket="console-uploads")
    assert uri == f"s3://console-uploads/{audio_path(CLIP).name}"
    assert s3.head_object(Bucket="console-uploads", Key=audio_path(CLIP).name)["ContentLength"] == audio_path(CLIP).stat().st_size
    screenshot(page, "1-specify-job-details")
    page.click("#next")

    # Step 2: subtitles in both formats.
    page.get_by_role("heading", name="Configure job").wait_for()
    page.check('[name="Subtitles.Formats"][value="srt"]')
    page.check('[name="Subtitles.Formats"][value="vtt"]')
    screenshot(page, "2-configure-job")

    busy = f"{job_name[:180]}-busy"
    transcribe.start_transcription_job(
        TranscriptionJobName=busy, LanguageCode="en-US", Media={"MediaFileUri": upload(BUSY_CLIP)}
    )
    page.click("#create")
    page.wait_for_url(f"**/console/jobs/{job_name}")

    # The list shows it waiting, then refreshes by itself until it is complete.
    page.goto("/console/jobs")
    row = page.locator(f'tr[data-job="{job_name}"]')
    assert row.get_attribute("data-status") in ("QUEUED", "IN_PROGRESS")
    page.evaluate("window.notReloaded = true")
    screenshot(page, "3-list-running")
    page.locator(f'tr[data-job="{job_name}"][data-status="COMPLETED"]').wait_for(timeout=180_000)
    assert page.evaluate("window.notReloaded === true"), "the list reloaded the page instead of refreshing the table"
    assert "Complete" in page.locator(f'tr[data-job="{job_name}"]').inner_text()
    screenshot(page, "4-list-complete")

    # Details: preview, player, downloads.
    page.click(f'tr[data-job="{job_name}"] a')
    page.locator("#transcript-preview").wait_for()
    preview = " ".join(page.locator(".turn-text").all_inner_texts())
    assert wer(reference, preview) < 0.25, preview
    details = page.locator("#job-details").inner_text()
    assert "en-US" in details and "flac" in details and "srt, vtt" in details

    with page.expect_download() as download_info:
        page.click("#download-transcript")
    download = download_info.value
    transcript = json.loads(open(download.path()).read())
    assert transcript["jobName"] == job_name and transcript["status"] == "COMPLETED"
    text = transcript["results"]["transcripts"][0]["transcript"]
    assert wer(reference, text) < 0.25, text
    assert preview.split() == text.split()

    with page.expect_download() as download_info:
        page.locator(".download-subtitles", has_text="SRT").click()
    srt = open(download_info.value.path()).read()
    assert srt.startswith("0\n") and " --> " in srt

    # Beyond AWS: the player highlights the word at the playhead; a word click seeks.
    wait_for_js(page, "document.getElementById('player').readyState >= 1")
    words = page.locator(".w")
    third = words.nth(2)
    third.click()
    wait_for_js(page, "document.querySelector('.w.current') !== null", timeout=10_000)
    start = float(third.get_attribute("data-s"))
    assert abs(page.evaluate("document.getElementById('player').currentTime") - start) < 1.5
    page.evaluate("document.getElementById('player').pause()")
    screenshot(page, "5-details-preview")
    wait_for_job(transcribe, busy)


def test_validation_errors_show_beside_the_fields_with_the_api_wording(console, screenshot, transcribe, upload, job_name):
    page = console
    page.goto("/console/jobs/create")
    page.fill('[name="TranscriptionJobName"]', "not a valid name!")
    page.click("#next")
    name_errors = field(page, "TranscriptionJobName").locator(".field-error")
    assert "at 'transcriptionJobName' failed to satisfy constraint: Member must satisfy regular expression pattern" in name_errors.inner_text()
    expected = api_error(
        lambda: transcribe.start_transcription_job(
            TranscriptionJobName="not a valid name!", LanguageCode="en-US", Media={"MediaFileUri": "s3://media/x.wav"}
        )
    )
    assert page.locator("#form-error .alert-message").inner_text() == expected["Message"]
    assert expected["Code"] in page.locator("#form-error").inner_text()
    screenshot(page, "1-bad-name")

    # A name the service already has: Create answers ConflictException, shown on step 1.
    transcribe.start_transcription_job(
        TranscriptionJobName=job_name, LanguageCode="en-US", Media={"MediaFileUri": upload("librivox_0880")}
    )
    page.fill('[name="TranscriptionJobName"]', job_name)
    media = upload("librivox_0880")  # s3://media/librivox_0880.wav, picked from the S3 browser
    field(page, "Media.MediaFileUri").get_by_role("button", name="Browse S3").click()
    page.locator("#s3-picker").get_by_role("button", name="media/", exact=True).click()
    key = page.locator("#s3-picker").get_by_role("button", name="librivox_0880.wav", exact=True)
    key.wait_for()
    screenshot(page, "2-s3-picker")
    key.click()
    assert page.locator('[name="Media.MediaFileUri"]').input_value() == media
    page.click("#next")
    page.click("#create")
    duplicate = api_error(
        lambda: transcribe.start_transcription_job(
            TranscriptionJobName=job_name, LanguageCode="en-US", Media={"MediaFileUri": upload("librivox_0880")}
        )
    )
    assert field(page, "TranscriptionJobName").locator(".field-error").inner_text() == duplicate["Message"]
    assert page.get_by_role("heading", name="Specify job details").is_visible()
    screenshot(page, "3-duplicate-name")

    # Step 2's rules come from the service too: alternatives need MaxAlternatives.
    page.fill('[name="TranscriptionJobName"]', f"{job_name}-2")
    page.click("#next")
    page.check('[name="Settings.ShowAlternatives"]')
    page.fill('[name="Settings.MaxAlternatives"]', "")
    page.click("#create")
    message = field(page, "Settings.ShowAlternatives").locator(".field-error").first.inner_text()
    assert "MaxAlternatives" in message
    assert page.get_by_role("heading", name="Configure job").is_visible()
    screenshot(page, "4-step2-error")
    wait_for_job(transcribe, job_name)


def test_a_failed_job_shows_its_reason(console, screenshot, transcribe, job_name, tmp_path):
    page = console
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("These are meeting notes, not a recording.\n" * 20)
    page.goto("/console/jobs/create")
    page.fill('[name="TranscriptionJobName"]', job_name)
    upload_from_page(page, not_audio, bucket="console-uploads", key=f"{job_name}/notes.wav")
    page.click("#next")
    page.click("#create")
    page.wait_for_url(f"**/console/jobs/{job_name}")
    reason = page.locator("#failure-reason")
    reason.wait_for(timeout=60_000)  # the page polls the status and reloads when it changes
    job = transcribe.get_transcription_job(TranscriptionJobName=job_name)["TranscriptionJob"]
    assert job["TranscriptionJobStatus"] == "FAILED"
    assert job["FailureReason"] in reason.inner_text()
    assert "Failed" in page.locator("#job-status").inner_text()
    screenshot(page, "failed")

    page.click("#delete-job")
    page.wait_for_url("**/console/jobs")
    assert page.locator(f'tr[data-job="{job_name}"]').count() == 0


def test_a_running_job_shows_how_much_of_its_audio_is_transcribed(console, screenshot, emulator, transcribe, upload, job_name):
    page = console
    transcribe.start_transcription_job(
        TranscriptionJobName=job_name, LanguageCode="en-US", Media={"MediaFileUri": upload(LONG_CLIP)}
    )
    page.goto(f"/console/jobs/{job_name}")
    page.locator("#job-progress").wait_for(timeout=180_000)  # if QUEUED, the page reloads when it starts
    assert re.search(r"\d+% of the audio transcribed", page.locator("#running-for").inner_text())

    seen: list[float] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = httpx.get(f"{emulator.endpoint}/console/jobs/{job_name}/status").json()
        if status["status"] != "IN_PROGRESS":
            break
        seen.append(status["progress"])
        if 0 < status["progress"] < 1 and len([p for p in seen if p > 0]) == 1:
            # the page moves its bar on its next poll (or reloads, if the job ends first)
            wait_for_js(
                page,
                "!document.getElementById('job-progress') || "
                "parseInt(document.getElementById('job-progress').getAttribute('aria-valuenow')) > 0"
            )
            screenshot(page, "progress")
        time.sleep(0.2)
    assert status == {"status": "COMPLETED", "failure_reason": None, "progress": None}
    assert seen == sorted(seen) and all(0 <= p <= 1 for p in seen), seen
    assert any(0 < p < 1 for p in seen), seen
    page.locator('#job-status[data-status="COMPLETED"]').wait_for(timeout=30_000)
