"""Application privileges: Elasticsearch's naming rules for applications, privileges and actions, and the body
of `PUT /_security/privilege` read with its messages.

An application privilege is defined by an outside application (Kibana's are `kibana-.kibana:read`, ...): a
name meaningful to it that stands for a list of action patterns (`data:read/*`, `action:login`). A role grants
privileges of an application on resources; whether it grants an action is worked out in
security.application_permission against the stored definitions.
"""

import re
from collections.abc import Mapping

from webapp.security.descriptors.fields import (
    ILLEGAL_ARGUMENT,
    PARSE,
    X_CONTENT_PARSE,
    DescriptorError,
    parse_error,
    token,
    validation_error,
)
from webapp.security.limits import metadata_size_problem

__all__ = ["action_problems", "application_name_problem", "is_privilege_name", "parse_put_privileges",
           "privilege_name_problem", "privilege_or_action_problem"]

_PREFIX = "^[a-z][A-Za-z0-9]*$"
_NAME = "^[a-z][a-zA-Z0-9_.-]*$"
_GRAPH = r"^\p{Graph}*$"  # as Elasticsearch's message writes it: printable ASCII without spaces
_VALID_PREFIX = re.compile(r"[a-z][A-Za-z0-9]*")
_VALID_NAME = re.compile(r"[a-z][a-zA-Z0-9_.-]*")
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]*")
# Java's [\v\h]: vertical and horizontal whitespace.
_WHITESPACE = re.compile("[\n\x0b\f\r\x85\u2028\u2029 \t\xa0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]")
# Characters a file name may not hold (Elasticsearch's Strings.INVALID_FILENAME_CHARS), refused in a suffix.
_INVALID_SUFFIX_CHARS = '\\/*?"<>| ,'
_DOC = "application-privilege"  # the name of Elasticsearch's parser for one privilege, in its messages
# Elasticsearch stores a privilege as the document `application-privilege_<application>:<name>`, and a document
# id may take 512 bytes: so the two names may take 488 bytes together (as UTF-8).
MAX_NAME_BYTES = 512 - len(_DOC + "_:")


def is_privilege_name(name: object) -> bool:
    """A privilege name (`read`, `feature_discover.all`), as opposed to an action pattern (`data:read/*`)."""
    return isinstance(name, str) and _VALID_NAME.fullmatch(name) is not None


def application_name_problem(name: object, *, allow_wildcard: bool = False) -> str | None:
    """Elasticsearch's message for an application name it refuses (with `allow_wildcard`, a role's pattern
    such as `kibana-*` or `*`), or None."""
    if not isinstance(name, str) or not name:
        return "Application names cannot be blank"
    asterisk = name.find("*")
    if asterisk != -1:
        if not allow_wildcard:
            return f"Application names may not contain '*' (found '{name}')"
        if name == "*":
            return None
        if asterisk != len(name) - 1:
            return f"Application name patterns only support trailing wildcards (found '{name}')"
    if _WHITESPACE.search(name):
        return f"Application names may not contain whitespace (found '{name}')"
    parts = re.split("[_-]", name, maxsplit=1)
    prefix = parts[0].removesuffix("*")
    if not _VALID_PREFIX.fullmatch(prefix):
        return f"An application name prefix must match the pattern {_PREFIX} (found '{prefix}')"
    if len(prefix) < 3 and asterisk == -1:
        return f"An application name prefix must be at least 3 characters long (found '{prefix}')"
    if len(parts) > 1:
        suffix = parts[1].removesuffix("*") if allow_wildcard else parts[1]
        if any(char in _INVALID_SUFFIX_CHARS for char in suffix):
            return (f"An application name suffix may not contain any of the characters '{_INVALID_SUFFIX_CHARS}' "
                    f"(found '{suffix}')")
    return None


def privilege_name_problem(name: object) -> str | None:
    if is_privilege_name(name):
        return None
    return f"Application privilege names must match the pattern {_NAME} (found '{name}')"


def privilege_or_action_problem(name: object) -> str | None:
    """What a role's `applications[].privileges` entries must be: a name or an action, without spaces."""
    if isinstance(name, str) and _VISIBLE_ASCII.fullmatch(name):
        return None
    return f"Application privilege names and actions must match the pattern {_GRAPH} (found '{name}')"


def action_problems(action: str) -> list[str]:
    """Why `action` can't be one of a stored privilege's actions (empty when it can)."""
    problems = []
    if not any(char in action for char in "/*:"):
        problems.append(f"action [{action}] must contain one of [ '/' , '*' , ':' ]")
    if (problem := privilege_or_action_problem(action)):
        problems.append(problem)
    return problems


