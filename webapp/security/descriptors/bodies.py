"""Request bodies built from index entries: cross-cluster `access`, and `_has_privileges` checks."""

from collections.abc import Mapping, Sequence

from webapp.security.application_privileges import application_name_problem
from webapp.security.descriptors.fields import (
    ILLEGAL_ARGUMENT,
    X_CONTENT_PARSE,
    DescriptorError,
    expect_entry_object,
    parse_array_of,
    parse_error,
    parse_index_entry,
    read_string_array,
    token,
    uses_document_or_field_level_security,
    uses_field_level_security,
    validation_error,
)

CROSS_CLUSTER_ROLE = "cross_cluster"
SEARCH_CLUSTER_PRIVILEGES = ("cross_cluster_search", "monitor_enrich")
REPLICATION_CLUSTER_PRIVILEGES = ("cross_cluster_replication",)
SEARCH_INDEX_PRIVILEGES = ("read", "read_cross_cluster", "view_index_metadata")
REPLICATION_INDEX_PRIVILEGES = ("cross_cluster_replication", "cross_cluster_replication_internal")
_ACCESS_PARSER = "cross_cluster_api_key_request_access"
_FIXED = {"search": SEARCH_INDEX_PRIVILEGES, "replication": REPLICATION_INDEX_PRIVILEGES}


def parse_access(body: object) -> dict:
    """The `access` of a cross-cluster API key, normalized: {"search": [...], "replication": [...]}.

    Entries take `names` (required), `allow_restricted_indices`, and for search also `field_security` and
    `query`; privileges are fixed and may not be given. At least one non-empty list is required, and
    document/field level security is refused when replication is present.
    """
    if not isinstance(body, dict):
        raise parse_error("[cross_cluster_api_key_request] access doesn't support values of type: "
                          f"{token(body)}", "access", type=X_CONTENT_PARSE)
    access = {}
    for key, value in body.items():
        if key not in _FIXED:
            raise parse_error(f"[{_ACCESS_PARSER}] unknown field [{key}]", f"access.{key}",
                              type=X_CONTENT_PARSE)
        if isinstance(value, dict):
            value = [value]  # Elasticsearch's object-array fields also take a single object
        if not isinstance(value, list):
            raise parse_error(f"[{_ACCESS_PARSER}] {key} doesn't support values of type: {token(value)}",
                              f"access.{key}", type=X_CONTENT_PARSE)
        entries = []
        for number, entry in enumerate(value):
            try:
                parsed = parse_index_entry(CROSS_CLUSTER_ROLE, entry, key, f"access.{key}[{number}]",
                                           fixed_privileges=_FIXED[key])
            except DescriptorError as error:
                raise DescriptorError(X_CONTENT_PARSE, f"[{_ACCESS_PARSER}] failed to parse field [{key}]",
                                      field=error.field, caused_by=error) from None
            parsed.pop("privileges")
            entries.append(parsed)
        access[key] = entries
    search, replication = access.get("search") or [], access.get("replication") or []
    if not search and not replication:
        raise parse_error("must specify non-empty access for either [search] or [replication]", "access",
                          type=ILLEGAL_ARGUMENT)
    if search and replication and any(uses_document_or_field_level_security(entry) for entry in search):
        raise parse_error("search does not support document or field level security if replication is "
                          "assigned", "access.search", type=ILLEGAL_ARGUMENT)
    if any(uses_document_or_field_level_security(entry) for entry in replication):
        raise parse_error("replication does not support document or field level security",
                          "access.replication", type=ILLEGAL_ARGUMENT)
    return {key: access[key] for key in ("search", "replication") if access.get(key)}


def access_to_role_descriptor(access: Mapping[str, Sequence[Mapping[str, object]]]) -> dict:
    """The single `cross_cluster` role descriptor Elasticsearch stores for a cross-cluster key's access."""
    search, replication = access.get("search") or [], access.get("replication") or []
    if search and replication:
        cluster = SEARCH_CLUSTER_PRIVILEGES + REPLICATION_CLUSTER_PRIVILEGES
    elif search:
        cluster = SEARCH_CLUSTER_PRIVILEGES
    else:
        cluster = REPLICATION_CLUSTER_PRIVILEGES
    indices = []
    groups = ((search, SEARCH_INDEX_PRIVILEGES), (replication, REPLICATION_INDEX_PRIVILEGES))
    for entries, privileges in groups:
        for entry in entries:
            index = {"names": list(entry["names"]), "privileges": list(privileges)}
            if "field_security" in entry:
                index["field_security"] = entry["field_security"]
            if "query" in entry:
                index["query"] = entry["query"]
            index["allow_restricted_indices"] = bool(entry.get("allow_restricted_indices", False))
            indices.append(index)
    return {"cluster": list(cluster), "indices": indices, "applications": [], "run_as": [], "metadata": {},
            "transient_metadata": {"enabled": True}}


def parse_has_privileges_request(body: object, *, username: str = "_") -> dict:
    """The body of `_has_privileges`: {"cluster": [...], "index": [...], "application": [...]}.

    `username` names the check in Elasticsearch's messages ("failed to parse privileges check [alice]").
    """
    prefix = f"failed to parse privileges check [{username}]"
    if not isinstance(body, dict):
        raise parse_error(f"{prefix}. expected an object but found [{token(body)}] instead")
    request = {}
    for key, value in body.items():
        if key == "cluster":
            cluster = read_string_array(prefix, key, value, allow_null=True, field=key)
            if cluster is not None:
                request["cluster"] = cluster
        elif key == "index":
            request["index"] = parse_array_of(username, value, key, key, "indices privileges",
                                              parse_index_entry)
        elif key in ("application", "applications"):
            request["application"] = parse_array_of(username, value, key, "application",
                                                    "application privileges", _application_check)
        else:
            raise parse_error(f"{prefix}. unexpected field [{key}]", key)
    if not request:
        raise parse_error(f"{prefix}. All privilege fields [cluster,index,application] are missing")
    for entry in request.get("index", ()):
        if uses_field_level_security(entry):
            raise parse_error("Field [field_security] is not supported in a has_privileges request", "index")
        if entry.get("query") is not None:
            raise parse_error("Field [query] is not supported in a has_privileges request", "index")
    request = {"cluster": request.get("cluster", []), "index": request.get("index", []),
               "application": request.get("application", [])}
    if not request["cluster"] and not request["index"] and not request["application"]:
        raise validation_error([(None, "must specify at least one privilege")])
    return request


def _application_check(username, entry, list_field, path):
    expect_entry_object("application privileges", username, entry, list_field, path)
    for key in entry:
        if key not in ("application", "privileges", "resources"):
            raise parse_error(f"[application] unknown field [{key}]", f"{path}.{key}", type=X_CONTENT_PARSE)
    checked = {}
    for key in ("resources", "privileges"):
        value = entry.get(key)
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or any(not isinstance(item, str) for item in value):
            raise parse_error(f"failed to parse application privileges for role [{username}]. missing "
                              f"required [{key}] field", f"{path}.{key}")
        checked[key] = value
    application = entry.get("application")
    if not isinstance(application, str) or not application:
        raise parse_error("application privileges must have an application name", f"{path}.application",
                          type=ILLEGAL_ARGUMENT)
    if (problem := application_name_problem(application)):
        raise validation_error([(f"{path}.application", problem)])
    return {"application": application, **{key: checked[key] for key in ("privileges", "resources")}}
