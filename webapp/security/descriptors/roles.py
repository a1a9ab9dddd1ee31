"""Role descriptors: parsed and validated as Elasticsearch does, returned in the shape it returns them.

`parse_role_descriptor` is used for roles (`PUT /_security/role/{name}`) and, with `for_api_key=True`,
for the descriptors of an API key; `parse_role_descriptors` reads an API key's `role_descriptors` object.
Problems raise DescriptorError with Elasticsearch's type and message, never anything else.
"""

from collections.abc import Container, Mapping

from webapp.security.descriptors.applications import application_entry_problems
from webapp.security.descriptors.bodies import access_to_role_descriptor, parse_access, parse_has_privileges_request
from webapp.security.descriptors.fields import (
    ILLEGAL_ARGUMENT,
    X_CONTENT_PARSE,
    DescriptorError,
    expect_entry_object,
    format_validation_failed,
    parse_array_of,
    parse_error,
    parse_index_entry,
    read_string_array,
    role_reason,
    string_array_problem,
    token,
    validation_error,
)
from webapp.security.limits import metadata_size_problem
from webapp.security.privileges import (
    REMOTE_CLUSTER_PRIVILEGES,
    is_valid_cluster_privilege,
    is_valid_index_privilege,
    unknown_cluster_privilege_message,
    unknown_index_privilege_message,
)

__all__ = [
    "DescriptorError", "access_to_role_descriptor", "format_validation_failed", "parse_access",
    "parse_has_privileges_request", "parse_role_descriptor", "parse_role_descriptors", "role_name_problem",
    "validate_role_name", "validation_problems",
]

ROLE_NAME_MAX_LENGTH = 507  # native roles: the document id ("role-" + name) is limited to 512 bytes
PARSED_ROLE_NAME_MAX_LENGTH = 1024
DESCRIPTION_MAX_LENGTH = 1000
WORKFLOWS = ("search_application_query", "search_application_analytics")
RESERVED_METADATA_PREFIX = "_"
_PRINTABLE_ASCII = frozenset(chr(code) for code in range(0x20, 0x7F))


# ---------------------------------------------------------------- role names
def role_name_problem(name: object, *, max_length: int = ROLE_NAME_MAX_LENGTH,
                      reserved_names: Container[str] = ()) -> str | None:
    """Elasticsearch's message for an unacceptable role name, or None."""
    if name is None:
        return "role name is missing"
    if (not isinstance(name, str) or not 1 <= len(name) <= max_length
            or any(char not in _PRINTABLE_ASCII for char in name)
            or name.startswith(" ") or name.endswith(" ")):
        return (f"Role names must be at least 1 and no more than {max_length} characters. They can contain "
                "alphanumeric characters (a-z, A-Z, 0-9), spaces, punctuation, and printable symbols in the "
                "Basic Latin (ASCII) block. Leading or trailing whitespace is not allowed.")
    if name in reserved_names:
        return f"Role [{name}] is reserved and may not be used."
    return None


def validate_role_name(name: object, *, max_length: int = ROLE_NAME_MAX_LENGTH,
                       reserved_names: Container[str] = ()) -> None:
    """Raise an action_request_validation_exception for a name `PUT /_security/role/{name}` refuses."""
    problem = role_name_problem(name, max_length=max_length, reserved_names=reserved_names)
    if problem:
        raise validation_error([("name", problem)])


# ---------------------------------------------------------------- one descriptor
def parse_role_descriptor(name: str, body: object, *, for_api_key: bool = False, validate: bool = True,
                          allow_reserved_metadata: bool = False, reserved_names: Container[str] = (),
                          field_prefix: str = "") -> dict[str, object]:
    """The descriptor in Elasticsearch's canonical shape, key order as `GET /_security/role` returns it.

    Roles accept `description` (not `restriction`); API-key descriptors accept `restriction` (not
    `description`). With `validate`, privilege names, metadata keys, workflows and the description length
    are checked too, all problems reported together as Elasticsearch does.
    """
    problem = role_name_problem(name, max_length=PARSED_ROLE_NAME_MAX_LENGTH)
    if problem:
        raise DescriptorError("validation_exception", format_validation_failed([problem]),
                              field=field_prefix.rstrip(".") or "name")
    descriptor = _parse_structure(name, body, for_api_key, field_prefix)
    if validate:
        problems = []
        if not for_api_key:
            name_problem = role_name_problem(name, reserved_names=reserved_names)
            if name_problem:
                problems.append(("name", name_problem))
        problems += validation_problems(descriptor, allow_reserved_metadata=allow_reserved_metadata,
                                        field_prefix=field_prefix)
        if problems:
            raise validation_error(problems)
    return descriptor


