"""Call Analytics pieces without a server: sentiment on a small labelled set of call-centre
turns, the insight rules, and category rules evaluated on a hand-made call."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.engine.call_insights import ACTION_ITEM, ISSUE, OUTCOME, classify, extractive_summary, sentences
from emulator.engine.sentiment import sentiment
from emulator.service.call_analytics_output import analyse, call_turns, conversation_characteristics
from emulator.service.call_analytics_rules import matched_categories, window
from emulator.service.tokens import PRONUNCIATION, PUNCTUATION, Token

# Call-centre turns labelled by hand (POSITIVE / NEGATIVE / NEUTRAL / MIXED).
LABELLED = [
    ("Thank you so much, you have been really helpful.", "POSITIVE"),
    ("That's great, I appreciate it.", "POSITIVE"),
    ("Perfect, that works for me.", "POSITIVE"),
    ("Wonderful, thanks for sorting that out so quickly.", "POSITIVE"),
    ("I'm happy with the new plan.", "POSITIVE"),
    ("Excellent service, thank you.", "POSITIVE"),
    ("This is terrible, nothing works.", "NEGATIVE"),
    ("I am very angry about this bill.", "NEGATIVE"),
    ("I've been waiting for an hour and nobody answers, it's ridiculous.", "NEGATIVE"),
    ("Your service is awful.", "NEGATIVE"),
    ("I hate this, it keeps failing.", "NEGATIVE"),
    ("That's unacceptable, I want to cancel.", "NEGATIVE"),
    ("My account number is four five six seven.", "NEUTRAL"),
    ("I'm calling about my internet connection.", "NEUTRAL"),
    ("Can you tell me the address on file?", "NEUTRAL"),
    ("The order was placed on Monday.", "NEUTRAL"),
    ("Let me check that for you.", "NEUTRAL"),
    ("It is a router from the last upgrade.", "NEUTRAL"),
    ("I love the phone but the battery is terrible.", "MIXED"),
    ("The staff were great, but the delay was awful.", "MIXED"),
]


def test_sentiment_on_a_labelled_set():
    right = sum(sentiment(text).label == label for text, label in LABELLED)
    assert right / len(LABELLED) >= 0.75, right
    assert -5 <= sentiment("This is terrible and awful.").score < 0 < sentiment("Great, thanks!").score <= 5


@pytest.mark.parametrize(
    "text, kind",
    [
        ("My internet is not working since Monday.", ISSUE),
        ("I can't log in to my account.", ISSUE),
        ("I need a new password.", ISSUE),
        ("I've processed the refund.", OUTCOME),
        ("Your order has been cancelled.", OUTCOME),
        ("You will receive it by Friday.", OUTCOME),
        ("I'll send you a confirmation email.", ACTION_ITEM),
        ("I will follow up tomorrow.", ACTION_ITEM),
        ("Please call us back if it happens again.", ACTION_ITEM),
        ("Good morning, how are you?", None),
    ],
)
def test_insight_rules(text, kind):
    assert classify(text) == kind


def test_sentences_and_summary():
    text = "Hi. My router is broken! Can you help?"
    assert [text[b:e] for b, e in sentences(text)] == ["Hi.", "My router is broken!", "Can you help?"]
    assert extractive_summary(["Hi there."]) is None  # too short
    long_turns = ["Hello, thanks for calling, how can I help you today with your account?", text,
                  "I will send a technician on Monday morning."]
    assert extractive_summary(long_turns) == "My router is broken! I will send a technician on Monday morning."


def _line(text: str, start: float, segment: int, channel: str) -> list[Token]:
    tokens = []
    for word in text.split():
        mark = word[-1] if word[-1] in ".,!?" else None
        tokens.append(Token(PRONUNCIATION, word.rstrip(".,!?"), 0.9, start, start + 0.25, segment, channel))
        if mark:
            tokens.append(Token(PUNCTUATION, mark, 0.0, None, None, segment, channel))
        start += 0.3
    return tokens


@pytest.fixture(scope="module")
def analysis():
    tokens = (
        _line("Hello, thank you for calling.", 0.5, 0, "ch_0")
        + _line("My internet is not working and this is terrible.", 3.0, 1, "ch_1")
        + _line("I have reset your router and I will send you an email.", 10.0, 2, "ch_0")
        + _line("Wonderful, thank you so much!", 12.0, 3, "ch_1")
    )
    roles = ("AGENT", "CUSTOMER")
    samples = {role: np.zeros(16000 * 16, dtype=np.float32) for role in roles}
    return analyse(call_turns(tokens, lambda t: roles[int(t.channel[-1])]), samples, 16000, 16.0)


def test_characteristics_of_a_hand_made_call(analysis):
    c = conversation_characteristics(analysis)
    assert c["TalkTime"]["DetailsByParticipant"]["AGENT"]["TotalTimeMillis"] == 1450 + 3550
    # the 2.45 s after the last word (13.55 s) is under the 3 s minimum
    assert c["NonTalkTime"]["Instances"] == [{"BeginOffsetMillis": 5650, "EndOffsetMillis": 10000, "DurationMillis": 4350}]
    assert c["Interruptions"]["InterruptionsByInterrupter"] == {
        "CUSTOMER": [{"BeginOffsetMillis": 12000, "EndOffsetMillis": 13450, "DurationMillis": 1450}]
    }
    assert c["TalkSpeed"]["DetailsByParticipant"]["AGENT"]["AverageWordsPerMinute"] == round(17 * 60 / 5.0)


def test_category_rules(analysis):
    def category(name, **rule):
        return {"CategoryName": name, "Rules": [rule]}

    exact = {"TranscriptFilterType": "EXACT", "Targets": ["send you an email"]}
    categories = [
        category("email", TranscriptFilter=exact),
        category("email-by-customer", TranscriptFilter={**exact, "ParticipantRole": "CUSTOMER"}),
        category("email-early", TranscriptFilter={**exact, "AbsoluteTimeRange": {"First": 5000}}),
        category("no-refund", TranscriptFilter={"TranscriptFilterType": "EXACT", "Targets": ["refund"], "Negate": True}),
        category("negative-customer", SentimentFilter={"Sentiments": ["NEGATIVE"], "ParticipantRole": "CUSTOMER"}),
        category("interrupted", InterruptionFilter={"Threshold": 1000}),
        category("interrupted-long", InterruptionFilter={"Threshold": 1500}),
        category("silence-4s", NonTalkTimeFilter={"Threshold": 4000}),
        category("silence-at-end", NonTalkTimeFilter={"Threshold": 2000, "RelativeTimeRange": {"Last": 20}}),
        category("silence-5s", NonTalkTimeFilter={"Threshold": 5000}),
    ]
    matched = matched_categories(categories, analysis)
    assert list(matched) == ["email", "no-refund", "negative-customer", "interrupted", "silence-4s", "silence-at-end"]
    assert matched["email"] == [{"BeginOffsetMillis": 12400, "EndOffsetMillis": 13550}]


def test_windows():
    span = window({"AbsoluteTimeRange": {"StartTime": 1000, "EndTime": 3000}}, 10.0)
    assert (span.start, span.end) == (1.0, 3.0)
    span = window({"RelativeTimeRange": {"Last": 25}}, 40.0)
    assert (span.start, span.end) == (30.0, 40.0)
    span = window({"AbsoluteTimeRange": {"First": 2000}}, 40.0)
    assert (span.start, span.end) == (0.0, 2.0)


def test_a_turn_goes_on_over_whispers_window_end_inside_a_sentence():
    # Whisper ended a decoding window after "Your" (espeak's agent line, 2026-12-06): one turn,
    # so the sentence "Your router has been reset." is found as an outcome.
    split = _line("I am sorry about that. Your", 15.6, 2, "ch_0") + _line("router has been reset.", 17.4, 3, "ch_0")
    turns = call_turns(split, lambda t: "AGENT")
    assert [t.content for t in turns] == ["I am sorry about that. Your router has been reset."]
    # A new segment after a sentence's end, after a pause, or of the other participant: a new turn.
    ended = _line("I am sorry about that.", 15.6, 2, "ch_0") + _line("Your router has been reset.", 17.0, 3, "ch_0")
    assert len(call_turns(ended, lambda t: "AGENT")) == 2
    paused = _line("I am sorry about that. Your", 15.6, 2, "ch_0") + _line("router has been reset.", 19.0, 3, "ch_0")
    assert len(call_turns(paused, lambda t: "AGENT")) == 2
    roles = ("AGENT", "CUSTOMER")
    other = _line("I am sorry about that. Your", 15.6, 2, "ch_0") + _line("router has been reset.", 17.4, 3, "ch_1")
    assert len(call_turns(other, lambda t: roles[int(t.channel[-1])])) == 2
