"""Elasticsearch's privilege names, which one implies which, and which privileges grant an action.

Names are compared case-insensitively, as Elasticsearch lower-cases them. A cluster privilege may also be
a pattern over cluster actions (`cluster:admin/xpack/security/*`), an index privilege a pattern over index
actions (`indices:data/read/*`); Elasticsearch appends `*` to such patterns, and so do we.
"""

from webapp.security import catalogue
from webapp.security.catalogue import CLUSTER_PRIVILEGE_DESCRIPTIONS, INDEX_PRIVILEGE_DESCRIPTIONS
from webapp.security.patterns import covered_by_any, intersects, matches, matches_any

__all__ = [
    "ACTIONS", "CLUSTER_PRIVILEGES", "CLUSTER_PRIVILEGES_BY_ACCESS_LEVEL", "CLUSTER_PRIVILEGE_DESCRIPTIONS",
    "INDEX_PRIVILEGES", "INDEX_PRIVILEGE_DESCRIPTIONS", "REMOTE_CLUSTER_PRIVILEGES",
    "cluster_action_granted_by", "cluster_privilege_implies", "describe_cluster_privilege",
    "granting_privileges", "implied_cluster_privileges", "implied_index_privileges",
    "index_action_granted_by", "index_privilege_implies", "is_cluster_action", "is_cluster_privilege_name",
    "is_index_action", "is_index_privilege_name", "is_valid_cluster_privilege", "is_valid_index_privilege",
    "unknown_cluster_privilege_message", "unknown_index_privilege_message",
    "SEE_KEYS", "MANAGE_OWN_KEYS", "SEE_EVERY_KEY", "MANAGE_EVERY_KEY", "READ_SECURITY", "MANAGE_SECURITY",
    "READ_LICENSE", "MONITOR",
]

CLUSTER_PRIVILEGES: tuple[str, ...] = catalogue.CLUSTER_PRIVILEGE_NAMES
INDEX_PRIVILEGES: tuple[str, ...] = catalogue.INDEX_PRIVILEGE_NAMES
REMOTE_CLUSTER_PRIVILEGES: tuple[str, ...] = catalogue.REMOTE_CLUSTER_PRIVILEGE_NAMES

_CLUSTER_SET = frozenset(CLUSTER_PRIVILEGES)
_INDEX_SET = frozenset(INDEX_PRIVILEGES)


def _closure(names, direct):
    """name -> every name it implies, itself and `none` (which grants nothing) included."""
    closed = {}
    for name in names:
        seen = {name, "none"}
        pending = list(direct.get(name, ()))
        while pending:
            other = pending.pop()
            if other not in seen:
                seen.add(other)
                pending.extend(direct.get(other, ()))
        closed[name] = frozenset(seen)
    closed["none"] = frozenset({"none"})
    return closed


_CLUSTER_CLOSURE = _closure(CLUSTER_PRIVILEGES, catalogue.CLUSTER_IMPLIES)
_INDEX_CLOSURE = _closure(INDEX_PRIVILEGES, catalogue.INDEX_IMPLIES)


def _by_access_level(names, closure):
    """Least to most privileged, as Elasticsearch orders them: by how many others each implies, then name."""
    return tuple(sorted(names, key=lambda name: (len(closure[name]) - 1, name)))


# The order Elasticsearch lists privileges in its messages (unknown privilege, 403 "granted by").
CLUSTER_PRIVILEGES_BY_ACCESS_LEVEL: tuple[str, ...] = _by_access_level(CLUSTER_PRIVILEGES, _CLUSTER_CLOSURE)


def _lower(name):
    return name.lower() if isinstance(name, str) else None


# ---------------------------------------------------------------- names and action patterns
def is_cluster_privilege_name(name: object) -> bool:
    return _lower(name) in _CLUSTER_SET


def is_index_privilege_name(name: object) -> bool:
    return _lower(name) in _INDEX_SET


def is_cluster_action(name: object) -> bool:
    """A pattern over cluster actions, usable in place of a cluster privilege name."""
    lowered = _lower(name)
    return lowered is not None and matches_any(catalogue.CLUSTER_ACTION_NAMESPACE, lowered)


def is_index_action(name: object) -> bool:
    lowered = _lower(name)
    return lowered is not None and matches_any(catalogue.INDEX_ACTION_NAMESPACE, lowered)


def is_valid_cluster_privilege(name: object) -> bool:
    return is_cluster_privilege_name(name) or is_cluster_action(name)


def is_valid_index_privilege(name: object) -> bool:
    return is_index_privilege_name(name) or is_index_action(name)


def unknown_cluster_privilege_message(name: object) -> str:
    names = ",".join(CLUSTER_PRIVILEGES_BY_ACCESS_LEVEL)
    return (
        f"unknown cluster privilege [{_lower(name) or name}]. a privilege must be either one of the "
        f"predefined cluster privilege names [{names}] or a pattern over one of the available cluster actions"
    )


