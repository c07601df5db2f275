"""Call Analytics through boto3: categories, and one post-call job on a stereo call built from
espeak-ng speech (agent on channel 0, customer on channel 1) with known gaps and one overlap,
so talk time, non-talk time and interruptions have expected values up to word timing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import botocore.exceptions
import numpy as np
import pytest
from botocore.config import Config

from emulator.engine.media import SAMPLE_RATE, decode
from tests.support import CARD_GAMES, CREDENTIALS, audio_path, speak, voiced_span, wait_for_job, write_wav

OUTPUT_BUCKET = "analytics-output"
TOLERANCE = 450  # ms: word timings against the voiced span of each clip

# (role, text, start of the clip's speech in seconds)
LINES = [
    ("AGENT", "Hello, my name is John Smith. How can I help you today?", 0.5),
    ("CUSTOMER", "My internet is not working and I am very angry. This is terrible service.", None),  # 1 s after
    ("AGENT", "I am sorry about that. Your router has been reset. I will send you an email with the details.", None),  # 4.5 s after
    ("CUSTOMER", "Wonderful, thank you so much, that is great.", None),  # starts 2 s before the agent ends
]
GAP_AFTER = [1.0, 4.5, -2.0]
TAIL = 1.0

CATEGORIES = {
    # name: (rules, matches?)
    "agent-sends-email": ([{"TranscriptFilter": {"TranscriptFilterType": "EXACT", "Targets": ["send you an email"],
                                                  "ParticipantRole": "AGENT"}}], True),
    "customer-sends-email": ([{"TranscriptFilter": {"TranscriptFilterType": "EXACT", "Targets": ["send you an email"],
                                                     "ParticipantRole": "CUSTOMER"}}], False),
    "no-refund": ([{"TranscriptFilter": {"TranscriptFilterType": "EXACT", "Targets": ["refund"], "Negate": True}}], True),
    "customer-interrupts": ([{"InterruptionFilter": {"ParticipantRole": "CUSTOMER", "Threshold": 1000}}], True),
    "agent-interrupts": ([{"InterruptionFilter": {"ParticipantRole": "AGENT"}}], False),
    "silence-3s": ([{"NonTalkTimeFilter": {"Threshold": 3000}}], True),
    "silence-10s": ([{"NonTalkTimeFilter": {"Threshold": 10000}}], False),
    "angry-first-half": ([{"SentimentFilter": {"Sentiments": ["NEGATIVE"], "ParticipantRole": "CUSTOMER",
                                               "RelativeTimeRange": {"First": 50}}}], True),
    "angry-last-5s": ([{"SentimentFilter": {"Sentiments": ["NEGATIVE"], "ParticipantRole": "CUSTOMER",
                                            "AbsoluteTimeRange": {"Last": 5000}}}], False),
}


def build_call(tmp_path: Path) -> tuple[Path, list[tuple[str, float, float]]]:
    """The stereo WAV and each line's (role, speech start, speech end) in seconds."""
    clips = []
    for i, (role, text, _) in enumerate(LINES):
        samples = decode(speak(tmp_path, text, f"line{i}.wav"))
        first, last = voiced_span(samples, SAMPLE_RATE)
        clips.append((role, samples[first:last]))
    spans, at = [], LINES[0][2]
    for i, (role, samples) in enumerate(clips):
        spans.append((role, at, at + len(samples) / SAMPLE_RATE))
        if i < len(GAP_AFTER):
            at = spans[-1][2] + GAP_AFTER[i]
    total = int((spans[-1][2] + TAIL) * SAMPLE_RATE)
    stereo = np.zeros((total, 2), dtype=np.float32)
    for (role, samples), (_, start, _) in zip(clips, spans):
        channel = 0 if role == "AGENT" else 1
        begin = int(start * SAMPLE_RATE)
        stereo[begin : begin + len(samples), channel] += samples
    return write_wav(tmp_path / "call.wav", stereo, SAMPLE_RATE), spans


def wait_for_analytics(transcribe, name: str, timeout: float = 300) -> dict:
    return wait_for_job(transcribe, name, timeout, noun="CallAnalyticsJob")


