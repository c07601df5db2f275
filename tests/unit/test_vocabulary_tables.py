"""Custom vocabulary tables, phrase lists and filter word lists (formats: AWS Developer Guide)."""

import pytest

from emulator.service.vocabulary_tables import (
    INVALID_HEADERS,
    INVALID_TERMS,
    MAX_FILE_BYTES,
    Vocabulary,
    VocabularyEntry,
    VocabularyTableError,
    filter_file_text,
    normalise_filter_words,
    parse_filter_file,
    parse_phrases,
    parse_table,
)


def table(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def reason(fn, *args) -> str:
    with pytest.raises(VocabularyTableError) as err:
        fn(*args)
    return err.value.reason


# --- tables ---------------------------------------------------------------------------------


def test_full_table_from_the_aws_guide():
    vocabulary = parse_table(
        table(
            "Phrase\tSoundsLike\tIPA\tDisplayAs",
            "Los-Angeles\t\t\tLos Angeles",
            "F.B.I.\t\t\tFBI",
            "Etienne\teh-tee-en\t\t",
            "Andorra-la-Vella\t\tæ n d ɔ ɹ ə l ə v ɛ l ə\tAndorra la Vella",
        )
    )
    assert vocabulary.entries == (
        VocabularyEntry("Los Angeles", display_as="Los Angeles"),
        VocabularyEntry("F.B.I.", display_as="FBI"),
        VocabularyEntry("Etienne", sounds_like=("eh", "tee", "en")),
        VocabularyEntry("Andorra la Vella", ipa="æ n d ɔ ɹ ə l ə v ɛ l ə", display_as="Andorra la Vella"),
    )
    assert vocabulary.entries[0].words == ("Los", "Angeles")


def test_columns_in_any_order_and_a_subset():
    vocabulary = parse_table(table("DisplayAs\tPhrase", "AWS\tA.W.S.", "\tKubernetes"))
    assert vocabulary.entries == (
        VocabularyEntry("A.W.S.", display_as="AWS"),
        VocabularyEntry("Kubernetes"),
    )
    assert parse_table(table("Phrase", "Kubernetes", "Dynamo-D.B.")).phrases() == ["Kubernetes", "Dynamo D.B."]


def test_crlf_bom_and_blank_lines_are_tolerated():
    data = "\ufeffPhrase\tDisplayAs\r\nLos-Angeles\tLA\r\n\r\n".encode()
    assert parse_table(data).entries == (VocabularyEntry("Los Angeles", display_as="LA"),)


def test_comma_delimited_table():
    assert parse_table(table("Phrase,IPA,SoundsLike,DisplayAs", "Los-Angeles,,,L.A.")).entries == (
        VocabularyEntry("Los Angeles", display_as="L.A."),
    )


@pytest.mark.parametrize(
    "header",
    ["Phrase\tSoundsLike\tIPA\tDisplay", "phrase\tDisplayAs", "DisplayAs\tIPA", "Phrase\tPhrase", "Los-Angeles"],
)
def test_invalid_headers(header):
    message = reason(parse_table, table(header, "Los-Angeles\tx"))
    assert message.startswith(INVALID_HEADERS)
    assert repr(header) in message


@pytest.mark.parametrize(
    "row, detail",
    [
        ("Los Angeles\t\t\t", "contains a space"),
        ("V.X.-02-Q.\t\t\t", "contains a digit"),
        ("-Hawn\t\t\t", "hyphens may only join two words"),
        ("Los--Angeles\t\t\t", "hyphens may only join two words"),
        ("AT&T\t\t\t", "characters that aren't allowed: &"),
        ("\t\t\tLA", "the phrase is empty"),
        ("Etienne\teh-tee-en\tɛ t j ɛ n\t", "both SoundsLike and IPA"),
        ("Etienne\teh tee en\t\t", "SoundsLike 'eh tee en'"),
        ("Etienne\teh--en\t\t", "two syllables"),
        ("Los-Angeles\t\tLA", "3 fields for 4 columns"),
    ],
)
def test_invalid_rows_fail_with_the_line(row, detail):
    message = reason(parse_table, table("Phrase\tSoundsLike\tIPA\tDisplayAs", "Kubernetes\t\t\t", row))
    assert message.startswith(INVALID_TERMS)
    assert "Line 3:" in message and detail in message


def test_phrase_longer_than_256_characters():
    assert "longer than 256" in reason(parse_table, table("Phrase", "a" * 257))


def test_header_only_table_has_no_entries():
    assert "doesn't contain any entries" in reason(parse_table, table("Phrase\tDisplayAs"))
    assert "doesn't contain any entries" in reason(parse_table, b"")


def test_file_over_50_kb():
    data = table("Phrase", *(["Kubernetes"] * (MAX_FILE_BYTES // 10)))
    assert "too large" in reason(parse_table, data)


def test_not_utf8():
    assert "UTF-8" in reason(parse_table, "Phrase\nÉtienne\n".encode("latin-1"))


def test_accented_and_non_latin_letters():
    assert parse_table(table("Phrase", "déjà-vu", "東京", "O'Brien")).phrases() == ["déjà vu", "東京", "O'Brien"]


# --- phrase lists -----------------------------------------------------------------------------


def test_phrases_use_hyphens_for_spaces():
    vocabulary = parse_phrases(["Los-Angeles", "C.L.I.", "Kubernetes"])
    assert vocabulary.phrases() == ["Los Angeles", "C.L.I.", "Kubernetes"]
    assert all(e.display_as is None and not e.sounds_like for e in vocabulary.entries)


def test_invalid_phrase_names_its_position():
    message = reason(parse_phrases, ["Kubernetes", "Los Angeles"])
    assert message.startswith(INVALID_TERMS)
    assert "Phrase 2 ('Los Angeles')" in message


def test_no_phrases():
    assert "doesn't contain any entries" in reason(parse_phrases, [])


# --- serialisation ----------------------------------------------------------------------------


def test_normalised_table_round_trips():
    original = parse_table(
        table("DisplayAs\tPhrase\tSoundsLike", "Los Angeles\tLos-Angeles\t", "\tEtienne\teh-tee-en")
    )
    text = original.to_table()
    assert text.splitlines() == [
        "Phrase\tIPA\tSoundsLike\tDisplayAs",
        "Los-Angeles\t\t\tLos Angeles",
        "Etienne\t\teh-tee-en\t",
    ]
    assert parse_table(text.encode()) == original


def test_json_round_trip():
    original = parse_table(table("Phrase\tIPA\tDisplayAs", "Andorra-la-Vella\tæ n d\tAndorra la Vella", "AWS\t\t"))
    assert Vocabulary.from_json(original.to_json()) == original


# --- vocabulary filter words ------------------------------------------------------------------


def test_filter_file_one_word_per_line():
    assert parse_filter_file("\ufeffdarn\r\n  heck \n\nDarn\ngood grief\n".encode()) == ["darn", "heck", "good grief"]


def test_filter_file_errors():
    assert "doesn't contain any words" in reason(parse_filter_file, b"\n \n")
    assert "UTF-8" in reason(parse_filter_file, b"\xff\xfe")
    assert "too large" in reason(parse_filter_file, b"x\n" * (MAX_FILE_BYTES // 2 + 1))


def test_filter_words_member():
    assert normalise_filter_words(["darn", " heck", "DARN"]) == ["darn", "heck"]
    assert "empty" in reason(normalise_filter_words, ["darn", " "])
    assert "longer than 256" in reason(normalise_filter_words, ["x" * 257])


def test_filter_file_text():
    assert filter_file_text(["darn", "heck"]) == "darn\nheck\n"
    assert parse_filter_file(filter_file_text(["darn", "heck"]).encode()) == ["darn", "heck"]


def test_a_phrase_list_over_50_kb_is_refused_before_it_is_parsed():
    from emulator.service.vocabulary_tables import MAX_FILE_BYTES, check_list_size

    check_list_size(["a" * 99] * (MAX_FILE_BYTES // 100), "vocabulary", "Phrases")  # exactly 50 KB
    with pytest.raises(VocabularyTableError, match="50 KB"):
        check_list_size(["a" * 99] * (MAX_FILE_BYTES // 100 + 1), "vocabulary", "Phrases")
    endless = iter(lambda: "é" * 10, None)  # a generator that never ends: counting must stop
    with pytest.raises(VocabularyTableError, match="Phrases"):
        check_list_size(endless, "vocabulary", "Phrases")
