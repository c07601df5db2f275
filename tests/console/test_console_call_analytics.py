"""Call Analytics in the console, in a real browser against the session emulator, on a real call.

The call is the stereo espeak-ng call of tests/e2e/test_call_analytics.py (agent on channel 0,
customer on channel 1, a 4.5 s silence and one interruption). One job, made through the
pages (a category first, then Create job with the media uploaded from the page), is read by
the tests of this module: the list, the turn-by-turn view, the conversation characteristics
against the job's own output file, the matched category, the highlighted insights and the
download. Categories: list, create, details, delete; forms show the API's own errors.
"""

from __future__ import annotations

import json

import httpx
import pytest

from emulator.console.analysis_views import seconds
from tests.console.conftest import ARTIFACTS
from tests.console.test_console_jobs import upload_from_page
from tests.e2e.test_call_analytics import build_call
from tests.support import wait_for_job

JOB = "console-call"
CATEGORY = "console-agent-sends-email"


def _csp_guard(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None)
    page.on("dialog", lambda dialog: dialog.accept())
    return errors


@pytest.fixture(scope="module")
def analysed(browser, emulator, transcribe, tmp_path_factory, media_bucket):
    """(finished job, its output file): the category and the job created through the pages;
    both deleted after the module."""
    path, _ = build_call(tmp_path_factory.mktemp("console-call"))
    context = browser.new_context(base_url=emulator.endpoint, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors = _csp_guard(page)

    # A category: the agent says "send you an email".
    page.goto("/console/call-analytics-categories")
    page.click("#create-category")
    page.fill('[name="CategoryName"]', CATEGORY)
    page.select_option('[name="rule1.type"]', "TranscriptFilter")
    page.fill('[name="rule1.Targets"]', "send you an email")
    page.select_option('[name="rule1.ParticipantRole"]', "AGENT")
    page.click("#create")
    page.wait_for_url(f"**/console/call-analytics-categories/{CATEGORY}")

    # The job: media uploaded from the page, agent on channel 0, summarization on.
    page.goto("/console/call-analytics-jobs")
    page.click("#create-job")
    page.fill('[name="CallAnalyticsJobName"]', JOB)
    upload_from_page(page, path, bucket=media_bucket, key="console-call.wav")
    page.check('[name="channel_mode"][value="channels"]')
    page.select_option('[name="agent_channel"]', "0")
    page.check('[name="Settings.Summarization"]')
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "call-analytics-create.png"), full_page=True)
    page.click("#create")
    page.wait_for_url(f"**/console/call-analytics-jobs/{JOB}")
    assert not errors, errors
    context.close()

    job = wait_for_job(transcribe, JOB, 300, noun="CallAnalyticsJob")
    assert job["CallAnalyticsJobStatus"] == "COMPLETED", job.get("FailureReason")
    output = httpx.get(job["Transcript"]["TranscriptFileUri"]).json()
    yield job, output
    # Categories apply to every later job and stream of the session: leave none behind.
    transcribe.delete_call_analytics_category(CategoryName=CATEGORY)
    transcribe.delete_call_analytics_job(CallAnalyticsJobName=JOB)


def test_the_job_made_in_the_console_is_what_the_api_runs(analysed):
    job, output = analysed
    assert job["ChannelDefinitions"] == [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "CUSTOMER"}]
    assert job["Settings"]["LanguageOptions"] == ["en-US"] and job["Settings"]["Summarization"] == {"GenerateAbstractiveSummary": True}
    assert job["Media"]["MediaFileUri"].endswith("/console-call.wav")
    assert CATEGORY in output["Categories"]["MatchedCategories"]


def test_list_shows_status_and_language(console, analysed):
    page = console
    page.goto("/console")
    page.get_by_role("link", name="Call analytics jobs").click()
    row = page.locator(f'tr[data-job="{JOB}"]')
    assert row.get_attribute("data-status") == "COMPLETED"
    cells = row.locator("td").all_inner_texts()
    assert cells[1].strip() == "Complete" and cells[2] == "en-US" and "(UTC)" in cells[3]