@pytest.fixture(scope="module")
def output_bucket(s3):
    s3.create_bucket(Bucket=OUTPUT_BUCKET)
    return OUTPUT_BUCKET


@pytest.fixture(scope="module")
def call(tmp_path_factory, transcribe, s3, upload, output_bucket):
    """The finished job, its output file and the lines' spans (module-scoped: one job)."""
    tmp_path = tmp_path_factory.mktemp("call")
    path, spans = build_call(tmp_path)
    for name, (rules, _) in CATEGORIES.items():
        transcribe.create_call_analytics_category(CategoryName=name, Rules=rules)
    transcribe.create_call_analytics_category(  # streaming only: never applied to a post-call job
        CategoryName="realtime-email", Rules=CATEGORIES["agent-sends-email"][0], InputType="REAL_TIME"
    )
    name = "support-call"
    transcribe.start_call_analytics_job(
        CallAnalyticsJobName=name,
        Media={"MediaFileUri": upload(path, "support-call.wav")},
        OutputLocation=f"s3://{OUTPUT_BUCKET}/analytics/",
        ChannelDefinitions=[{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "CUSTOMER"}],
        Settings={
            "LanguageOptions": ["en-US"],
            "Summarization": {"GenerateAbstractiveSummary": True},
            "ContentRedaction": {"RedactionType": "PII", "RedactionOutput": "redacted_and_unredacted"},
        },
    )
    job = wait_for_analytics(transcribe, name)
    assert job["CallAnalyticsJobStatus"] == "COMPLETED", job.get("FailureReason")
    body = s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"analytics/{name}.json")["Body"].read()
    return job, json.loads(body), spans


def test_redacted_output_beside_the_raw_one(call, s3):
    job, raw, _ = call
    assert job["Transcript"]["RedactedTranscriptFileUri"].endswith(f"/{OUTPUT_BUCKET}/analytics/redacted-support-call.json")
    redacted = json.loads(s3.get_object(Bucket=OUTPUT_BUCKET, Key="analytics/redacted-support-call.json")["Body"].read())
    assert raw["ContentMetadata"] == {"Output": "Raw"} and redacted["ContentMetadata"] == {"Output": "Redacted"}
    assert "smith" in raw["Transcript"][0]["Content"].lower()
    first = redacted["Transcript"][0]
    assert "[PII]" in first["Content"] and "smith" not in first["Content"].lower()
    (hidden, *_) = [i for i in first["Items"] if i["Content"] == "[PII]"]
    assert hidden["Redaction"][0]["Type"] == "NAME" and hidden["Redaction"][0]["Category"] == "PII"


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


# --- categories -----------------------------------------------------------------------------


def test_category_create_get_update_delete(transcribe):
    rules = [{"TranscriptFilter": {"TranscriptFilterType": "EXACT", "Targets": ["speak to a manager"]}}]
    created = transcribe.create_call_analytics_category(
        CategoryName="crud-category", Rules=rules, Tags=[{"Key": "team", "Value": "support"}]
    )["CategoryProperties"]
    assert created["CategoryName"] == "crud-category" and created["Rules"] == rules
    assert created["InputType"] == "POST_CALL" and created["Tags"] == [{"Key": "team", "Value": "support"}]
    with pytest.raises(transcribe.exceptions.ConflictException):
        transcribe.create_call_analytics_category(CategoryName="crud-category", Rules=rules)
    new_rules = [{"NonTalkTimeFilter": {"Threshold": 5000, "Negate": True}}]
    updated = transcribe.update_call_analytics_category(CategoryName="crud-category", Rules=new_rules)["CategoryProperties"]
    assert updated["Rules"] == new_rules and updated["LastUpdateTime"] >= created["LastUpdateTime"]
    got = transcribe.get_call_analytics_category(CategoryName="crud-category")["CategoryProperties"]
    assert got["Rules"] == new_rules and got["CreateTime"] == created["CreateTime"]
    with pytest.raises(transcribe.exceptions.BadRequestException, match="input type"):
        transcribe.update_call_analytics_category(CategoryName="crud-category", Rules=rules, InputType="REAL_TIME")
    # Real-time categories take TranscriptFilter rules only (AWS's guide, tca-categories-stream).
    with pytest.raises(transcribe.exceptions.BadRequestException, match="only TranscriptFilter"):
        transcribe.create_call_analytics_category(CategoryName="realtime-silence", Rules=new_rules, InputType="REAL_TIME")
    with pytest.raises(transcribe.exceptions.NotFoundException):
        transcribe.get_call_analytics_category(CategoryName="realtime-silence")
    transcribe.delete_call_analytics_category(CategoryName="crud-category")
    for call in (transcribe.get_call_analytics_category, transcribe.delete_call_analytics_category):
        with pytest.raises(transcribe.exceptions.NotFoundException):
            call(CategoryName="crud-category")
    with pytest.raises(transcribe.exceptions.NotFoundException):
        transcribe.update_call_analytics_category(CategoryName="crud-category", Rules=rules)


