"""What a set of role descriptors allows, an API key's effective permission, and `_has_privileges`.

A Permission answers for one set of descriptors; a LimitedPermission is an API key's: its own (assigned)
descriptors intersected with its owner's snapshot (`limited_by`). Index names in descriptors are patterns
(`*`, `?`, `/regex/`); restricted indices (`.security*`) only match entries with `allow_restricted_indices`.
"""

from collections.abc import Mapping, Sequence

from webapp.security.application_permission import NO_STORED_PRIVILEGES, ApplicationPermission, StoredPrivileges
from webapp.security.descriptors.fields import (
    ILLEGAL_ARGUMENT,
    DescriptorError,
    parse_error,
    string_items,
    validation_error,
)
from webapp.security.patterns import covered_by_any, has_wildcard, intersects, matches_any
from webapp.security.privileges import (
    CLUSTER_PRIVILEGES,
    cluster_action_granted_by,
    cluster_privilege_implies,
    index_action_granted_by,
    index_privilege_implies,
    is_cluster_privilege_name,
    is_index_privilege_name,
    is_valid_cluster_privilege,
    is_valid_index_privilege,
    unknown_cluster_privilege_message,
    unknown_index_privilege_message,
)

__all__ = ["LimitedPermission", "Permission", "RESTRICTED_INDEX_PATTERNS", "StoredPrivileges",
           "effective_key_permission", "has_privileges", "is_restricted_index", "role_map_descriptors",
           "snapshot_descriptors"]

RESTRICTED_INDEX_PATTERNS = (".security*",)
# Where descriptors come from decides how they are read, never their shape: a role may be named `cluster`.
Descriptor = Mapping[str, object]
RoleMap = Mapping[str, Descriptor]  # {role name: descriptor}: a user's roles, a key's role_descriptors
Snapshot = Sequence[RoleMap]  # a key's `limited_by`, as Elasticsearch stores it: [{role name: descriptor}]


def is_restricted_index(name: object) -> bool:
    return matches_any(RESTRICTED_INDEX_PATTERNS, name)


def role_map_descriptors(roles: RoleMap | None) -> list[Descriptor]:
    """The descriptors of a {role name: descriptor} map, whatever the roles are called."""
    if not isinstance(roles, Mapping):
        return []
    return [descriptor for descriptor in roles.values() if isinstance(descriptor, Mapping)]


def snapshot_descriptors(limited_by: Snapshot | None) -> list[Descriptor]:
    """The descriptors of a key's owner snapshot `limited_by`: a list of {role name: descriptor} maps."""
    if not isinstance(limited_by, (list, tuple)):
        return []
    return [descriptor for roles in limited_by for descriptor in role_map_descriptors(roles)]


def _lowered(value):
    return tuple(item.lower() for item in string_items(value))


def _cluster_name(privilege):
    if not is_valid_cluster_privilege(privilege):
        raise parse_error(unknown_cluster_privilege_message(privilege), "cluster", type=ILLEGAL_ARGUMENT)
    return privilege.lower()


def _index_name(privilege):
    if not is_valid_index_privilege(privilege):
        raise parse_error(unknown_index_privilege_message(privilege), "index", type=ILLEGAL_ARGUMENT)
    return privilege.lower()


class _IndexGroup:
    """One `indices` entry: which names, which privileges, whether restricted indices are included."""

    def __init__(self, entry):
        self.names = string_items(entry.get("names"))
        self.privileges = _lowered(entry.get("privileges"))
        self.allow_restricted = entry.get("allow_restricted_indices") is True

    def matches(self, index):
        if is_restricted_index(index) and not self.allow_restricted:
            return False
        return matches_any(self.names, index)

    def covers(self, pattern, allow_restricted_request, touches_restricted):
        if allow_restricted_request and touches_restricted and not self.allow_restricted:
            return False
        return covered_by_any(self.names, pattern)

    def grants(self, privilege):
        return any(index_privilege_implies(held, privilege) for held in self.privileges)

    def grants_action(self, action):
        return any(index_action_granted_by(held, action) for held in self.privileges)


