"""API key endpoints: create, get, query, update, bulk update, invalidate, and the cross-cluster variants.

Each view checks the request's shape (parameters, body fields and their types) with ES's messages, then
makes one service call; who may do what to which key is decided in services.api_keys (commands, visibility,
es_query.search).
"""

from webapp.api.blueprint import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import (
    ANY,
    ARRAY,
    BOOLEAN,
    INT,
    OBJECT,
    OBJECT_OR_NULL,
    STRING,
    STRING_ARRAY,
    bad_request,
    bool_param,
    check_params,
    json_body,
    parse_object,
    refresh_param,
    string_param,
)
from webapp.errors import ValidationFailed
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys.checks import require_cross_cluster_license, selector_problems
from webapp.services.api_keys.es_query import search as key_query
from webapp.services.api_keys.grant import Grant, grant_api_key
from webapp.web import throttle
from webapp.web.caching import keep_out_of_caches
from webapp.web.guard import current_subject, requires

CREATE_FIELDS = {"name": STRING, "expiration": STRING, "role_descriptors": ANY, "metadata": OBJECT_OR_NULL}
UPDATE_FIELDS = {"role_descriptors": ANY, "metadata": OBJECT_OR_NULL, "expiration": STRING}
BULK_FIELDS = {"ids": STRING_ARRAY, **UPDATE_FIELDS}
CC_CREATE_FIELDS = {"name": STRING, "access": ANY, "expiration": STRING, "metadata": OBJECT_OR_NULL,
                    "certificate_identity": ANY}
CC_UPDATE_FIELDS = {"access": ANY, "metadata": OBJECT_OR_NULL, "expiration": STRING, "certificate_identity": ANY}
INVALIDATE_FIELDS = {"ids": STRING_ARRAY, "id": STRING, "name": STRING, "username": STRING, "realm_name": STRING,
                     "owner": BOOLEAN}
GRANT_FIELDS = {"grant_type": STRING, "username": STRING, "password": STRING, "access_token": STRING,
                "run_as": STRING, "client_authentication": OBJECT, "api_key": OBJECT}
QUERY_FIELDS = {"query": OBJECT, "aggs": OBJECT, "aggregations": OBJECT, "from": INT, "size": INT, "sort": ANY,
                "search_after": ARRAY}


def _secret_answer(created):
    """The answer carrying a new key's secret: kept out of every cache, as the keys page's panel is."""
    return keep_out_of_caches(answer(created.to_json()))


def _no_certificate_identity(fields):
    if fields.get("certificate_identity") is not None:
        raise bad_request("[certificate_identity] is not supported: Keydesk's cross-cluster keys don't carry a "
                          "certificate identity")


@bp.route("/_security/api_key", methods=["POST", "PUT"])
@requires()
def create_api_key():
    """200 with {id, name, expiration?, api_key, encoded}: the only time the secret is shown (no-store)."""
    check_params("refresh")
    refresh_param()
    fields = parse_object(json_body(required=True), "api_key_request", CREATE_FIELDS)
    created = api_keys.create_api_key(current_subject(), name=fields.get("name"),
                                      role_descriptors=fields.get("role_descriptors"),
                                      expiration=fields.get("expiration"), metadata=fields.get("metadata"))
    return _secret_answer(created)


@bp.post("/_security/api_key/grant")
@requires()
def grant_api_key_view():
    """200 with {id, name, expiration?, api_key, encoded} (no-store): a key for the user the grant names."""
    check_params("refresh")
    refresh_param()
    fields = parse_object(json_body(required=True), "grant_api_key_request", GRANT_FIELDS)
    key = parse_object(fields.get("api_key") or {}, "api_key_request", CREATE_FIELDS)
    grant = Grant(**{name: fields.get(name) for name in ("grant_type", "username", "password", "access_token",
                                                         "run_as", "client_authentication")})
    created = grant_api_key(current_subject(), grant, name=key.get("name"),
                            role_descriptors=key.get("role_descriptors"), expiration=key.get("expiration"),
                            metadata=key.get("metadata"), before_password_check=throttle.password_in_body)
    return _secret_answer(created)


@bp.get("/_security/api_key")
@requires()
def get_api_keys():
    """200 with {api_keys: [...]}; 404 (same shape) when an `id` was asked for and not found."""
    check_params("id", "name", "username", "realm_name", "owner", "active_only", "with_limited_by",
                 "with_profile_uid")
    if json_body() is not None:
        raise bad_request("request [GET /_security/api_key] does not support having a body")
    key_id = string_param("id")
    found = key_query.get_api_keys(
        current_subject(), key_id=key_id, name=string_param("name"), username=string_param("username"),
        realm_name=string_param("realm_name"), owner=bool_param("owner"), active_only=bool_param("active_only"),
        with_limited_by=bool_param("with_limited_by"))
    bool_param("with_profile_uid")
    return answer({"api_keys": found}, 404 if key_id and not found else 200)