@pytest.mark.parametrize(
    "rule, wording",
    [
        ({}, "exactly one"),
        ({"NonTalkTimeFilter": {"Threshold": 1}, "InterruptionFilter": {}}, "exactly one"),
        ({"InterruptionFilter": {"AbsoluteTimeRange": {"StartTime": 100}}}, "must be given together"),
        ({"InterruptionFilter": {"AbsoluteTimeRange": {"StartTime": 900, "EndTime": 100}}}, "less than"),
        ({"SentimentFilter": {"Sentiments": ["MIXED"], "RelativeTimeRange": {"StartPercentage": 1, "EndPercentage": 9,
                                                                             "First": 5}}}, "combined"),
    ],
)
def test_category_rules_the_model_cannot_check(emulator, rule, wording):
    unvalidated = boto3.client(  # botocore itself refuses a union with no or two members
        "transcribe", endpoint_url=emulator.endpoint, config=Config(parameter_validation=False), **CREDENTIALS
    )
    with pytest.raises(unvalidated.exceptions.BadRequestException, match=wording):
        unvalidated.create_call_analytics_category(CategoryName="bad-rules", Rules=[rule])


def test_list_categories_pages(transcribe, call):
    first = transcribe.list_call_analytics_categories(MaxResults=4)
    assert len(first["Categories"]) == 4 and first["NextToken"]
    rest, token = [], first["NextToken"]
    while token:
        page = transcribe.list_call_analytics_categories(MaxResults=4, NextToken=token)
        rest.extend(page["Categories"])
        token = page.get("NextToken")
    names = {c["CategoryName"] for c in first["Categories"] + rest}
    assert names >= {*CATEGORIES, "realtime-email"}
    with pytest.raises(transcribe.exceptions.BadRequestException):
        transcribe.list_call_analytics_categories(NextToken="not-a-token")


# --- the job ----------------------------------------------------------------------------------


def test_job_object_and_list(transcribe, call):
    job, output, _ = call
    assert job["LanguageCode"] == "en-US" and job["MediaFormat"] == "wav" and job["MediaSampleRateHertz"] == SAMPLE_RATE
    assert job["ChannelDefinitions"][0] == {"ChannelId": 0, "ParticipantRole": "AGENT"}
    assert job["Transcript"]["TranscriptFileUri"].endswith(f"/{OUTPUT_BUCKET}/analytics/support-call.json")
    assert "CallAnalyticsJobDetails" not in job  # the summary was made
    summaries = transcribe.list_call_analytics_jobs(JobNameContains="support")["CallAnalyticsJobSummaries"]
    assert [s["CallAnalyticsJobName"] for s in summaries] == ["support-call"]
    assert summaries[0]["CallAnalyticsJobStatus"] == "COMPLETED"
    assert output["JobStatus"] == "COMPLETED" and output["LanguageCode"] == "en-US" and output["JobName"] == "support-call"
    assert output["Participants"] == [{"ParticipantRole": "AGENT"}, {"ParticipantRole": "CUSTOMER"}]


