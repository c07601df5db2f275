"""Parsing custom vocabularies and vocabulary filter word lists. Pure: bytes and strings in, dataclasses out.

Formats (AWS Developer Guide, "Creating a custom vocabulary using a table" / "using a list",
"Creating a vocabulary filter"):

* Vocabulary table (VocabularyFileUri): UTF-8 text, at most 50 KB. The first line names
  the columns, separated by TABs (AWS also accepts commas): `Phrase`, `IPA`, `SoundsLike`,
  `DisplayAs`, in any order. The emulator requires only `Phrase` (AWS's guide asks for
  all four headers; a subset is accepted here). Each following line is one entry with
  exactly one field per column (empty fields still need their delimiter).
  - Phrase: required; no spaces, no digits; words joined by hyphens ("Los-Angeles" is
    "Los Angeles"); acronyms spelled with periods ("C.L.I."), a plural "s" hyphenated
    ("A.B.C.-s"); an entry's words are its Phrase split at the hyphens.
  - SoundsLike: optional; hyphen-separated syllables ("loss-ann-gel-es"); no spaces.
  - IPA: optional; IPA symbols separated by single spaces. Not both IPA and SoundsLike.
  - DisplayAs: optional; how the phrase is written in transcripts; spaces and digits allowed.
* Phrase list (the `Phrases` request member): each element follows the Phrase rules.
* Vocabulary filter file (VocabularyFilterFileUri): UTF-8 text, one word per line.

Errors raise VocabularyTableError whose `reason` is what the API reports (a vocabulary's
FailureReason, or the BadRequestException message). The first sentence of the
invalid-terms reason is AWS's own wording; the line/term detail after it is the emulator's.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

MAX_FILE_BYTES = 50 * 1024  # AWS: "The size limit for each custom vocabulary is 50 Kb"
MAX_TERM_CHARS = 256  # AWS: "Each entry cannot exceed 256 characters"
COLUMNS = ("Phrase", "IPA", "SoundsLike", "DisplayAs")  # the header AWS documents, in its order

# AWS's FailureReason / BadRequestException text for malformed terms (observed, see
# github.com/awsdocs/amazon-transcribe-developer-guide/issues/17); note the typographic apostrophe.
INVALID_TERMS = (
    "The vocabulary that you’re trying to create contains invalid characters or incorrectly "
    "formatted terms. See the developer guide for more information."
)
INVALID_HEADERS = (
    "The vocabulary file has invalid headers. The first line must name the columns of the table: "
    "Phrase (required), IPA, SoundsLike and DisplayAs, separated by tabs. "
    "Check the file and try your request again."
)
NOT_UTF8 = "The {what} file isn't valid UTF-8 text. Save it with UTF-8 encoding and try your request again."
TOO_LARGE = (
    "The {what} file is too large. The maximum size is 50 KB. "
    "Reduce the size of the file and try your request again."
)
LIST_TOO_LARGE = (
    "The {what} is too large: its {member} add up to more than 50 KB. The maximum size is 50 KB. "
    "Remove some entries and try your request again."
)
NO_ENTRIES = "The vocabulary doesn't contain any entries. Add at least one phrase and try your request again."
NO_WORDS = "The vocabulary filter doesn't contain any words. Add at least one word and try your request again."


class VocabularyTableError(ValueError):
    """A vocabulary or filter AWS would refuse; `reason` is the message the API shows."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VocabularyEntry:
    """One term. `phrase` has its words separated by single spaces ("Los Angeles")."""

    phrase: str
    sounds_like: tuple[str, ...] = ()  # syllables ("loss", "ann", "gel", "es")
    ipa: str | None = None  # IPA symbols separated by spaces ("l ɔ s æ n")
    display_as: str | None = None  # the spelling wanted in transcripts

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.phrase.split(" "))

    def to_json(self) -> dict:
        doc: dict = {"Phrase": self.phrase}
        if self.sounds_like:
            doc["SoundsLike"] = list(self.sounds_like)
        if self.ipa:
            doc["IPA"] = self.ipa
        if self.display_as:
            doc["DisplayAs"] = self.display_as
        return doc

    @classmethod
    def from_json(cls, doc: dict) -> "VocabularyEntry":
        return cls(doc["Phrase"], tuple(doc.get("SoundsLike", ())), doc.get("IPA"), doc.get("DisplayAs"))