def unknown_index_privilege_message(name: object) -> str:
    names = ",".join(INDEX_PRIVILEGES)
    return (
        f"unknown index privilege [{_lower(name) or name}]. a privilege must be either one of the predefined "
        f"fixed indices privileges [{names}] or a pattern over one of the available index actions"
    )


# ---------------------------------------------------------------- implication
def implied_cluster_privileges(name: object) -> frozenset[str]:
    """The named cluster privileges `name` implies, itself included (empty for an unknown name)."""
    return _CLUSTER_CLOSURE.get(_lower(name), frozenset())


def implied_index_privileges(name: object) -> frozenset[str]:
    return _INDEX_CLOSURE.get(_lower(name), frozenset())


def _cluster_grant(name):
    """(granted patterns, excluded patterns) of a named privilege or an action pattern."""
    if name in _CLUSTER_SET:
        return catalogue.CLUSTER_ACTION_PATTERNS[name]
    return (name + "*",), ()


def _index_grant(name):
    if name in _INDEX_SET:
        return catalogue.INDEX_ACTION_PATTERNS[name], ()
    return (name + "*",), ()


def _grant_covers(grant, patterns):
    granted, excluded = grant
    return all(
        covered_by_any(granted, pattern) and not any(intersects(pattern, out) for out in excluded)
        for pattern in patterns
    )


def _implies(held, wanted, names, closure, grant_of, is_action):
    held, wanted = _lower(held), _lower(wanted)
    if held is None or wanted is None:
        return False
    if not (held in names or is_action(held)) or not (wanted in names or is_action(wanted)):
        return False
    if held in names and wanted in names:
        return wanted in closure[held]
    # At least one side is an action pattern: compare the actions each grants.
    return _grant_covers(grant_of(held), grant_of(wanted)[0])


def cluster_privilege_implies(held: object, wanted: object) -> bool:
    """Holding cluster privilege `held` (a name or an action pattern) includes everything `wanted` grants."""
    return _implies(held, wanted, _CLUSTER_SET, _CLUSTER_CLOSURE, _cluster_grant, is_cluster_action)


def index_privilege_implies(held: object, wanted: object) -> bool:
    return _implies(held, wanted, _INDEX_SET, _INDEX_CLOSURE, _index_grant, is_index_action)


# ---------------------------------------------------------------- actions
def _grant_matches(grant, action):
    granted, excluded = grant
    return matches_any(granted, action) and not matches_any(excluded, action)


def _granted_by_patterns(action):
    return _by_access_level(
        [name for name, grant in catalogue.CLUSTER_ACTION_PATTERNS.items() if _grant_matches(grant, action)],
        _CLUSTER_CLOSURE,
    )


# Keydesk's actions -> the named privileges that grant each, least privileged first (ES's 403 order).
# `manage_own_api_key` grants the key actions for the caller's own keys only: the services check ownership.
# Every user may authenticate, change their own password and check their own privileges in any case.
ACTIONS: dict[str, tuple[str, ...]] = {
    action: _granted_by_patterns(action) for action in catalogue.KEYDESK_ACTIONS
}


def granting_privileges(action: str, *, owner_scoped: bool = True) -> tuple[str, ...]:
    """The privileges a 403 for `action` names; without `owner_scoped`, the own-key privilege is left out."""
    granted = ACTIONS.get(action) or _granted_by_patterns(action)
    if owner_scoped:
        return granted
    return tuple(name for name in granted if name != "manage_own_api_key")


def cluster_action_granted_by(privilege: object, action: object) -> bool:
    """True when holding cluster `privilege` (name or action pattern) grants the concrete `action`."""
    held = _lower(privilege)
    if held is None or not isinstance(action, str):
        return False
    if held in _CLUSTER_SET:
        if action in ACTIONS:
            return any(wanted in _CLUSTER_CLOSURE[held] for wanted in ACTIONS[action])
        return _grant_matches(catalogue.CLUSTER_ACTION_PATTERNS[held], action)
    return is_cluster_action(held) and matches(held + "*", action)


def index_action_granted_by(privilege: object, action: object) -> bool:
    """True when holding index `privilege` (name or action pattern) grants the concrete index `action`."""
    held = _lower(privilege)
    if held is None or not isinstance(action, str):
        return False
    if held in _INDEX_SET:
        return matches_any(catalogue.INDEX_ACTION_PATTERNS[held], action)
    return is_index_action(held) and matches(held + "*", action)


def describe_cluster_privilege(name: object) -> str:
    return CLUSTER_PRIVILEGE_DESCRIPTIONS.get(_lower(name) or "", "")


def describe_index_privilege(name: object) -> str:
    return INDEX_PRIVILEGE_DESCRIPTIONS.get(_lower(name) or "", "")