def test_turns_by_participant(call):
    _, output, spans = call
    turns = output["Transcript"]
    roles = [t["ParticipantRole"] for t in turns]
    assert roles[0] == "AGENT" and set(roles) == {"AGENT", "CUSTOMER"}
    text = " ".join(t["Content"] for t in turns).lower()
    for word in ("internet", "router", "email", "wonderful"):
        assert word in text
    for turn in turns:
        words = [i for i in turn["Items"] if i["Type"] == "pronunciation"]
        assert turn["BeginOffsetMillis"] == words[0]["BeginOffsetMillis"]
        assert turn["EndOffsetMillis"] == words[-1]["EndOffsetMillis"]
        assert all(0 <= i["Confidence"] <= 1 for i in turn["Items"])
        seconds = (turn["EndOffsetMillis"] - turn["BeginOffsetMillis"]) / 1000
        assert len(turn["LoudnessScores"]) == int(np.ceil(seconds - 1e-6))
        assert max(turn["LoudnessScores"]) > 60  # espeak speech is loud; silence would be near 0
    agent_turns = [t for t in turns if t["ParticipantRole"] == "AGENT"]
    assert abs(agent_turns[0]["BeginOffsetMillis"] - _ms(spans[0][1])) <= TOLERANCE


def test_talk_time_non_talk_time_and_interruptions(call):
    _, output, spans = call
    characteristics = output["ConversationCharacteristics"]
    for role in ("AGENT", "CUSTOMER"):
        expected = sum(end - start for r, start, end in spans if r == role)
        measured = characteristics["TalkTime"]["DetailsByParticipant"][role]["TotalTimeMillis"]
        assert abs(measured - _ms(expected)) <= 2 * TOLERANCE, (role, measured, expected)
        speed = characteristics["TalkSpeed"]["DetailsByParticipant"][role]["AverageWordsPerMinute"]
        assert 100 <= speed <= 220  # espeak-ng speaks at 140 words a minute (plus its pauses)
    silence = characteristics["NonTalkTime"]
    assert len(silence["Instances"]) == 1  # the 4.5 s gap; the others are under 3 s
    instance = silence["Instances"][0]
    assert abs(instance["BeginOffsetMillis"] - _ms(spans[1][2])) <= TOLERANCE
    assert abs(instance["EndOffsetMillis"] - _ms(spans[2][1])) <= TOLERANCE
    interruptions = characteristics["Interruptions"]
    assert interruptions["TotalCount"] == 1 and list(interruptions["InterruptionsByInterrupter"]) == ["CUSTOMER"]
    (found,) = interruptions["InterruptionsByInterrupter"]["CUSTOMER"]
    assert abs(found["BeginOffsetMillis"] - _ms(spans[3][1])) <= TOLERANCE
    assert abs(found["DurationMillis"] - 2000) <= 2 * TOLERANCE
    assert characteristics["TotalConversationDurationMillis"] == _ms(spans[-1][2] + TAIL)


def test_sentiment_of_turns_and_quarters(call):
    _, output, _ = call
    customer = [t for t in output["Transcript"] if t["ParticipantRole"] == "CUSTOMER"]
    assert customer[0]["Sentiment"] == "NEGATIVE" and customer[-1]["Sentiment"] == "POSITIVE"
    sentiment = output["ConversationCharacteristics"]["Sentiment"]
    assert set(sentiment["OverallSentiment"]) == {"AGENT", "CUSTOMER"}
    assert all(-5 <= s <= 5 for s in sentiment["OverallSentiment"].values())
    quarters = sentiment["SentimentByPeriod"]["QUARTER"]["CUSTOMER"]
    assert len(quarters) == 4 and quarters[-1]["Score"] > 0 > min(q["Score"] for q in quarters)


def test_issues_outcomes_action_items_and_summary(call):
    _, output, _ = call
    found = {}
    for turn in output["Transcript"]:
        for member in ("IssuesDetected", "OutcomesDetected", "ActionItemsDetected"):
            for insight in turn[member]:
                offsets = insight["CharacterOffsets"]
                found.setdefault(member, []).append(turn["Content"][offsets["Begin"] : offsets["End"]].lower())
    assert any("not working" in text for text in found["IssuesDetected"])
    assert any("router" in text for text in found.get("OutcomesDetected", [])), [t["Content"] for t in output["Transcript"]]
    assert any("email" in text for text in found["ActionItemsDetected"])
    summary = output["ConversationCharacteristics"]["ContactSummary"]["AutoGenerated"]["OverallSummary"]["Content"]
    assert "email" in summary.lower()