def test_details_show_turns_characteristics_and_categories(console, screenshot, analysed):
    _, output = analysed
    page = console
    page.goto(f"/console/call-analytics-jobs/{JOB}")
    page.locator("#turns").wait_for()
    screenshot(page, "details")

    # Turn by turn: the roles, texts and sentiments of the output file, in order.
    turns = page.locator(".call-turn")
    assert turns.count() == len(output["Transcript"])
    for i, turn in enumerate(output["Transcript"]):
        shown = turns.nth(i)
        assert shown.get_attribute("data-role") == turn["ParticipantRole"]
        assert shown.get_attribute("data-sentiment") == turn["Sentiment"]
        assert shown.locator(".turn-text").inner_text() == turn["Content"]
    assert "Negative" in turns.filter(has_text="angry").first.inner_text()

    # Talk time per role, non-talk time and interruptions: the figures of the output file.
    characteristics = output["ConversationCharacteristics"]
    for role in ("AGENT", "CUSTOMER"):
        millis = characteristics["TalkTime"]["DetailsByParticipant"][role]["TotalTimeMillis"]
        cell = page.locator(f'#by-participant tr[data-role="{role}"] [data-metric="talk-time"]')
        assert cell.inner_text() == seconds(millis) and int(cell.get_attribute("data-millis")) == millis
        overall = characteristics["Sentiment"]["OverallSentiment"][role]
        assert page.locator(f'#by-participant tr[data-role="{role}"] [data-metric="sentiment"]').inner_text() == str(overall)
    silence = characteristics["NonTalkTime"]
    assert silence["Instances"] and page.locator("#non-talk-time").inner_text().startswith(seconds(silence["TotalTimeMillis"]))
    assert page.locator("#interruptions").get_attribute("data-count") == str(characteristics["Interruptions"]["TotalCount"]) == "1"
    assert "Customer interrupted" in page.locator("#interruptions").inner_text()

    # The category and its point of interest; the issue, outcome and action item highlighted.
    matched = page.locator(f'#categories [data-category="{CATEGORY}"]')
    assert matched.count() == 1 and "to" in matched.inner_text()
    assert "not working" in " ".join(page.locator("#turns mark.issue").all_inner_texts()).lower()
    assert "email" in " ".join(page.locator("#turns mark.action-item").all_inner_texts()).lower()
    summary = characteristics["ContactSummary"]["AutoGenerated"]["OverallSummary"]["Content"]
    assert summary in page.locator("#call-summary").inner_text()


def test_download_is_the_output_file(console, analysed):
    _, output = analysed
    page = console
    page.goto(f"/console/call-analytics-jobs/{JOB}")
    with page.expect_download() as download_info:
        page.click("#download-output")
    assert json.loads(open(download_info.value.path()).read()) == output