class Permission:
    """The union of what the given role descriptors grant: a list of descriptors (Permission.of_roles for a
    {role name: descriptor} map; a map is refused here, as it can't be told from one descriptor)."""

    def __init__(self, descriptors: Sequence[Descriptor] = ()) -> None:
        if isinstance(descriptors, Mapping) or not isinstance(descriptors, (list, tuple)):
            raise TypeError("Permission takes a list of descriptors; use Permission.of_roles for a role map")
        self.descriptors = [descriptor for descriptor in descriptors if isinstance(descriptor, Mapping)]
        cluster, groups, run_as, applications = [], [], [], []
        for descriptor in self.descriptors:
            cluster.extend(_lowered(descriptor.get("cluster")))
            entries = descriptor.get("indices", descriptor.get("index"))
            groups.extend(_IndexGroup(entry) for entry in _entries(entries))
            run_as.extend(string_items(descriptor.get("run_as")))
            applications.extend(_entries(descriptor.get("applications", descriptor.get("application"))))
        self._cluster = tuple(cluster)
        self._groups = tuple(groups)
        self._run_as = tuple(run_as)
        self.applications = ApplicationPermission(applications)
        self._managed_applications = tuple(name for descriptor in self.descriptors
                                           for name in _managed_applications(descriptor))

    @classmethod
    def of_roles(cls, roles: RoleMap | None) -> "Permission":
        """What the roles of a {role name: descriptor} map grant together."""
        return cls(role_map_descriptors(roles))

    def check_cluster(self, privilege_or_action: str) -> bool:
        """A named privilege, an action pattern, or one concrete action (e.g. Keydesk's `api_key/create`)."""
        name = _cluster_name(privilege_or_action)
        if name == "none":
            return True  # grants nothing, so everyone holds it (as in Elasticsearch's has_privileges)
        if is_cluster_privilege_name(name) or has_wildcard(name):
            return any(cluster_privilege_implies(held, name) for held in self._cluster)
        return any(cluster_action_granted_by(held, name) for held in self._cluster)

    def cluster_privileges(self) -> frozenset[str]:
        """Every named cluster privilege this permission includes (expanded by implication)."""
        return frozenset(name for name in CLUSTER_PRIVILEGES if self.check_cluster(name))

    def check_index(self, index: str, privilege: str) -> bool:
        """May `privilege` (a name or an index action) be used on the concrete index `index`?"""
        name = _index_name(privilege)
        groups = [group for group in self._groups if group.matches(index)]
        if is_index_privilege_name(name) or has_wildcard(name):
            return any(group.grants(name) for group in groups)
        return any(group.grants_action(name) for group in groups)

    def check_index_pattern(self, pattern: str, privilege: str, *, allow_restricted_indices: bool = False) -> bool:
        """`_has_privileges` semantics: does the privilege hold on every index `pattern` can match?"""
        name = _index_name(privilege)
        if not isinstance(pattern, str):
            return False
        if not has_wildcard(pattern):
            return self.check_index(pattern, name)
        if not allow_restricted_indices and covered_by_any(RESTRICTED_INDEX_PATTERNS, pattern):
            return True  # every name it matches is restricted and left out: nothing to check (as ES)
        touches = any(intersects(pattern, restricted) for restricted in RESTRICTED_INDEX_PATTERNS)
        groups = [group for group in self._groups if group.covers(pattern, allow_restricted_indices, touches)]
        return any(group.grants(name) for group in groups)

    def check_run_as(self, user: str) -> bool:
        return isinstance(user, str) and matches_any(self._run_as, user)

    def check_application(self, application: str, privilege: str, resource: str,
                          stored: StoredPrivileges = NO_STORED_PRIVILEGES) -> bool:
        """May `privilege` (a name or an action) of `application` be used on every resource `resource` matches?
        Names are resolved to actions with `stored` (security.application_permission)."""
        return self.applications.grants(application, privilege, resource, stored)

    def application_names_to_expand(self) -> frozenset[str]:
        """The application privilege names whose defining applications `stored.defined_by` must list: every
        name the descriptors grant, when one of their application entries names a pattern (else none)."""
        return self.applications.names_to_expand

    def manages_applications(self, applications: Sequence[str]) -> bool:
        """The global privilege `application.manage` for every one of `applications` (names or patterns; none
        named means every application, which only `*` covers)."""
        if not applications:
            return "*" in self._managed_applications
        return all(matches_any(self._managed_applications, name) for name in applications)


def _managed_applications(descriptor):
    """The applications of `global.application.manage.applications`: whose privileges the role may manage."""
    value = descriptor
    for key in ("global", "application", "manage", "applications"):
        value = value.get(key) if isinstance(value, Mapping) else None
    return string_items(value)


def _entries(value):
    if not isinstance(value, (list, tuple)):
        return []
    return [entry for entry in value if isinstance(entry, Mapping)]