def test_categories_evaluated_on_the_call(call):
    _, output, spans = call
    categories = output["Categories"]
    expected = sorted(name for name, (_, matches) in CATEGORIES.items() if matches)
    assert sorted(categories["MatchedCategories"]) == expected
    assert "realtime-email" not in categories["MatchedCategories"]
    (point,) = categories["MatchedDetails"]["agent-sends-email"]["PointsOfInterest"]
    assert spans[2][1] * 1000 < point["BeginOffsetMillis"] < point["EndOffsetMillis"] <= _ms(spans[2][2]) + TOLERANCE
    assert categories["MatchedDetails"]["silence-3s"] == {"PointsOfInterest": []}


def test_mono_call_roles_by_speaker(transcribe, s3, upload, output_bucket, tmp_path):
    """Mono media: two speakers told apart by diarization; the first to speak is the AGENT."""
    pieces = [decode(audio_path(item)) for item in ("sb_spk1_snt1", "sb_spk2_snt1")]
    mono = np.concatenate([pieces[0], np.zeros(SAMPLE_RATE, dtype=np.float32), pieces[1]])
    path = write_wav(tmp_path / "mono-call.wav", mono, SAMPLE_RATE)
    name = "mono-call"
    transcribe.start_call_analytics_job(
        CallAnalyticsJobName=name,
        Media={"MediaFileUri": upload(path, "mono-call.wav")},
        OutputLocation=f"s3://{OUTPUT_BUCKET}/mono.json",
        Settings={"LanguageOptions": ["en-US"], "Summarization": {"GenerateAbstractiveSummary": True}},
    )
    job = wait_for_analytics(transcribe, name)
    assert job["CallAnalyticsJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["CallAnalyticsJobDetails"]["Skipped"][0]["ReasonCode"] == "INSUFFICIENT_CONVERSATION_CONTENT"
    output = json.loads(s3.get_object(Bucket=OUTPUT_BUCKET, Key="mono.json")["Body"].read())
    turns = [(t["ParticipantRole"], t["Content"].lower()) for t in output["Transcript"]]
    assert turns[0][0] == "AGENT" and "dog" in turns[0][1]
    assert any(role == "CUSTOMER" and "war" in text for role, text in turns), turns
    assert "ContactSummary" not in output["ConversationCharacteristics"]


def test_job_errors_and_delete(transcribe, call, upload):
    job, _, _ = call
    media = job["Media"]
    with pytest.raises(transcribe.exceptions.ConflictException):
        transcribe.start_call_analytics_job(CallAnalyticsJobName="support-call", Media=media)
    bad_channels = [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "AGENT"}]
    with pytest.raises(transcribe.exceptions.BadRequestException, match="ChannelDefinitions"):
        transcribe.start_call_analytics_job(CallAnalyticsJobName="two-agents", Media=media, ChannelDefinitions=bad_channels)
    with pytest.raises(transcribe.exceptions.BadRequestException, match="OutputLocation"):
        transcribe.start_call_analytics_job(CallAnalyticsJobName="bad-out", Media=media, OutputLocation="https://example.com/x")
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        transcribe.get_call_analytics_job(CallAnalyticsJobName="no-such-call")
    assert missing.value.response["Error"]["Code"] == "BadRequestException"
    transcribe.delete_call_analytics_job(CallAnalyticsJobName="support-call")
    with pytest.raises(botocore.exceptions.ClientError):
        transcribe.get_call_analytics_job(CallAnalyticsJobName="support-call")


