"""The keys page's search box: terms, quoting, and the messages for what it can't read."""

import pytest

from webapp.errors import ValidationFailed
from webapp.services.api_keys import criteria as key_terms

# ---- the search box -----------------------------------------------------------------------------------

def test_free_text_fields_and_quotes():
    terms = key_terms.parse_search('deploy name:"ci job" owner:alice type:cross_cluster status:Expired "two words"')
    assert terms.text == ("deploy", "two words")
    assert terms.names == ("ci job",)
    assert terms.owners == ("alice",)
    assert terms.types == ("cross-cluster",)
    assert terms.statuses == ("expired",)
    assert terms.any


def test_short_substrings_are_searched_like_longer_ones():
    terms = key_terms.parse_search("db name:x owner:al")
    assert terms.text == ("db",) and terms.names == ("x",)
    assert terms.owners == ("al",)


@pytest.mark.parametrize("text, message", [
    ("colour:red", '"colour:" is not something you can search by. Use name:, owner:, type: or status:, or put '
                   "text that contains a colon in double quotes."),
    ("name:", '"name:" needs a value, for example name:deploy.'),
    ('owner:""', '"owner:" needs a value, for example owner:alice.'),
    ("type:robot", '"robot" is not a key type. Use type:personal, type:cross-cluster or type:managed.'),
    ("status:asleep", '"asleep" is not a status. Use status:active, status:expiring, status:expiring-30d, '
                      "status:expired or status:invalidated."),
    ('name:"open', "A quotation mark is not closed."),
    ("x" * 501, "The search is too long: keep it under 500 characters."),
    ("abc\x00def", "The search can't contain control characters."),
])
def test_bad_terms_have_clear_messages(text, message):
    with pytest.raises(ValidationFailed) as caught:
        key_terms.parse_search(text)
    assert caught.value.fields == {"q": message}


def test_a_colon_inside_quotes_is_text():
    assert key_terms.parse_search('"Alerting: rule"').text == ("Alerting: rule",)


@pytest.mark.parametrize("status, terms, effective", [
    ("expiring-30d", "", "expiring-30d"),
    ("active", "status:expiring-30d", "expiring-30d"),  # keys expiring within 30 days are active too
    ("expiring-30d", "status:expiring", "expiring"),  # ... and those within 7 days are within 30
    ("active", "status:expiring status:expiring-30d", "expiring"),
    ("expiring-30d", "status:expired", False),  # nothing is both
])
def test_the_expiring_statuses_nest_and_the_narrowest_wins(status, terms, effective):
    criteria = key_terms.KeyCriteria(terms=key_terms.parse_search(terms), status=status)
    assert criteria.effective_status == effective
