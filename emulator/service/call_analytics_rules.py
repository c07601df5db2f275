"""Evaluating Call Analytics categories (botocore `Rule`) on a job's analysis
(emulator.service.call_analytics_output.CallAnalysis).

A category matches when every one of its rules matches (AWS: "Rule criteria for post-call
categories"). Each rule looks inside its time window: `AbsoluteTimeRange` (StartTime/EndTime
ms; First: the first N ms; Last: the last N ms), `RelativeTimeRange` (the same in percent of
the call), else the whole call. `ParticipantRole` restricts a rule to one participant (the
interrupter for InterruptionFilter); `Negate` inverts the rule:
* TranscriptFilter (EXACT): a target phrase is spoken as consecutive words (case and
  punctuation ignored), starting inside the window; its words' times are the category's
  PointsOfInterest. Negate: none of the targets is spoken there.
* SentimentFilter: a turn starting inside the window has the sentiment; Negate: a turn has
  another sentiment than those listed (AWS: "flag the sentiments that you didn't include").
* InterruptionFilter: interruptions inside the window (clipped to it) total at least
  Threshold ms (any interruption without Threshold); Negate: they don't.
* NonTalkTimeFilter: a silence of at least Threshold ms (the output's 3 s minimum without
  Threshold) lies inside the window; Negate: there is none.
Only TranscriptFilter rules contribute PointsOfInterest.
"""

from __future__ import annotations

import re

from emulator.engine.conversation import MIN_NON_TALK, Span, non_talk
from emulator.service.call_analytics_output import CallAnalysis, millis

_WORD = re.compile(r"[\w']+")


def matched_categories(categories: list[dict], analysis: CallAnalysis) -> dict[str, list[dict]]:
    """{CategoryName: PointsOfInterest} of the categories ({CategoryName, Rules}) that match,
    in the given order."""
    matched = {}
    for category in categories:
        points: list[dict] = []
        if all(_rule_matches(rule, analysis, points) for rule in category["Rules"]):
            matched[category["CategoryName"]] = points
    return matched


def window(condition: dict, duration: float) -> Span:
    """The span of the call a rule looks at (seconds)."""
    if "AbsoluteTimeRange" in condition:
        r, scale = condition["AbsoluteTimeRange"], 0.001
    elif "RelativeTimeRange" in condition:
        r, scale = condition["RelativeTimeRange"], duration / 100
    else:
        return Span(0.0, duration)
    start_key = "StartTime" if "StartTime" in r else "StartPercentage"
    end_key = "EndTime" if "EndTime" in r else "EndPercentage"
    if start_key in r:
        return Span(r[start_key] * scale, r[end_key] * scale)
    if "First" in r:
        return Span(0.0, r["First"] * scale)
    return Span(max(duration - r["Last"] * scale, 0.0), duration)


def _rule_matches(rule: dict, analysis: CallAnalysis, points: list[dict]) -> bool:
    (name, condition), = ((k, v) for k, v in rule.items() if v is not None)
    span = window(condition, analysis.duration)
    role = condition.get("ParticipantRole")
    if name == "TranscriptFilter":
        found = _phrases(condition["Targets"], analysis, span, role)
        if condition.get("Negate"):
            return not found
        points.extend(found)
        return bool(found)
    if name == "SentimentFilter":
        wanted = set(condition["Sentiments"])
        labels = {
            s.label
            for t, s in zip(analysis.turns, analysis.sentiments)
            if (role is None or t.role == role) and span.start <= t.begin < span.end
        }
        hit = bool(labels - wanted) if condition.get("Negate") else bool(labels & wanted)
        return hit
    if name == "InterruptionFilter":
        clipped = [
            min(i.span.end, span.end) - max(i.span.start, span.start)
            for i in analysis.interruptions
            if role is None or i.interrupter == role
        ]
        clipped = [d for d in clipped if d > 0]
        threshold = condition.get("Threshold")
        hit = bool(clipped) and (threshold is None or millis(sum(clipped)) >= threshold)
        return hit != bool(condition.get("Negate"))
    # NonTalkTimeFilter
    threshold = condition.get("Threshold")
    minimum = threshold / 1000 if threshold is not None else MIN_NON_TALK
    silences = non_talk(analysis.runs, analysis.duration, min_length=min(minimum, MIN_NON_TALK))
    inside = [min(s.end, span.end) - max(s.start, span.start) for s in silences]
    hit = any(d >= minimum - 1e-6 for d in inside)
    return hit != bool(condition.get("Negate"))


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _phrases(targets: list[str], analysis: CallAnalysis, span: Span, role: str | None) -> list[dict]:
    """Points of interest where a target phrase is spoken, in time order."""
    found = []
    for turn in analysis.turns:
        if role is not None and turn.role != role:
            continue
        words = turn.words
        spoken = [" ".join(_words(w.content)) for w in words]
        for target in targets:
            wanted = _words(target)
            n = len(wanted)
            for i in range(len(words) - n + 1):
                if " ".join(spoken[i : i + n]).split() == wanted and span.start <= words[i].start < span.end:
                    found.append({"BeginOffsetMillis": millis(words[i].start), "EndOffsetMillis": millis(words[i + n - 1].end)})
    return sorted(found, key=lambda p: p["BeginOffsetMillis"])