def test_categories_list_details_errors_and_delete(console, screenshot, analysed, transcribe):
    page = console
    page.goto("/console/call-analytics-categories")
    assert page.locator(f'tr[data-category="{CATEGORY}"]').count() == 1
    page.click(f'tr[data-category="{CATEGORY}"] a')
    rules = page.locator("#rules").inner_text()
    assert "Transcript content match" in rules and "send you an email" in rules and "AGENT" in rules

    # The three rule types beside the transcript match, in one post-call category.
    name = "console-three-rules"
    page.goto("/console/call-analytics-categories/create")
    page.fill('[name="CategoryName"]', name)
    page.check('[name="InputType"][value="POST_CALL"]')
    page.select_option('[name="rule1.type"]', "NonTalkTimeFilter")
    page.fill('[name="rule1.Threshold"]', "3000")
    page.select_option('[name="rule2.type"]', "InterruptionFilter")
    page.select_option('[name="rule2.ParticipantRole"]', "CUSTOMER")
    page.check('[name="rule2.Negate"]')
    page.select_option('[name="rule3.type"]', "SentimentFilter")
    page.check('[name="rule3.Sentiments"][value="NEGATIVE"]')
    page.select_option('[name="rule3.range"]', "RelativeTimeRange")
    page.fill('[name="rule3.First"]', "50")
    page.click("#create")
    page.wait_for_url(f"**/console/call-analytics-categories/{name}")
    properties = transcribe.get_call_analytics_category(CategoryName=name)["CategoryProperties"]
    assert properties["InputType"] == "POST_CALL"
    assert properties["Rules"] == [
        {"NonTalkTimeFilter": {"Threshold": 3000}},
        {"InterruptionFilter": {"ParticipantRole": "CUSTOMER", "Negate": True}},
        {"SentimentFilter": {"Sentiments": ["NEGATIVE"], "RelativeTimeRange": {"First": 50}}},
    ]

    # A real-time category (transcript matches are what real-time Call Analytics applies).
    page.goto("/console/call-analytics-categories/create")
    page.fill('[name="CategoryName"]', "console-realtime")
    page.check('[name="InputType"][value="REAL_TIME"]')
    page.fill('[name="rule1.Targets"]', "speak to a manager")
    page.click("#create")
    page.wait_for_url("**/console/call-analytics-categories/console-realtime")
    assert transcribe.get_call_analytics_category(CategoryName="console-realtime")["CategoryProperties"]["InputType"] == "REAL_TIME"
    page.goto("/console/call-analytics-categories")
    assert "Real-time" in page.locator('tr[data-category="console-realtime"]').inner_text()
    transcribe.delete_call_analytics_category(CategoryName="console-realtime")  # streams of other modules apply it

    # The API's own error: a time range the service refuses.
    page.goto("/console/call-analytics-categories/create")
    page.fill('[name="CategoryName"]', name)
    page.select_option('[name="rule1.type"]', "NonTalkTimeFilter")
    page.select_option('[name="rule1.range"]', "AbsoluteTimeRange")
    page.fill('[name="rule1.StartTime"]', "900")
    page.fill('[name="rule1.EndTime"]', "100")
    page.click("#create")
    alert = page.locator("#form-error").inner_text()
    assert "BadRequestException" in alert and "AbsoluteTimeRange" in alert, alert
    screenshot(page, "category-error")

    page.goto(f"/console/call-analytics-categories/{name}")
    page.click("#delete-category")
    page.wait_for_url("**/console/call-analytics-categories")
    assert page.locator(f'tr[data-category="{name}"]').count() == 0
    with pytest.raises(transcribe.exceptions.NotFoundException):
        transcribe.get_call_analytics_category(CategoryName=name)


def test_create_job_errors_and_a_failed_job_deleted(console, screenshot, analysed, s3, media_bucket, transcribe):
    page = console
    page.goto("/console/call-analytics-jobs/create")
    page.fill('[name="CallAnalyticsJobName"]', JOB)  # taken
    page.fill('[name="Media.MediaFileUri"]', f"s3://{media_bucket}/console-call.wav")
    page.click("#create")
    assert "ConflictException" in page.locator("#form-error").inner_text()
    page.fill('[name="CallAnalyticsJobName"]', "console-bad-output")
    page.fill('[name="OutputLocation"]', "https://example.com/out")
    page.click("#create")
    assert "OutputLocation" in page.locator('[data-field="OutputLocation"] .field-error').inner_text()
    screenshot(page, "create-error")

    # Media that is not audio: the job fails with its reason; Delete removes it.
    s3.put_object(Bucket=media_bucket, Key="console-not-audio.wav", Body=b"this is not audio")
    name = "console-not-audio"
    page.fill('[name="CallAnalyticsJobName"]', name)
    page.fill('[name="Media.MediaFileUri"]', f"s3://{media_bucket}/console-not-audio.wav")
    page.fill('[name="OutputLocation"]', "")
    page.click("#create")
    page.wait_for_url(f"**/console/call-analytics-jobs/{name}")
    page.locator("#failure-reason").wait_for(timeout=120_000)  # the page reloads itself when the status changes
    assert page.locator("#failure-reason").inner_text().strip() != "Failure reason"
    page.click("#delete-job")
    page.wait_for_url("**/console/call-analytics-jobs")
    assert page.locator(f'tr[data-job="{name}"]').count() == 0
    assert transcribe.list_call_analytics_jobs(JobNameContains=name)["CallAnalyticsJobSummaries"] == []
