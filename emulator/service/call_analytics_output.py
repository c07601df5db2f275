"""A Call Analytics job's analysis and its output file (AWS developer guide, "Post-call
analytics output"), from the final tokens of the job and its samples.

`call_turns` groups tokens into turns by participant; `analyse` computes the conversation
characteristics (emulator.engine.conversation), the sentiment of each turn
(emulator.engine.sentiment) and the issues, outcomes and action items
(emulator.engine.call_insights); `render_call_analytics` writes AWS's JSON:
`{JobStatus, LanguageCode, Transcript: [turn...], AccountId, Categories, ConversationCharacteristics,
ContentMetadata, JobName, Channel, Participants}`; each turn `{Id, ParticipantRole, Content,
BeginOffsetMillis, EndOffsetMillis, Sentiment, LoudnessScores, Items, IssuesDetected,
OutcomesDetected, ActionItemsDetected}` (the three insight lists always present, maybe empty),
times in integer milliseconds, confidences as numbers. Punctuation items take the time of the
word before them (zero length). Categories are evaluated by emulator.service.call_analytics_rules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from emulator.engine.call_insights import ACTION_ITEM, ISSUE, OUTCOME, Insight, extractive_summary, insights
from emulator.engine.conversation import (
    Interruption,
    Span,
    interruptions,
    loudness_scores,
    non_talk,
    speech_runs,
    talk_time,
    words_per_minute,
)
from emulator.engine.sentiment import Sentiment, mean_score, sentiment
from emulator.service.output import PII_CATEGORY
from emulator.service.segmentation import PAUSE
from emulator.service.tokens import PRONUNCIATION, Token, join_tokens

AGENT, CUSTOMER = "AGENT", "CUSTOMER"
ROLES = (AGENT, CUSTOMER)
QUARTERS = 4
_INSIGHT_MEMBERS = {ISSUE: "IssuesDetected", OUTCOME: "OutcomesDetected", ACTION_ITEM: "ActionItemsDetected"}


@dataclass(frozen=True)
class Turn:
    """What one participant said without the other taking over: its tokens (words and
    punctuation) in order, at least one word."""

    role: str
    tokens: tuple[Token, ...]

    @property
    def words(self) -> list[Token]:
        return [t for t in self.tokens if t.kind == PRONUNCIATION]

    @property
    def begin(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def content(self) -> str:
        return join_tokens(list(self.tokens))


@dataclass
class CallAnalysis:
    """Everything the output shows, computed once. duration: seconds of audio."""

    duration: float
    turns: list[Turn]
    sentiments: list[Sentiment]
    insights: list[list[Insight]]
    runs: dict[str, list[Span]]
    interruptions: list[Interruption]
    non_talk: list[Span]
    loudness: list[list[float]] = field(default_factory=list)


def call_turns(tokens: list[Token], role_of: Callable[[Token], str]) -> list[Turn]:
    """Turns from tokens: a new turn at each new participant, and at each new audio segment
    unless it goes on a sentence of that participant's turn before (Whisper ended a decoding
    window mid sentence, "... Your" | "router has been reset.", with no pause; the other
    channel's segments may come between in `tokens`. Audio segments that start after a pause,
    emulator.service.segmentation.PAUSE, start turns); turns without a word are dropped; in
    time order."""
    groups: list[tuple[str, list[Token]]] = []  # (participant, tokens)
    current: dict[str, tuple[int, int]] = {}  # participant -> (audio segment, index in groups)
    for token in tokens:
        role = role_of(token)
        segment, index = current.get(role, (-1, -1))
        if index >= 0 and (token.segment == segment or _goes_on(groups[index][1], token)):
            groups[index][1].append(token)
        else:
            groups.append((role, [token]))
            index = len(groups) - 1
        current[role] = (token.segment, index)
    turns = [Turn(role, tuple(group)) for role, group in groups]
    return sorted((t for t in turns if t.words), key=lambda t: t.begin)


def _goes_on(previous: list[Token], token: Token) -> bool:
    """Whether `token`, first of a new audio segment, continues the sentence that `previous`
    (one participant's turn) ends with: no sentence-ending mark since its last word, and no
    pause before `token`."""
    if token.kind != PRONUNCIATION or token.start is None or previous[-1].content in ".?!":
        return False
    last = next((t for t in reversed(previous) if t.kind == PRONUNCIATION and t.end is not None), None)
    return last is not None and token.start - last.end <= PAUSE


def analyse(turns: list[Turn], samples: dict[str, np.ndarray], sample_rate: int, duration: float) -> CallAnalysis:
    """The analysis of a call. samples: each role's audio (its channel; the mixed audio for
    mono calls), float -1..1 at `sample_rate`."""
    runs = {role: speech_runs((w.start, w.end) for t in turns if t.role == role for w in t.words) for role in ROLES}
    return CallAnalysis(
        duration=duration,
        turns=turns,
        sentiments=[sentiment(t.content) for t in turns],
        insights=[insights(t.content) for t in turns],
        runs=runs,
        interruptions=interruptions(runs),
        non_talk=non_talk(runs, duration),
        loudness=[loudness_scores(samples[t.role], sample_rate, Span(t.begin, t.end)) for t in turns],
    )


def millis(seconds: float) -> int:
    return int(round(seconds * 1000))


def _instance(span: Span) -> dict:
    return {
        "BeginOffsetMillis": millis(span.start),
        "EndOffsetMillis": millis(span.end),
        "DurationMillis": millis(span.end) - millis(span.start),
    }


def render_items(turn: Turn) -> list[dict]:
    items = []
    last_end = turn.begin
    for token in turn.tokens:
        start = token.start if token.start is not None else last_end
        end = token.end if token.end is not None else last_end
        last_end = end
        item = {
            "Confidence": round(token.confidence, 3),
            "Content": token.content,
            "BeginOffsetMillis": millis(start),
            "EndOffsetMillis": millis(end),
            "Type": token.kind,
        }
        if token.filter_match:
            item["VocabularyFilterMatch"] = True
        if token.pii is not None:
            item["Redaction"] = [{"Confidence": round(token.pii.score, 3), "Type": token.pii.type, "Category": PII_CATEGORY}]
        items.append(item)
    return items


def render_turn(turn: Turn, analysis: CallAnalysis, index: int) -> dict:
    rendered = {
        "Id": str(uuid.uuid4()),
        "ParticipantRole": turn.role,
        "Content": turn.content,
        "BeginOffsetMillis": millis(turn.begin),
        "EndOffsetMillis": millis(turn.end),
        "Sentiment": analysis.sentiments[index].label,
        "LoudnessScores": analysis.loudness[index],
        "Items": render_items(turn),
    }
    for kind, member in _INSIGHT_MEMBERS.items():
        rendered[member] = [
            {"CharacterOffsets": {"Begin": i.begin, "End": i.end}} for i in analysis.insights[index] if i.kind == kind
        ]
    return rendered


def conversation_characteristics(analysis: CallAnalysis) -> dict:
    """ConversationCharacteristics (without ContactSummary)."""
    talk = {role: talk_time(analysis.runs[role]) for role in ROLES}
    words = {role: sum(len(t.words) for t in analysis.turns if t.role == role) for role in ROLES}
    by_interrupter = {role: [_instance(i.span) for i in analysis.interruptions if i.interrupter == role] for role in ROLES}
    return {
        "NonTalkTime": {
            "Instances": [_instance(span) for span in analysis.non_talk],
            "TotalTimeMillis": sum(_instance(span)["DurationMillis"] for span in analysis.non_talk),
        },
        "Interruptions": {
            "TotalCount": len(analysis.interruptions),
            "TotalTimeMillis": sum(_instance(i.span)["DurationMillis"] for i in analysis.interruptions),
            "InterruptionsByInterrupter": {role: found for role, found in by_interrupter.items() if found},
        },
        "TotalConversationDurationMillis": millis(analysis.duration),
        "Sentiment": _sentiment_section(analysis),
        "TalkSpeed": {
            "DetailsByParticipant": {
                role: {"AverageWordsPerMinute": int(round(words_per_minute(words[role], talk[role])))} for role in ROLES
            }
        },
        "TalkTime": {
            "DetailsByParticipant": {role: {"TotalTimeMillis": millis(talk[role])} for role in ROLES},
            "TotalTimeMillis": sum(millis(talk[role]) for role in ROLES),
        },
    }


def _sentiment_section(analysis: CallAnalysis) -> dict:
    """OverallSentiment and SentimentByPeriod.QUARTER per role, scores -5..5 (engine.sentiment):
    a turn counts in the quarter that holds its midpoint."""
    quarter = analysis.duration / QUARTERS

    def quarter_of(turn: Turn) -> int:
        return min(int((turn.begin + turn.end) / 2 / quarter), QUARTERS - 1) if quarter > 0 else 0

    overall, periods = {}, {}
    for role in ROLES:
        own = [(quarter_of(t), s) for t, s in zip(analysis.turns, analysis.sentiments) if t.role == role]
        overall[role] = round(mean_score([s for _, s in own]), 2)
        periods[role] = [
            {
                "Score": round(mean_score([s for q, s in own if q == index]), 2),
                "BeginOffsetMillis": millis(index * quarter),
                "EndOffsetMillis": millis((index + 1) * quarter),
            }
            for index in range(QUARTERS)
        ]
    return {"OverallSentiment": overall, "SentimentByPeriod": {"QUARTER": periods}}


def summary(analysis: CallAnalysis) -> str | None:
    """The extractive call summary (engine.call_insights), None when the call is too short."""
    return extractive_summary([t.content for t in analysis.turns])


def render_call_analytics(
    job_name: str,
    account_id: str,
    language_code: str,
    analysis: CallAnalysis,
    categories: dict[str, list[dict]],
    redacted: bool,
    call_summary: str | None = None,
) -> dict:
    """The output file. categories: matched category name -> its points of interest."""
    characteristics = conversation_characteristics(analysis)
    if call_summary:
        characteristics["ContactSummary"] = {"AutoGenerated": {"OverallSummary": {"Content": call_summary}}}
    return {
        "JobStatus": "COMPLETED",
        "LanguageCode": language_code,
        "Transcript": [render_turn(t, analysis, i) for i, t in enumerate(analysis.turns)],
        "AccountId": account_id,
        "Categories": {
            "MatchedCategories": list(categories),
            "MatchedDetails": {name: {"PointsOfInterest": points} for name, points in categories.items()},
        },
        "ConversationCharacteristics": characteristics,
        "ContentMetadata": {"Output": "Redacted" if redacted else "Raw"},
        "JobName": job_name,
        "Channel": "VOICE",
        "Participants": [{"ParticipantRole": role} for role in ROLES],
    }
