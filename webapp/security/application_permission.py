"""What the `applications` entries of role descriptors grant, resolved against the stored application privileges
as Elasticsearch resolves them.

A role's entries naming the same application and the same set of resources are merged first (their privilege
names joined). Each merged entry then stands for the actions of its privileges: a privilege name (`read`)
stands for the actions stored under that name for the application (none when nothing is stored), anything else
(`data:read/*`, `*`) is an action pattern itself. A role entry for an application pattern (`kibana-*`) stands
for one entry per stored application the pattern matches (among those defining one of the role's privilege
names); when there is none, for the pattern with its action patterns only.

A check of privilege P of application A on resource R passes when some entry matches A, covers R, and either
holds exactly the privilege P of A (even when nothing is stored for it) or grants every action P stands for
(an entry granting `*` grants any privilege).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from webapp.security.application_privileges import is_privilege_name
from webapp.security.descriptors.fields import string_items
from webapp.security.patterns import covered_by_any, covers, has_wildcard, matches

__all__ = ["NO_STORED_PRIVILEGES", "ApplicationPermission", "StoredPrivileges"]


@dataclass(frozen=True)
class StoredPrivileges:
    """The stored application privileges a check needs (the service loads them for one request).

    `actions`: {application: {privilege name: actions}} for the applications asked about; `defined_by`:
    {privilege name: applications that define it} for the names the roles grant (to expand patterns).
    """

    actions: Mapping[str, Mapping[str, Sequence[str]]] = field(default_factory=dict)
    defined_by: Mapping[str, frozenset] = field(default_factory=dict)

    def resolve(self, application: str, names: Iterable[str]) -> frozenset[str]:
        """The action patterns `names` stand for in `application`."""
        stored = self.actions.get(application) or {}
        actions = set()
        for name in names:
            if is_privilege_name(name):
                actions.update(stored.get(name) or ())
            else:
                actions.add(name)
        return frozenset(actions)


NO_STORED_PRIVILEGES = StoredPrivileges()


@dataclass(frozen=True)
class _Entry:
    application: str  # as the role wrote it: a name, or a pattern
    resources: tuple
    names: tuple  # every privilege name or action the merged entries grant, in first-seen order


def _merged(entries):
    merged = {}
    for entry in entries:
        application = entry.get("application")
        if not isinstance(application, str):
            continue
        resources = string_items(entry.get("resources"))
        key = (application, frozenset(resources))
        known = merged.setdefault(key, (resources, []))
        known[1].extend(name for name in string_items(entry.get("privileges")) if name not in known[1])
    return [_Entry(application, resources, tuple(names)) for (application, _), (resources, names) in merged.items()]


class ApplicationPermission:
    """The `applications` of one set of role descriptors (one role set, not an API key's intersection)."""

    def __init__(self, entries: Iterable[Mapping[str, object]]) -> None:
        self.entries = _merged(entries)
        # Every name the role set grants: which stored applications a pattern expands to depends on all of them.
        self.names = frozenset(name for entry in self.entries for name in entry.names)
        # What `StoredPrivileges.defined_by` must cover: those names, when some entry names a pattern.
        self.names_to_expand = self.names if any(has_wildcard(entry.application) for entry in self.entries) \
            else frozenset()

    def _expanded(self, entry, stored):
        """The applications a pattern entry stands for: the stored ones it matches, or itself when none."""
        if not has_wildcard(entry.application):
            return [entry.application]
        found = {application for name in self.names for application in stored.defined_by.get(name, ())
                 if matches(entry.application, application)}
        return sorted(found) or [entry.application]

    def grants(self, application: str, privilege: str, resource: str,
               stored: StoredPrivileges = NO_STORED_PRIVILEGES) -> bool:
        """Does some entry grant `privilege` (a name or an action) of `application` on every resource that the
        resource pattern `resource` matches?"""
        wanted = stored.resolve(application, [privilege])
        for entry in self.entries:
            if not covered_by_any(entry.resources, resource):
                continue
            for target in self._expanded(entry, stored):
                if target == application and entry.names == (privilege,):
                    return True  # exactly the privilege asked about, stored or not
                if not matches(target, application):
                    continue
                held = stored.resolve(target, entry.names) if target == application else frozenset(
                    name for name in entry.names if not is_privilege_name(name))
                if any(covers(action, "*") for action in held):
                    return True
                if held and wanted and all(covered_by_any(held, action) for action in wanted):
                    return True
        return False

    def described(self, stored: StoredPrivileges = NO_STORED_PRIVILEGES) -> list[dict]:
        """The entries as `GET /_security/user/_privileges` lists them: [{application, privileges, resources}],
        patterns expanded, entries granting the same privileges of the same application joined."""
        joined = {}
        for entry in self.entries:
            names = tuple(sorted(entry.names)) or ("none",)
            for target in self._expanded(entry, stored):
                resources = joined.setdefault((target, names), [])
                resources.extend(resource for resource in entry.resources if resource not in resources)
        return [{"application": application, "privileges": list(names), "resources": sorted(resources)}
                for (application, names), resources in joined.items() if resources]