@dataclass(frozen=True)
class Vocabulary:
    """A parsed custom vocabulary, in file order."""

    entries: tuple[VocabularyEntry, ...]

    def phrases(self) -> list[str]:
        """The phrases as words ("Los Angeles"), e.g. to bias recognition."""
        return [entry.phrase for entry in self.entries]

    def to_table(self) -> str:
        """The normalised table (all four columns, TAB-separated) that DownloadUri serves."""
        lines = ["\t".join(COLUMNS)]
        for entry in self.entries:
            fields = {
                "Phrase": entry.phrase.replace(" ", "-"),
                "IPA": entry.ipa or "",
                "SoundsLike": "-".join(entry.sounds_like),
                "DisplayAs": entry.display_as or "",
            }
            lines.append("\t".join(fields[c] for c in COLUMNS))
        return "\n".join(lines) + "\n"

    def to_json(self) -> list[dict]:
        return [entry.to_json() for entry in self.entries]

    @classmethod
    def from_json(cls, docs: list[dict]) -> "Vocabulary":
        return cls(tuple(VocabularyEntry.from_json(doc) for doc in docs))


def check_list_size(items: list, what: str, member: str) -> None:
    """Refuses a `Phrases` or `Words` list larger than the 50 KB AWS allows a vocabulary or a
    filter (measured as the file it stands for: UTF-8, one entry a line). Stops counting at
    the limit, so a huge list costs no more than 50 KB of work. Raises VocabularyTableError.
    Source: developer guide, "Custom vocabularies": "The size limit for each custom vocabulary
    file is 50 Kb"; filters follow the same file rules."""
    size = 0
    for item in items:
        size += len(item.encode("utf-8", "surrogatepass")) + 1 if isinstance(item, str) else 1
        if size > MAX_FILE_BYTES:
            raise VocabularyTableError(LIST_TOO_LARGE.format(what=what, member=member))


# --- custom vocabularies ------------------------------------------------------------------


def parse_phrases(phrases: list[str]) -> Vocabulary:
    """The `Phrases` request member ("Los-Angeles", "C.L.I.") as a Vocabulary.

    Raises VocabularyTableError (reported by CreateVocabulary/UpdateVocabulary as a
    BadRequestException) when a phrase breaks the Phrase rules.
    """
    entries = []
    for number, phrase in enumerate(phrases, start=1):
        problem = _phrase_problem(phrase)
        if problem:
            raise VocabularyTableError(f"{INVALID_TERMS} Phrase {number} ({phrase!r}): {problem}.")
        entries.append(VocabularyEntry(_words(phrase)))
    if not entries:
        raise VocabularyTableError(NO_ENTRIES)
    return Vocabulary(tuple(entries))


def parse_table(data: bytes) -> Vocabulary:
    """A vocabulary table file (see the module docstring) as a Vocabulary.

    Raises VocabularyTableError with the FailureReason of the FAILED vocabulary.
    """
    lines = _decode_lines(data, "vocabulary")
    lines = [(number, line) for number, line in lines if line.strip()]
    if not lines:
        raise VocabularyTableError(NO_ENTRIES)
    header_number, header = lines[0]
    delimiter = "\t" if "\t" in header or "," not in header else ","
    columns = header.split(delimiter)
    if not set(columns) <= set(COLUMNS) or len(set(columns)) != len(columns) or "Phrase" not in columns:
        raise VocabularyTableError(f"{INVALID_HEADERS} Found: {header.strip()!r}.")
    entries = [_table_entry(number, line, delimiter, columns) for number, line in lines[1:]]
    if not entries:
        raise VocabularyTableError(NO_ENTRIES)
    return Vocabulary(tuple(entries))


