"""Issues, outcomes and action items in the turns of a call, and an extractive summary.
Pure, rule-based: no model, never invented text.

Method (AWS's "Post-call analytics output" names the three insights and marks each with the
character offsets of a span of a turn; it uses a trained model, unpublished): a turn is split
into sentences (at `.`, `?`, `!` followed by a space or the end); a sentence is an
* issue when it states a problem or a need of the speaker: "the problem is", "my issue",
  "I can't / cannot / couldn't ...", "... isn't / doesn't / won't work", "not working",
  "stopped working", "I need", "I want to", "I haven't received", "charged twice", "broken",
  "damaged", "missing", "wrong";
* outcome when it states a result: "I have / I've / we have processed, refunded, fixed,
  resolved, cancelled, updated, reset, issued, scheduled ...", "it is / has been resolved,
  fixed, refunded, processed, approved ...", "you will receive / get / see";
* action item when someone commits to a next step: "I will / I'll send, call, email,
  follow up, check, ...", "we are / I'm going to", "let me ...", "please call / send /
  check / confirm ...".
One sentence counts once, first as an action item, then an outcome, then an issue.
The summary (where AWS generates one with a large language model) is extractive: the
sentences found above, in call order, at most `SUMMARY_SENTENCES`; a call of fewer than
`MIN_SUMMARY_WORDS` words gets none (AWS's INSUFFICIENT_CONVERSATION_CONTENT).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ISSUE, OUTCOME, ACTION_ITEM = "issue", "outcome", "action_item"
SUMMARY_SENTENCES = 5
MIN_SUMMARY_WORDS = 20

_VERBS_DONE = (
    r"(processed|refunded|fixed|resolved|cancell?ed|updated|reset|issued|scheduled|sent|credited|replaced|"
    r"approved|changed|booked|sorted|reactivated|restored)"
)
_PATTERNS = {
    ACTION_ITEM: [
        r"\b(i|we)( will|'ll)( \w+)? (send|call|email|e-mail|follow|check|make sure|get back|transfer|escalate|"
        r"look into|process|update|schedule|arrange|ship|forward|contact|review|set up|reach out|text|mail)\b",
        r"\b(i'm|i am|we're|we are) going to\b",
        r"\blet me\b",
        r"\bplease (call|send|check|confirm|make sure|visit|reply|email|keep|restart|try)\b",
    ],
    OUTCOME: [
        rf"\b(i|we)('ve| have)( \w+)? {_VERBS_DONE}\b",
        rf"\b(it|that|this|your \w+)('s| is| has been| was| is now)( \w+)? {_VERBS_DONE}\b",
        r"\byou('ll| will) (receive|get|see|have)\b",
    ],
    ISSUE: [
        r"\b(the|my|our|a) (problem|issue)\b",
        r"\b(i|we) (can't|cannot|can not|couldn't|could not)\b",
        r"\b(isn't|is not|doesn't|does not|won't|will not|wasn't|didn't|did not) (work|arrive|load|start|turn on)",
        r"\b(not|stopped) working\b",
        r"\b(i|we) (need|want to|wanted to)\b",
        r"\b(i|we) (haven't|have not|never) (received|got|gotten)\b",
        r"\b(charged twice|double charged|overcharged|broken|damaged|missing|wrong)\b",
    ],
}
_COMPILED = {kind: [re.compile(p, re.IGNORECASE) for p in patterns] for kind, patterns in _PATTERNS.items()}
_SENTENCE = re.compile(r"[^.?!]*[.?!]+(?=\s|$)|[^.?!]+$")


@dataclass(frozen=True)
class Insight:
    """A sentence of a turn that is an ISSUE, OUTCOME or ACTION_ITEM; begin/end: character
    offsets into the turn's text (end exclusive)."""

    kind: str
    begin: int
    end: int


def sentences(text: str) -> list[tuple[int, int]]:
    """(begin, end) character offsets of the sentences of `text`, spaces trimmed."""
    spans = []
    for match in _SENTENCE.finditer(text):
        raw = match.group(0)
        begin = match.start() + (len(raw) - len(raw.lstrip()))
        end = match.start() + len(raw.rstrip())
        if end > begin:
            spans.append((begin, end))
    return spans


def classify(sentence: str) -> str | None:
    """ACTION_ITEM, OUTCOME, ISSUE or None for one sentence."""
    for kind in (ACTION_ITEM, OUTCOME, ISSUE):
        if any(p.search(sentence) for p in _COMPILED[kind]):
            return kind
    return None


def insights(text: str) -> list[Insight]:
    """The issues, outcomes and action items of one turn, in text order."""
    found = []
    for begin, end in sentences(text):
        kind = classify(text[begin:end])
        if kind:
            found.append(Insight(kind, begin, end))
    return found


def extractive_summary(turn_texts: list[str]) -> str | None:
    """Up to SUMMARY_SENTENCES sentences of the turns (in order) that carry an insight, joined
    by spaces; None when the call has fewer than MIN_SUMMARY_WORDS words or no such sentence."""
    if sum(len(t.split()) for t in turn_texts) < MIN_SUMMARY_WORDS:
        return None
    picked = [text[i.begin : i.end] for text in turn_texts for i in insights(text)]
    return " ".join(picked[:SUMMARY_SENTENCES]) or None
