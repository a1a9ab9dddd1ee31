"""Every state-changing HTML route refuses a request without a valid CSRF token (enumerated from url_map)."""

import re

import pytest

from tests.conftest import count
from tests.integration.test_authorization_matrix import DUMMY_VALUES

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False}


def _state_changing_html_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") or rule.endpoint == "static":
            continue
        for method in sorted(rule.methods & STATE_CHANGING):
            values = {arg: DUMMY_VALUES.get(arg, "x") for arg in rule.arguments}
            url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m, values=values: values[m.group(1)], rule.rule)
            yield rule.endpoint, method, url


def test_there_are_state_changing_routes_to_check(app):
    assert len(list(_state_changing_html_routes(app))) >= 2


@pytest.mark.parametrize("token_header", [None, "not-a-real-token", "ImFiYyI.Zz9aQw.wrong-signature"])
def test_state_changing_routes_refuse_missing_or_wrong_tokens(app, auth, client, token_header):
    auth.login()
    failures = []
    for endpoint, method, url in _state_changing_html_routes(app):
        for as_htmx in (False, True):
            headers = {"HX-Request": "true"} if as_htmx else {}
            data = {}
            if token_header is not None:
                headers["X-CSRFToken"] = token_header
                data["csrf_token"] = token_header
            response = client.open(url, method=method, headers=headers, data=data)
            count("CSRF: state-changing requests sent without a valid token")
            body = response.get_data(as_text=True)
            if response.status_code != 400 or "CSRF" not in body:
                failures.append((endpoint, method, as_htmx, response.status_code))
    assert failures == []
    assert client.get("/account/").status_code == 200  # still signed in: logout was refused too


def test_the_json_api_needs_no_token_but_ignores_the_session(app, auth, client):
    auth.login()
    assert client.get("/_security/_authenticate").status_code == 401