class LimitedPermission:
    """An API key's permission: a check passes only when both the key's and its owner's permission pass."""

    def __init__(self, assigned: Permission, limited_by: Permission) -> None:
        self.assigned = assigned
        self.limited_by = limited_by

    def check_cluster(self, privilege_or_action: str) -> bool:
        return all(part.check_cluster(privilege_or_action) for part in (self.assigned, self.limited_by))

    def cluster_privileges(self) -> frozenset[str]:
        return self.assigned.cluster_privileges() & self.limited_by.cluster_privileges()

    def check_index(self, index: str, privilege: str) -> bool:
        return self.assigned.check_index(index, privilege) and self.limited_by.check_index(index, privilege)

    def check_index_pattern(self, pattern: str, privilege: str, *, allow_restricted_indices: bool = False) -> bool:
        return all(
            part.check_index_pattern(pattern, privilege, allow_restricted_indices=allow_restricted_indices)
            for part in (self.assigned, self.limited_by)
        )

    def check_run_as(self, user: str) -> bool:
        return self.assigned.check_run_as(user) and self.limited_by.check_run_as(user)

    def check_application(self, application: str, privilege: str, resource: str,
                          stored: StoredPrivileges = NO_STORED_PRIVILEGES) -> bool:
        return all(part.check_application(application, privilege, resource, stored)
                   for part in (self.assigned, self.limited_by))

    def application_names_to_expand(self) -> frozenset[str]:
        return self.assigned.application_names_to_expand() | self.limited_by.application_names_to_expand()

    def manages_applications(self, applications: Sequence[str]) -> bool:
        return all(part.manages_applications(applications) for part in (self.assigned, self.limited_by))


def effective_key_permission(role_descriptors: RoleMap | None,
                             limited_by: Snapshot | None) -> Permission | LimitedPermission:
    """A key's permission: assigned ({role name: descriptor}) ∩ owner snapshot ([{role name: descriptor}]);
    with no assigned descriptors, the snapshot alone."""
    owner = Permission(snapshot_descriptors(limited_by))
    assigned = role_map_descriptors(role_descriptors)
    if not assigned:
        return owner
    return LimitedPermission(Permission(assigned), owner)


def _request_strings(value, field):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or any(not isinstance(item, str) for item in value):
        raise parse_error(f"could not parse [{field}] field. expected a string array", field)
    return list(value)


def has_privileges(permission: Permission | LimitedPermission, cluster: str | Sequence[str] | None = (),
                   index: Sequence[Mapping[str, object]] | None = (),
                   application: Sequence[Mapping[str, object]] | None = (),
                   stored: StoredPrivileges = NO_STORED_PRIVILEGES) -> dict:
    """The body of `_has_privileges` (without `username`): what of the request the permission holds.

    `index` entries are {names, privileges, allow_restricted_indices?}; `application` entries
    {application, privileges, resources}, resolved with the stored application privileges `stored`.
    Unknown privilege names raise DescriptorError as ES answers 400.
    """
    cluster = _request_strings(cluster, "cluster")
    index = _entries(index) if index is not None else []
    application = _entries(application) if application is not None else []
    if not cluster and not index and not application:
        raise validation_error([(None, "must specify at least one privilege")])
    body = {"cluster": {}, "index": {}, "application": {}}
    for privilege in cluster:
        body["cluster"][privilege] = permission.check_cluster(privilege)
    for entry in index:
        allow_restricted = entry.get("allow_restricted_indices") is True
        privileges = _request_strings(entry.get("privileges"), "privileges")
        for name in _request_strings(entry.get("names"), "names"):
            result = body["index"].setdefault(name, {})
            for privilege in privileges:
                granted = permission.check_index_pattern(name, privilege,
                                                         allow_restricted_indices=allow_restricted)
                result[privilege] = result.get(privilege, True) and granted
    for entry in application:
        app = entry.get("application")
        if not isinstance(app, str):
            raise parse_error("application privileges must have an application name", "application",
                              type=ILLEGAL_ARGUMENT)
        privileges = _request_strings(entry.get("privileges"), "privileges")
        for resource in _request_strings(entry.get("resources"), "resources"):
            result = body["application"].setdefault(app, {}).setdefault(resource, {})
            for privilege in privileges:
                granted = permission.check_application(app, privilege, resource, stored)
                result[privilege] = result.get(privilege, True) and granted
    has_all = (all(body["cluster"].values())
               and all(all(privileges.values()) for privileges in body["index"].values())
               and all(all(privileges.values()) for resources in body["application"].values()
                       for privileges in resources.values()))
    return {"has_all_requested": has_all, **body}


__all__ += ["DescriptorError"]