def _parse_structure(role, body, for_api_key, prefix):
    if not isinstance(body, dict):
        raise parse_error(f"{role_reason(role)}. expected an object but found [{token(body)}] instead",
                          prefix.rstrip(".") or None)
    parts = {"cluster": [], "global": None, "indices": [], "applications": [], "run_as": [], "metadata": {},
             "remote_indices": None, "remote_cluster": None, "restriction": None, "description": None}
    for key, value in body.items():
        here = prefix + key
        if key == "cluster" or key == "run_as":
            parts[key] = read_string_array(role_reason(role), key, value, allow_null=True, field=here) or []
        elif key in ("indices", "index"):
            parts["indices"] = parse_array_of(role, value, key, prefix + "indices", "indices privileges",
                                              parse_index_entry)
        elif key == "remote_indices":
            parts["remote_indices"] = parse_array_of(role, value, key, here, "remote indices privileges",
                                                     parse_index_entry, remote=True)
        elif key in ("applications", "application"):
            parts["applications"] = parse_array_of(role, value, key, prefix + "applications",
                                                   "application privileges", _parse_application)
        elif key == "global":
            parts["global"] = _parse_global(value, here)
        elif key == "metadata":
            if not isinstance(value, dict):
                raise parse_error(f"expected field [metadata] to be of type object, but found "
                                  f"[{token(value)}] instead", here)
            parts["metadata"] = value
        elif key == "transient_metadata":
            if not isinstance(value, dict):
                raise parse_error(f"{role_reason(role)}. unexpected field [transient_metadata]", here)
        elif key == "remote_cluster":
            parts["remote_cluster"] = _parse_remote_cluster(role, value, here)
        elif key == "restriction" and for_api_key:
            parts["restriction"] = _parse_restriction(role, value, here)
        elif key == "description" and not for_api_key:
            if value is not None and not isinstance(value, str):
                raise parse_error(f"{role_reason(role)}. expected field [description] to be of type string, "
                                  f"but found [{token(value)}] instead", here)
            parts["description"] = value
        elif key == "type":
            continue  # written by Elasticsearch into stored roles; ignored, as it does
        else:
            raise parse_error(f"{role_reason(role)}. unexpected field [{key}]", here)
    return _canonical(parts)


def _canonical(parts):
    descriptor = {"cluster": parts["cluster"]}
    if parts["global"]:
        descriptor["global"] = parts["global"]
    descriptor.update(indices=parts["indices"], applications=parts["applications"], run_as=parts["run_as"],
                      metadata=parts["metadata"], transient_metadata={"enabled": True})
    for optional in ("remote_indices", "remote_cluster", "restriction", "description"):
        if parts[optional]:
            descriptor[optional] = parts[optional]
    return descriptor


def _parse_application(role, entry, list_field, path):
    expect_entry_object("application privileges", role, entry, list_field, path)
    fields = {}
    for key, value in entry.items():
        here = f"{path}.{key}"
        if key == "application":
            if not isinstance(value, str):
                raise parse_error(f"[application] application doesn't support values of type: {token(value)}",
                                  here, type=X_CONTENT_PARSE)
            fields[key] = value
        elif key in ("privileges", "resources"):
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or any(not isinstance(item, str) for item in value):
                raise parse_error(f"[application] {key} doesn't support values of type: {token(value)}", here,
                                  type=X_CONTENT_PARSE)
            fields[key] = value
        else:
            raise parse_error(f"[application] unknown field [{key}]", here, type=X_CONTENT_PARSE)
    for required in ("resources", "privileges"):
        if required not in fields:
            raise parse_error(f"failed to parse application privileges for role [{role}]. missing required "
                              f"[{required}] field", f"{path}.{required}")
    if not fields.get("application"):
        raise parse_error("application privileges must have an application name", f"{path}.application",
                          type=ILLEGAL_ARGUMENT)
    return {"application": fields["application"], "privileges": fields["privileges"],
            "resources": fields["resources"]}


def _expect_object(value, path):
    if not isinstance(value, dict):
        raise parse_error(f"failed to parse privilege. expected [START_OBJECT] but found [{token(value)}] "
                          "instead", path, type=X_CONTENT_PARSE)