@bp.route("/_security/_query/api_key", methods=["GET", "POST"])
@requires()
def query_api_keys():
    """200 with {total, count, api_keys[, aggregations]}."""
    check_params("with_limited_by", "with_profile_uid", "typed_keys", "sort")
    fields = parse_object(json_body(), "query_api_key_request_payload", QUERY_FIELDS)
    if "aggs" in fields and "aggregations" in fields:
        raise bad_request("Duplicate 'aggs' or 'aggregations' field")
    sort = fields.get("sort")
    if sort is None and string_param("sort"):
        sort = key_query.sort_from_param(string_param("sort"))
    bool_param("with_profile_uid")
    result = key_query.query_api_keys(
        current_subject(), query=fields.get("query"), aggs=fields.get("aggs", fields.get("aggregations")),
        from_=fields.get("from"), size=fields.get("size"), sort=sort, search_after=fields.get("search_after"),
        with_limited_by=bool_param("with_limited_by"), typed_keys=bool_param("typed_keys"))
    return answer(result)


def _update_arguments(fields):
    """Only what the request names: an absent (or null) field leaves that part of the key unchanged."""
    return {name: fields[name] for name in ("role_descriptors", "metadata", "expiration", "access")
            if fields.get(name) is not None}


@bp.put("/_security/api_key/<key_id>")
@requires()
def update_api_key(key_id):
    """200 with {updated: true|false} (false: nothing changed)."""
    check_params()
    fields = parse_object(json_body(), "update_api_key_request_payload", UPDATE_FIELDS)
    updated = api_keys.update_api_key(current_subject(), key_id, **_update_arguments(fields))
    return answer({"updated": updated})


@bp.post("/_security/api_key/_bulk_update")
@requires()
def bulk_update_api_keys():
    """200 with {updated: [...], noops: [...], errors?: {count, details}}."""
    check_params()
    fields = parse_object(json_body(required=True), "bulk_update_api_key_request_payload", BULK_FIELDS,
                          required=("ids",))
    if not fields["ids"]:
        raise ValidationFailed(["Field [ids] cannot be empty"])
    result = api_keys.bulk_update_api_keys(current_subject(), fields["ids"], **_update_arguments(fields))
    return answer(result)


@bp.delete("/_security/api_key")
@requires()
def invalidate_api_keys():
    """200 with {invalidated_api_keys, previously_invalidated_api_keys, error_count, error_details?}."""
    check_params()
    fields = parse_object(json_body(required=True), "invalidate_api_key", INVALIDATE_FIELDS)
    ids = _invalidate_ids(fields)
    result = api_keys.invalidate_api_keys(
        current_subject(), ids=ids, name=fields.get("name") or None, username=fields.get("username") or None,
        realm_name=fields.get("realm_name") or None, owner=fields.get("owner", False))
    return answer(result)


def _invalidate_ids(fields):
    """The ids to invalidate, after ES's checks of how `ids`, `id`, `name`, `username`, `realm_name` and
    `owner` may be combined."""
    if "id" in fields and "ids" in fields:
        raise bad_request("Must use either [id] or [ids], not both at the same time")
    ids = fields.get("ids")
    if fields.get("id"):
        ids = [fields["id"]]
    problems = []
    if ids is not None:
        if not ids:
            problems.append("Field [ids] cannot be an empty array")
        blank = [str(number) for number, value in enumerate(ids) if not value.strip()]
        if blank:
            noun = "id" if len(blank) == 1 else "ids"
            where = "position" if len(blank) == 1 else "positions"
            problems.append(f"Field [ids] must not contain blank id, but got blank {noun} at index {where}: "
                            f"[{', '.join(blank)}]")
    name, username, realm = fields.get("name"), fields.get("username"), fields.get("realm_name")
    owner = fields.get("owner", False)
    if not (ids or name or username or realm or owner):
        problems.append("One of [api key id(s), api key name, username, realm name] must be specified if "
                        "[owner] flag is false")
    problems += selector_problems(by_id=bool(ids), name=name, username=username, realm_name=realm, owner=owner,
                                  plural=True)
    if problems:
        raise ValidationFailed(problems)
    return ids


@bp.post("/_security/cross_cluster/api_key")
@requires()
def create_cross_cluster_api_key():
    """200 with {id, name, expiration?, api_key, encoded} (no-store); enterprise or trial license only."""
    check_params()
    require_cross_cluster_license()  # ES checks the license before reading the request
    fields = parse_object(json_body(required=True), "cross_cluster_api_key_request", CC_CREATE_FIELDS)
    _no_certificate_identity(fields)
    if "access" not in fields:
        raise ValidationFailed(["access is required"])
    created = api_keys.create_cross_cluster_api_key(
        current_subject(), name=fields.get("name"), access=fields["access"], expiration=fields.get("expiration"),
        metadata=fields.get("metadata"))
    return _secret_answer(created)


@bp.put("/_security/cross_cluster/api_key/<key_id>")
@requires()
def update_cross_cluster_api_key(key_id):
    """200 with {updated: true|false}; enterprise or trial license only."""
    check_params()
    require_cross_cluster_license()
    fields = parse_object(json_body(), "update_cross_cluster_api_key_request_payload", CC_UPDATE_FIELDS)
    _no_certificate_identity(fields)
    if not any(name in fields for name in ("access", "metadata", "expiration")):
        raise ValidationFailed(["must update either [access] or [metadata] or [expiration] for cross-cluster "
                                "API keys"])
    updated = api_keys.update_api_key(current_subject(), key_id, expected_type="cross_cluster",
                                      **_update_arguments(fields))
    return answer({"updated": updated})
