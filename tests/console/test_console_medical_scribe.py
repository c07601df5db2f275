"""AWS HealthScribe in the console, in a real browser against the session emulator, on a real visit.

The visit is the stereo espeak-ng visit of tests/e2e/test_medical_scribe.py (patient on
channel 0, clinician on channel 1). One job, made through Create job with the media uploaded
from the page, is read by the tests of this module: the list, the transcript segments with
their roles and sections, the clinical note sections of the chosen template, and the evidence
of a note sentence highlighted in the transcript on click and on hover (static/evidence.js,
under the console's CSP).
"""

from __future__ import annotations

import json

import pytest

from emulator.service.clinical_notes import TEMPLATES
from tests.console.browser import wait_for_js
from tests.console.test_console_jobs import upload_from_page
from tests.e2e.test_medical_scribe import build_visit
from tests.support import wait_for_job

JOB = "console-clinic-visit"
OUTPUT_BUCKET = "console-scribe-output"
TEMPLATE = "PHYSICAL_SOAP"
HIGHLIGHTED = "[data-segment].evidence"


@pytest.fixture(scope="module")
def visit(browser, emulator, transcribe, s3, tmp_path_factory, media_bucket):
    """(finished job, transcript file, clinical document): the job created through the page."""
    s3.create_bucket(Bucket=OUTPUT_BUCKET)
    path, _ = build_visit(tmp_path_factory.mktemp("console-visit"))
    context = browser.new_context(base_url=emulator.endpoint, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None)

    page.goto("/console/healthscribe-jobs")
    page.click("#create-job")
    page.fill('[name="MedicalScribeJobName"]', JOB)
    upload_from_page(page, path, bucket=media_bucket, key="console-visit.wav")
    page.check('[name="audio_mode"][value="channels"]')
    page.select_option('[name="clinician_channel"]', "1")
    page.fill('[name="OutputBucketName"]', OUTPUT_BUCKET)
    page.select_option('[name="Settings.ClinicalNoteGenerationSettings.NoteTemplate"]', TEMPLATE)
    page.click("#create")
    page.wait_for_url(f"**/console/healthscribe-jobs/{JOB}")
    assert not errors, errors
    context.close()

    job = wait_for_job(transcribe, JOB, 300, noun="MedicalScribeJob")
    assert job["MedicalScribeJobStatus"] == "COMPLETED", job.get("FailureReason")

    def read(key: str) -> dict:  # MedicalScribeOutput gives AWS's S3 https URLs: read the objects they name
        return json.loads(s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"{JOB}/{key}")["Body"].read())

    yield job, read("transcript.json"), read("summary.json")
    transcribe.delete_medical_scribe_job(MedicalScribeJobName=JOB)


def test_the_job_made_in_the_console_is_what_the_api_runs(visit):
    job, _, document = visit
    assert job["ChannelDefinitions"] == [{"ChannelId": 1, "ParticipantRole": "CLINICIAN"}, {"ChannelId": 0, "ParticipantRole": "PATIENT"}]
    assert job["Settings"]["ChannelIdentification"] is True
    assert job["Settings"]["ClinicalNoteGenerationSettings"] == {"NoteTemplate": TEMPLATE}
    sections = [s["SectionName"] for s in document["ClinicalDocumentation"]["Sections"]]
    assert sections == [name for name, _ in TEMPLATES[TEMPLATE]]