def _parse_global(value, path):
    """`global`: {"application": {"manage": {"applications": [...]}}, "profile": {"write": {...}}}."""
    _expect_object(value, path)
    verbs = {"application": "manage", "profile": "write"}
    parsed = {}
    for category, privileges in value.items():
        if category not in verbs:
            raise parse_error(f"failed to parse privilege. expected one of [application,profile] but found "
                              f"[{category}] instead", path, type=X_CONTENT_PARSE)
        _expect_object(privileges, path)
        parsed[category] = {}
        for verb, body in privileges.items():
            if verb != verbs[category]:
                raise parse_error(f"failed to parse privilege. expected field name [{verbs[category]}] but "
                                  f"found [{verb}] instead", path, type=X_CONTENT_PARSE)
            _expect_object(body, path)
            keys = list(body)
            if not keys:
                raise parse_error("failed to parse privilege. expected [FIELD_NAME] but found [END_OBJECT] "
                                  "instead", path, type=X_CONTENT_PARSE)
            if keys[0] != "applications":
                raise parse_error(f"failed to parse privilege. expected field name [applications] but found "
                                  f"[{keys[0]}] instead", path, type=X_CONTENT_PARSE)
            applications = body["applications"]
            if not isinstance(applications, list):
                raise parse_error(f"failed to parse privilege. expected [START_ARRAY] but found "
                                  f"[{token(applications)}] instead", path, type=X_CONTENT_PARSE)
            problem = string_array_problem("applications", applications)
            if problem:
                raise parse_error(problem, path)
            if len(keys) > 1:
                raise parse_error("failed to parse privilege. expected [END_OBJECT] but found [FIELD_NAME] "
                                  "instead", path, type=X_CONTENT_PARSE)
            parsed[category][verb] = {"applications": list(applications)}
    return {category: parsed[category] for category in verbs if parsed.get(category)}


def _parse_remote_cluster(role, value, path):
    prefix = f"failed to parse remote_cluster for role [{role}]"
    if not isinstance(value, list):
        raise parse_error(f"{prefix}. expected field [remote_cluster] value to be an array, but found "
                          f"[{token(value)}] instead", path)
    groups = []
    for number, entry in enumerate(value):
        here = f"{path}[{number}]"
        if not isinstance(entry, dict):
            raise parse_error(f"{prefix}. expected field [remote_cluster] value to be an array of objects, "
                              f"but found an array element of type [{token(entry)}]", here)
        fields = {}
        for key, item in entry.items():
            if key not in ("privileges", "clusters"):
                raise parse_error(f"{prefix}. unexpected field [{key}]", f"{here}.{key}")
            fields[key] = read_string_array(role_reason(role), key, item, allow_null=False,
                                            field=f"{here}.{key}")
        if not fields.get("privileges") and not fields.get("clusters"):
            raise parse_error("remote cluster groups must not be null or empty", here, type=ILLEGAL_ARGUMENT)
        if "clusters" not in fields:
            raise parse_error(f"{prefix}. [clusters] must be defined when [privileges] are defined", here)
        if "privileges" not in fields:
            raise parse_error(f"{prefix}. [privileges] must be defined when [clusters] are defined", here)
        if not fields["privileges"] or not fields["clusters"]:
            raise parse_error("remote cluster groups must not be null or empty", here, type=ILLEGAL_ARGUMENT)
        if any(privilege.lower() not in REMOTE_CLUSTER_PRIVILEGES for privilege in fields["privileges"]):
            allowed, found = ", ".join(REMOTE_CLUSTER_PRIVILEGES), ", ".join(fields["privileges"])
            raise parse_error(f"{prefix}. [{allowed}] are the only values allowed for [privileges] within "
                              f"[remote_cluster]. Found [{found}]", f"{here}.privileges")
        groups.append({"privileges": fields["privileges"], "clusters": fields["clusters"]})
    return groups


def _parse_restriction(role, value, path):
    prefix = f"failed to parse restriction for role [{role}]"
    if not isinstance(value, dict):
        raise parse_error(f"{prefix}. expected an object but found [{token(value)}] instead", path)
    workflows = None
    for key, item in value.items():
        if key != "workflows":
            raise parse_error(f"{prefix}. unexpected field [{key}]", f"{path}.{key}")
        problem = string_array_problem(key, item)
        if problem:
            raise parse_error(f"{prefix}. {problem}", f"{path}.workflows")
        if not item:
            raise parse_error(f"{prefix}. [workflows] cannot be an empty array", f"{path}.workflows")
        workflows = list(item)
    return {"workflows": workflows} if workflows else None


