"""A real Keydesk server for the official Elasticsearch client: gunicorn with 2 workers on a free local port.

The database is a fresh SQLite file (or, under KEYDESK_TEST_DATABASE_URL, the test PostgreSQL database,
emptied first), initialised with `flask --app wsgi init-db` as an operator would.
"""

import pytest
from elasticsearch import Elasticsearch

from tests.conftest import ELASTIC_PASSWORD
from tests.live_keydesk import live_keydesk


@pytest.fixture(scope="package")
def server(tmp_path_factory):
    """The base URL of a running Keydesk (gunicorn -w 2 wsgi:app), stopped when the package's tests end."""
    with live_keydesk(tmp_path_factory.mktemp("es-client-instance"), "es-client-tests") as (base_url, _):
        yield base_url


@pytest.fixture(scope="package")
def elastic(server):
    """The official client, signed in as the reserved superuser with Basic credentials."""
    client = Elasticsearch(server, basic_auth=("elastic", ELASTIC_PASSWORD), request_timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="package")
def connect(server):
    """connect(basic_auth=(u, p)) or connect(api_key=encoded): another official client for the same server."""
    clients = []

    def make(**credentials):
        client = Elasticsearch(server, request_timeout=30, **credentials)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