def test_custom_vocabulary_filter_and_language_model(transcribe, s3, upload, output_bucket, tmp_path):
    """A Call Analytics job on a real two-channel call (the agent reads cards_005 on channel 0,
    the customer cards_002 on channel 1) with a custom vocabulary (DisplayAs), a vocabulary
    filter (mask) and a custom language model trained on card-game text: the DisplayAs form and
    the mask show in the turns; a missing vocabulary, filter or model is AWS's BadRequestException."""
    agent, customer = (decode(audio_path(item)) for item in ("cards_005", "cards_002"))
    start = len(agent) + SAMPLE_RATE
    stereo = np.zeros((start + len(customer) + SAMPLE_RATE, 2), dtype=np.float32)
    stereo[: len(agent), 0] = agent
    stereo[start : start + len(customer), 1] = customer
    media = {"MediaFileUri": upload(write_wav(tmp_path / "cards-call.wav", stereo, SAMPLE_RATE), "cards-call.wav")}

    table = tmp_path / "vocabulary.txt"
    table.write_text("Phrase\tIPA\tSoundsLike\tDisplayAs\nclubs\t\t\tClubs (suit)\n")
    transcribe.create_vocabulary(VocabularyName="ca-cards", LanguageCode="en-US",
                                 VocabularyFileUri=upload(table, key="ca-cards/vocabulary.txt"))
    transcribe.create_vocabulary_filter(VocabularyFilterName="ca-no-spades", LanguageCode="en-US", Words=["spades"])
    training = tmp_path / "cards.txt"
    training.write_text(CARD_GAMES)
    upload(training, key="ca-clm/train/cards.txt")
    transcribe.create_language_model(
        LanguageCode="en-US", BaseModelName="WideBand", ModelName="ca-cards-model",
        InputDataConfig={"S3Uri": "s3://media/ca-clm/train/", "DataAccessRoleArn": "arn:aws:iam::000000000000:role/t"},
    )
    for _ in range(300):
        vocabulary = transcribe.get_vocabulary(VocabularyName="ca-cards")["VocabularyState"]
        model = transcribe.describe_language_model(ModelName="ca-cards-model")["LanguageModel"]["ModelStatus"]
        if vocabulary != "PENDING" and model != "IN_PROGRESS":
            break
        time.sleep(0.2)
    assert (vocabulary, model) == ("READY", "COMPLETED")

    channels = [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "CUSTOMER"}]
    settings = {
        "LanguageOptions": ["en-US"],
        "VocabularyName": "ca-cards",
        "VocabularyFilterName": "ca-no-spades",
        "VocabularyFilterMethod": "mask",
        "LanguageModelName": "ca-cards-model",
    }
    for member, missing, noun in (("VocabularyName", "no-such-vocabulary", "vocabulary"),
                                  ("VocabularyFilterName", "no-such-filter", "vocabulary filter"),
                                  ("LanguageModelName", "no-such-model", "language model")):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            transcribe.start_call_analytics_job(CallAnalyticsJobName=f"cards-missing-{member}", Media=media,
                                                ChannelDefinitions=channels, Settings={**settings, member: missing})
        error = refused.value.response["Error"]
        assert error["Code"] == "BadRequestException"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error["Message"].startswith(f"The requested {noun} couldn't be found."), error
        with pytest.raises(botocore.exceptions.ClientError):  # nothing was created
            transcribe.get_call_analytics_job(CallAnalyticsJobName=f"cards-missing-{member}")

    name = "cards-call"
    transcribe.start_call_analytics_job(CallAnalyticsJobName=name, Media=media, ChannelDefinitions=channels,
                                        OutputLocation=f"s3://{OUTPUT_BUCKET}/cards/", Settings=settings)
    job = wait_for_analytics(transcribe, name)
    assert job["CallAnalyticsJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["Settings"] == settings
    output = json.loads(s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"cards/{name}.json")["Body"].read())
    turns = {role: " ".join(t["Content"] for t in output["Transcript"] if t["ParticipantRole"] == role)
             for role in ("AGENT", "CUSTOMER")}
    assert "spades" not in turns["AGENT"].lower() and "***" in turns["AGENT"], turns
    assert "Clubs (suit)" in turns["CUSTOMER"] and "Clubs (suit)" in turns["AGENT"], turns
    words = [i["Content"] for t in output["Transcript"] for i in t["Items"]]
    assert "***" in words and "spades" not in [w.lower() for w in words]
    transcribe.delete_call_analytics_job(CallAnalyticsJobName=name)