def _table_entry(number: int, line: str, delimiter: str, columns: list[str]) -> VocabularyEntry:
    fields = line.split(delimiter)
    if len(fields) != len(columns):
        name = "tabs" if delimiter == "\t" else "commas"
        _bad_row(number, f"{len(fields)} fields for {len(columns)} columns; separate the columns with {name}, "
                 "one delimiter per column even when a field is empty")
    row = dict(zip(columns, fields))
    phrase = row["Phrase"]
    problem = _phrase_problem(phrase)
    if problem:
        _bad_row(number, f"Phrase {phrase!r}: {problem}")
    sounds_like = row.get("SoundsLike", "")
    ipa = row.get("IPA", "").strip()
    if sounds_like and ipa:
        _bad_row(number, "a row can't have both SoundsLike and IPA")
    if sounds_like:
        problem = _sounds_like_problem(sounds_like)
        if problem:
            _bad_row(number, f"SoundsLike {sounds_like!r}: {problem}")
    if ipa and (any(c.isdigit() for c in ipa) or "  " in ipa):
        _bad_row(number, f"IPA {ipa!r}: use IPA symbols separated by single spaces")
    display_as = row.get("DisplayAs", "").strip()
    if len(display_as) > MAX_TERM_CHARS:
        _bad_row(number, f"DisplayAs is longer than {MAX_TERM_CHARS} characters")
    return VocabularyEntry(
        _words(phrase),
        tuple(sounds_like.split("-")) if sounds_like else (),
        ipa or None,
        display_as or None,
    )


def _bad_row(number: int, detail: str):
    raise VocabularyTableError(f"{INVALID_TERMS} Line {number}: {detail}.")


def _words(phrase: str) -> str:
    """ "Los-Angeles" -> "Los Angeles" (AWS: hyphens in Phrase stand for spaces)."""
    return phrase.replace("-", " ")


def _phrase_problem(phrase: str) -> str | None:
    if not phrase:
        return "the phrase is empty"
    if len(phrase) > MAX_TERM_CHARS:
        return f"longer than {MAX_TERM_CHARS} characters"
    if any(c.isspace() for c in phrase):
        return "contains a space; join the words of a phrase with hyphens, as in Los-Angeles"
    if any(c.isdigit() for c in phrase):
        return "contains a digit; spell numbers out, as in V.X.-zero-two-Q."
    if phrase.startswith("-") or phrase.endswith("-") or "--" in phrase:
        return "hyphens may only join two words"
    bad = sorted({c for c in phrase if not _term_char(c)})
    if bad:
        return f"contains characters that aren't allowed: {' '.join(bad)}"
    return None


def _sounds_like_problem(sounds_like: str) -> str | None:
    if any(c.isspace() for c in sounds_like):
        return "contains a space; separate syllables with hyphens"
    if any(not s for s in sounds_like.split("-")):
        return "hyphens may only join two syllables"
    if any(not (c.isalpha() or c in "-'" or unicodedata.category(c).startswith("M")) for c in sounds_like):
        return "use letters only, syllables separated by hyphens"
    return None


def _term_char(c: str) -> bool:
    """Letters of any script (with combining marks), and the punctuation the character sets allow."""
    return c.isalpha() or c in ".-'’" or unicodedata.category(c).startswith("M")


def _decode_lines(data: bytes, what: str) -> list[tuple[int, str]]:
    """(1-based line number, line without its end) of a UTF-8 file of at most 50 KB."""
    if len(data) > MAX_FILE_BYTES:
        raise VocabularyTableError(TOO_LARGE.format(what=what))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise VocabularyTableError(NOT_UTF8.format(what=what)) from None
    return list(enumerate(text.splitlines(), start=1))


# --- vocabulary filters -------------------------------------------------------------------


def parse_filter_file(data: bytes) -> list[str]:
    """A vocabulary filter file (one word per line, UTF-8) as its words.

    Blank lines are skipped and surrounding whitespace is dropped. Raises VocabularyTableError.
    """
    return normalise_filter_words([line for _, line in _decode_lines(data, "vocabulary filter") if line.strip()])


def normalise_filter_words(words: list[str]) -> list[str]:
    """The `Words` member (or a file's lines): stripped, duplicates (ignoring case) dropped.

    Raises VocabularyTableError for an empty list, an empty word or one over 256 characters.
    """
    out: list[str] = []
    seen: set[str] = set()
    for word in words:
        word = word.strip()
        if not word:
            raise VocabularyTableError(f"{NO_WORDS} An entry is empty or only whitespace.")
        if len(word) > MAX_TERM_CHARS:
            raise VocabularyTableError(
                f"The vocabulary filter word {word[:40]!r}... is longer than {MAX_TERM_CHARS} characters. "
                "Shorten it and try your request again."
            )
        if word.casefold() not in seen:
            seen.add(word.casefold())
            out.append(word)
    if not out:
        raise VocabularyTableError(NO_WORDS)
    return out


def filter_file_text(words: list[str]) -> str:
    """The word list that a filter's DownloadUri serves: one word per line."""
    return "".join(f"{word}\n" for word in words)