# ---------------------------------------------------------------- validation (all problems at once)
def validation_problems(descriptor: Mapping[str, object], *, allow_reserved_metadata: bool = False,
                        field_prefix: str = "") -> list[tuple[str, str]]:
    """(field, message) for every rule a parsed descriptor breaks, in Elasticsearch's order."""
    problems = []
    for privilege in descriptor.get("cluster", ()):
        if not is_valid_cluster_privilege(privilege):
            problems.append((field_prefix + "cluster", unknown_cluster_privilege_message(privilege)))
    for list_field in ("indices", "remote_indices"):
        for number, entry in enumerate(descriptor.get(list_field) or ()):
            here = f"{field_prefix}{list_field}[{number}]"
            if list_field == "remote_indices" and "" in entry.get("clusters", ()):
                problems.append((f"{here}.clusters", "remote index cluster alias cannot be an empty string"))
            unknown = [name for name in entry["privileges"] if not is_valid_index_privilege(name)]
            if unknown:
                problems.append((f"{here}.privileges", unknown_index_privilege_message(unknown[0])))
            elif list_field == "remote_indices" and "read_failures" in map(str.lower, entry["privileges"]):
                problems.append((f"{here}.privileges", "remote index privileges cannot contain privileges "
                                                       "that grant access to the failure store"))
    for number, entry in enumerate(descriptor.get("applications") or ()):
        problems += application_entry_problems(entry, f"{field_prefix}applications[{number}]")
    metadata = descriptor.get("metadata") or {}
    if not allow_reserved_metadata and any(
            isinstance(key, str) and key.startswith(RESERVED_METADATA_PREFIX) for key in metadata):
        problems.append((field_prefix + "metadata",
                         f"role descriptor metadata keys may not start with [{RESERVED_METADATA_PREFIX}]"))
    if (too_large := metadata_size_problem(metadata, "role descriptor metadata")):
        problems.append((field_prefix + "metadata", too_large))
    for workflow in (descriptor.get("restriction") or {}).get("workflows") or ():
        if workflow.lower() not in WORKFLOWS:
            problems.append((field_prefix + "restriction.workflows",
                             f"Unknown workflow [{workflow}]. A workflow must be one of the predefined "
                             f"workflow names [{','.join(WORKFLOWS)}]."))
    description = descriptor.get("description")
    if isinstance(description, str) and len(description) > DESCRIPTION_MAX_LENGTH:
        problems.append((field_prefix + "description",
                         f"Role description must be less than {DESCRIPTION_MAX_LENGTH} characters."))
    return problems


# ---------------------------------------------------------------- an API key's role_descriptors
NAMED_OBJECTS_SHAPE = ("[role_descriptors] can be a single object with any number of fields or an array "
                       "where each entry is an object with a single field")


def parse_role_descriptors(body: object, *, for_api_key: bool = True,
                           request_name: str = "create_api_key_request") -> dict[str, dict[str, object]]:
    """`role_descriptors` of a create/update API key request: {name: canonical descriptor}.

    Parse problems come wrapped as Elasticsearch wraps them: x_content_parse_exception
    "[create_api_key_request] failed to parse field [role_descriptors]" caused by the specific one.
    Validation problems of all descriptors come as one action_request_validation_exception.
    """
    if body is None:
        return {}
    if isinstance(body, list):
        if any(not isinstance(entry, dict) or len(entry) != 1 for entry in body):
            raise parse_error(NAMED_OBJECTS_SHAPE, "role_descriptors", type=X_CONTENT_PARSE)
        items = [next(iter(entry.items())) for entry in body]
    elif isinstance(body, dict):
        items = list(body.items())
    else:
        raise parse_error(f"[{request_name}] role_descriptors doesn't support values of type: {token(body)}",
                          "role_descriptors", type=X_CONTENT_PARSE)
    parsed, problems = {}, []
    for name, descriptor in items:
        prefix = f"role_descriptors.{name}."
        try:
            parsed[name] = parse_role_descriptor(name, descriptor, for_api_key=for_api_key, validate=False,
                                                 field_prefix=prefix)
        except DescriptorError as error:
            reason = f"[{request_name}] failed to parse field [role_descriptors]"
            raise DescriptorError(X_CONTENT_PARSE, reason, field=error.field, caused_by=error) from None
        problems += validation_problems(parsed[name], field_prefix=prefix)
    if problems:
        raise validation_error(problems)
    restricted = sum(1 for descriptor in parsed.values() if descriptor.get("restriction"))
    if restricted > 1:
        raise parse_error("more than one role descriptor with restriction is not supported",
                          "role_descriptors", type=ILLEGAL_ARGUMENT)
    if restricted and restricted != len(parsed):
        raise parse_error("combining role descriptors with and without restriction is not supported",
                          "role_descriptors", type=ILLEGAL_ARGUMENT)
    return parsed