# ---------------------------------------------------------------- who may do what, each written once
# The actions Keydesk checks, by name. The Elasticsearch ones are in ACTIONS with the privileges that grant
# them; the two of Keydesk's own (audit, settings) are granted by the groups named beside them below.
API_KEY_CREATE = "cluster:admin/xpack/security/api_key/create"
API_KEY_GET = "cluster:admin/xpack/security/api_key/get"
API_KEY_QUERY = "cluster:admin/xpack/security/api_key/query"
API_KEY_INVALIDATE = "cluster:admin/xpack/security/api_key/invalidate"
API_KEY_UPDATE = "cluster:admin/xpack/security/api_key/update"
API_KEY_GRANT = "cluster:admin/xpack/security/api_key/grant"
USER_AUTHENTICATE = "cluster:admin/xpack/security/user/authenticate"  # the action a refused run-as names
CROSS_CLUSTER_CREATE = "cluster:admin/xpack/security/cross_cluster/api_key/create"
CROSS_CLUSTER_UPDATE = "cluster:admin/xpack/security/cross_cluster/api_key/update"
ROLE_PUT = "cluster:admin/xpack/security/role/put"
ROLE_GET = "cluster:admin/xpack/security/role/get"
ROLE_DELETE = "cluster:admin/xpack/security/role/delete"
ROLE_QUERY = "cluster:admin/xpack/security/role/query"
USER_PUT = "cluster:admin/xpack/security/user/put"
USER_GET = "cluster:admin/xpack/security/user/get"
USER_DELETE = "cluster:admin/xpack/security/user/delete"
USER_QUERY = "cluster:admin/xpack/security/user/query"
USER_SET_ENABLED = "cluster:admin/xpack/security/user/set_enabled"
USER_CHANGE_PASSWORD = "cluster:admin/xpack/security/user/change_password"
BUILTIN_PRIVILEGES_GET = "cluster:admin/xpack/security/privilege/builtin/get"
LICENSE_START_TRIAL = "cluster:admin/xpack/license/start_trial"
LICENSE_GET = "cluster:monitor/xpack/license/get"
LICENSE_PUT = "cluster:admin/xpack/license/put"
ROLE_BULK_PUT = "cluster:admin/xpack/security/role/bulk_put"
ROLE_BULK_DELETE = "cluster:admin/xpack/security/role/bulk_delete"
ROLE_MAPPING_PUT = "cluster:admin/xpack/security/role_mapping/put"
ROLE_MAPPING_GET = "cluster:admin/xpack/security/role_mapping/get"
ROLE_MAPPING_DELETE = "cluster:admin/xpack/security/role_mapping/delete"
USER_LIST_PRIVILEGES = "cluster:admin/xpack/security/user/list_privileges"
APPLICATION_PRIVILEGE_PUT = "cluster:admin/xpack/security/privilege/put"
APPLICATION_PRIVILEGE_GET = "cluster:admin/xpack/security/privilege/get"
APPLICATION_PRIVILEGE_DELETE = "cluster:admin/xpack/security/privilege/delete"
APPLICATION_PRIVILEGE_CACHE_CLEAR = "cluster:admin/xpack/security/privilege/cache/clear"
SECURITY_CACHE_CLEAR = "cluster:admin/xpack/security/cache/clear"
MAIN_INFO = "cluster:monitor/main"  # GET /
XPACK_INFO = "cluster:monitor/xpack/info"
CLUSTER_HEALTH = "cluster:monitor/health"
AUDIT_READ = "cluster:admin/keydesk/audit/read"
SETTINGS_UPDATE = "cluster:admin/settings/update"
NOTICES_READ = "cluster:admin/keydesk/notices/read"  # expiry notice settings and deliveries (READ_SECURITY)

# Named groups: the privileges that grant each, least privileged first (the order a 403 lists them in).
# `Subject.may_any(*GROUP)` is true for a privilege that implies one of them too. Views, services, the API and
# templates (as `privileges.GROUP`) all use these names.
SEE_KEYS: tuple[str, ...] = ACTIONS[API_KEY_GET]  # the keys page: one's own keys at least
MANAGE_OWN_KEYS: tuple[str, ...] = ACTIONS[API_KEY_CREATE]  # create, update, delete one's own keys
SEE_EVERY_KEY: tuple[str, ...] = granting_privileges(API_KEY_GET, owner_scoped=False)  # every owner's keys
MANAGE_EVERY_KEY: tuple[str, ...] = granting_privileges(API_KEY_INVALIDATE, owner_scoped=False)
READ_SECURITY: tuple[str, ...] = ACTIONS[ROLE_GET]  # roles, users, audit: read
MANAGE_SECURITY: tuple[str, ...] = ACTIONS[ROLE_PUT]  # roles, users, settings, license, cross-cluster keys: change
READ_LICENSE: tuple[str, ...] = ACTIONS[LICENSE_GET]
MONITOR: tuple[str, ...] = ACTIONS[MAIN_INFO]  # cluster info and health