# ---------------------------------------------------------------- PUT /_security/privilege
def parse_put_privileges(body: object) -> list[dict]:
    """The privileges of a put request, in order: [{application, name, actions, metadata}], each as GET
    returns it. The body is {application: {name: {actions, metadata?, application?, name?}}}.

    Raises DescriptorError with Elasticsearch's type and message: parse problems one at a time, then every
    validation problem of every privilege together (action_request_validation_exception).
    """
    if not isinstance(body, dict):
        raise parse_error(f"expected object but found {token(body)} instead", type=PARSE)
    privileges = []
    for application, definitions in body.items():
        if not isinstance(definitions, dict):
            raise parse_error(f"expected the value for {application} to be an object, but found "
                              f"{token(definitions)} instead", application, type=PARSE)
        for name, definition in definitions.items():
            if not isinstance(definition, dict):
                # (Elasticsearch names the application here too, not the privilege.)
                raise parse_error(f"expected the value for {application} to be an object, but found "
                                  f"{token(definition)} instead", f"{application}.{name}", type=PARSE)
            privileges.append(_parse_privilege(application, name, definition))
    problems = [problem for privilege in privileges for problem in _problems(privilege)]
    if not privileges:
        problems.append((None, "At least one application privilege must be provided"))
    if problems:
        raise validation_error(problems)
    return privileges


def _parse_privilege(application, name, definition):
    here = f"{application}.{name}"
    fields = {"application": application, "name": name, "actions": [], "metadata": {}}
    for key, value in definition.items():
        if key in ("application", "name"):
            if not isinstance(value, str):
                raise _field_error(key, value, here)
            fields[key] = value
        elif key == "actions":
            fields["actions"] = _actions(value, here)
        elif key == "metadata":
            if not isinstance(value, dict):
                raise _field_error(key, value, here)
            fields["metadata"] = value
        elif key == "type":
            raise parse_error(f"[{_DOC}] failed to parse field [type]", f"{here}.type", type=X_CONTENT_PARSE,
                              caused_by=DescriptorError(ILLEGAL_ARGUMENT, "Field type cannot be specified here"))
        else:
            raise parse_error(f"[{_DOC}] unknown field [{key}]", f"{here}.{key}", type=X_CONTENT_PARSE)
    if application and fields["application"] != application:
        raise parse_error(f"privilege application [{fields['application']}] in source does not match the provided "
                          f"application [{application}]", f"{here}.application", type=ILLEGAL_ARGUMENT)
    if name and fields["name"] != name:
        raise parse_error(f"privilege name [{fields['name']}] in source does not match the provided name [{name}]",
                          f"{here}.name", type=ILLEGAL_ARGUMENT)
    return fields


def _field_error(key, value, here):
    return parse_error(f"[{_DOC}] {key} doesn't support values of type: {token(value)}", f"{here}.{key}",
                       type=X_CONTENT_PARSE)


def _actions(value, here):
    """A string array (a single string is one action); numbers and booleans are read as their text, as
    Elasticsearch's parser reads them. Repeated actions are kept once, in order."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise _field_error("actions", value, here)
    actions = []
    for item in value:
        if isinstance(item, bool):
            item = "true" if item else "false"
        elif isinstance(item, (int, float)):
            item = str(item)
        elif not isinstance(item, str):
            raise parse_error(f"[{_DOC}] failed to parse field [actions]", f"{here}.actions", type=X_CONTENT_PARSE)
        actions.append(item)
    return list(dict.fromkeys(actions))


def _problems(privilege: Mapping) -> list[tuple[str, str]]:
    """(field, message) for every rule one privilege breaks, in Elasticsearch's order."""
    application, name = privilege["application"], privilege["name"]
    here = f"{application}.{name}"
    problems = []
    if (problem := application_name_problem(application)):
        problems.append((here, problem))
    if (problem := privilege_name_problem(name)):
        problems.append((here, problem))
    if len(f"{application}{name}".encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        problems.append((here, f"application privilege [{application}:{name}] is too long: the application and "
                               f"privilege names may take at most {MAX_NAME_BYTES} bytes together"))
    if not privilege["actions"]:
        problems.append((f"{here}.actions", "Application privileges must have at least one action"))
    for action in privilege["actions"]:
        problems.extend((f"{here}.actions", problem) for problem in action_problems(action))
    metadata = privilege["metadata"]
    if any(isinstance(key, str) and key.startswith("_") for key in metadata):
        problems.append((f"{here}.metadata",
                         f"metadata keys may not start with [_] (in privilege {application} {name})"))
    if (too_large := metadata_size_problem(metadata, "application privilege metadata")):
        problems.append((f"{here}.metadata", too_large))
    return problems
