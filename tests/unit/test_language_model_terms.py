"""The domain prompt of a custom language model: words, sentences, BPE rarity, distinctive terms,
and the prompt itself, with the real tokenizer of the catalog's English model (tiny.en)."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer

from emulator.engine.prompt_mining import (
    BpeRarity,
    build_prompt,
    distinctive_terms,
    representative_sentences,
    split_sentences,
    words,
)
from emulator.service.language_models import TrainingDataError, check_plain_text
from emulator.storage.models import ModelStore
from tests.support import CARD_GAMES

FUNCTION_WORDS = {"the", "of", "and", "a", "to", "in", "is", "you", "that", "it"}


@pytest.fixture(scope="module")
def rarity(tmp_path_factory) -> BpeRarity:
    model_dir = ModelStore(tmp_path_factory.mktemp("models")).resolve("tiny.en")
    return BpeRarity(Tokenizer.from_file(str(model_dir / "tokenizer.json")))


# --- words and sentences -----------------------------------------------------------------------


def test_words_keep_inner_apostrophes_hyphens_and_combining_marks():
    assert words("Don't follow-up 42 times: Ärzte, 'quoted' -- dash") == [
        "Don't", "follow-up", "times", "Ärzte", "quoted", "dash"
    ]
    # Devanagari vowel signs are combining marks, not letters: a word must not break at them.
    assert words("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]


def test_sentences_split_at_final_punctuation_and_lines():
    text = "One two three. Four five!  Six\nseven 7.5 percent\n\n東京に行きます。大阪も。"
    assert split_sentences(text) == [
        "One two three.", "Four five!", "Six", "seven 7.5 percent", "東京に行きます。", "大阪も。"
    ]


# --- rarity ------------------------------------------------------------------------------------


def test_common_words_rank_before_domain_words_before_split_words(rarity):
    assert rarity.rank("the") < rarity.rank("of") < 100
    assert 100 < rarity.rank("clubs") < rarity.whole_words  # one vocabulary token
    # " spades" is " sp" + "ades": rarer than any whole-word token, by its number of pieces.
    assert rarity.rank("spades") == 2 * rarity.whole_words
    assert rarity.rank("Kubernetes") == rarity.count_tokens("Kubernetes") * rarity.whole_words > rarity.rank("spades")


def test_case_variants_are_one_word(rarity):
    assert rarity.rank("Queen") == rarity.rank("queen") == rarity.rank("QUEEN")


# --- distinctive terms -------------------------------------------------------------------------


def test_card_text_yields_the_suits_and_court_cards_first(rarity):
    terms = distinctive_terms(CARD_GAMES, rarity)
    top = [t.text for t in terms[:7]]
    assert set(top) == {"clubs", "hearts", "spades", "diamonds", "queen", "ace", "spade"}
    assert top[0] == "clubs"  # the most frequent of them
    assert not FUNCTION_WORDS & {t.text.lower() for t in terms}
    assert all(t.score > 0 and t.count >= 2 for t in terms)
    assert [t.score for t in terms] == sorted((t.score for t in terms), reverse=True)


def test_words_at_their_everyday_rate_are_not_terms(rarity):
    everyday = (
        "We went to the shop in the morning and bought some bread. Then we walked home "
        "and had breakfast together. After that we read the news and talked about the weather."
    )
    assert distinctive_terms(everyday, rarity) == []


def test_a_rarer_word_outscores_a_commoner_one_at_the_same_count(rarity):
    text = "The clubs and the spades. The clubs and the spades."
    by_text = {t.text: t for t in distinctive_terms(text, rarity)}
    assert by_text["spades"].count == by_text["clubs"].count == 2
    assert by_text["spades"].rank > by_text["clubs"].rank
    assert by_text["spades"].score > by_text["clubs"].score


def test_a_term_keeps_its_most_frequent_spelling(rarity):
    text = "Kubernetes runs pods. Kubernetes schedules pods. The kubernetes API serves pods."
    by_text = {t.text.lower(): t for t in distinctive_terms(text, rarity)}
    assert by_text["kubernetes"].text == "Kubernetes"
    assert by_text["kubernetes"].count == 3


def test_a_word_seen_once_is_not_a_term(rarity):
    assert distinctive_terms("Diamonds are trumps.", rarity) == []
    assert [t.text for t in distinctive_terms("Diamonds are trumps. Diamonds are trumps.", rarity)] == [
        "trumps", "Diamonds"
    ]


# --- the prompt --------------------------------------------------------------------------------


def test_prompt_is_sentences_in_text_order_after_the_terms_they_miss(rarity):
    domain = build_prompt(CARD_GAMES, rarity)
    assert 0 < rarity.count_tokens(domain.prompt) <= 200
    assert domain.prompt == " ".join([", ".join(domain.listed) + ".", *domain.sentences])
    # The data's own sentences, in the data's order, carrying the best terms in context.
    order = [split_sentences(CARD_GAMES).index(s) for s in domain.sentences]
    assert order == sorted(order)
    in_sentences = {w.lower() for s in domain.sentences for w in words(s)}
    assert {"clubs", "hearts", "spades", "diamonds", "queen", "ace", "king", "jack"} <= in_sentences
    # Only the terms the sentences miss are listed.
    assert domain.listed and not in_sentences & set(domain.listed)
    assert set(domain.listed) <= {t.text for t in domain.terms}


def test_a_small_budget_is_respected(rarity):
    domain = build_prompt(CARD_GAMES, rarity, max_tokens=40)
    assert rarity.count_tokens(domain.prompt) <= 40
    assert len(domain.sentences) == 1
    # The best terms the one sentence lacks, best first.
    assert domain.listed[:3] == ("queen", "ace", "spade")


def test_at_most_max_terms_are_listed(rarity):
    tuning = "Four of clubs. Seven of hearts. Queen of clubs."
    assert len(build_prompt(CARD_GAMES, rarity, tuning_text=tuning).listed) == 10
    assert build_prompt(CARD_GAMES, rarity, tuning_text=tuning, max_terms=3).listed == ("spades", "diamonds", "ace")


def test_sentences_come_from_the_tuning_text_when_given(rarity):
    tuning = "Seven of clubs. Four of hearts. Queen of spades."
    domain = build_prompt(CARD_GAMES, rarity, tuning_text=tuning)
    assert domain.sentences == ("Seven of clubs.", "Four of hearts.", "Queen of spades.")


def test_selection_spreads_over_the_terms(rarity):
    terms = distinctive_terms(CARD_GAMES, rarity)
    sentences = ["Clubs, clubs and clubs.", "Clubs, clubs and more clubs.", "Hearts and diamonds and spades."]
    chosen = representative_sentences(sentences, terms, rarity.count_tokens, budget=16)
    assert "Hearts and diamonds and spades." in chosen and len(chosen) == 2


def test_text_without_distinctive_words_gives_an_empty_prompt(rarity):
    assert build_prompt("We went to the shop and then we walked home.", rarity).prompt == ""


# --- data files --------------------------------------------------------------------------------


def test_plain_text_rules():
    uri = "s3://bucket/data.txt"
    assert check_plain_text("\ufeffclubs and spades\r\n".encode(), uri) == "clubs and spades\r\n"
    for data, wording in (
        (b"\xff\xfeclubs", "isn't plain text with UTF-8 encoding"),
        (b"clubs\x00spades", "isn't plain text with UTF-8 encoding"),
        (b"<p>clubs</p>", "contains formatting such as HTML tags"),
    ):
        with pytest.raises(TrainingDataError) as err:
            check_plain_text(data, uri)
        assert str(err.value).startswith(f"The file {uri} {wording}")
    assert check_plain_text(b"a < b and c > d", uri) == "a < b and c > d"  # not a tag