def test_list_and_details_show_segments_and_note_sections(console, screenshot, visit):
    _, transcript, document = visit
    page = console
    page.goto("/console")
    page.get_by_role("link", name="HealthScribe jobs").click()
    row = page.locator(f'tr[data-job="{JOB}"]')
    assert row.get_attribute("data-status") == "COMPLETED" and "en-US" in row.inner_text()
    row.locator("a").click()
    page.locator("#clinical-note").wait_for()
    screenshot(page, "details")

    segments = transcript["Conversation"]["TranscriptSegments"]
    shown = page.locator("[data-segment]")
    assert shown.count() == len(segments)
    for i, segment in enumerate(segments):
        assert shown.nth(i).get_attribute("data-segment") == segment["SegmentId"]
        assert shown.nth(i).get_attribute("data-role") == segment["ParticipantDetails"]["ParticipantRole"]
        assert shown.nth(i).locator(".turn-text").inner_text() == segment["Content"]
        assert segment["SectionDetails"]["SectionName"].replace("_", " ").lower() in shown.nth(i).inner_text()
    roles = {s["ParticipantDetails"]["ParticipantRole"] for s in segments}
    assert roles == {"CLINICIAN_0", "PATIENT_0"}

    sections = document["ClinicalDocumentation"]["Sections"]
    assert page.locator("[data-section]").evaluate_all("els => els.map(e => e.dataset.section)") == [
        s["SectionName"] for s in sections
    ]
    for section in sections:
        sentences = page.locator(f'[data-section="{section["SectionName"]}"] .note-sentence').all_inner_texts()
        assert sentences == [entry["SummarizedSegment"] for entry in section["Summary"]]


def test_a_note_sentence_highlights_its_evidence(console, screenshot, visit):
    _, _, document = visit
    entries = [e for s in document["ClinicalDocumentation"]["Sections"] for e in s["Summary"]]
    assert entries, "the visit gave an empty clinical note"
    page = console
    page.goto(f"/console/healthscribe-jobs/{JOB}")
    assert page.locator(HIGHLIGHTED).count() == 0

    # Two sentences with different evidence: a click highlights exactly the segments of each.
    chosen = [entries[0]] + [e for e in entries if e["EvidenceLinks"] != entries[0]["EvidenceLinks"]][:1]
    for entry in chosen:
        evidence = [link["SegmentId"] for link in entry["EvidenceLinks"]]
        sentence = page.locator(".note-sentence", has_text=entry["SummarizedSegment"]).first
        sentence.click()
        wait_for_js(page, f"document.querySelectorAll('{HIGHLIGHTED}').length === {len(evidence)}", timeout=5_000)
        highlighted = page.locator(HIGHLIGHTED).evaluate_all("els => els.map(e => e.dataset.segment)")
        assert highlighted == evidence
        assert sentence.get_attribute("aria-pressed") == "true"
    screenshot(page, "evidence")

    # Hover: highlighted while the pointer is on the sentence, not after.
    page.locator(".note-sentence", has_text=chosen[0]["SummarizedSegment"]).first.hover()
    hovered = page.locator("[data-segment].evidence-hover").evaluate_all("els => els.map(e => e.dataset.segment)")
    assert hovered == [link["SegmentId"] for link in chosen[0]["EvidenceLinks"]]
    page.locator("h1").hover()
    assert page.locator("[data-segment].evidence-hover").count() == 0


def test_downloads_and_form_errors(console, visit, media_bucket):
    _, transcript, document = visit
    page = console
    page.goto(f"/console/healthscribe-jobs/{JOB}")
    for button, expected in (("#download-transcript", transcript), ("#download-note", document)):
        with page.expect_download() as download_info:
            page.click(button)
        assert json.loads(open(download_info.value.path()).read()) == expected

    # The API's own errors beside the fields: no output bucket, then speaker labels without a maximum.
    page.goto("/console/healthscribe-jobs/create")
    page.fill('[name="MedicalScribeJobName"]', "console-scribe-errors")
    page.fill('[name="Media.MediaFileUri"]', f"s3://{media_bucket}/console-visit.wav")
    page.click("#create")
    assert "outputBucketName" in page.locator('[data-field="OutputBucketName"] .field-error').inner_text()
    page.fill('[name="OutputBucketName"]', OUTPUT_BUCKET)
    page.check('[name="audio_mode"][value="speakers"]')
    page.fill('[name="Settings.MaxSpeakerLabels"]', "")
    page.click("#create")
    assert "MaxSpeakerLabels" in page.locator("#form-error").inner_text()
