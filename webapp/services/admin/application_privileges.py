"""Application privileges: create or update, read, delete (Elasticsearch's application privileges API), and the
stored definitions a privilege check needs. Each write takes the acting Subject and leaves one audit row per
privilege it changes.

Who may: `manage_security` (or `all`) for everything, `read_security` to read, and a role's global privilege
`application.manage` for the applications it names (`{"global": {"application": {"manage": {"applications":
["kibana-*"]}}}}`), as in Elasticsearch.
"""

import json
from collections.abc import Iterable, Sequence

from peewee import IntegrityError

from webapp.clock import now_ms
from webapp.errors import Conflict, DomainError, from_descriptor_error
from webapp.model import ApplicationPrivilege
from webapp.model.db import UNSTORABLE, UNSTORABLE_TEXT, database
from webapp.security import privileges
from webapp.security.application_permission import StoredPrivileges
from webapp.security.application_privileges import parse_put_privileges
from webapp.security.descriptors.fields import DescriptorError
from webapp.security.patterns import has_wildcard, matches
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.audit import trail as audit

TARGET = "application_privilege"


def _require(subject: Subject, action: str, applications: Sequence[str]) -> None:
    """The cluster privilege for `action`, or the global privilege to manage every one of `applications`."""
    if subject.permission.manages_applications(list(applications)):
        return
    require(subject, action)


def _shown(row) -> dict:
    return {"application": row.application, "name": row.name, "actions": list(row.actions),
            "metadata": row.metadata or {}}


def _target(application: str, name: str) -> str:
    return f"{application}/{name}"  # neither part may hold a `/` (an application's suffix may not)


def put_privileges(subject: Subject, body: object) -> dict[str, dict[str, dict]]:
    """Create or update every privilege of the body; {application: {name: {"created": true|false}}}.

    All of them in one transaction: a body Elasticsearch refuses changes nothing. A privilege sent unchanged
    is not written again (and leaves no audit row), but answers `created: false` as in Elasticsearch.
    """
    try:
        parsed = parse_put_privileges(body)
    except DescriptorError as error:
        _require(subject, privileges.APPLICATION_PRIVILEGE_PUT, _named_applications(body))
        raise from_descriptor_error(error) from error
    _require(subject, privileges.APPLICATION_PRIVILEGE_PUT, [privilege["application"] for privilege in parsed])
    if any(UNSTORABLE.search(json.dumps(privilege, ensure_ascii=False)) for privilege in parsed):
        raise DomainError(UNSTORABLE_TEXT)
    answer: dict[str, dict[str, dict]] = {}
    now = now_ms()
    try:
        with database.atomic():
            for privilege in parsed:
                created = _store(subject, privilege, now)
                answer.setdefault(privilege["application"], {})[privilege["name"]] = {"created": created}
    except IntegrityError as error:  # created by a concurrent request between our read and our insert
        raise Conflict("an application privilege of this request was created by another request at the same "
                       "time; send the request again") from error
    return answer


def _named_applications(body):
    """The applications a body names, for the privilege check before its problems are reported."""
    return [name for name in body if isinstance(name, str)] if isinstance(body, dict) else []


def _store(subject, privilege, now):
    application, name = privilege["application"], privilege["name"]
    existing = ApplicationPrivilege.get_or_none((ApplicationPrivilege.application == application)
                                                & (ApplicationPrivilege.name == name))
    if existing is None:
        ApplicationPrivilege.create(application=application, name=name, actions=privilege["actions"],
                                    metadata=privilege["metadata"], created=now, updated=now)
        audit.record(subject, "application_privilege.create", target_type=TARGET,
                     target_id=_target(application, name), after=privilege)
        return True
    before = _shown(existing)
    if before != privilege:
        existing.actions, existing.metadata, existing.updated = privilege["actions"], privilege["metadata"], now
        existing.save()
        audit.record(subject, "application_privilege.update", target_type=TARGET,
                     target_id=_target(application, name), before=before, after=privilege)
    return False


def get_privileges(subject: Subject, application: str | None = None,
                   names: Iterable[str] | None = None) -> dict[str, dict[str, dict]]:
    """{application: {name: privilege}}, sorted: every privilege, those of `application` (a name, or a pattern
    with `*`), or only the named ones of it. Unknown names are left out."""
    _require(subject, privileges.APPLICATION_PRIVILEGE_GET, [application] if application else [])
    query = ApplicationPrivilege.select().order_by(ApplicationPrivilege.application, ApplicationPrivilege.name)
    if application and not has_wildcard(application):
        query = query.where(ApplicationPrivilege.application == application)
    names = list(names or ())
    if names:
        query = query.where(ApplicationPrivilege.name.in_(names))
    found: dict[str, dict[str, dict]] = {}
    for row in query:
        if application and not matches(application, row.application):
            continue
        found.setdefault(row.application, {})[row.name] = _shown(row)
    return found


def delete_privileges(subject: Subject, application: str, names: Iterable[str]) -> dict[str, dict[str, dict]]:
    """Delete the named privileges of `application`; {application: {name: {"found": true|false}}}."""
    _require(subject, privileges.APPLICATION_PRIVILEGE_DELETE, [application])
    names = list(dict.fromkeys(names))
    found = {}
    with database.atomic():
        rows = {row.name: row for row in ApplicationPrivilege.select().where(
            (ApplicationPrivilege.application == application) & ApplicationPrivilege.name.in_(names))} if names else {}
        for name in names:
            row = rows.get(name)
            found[name] = {"found": row is not None}
            if row is not None:
                row.delete_instance()
                audit.record(subject, "application_privilege.delete", target_type=TARGET,
                             target_id=_target(application, name), before=_shown(row))
    return {application: found}


def clear_cache(subject: Subject, applications: Sequence[str]) -> None:
    """Nothing to evict (every check reads the stored privileges afresh); the privilege check still applies."""
    _require(subject, privileges.APPLICATION_PRIVILEGE_CACHE_CLEAR, applications)


def stored_for(permission: object, applications: Iterable[str]) -> StoredPrivileges:
    """What checking `applications` with `permission` needs from the store: the actions of those applications'
    privileges, and which applications define the privilege names the permission grants under an application
    pattern (two indexed queries, each skipped when there is nothing to look up)."""
    applications = sorted(set(applications))
    actions: dict[str, dict[str, list]] = {}
    if applications:
        rows = (ApplicationPrivilege.select(ApplicationPrivilege.application, ApplicationPrivilege.name,
                                            ApplicationPrivilege.actions)
                .where(ApplicationPrivilege.application.in_(applications)))
        for row in rows:
            actions.setdefault(row.application, {})[row.name] = row.actions
    names = sorted(permission.application_names_to_expand())
    defined_by: dict[str, set] = {}
    if names:
        rows = (ApplicationPrivilege.select(ApplicationPrivilege.application, ApplicationPrivilege.name)
                .where(ApplicationPrivilege.name.in_(names)))
        for row in rows:
            defined_by.setdefault(row.name, set()).add(row.application)
    return StoredPrivileges(actions=actions,
                            defined_by={name: frozenset(found) for name, found in defined_by.items()})
