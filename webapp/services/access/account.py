"""The signed-in user's own account: who they are and what their roles let them do."""

from dataclasses import dataclass

from webapp.security import privileges
from webapp.security.privileges import describe_cluster_privilege
from webapp.security.subject import Subject
from webapp.services.admin.settings import api_keys_enabled
from webapp.services.admin.users import PASSWORD_REALMS
from webapp.services.api_keys.criteria import KeyCriteria
from webapp.services.api_keys.listing import count_keys


@dataclass(frozen=True)
class AccountSummary:
    username: str
    realm: str
    full_name: str | None
    email: str | None
    roles: list  # (name, exists)
    cluster: list  # (name, description) of every named cluster privilege held, implied ones included
    cluster_patterns: list  # cluster action patterns held as written in the roles
    indices: list  # (role name, names, privileges, has field or document security)
    run_as: list
    can_change_password: bool
    expiring_soon: int | None = None  # own keys expiring within 30 days; None without the keys page


def account_summary(subject: Subject) -> AccountSummary:
    """What /account shows for `subject`: identity, roles, and effective privileges."""
    descriptors = subject.role_descriptors
    held = subject.permission.cluster_privileges() - {"none"}
    patterns, indices, run_as = [], [], []
    for role_name, descriptor in sorted(descriptors.items()):
        patterns += [name for name in descriptor.get("cluster") or () if ":" in name and name not in patterns]
        for entry in descriptor.get("indices") or ():
            indices.append((role_name, list(entry.get("names") or ()), list(entry.get("privileges") or ()),
                            bool(entry.get("field_security") or entry.get("query"))))
        run_as += [name for name in descriptor.get("run_as") or () if name not in run_as]
    return AccountSummary(
        username=subject.username, realm=subject.realm, full_name=subject.full_name, email=subject.email,
        roles=[(name, name in descriptors) for name in subject.roles],
        cluster=[(name, describe_cluster_privilege(name)) for name in sorted(held)],
        cluster_patterns=patterns, indices=indices, run_as=run_as,
        can_change_password=not subject.is_api_key and subject.realm in PASSWORD_REALMS,
        expiring_soon=expiring_soon(subject),
    )


EXPIRING_SOON = "expiring-30d"  # the keys page's status filter the count links to


def expiring_soon(subject: Subject) -> int | None:
    """How many of the subject's own keys expire within 30 days; None when they can't use the keys page."""
    if not subject.may_any(*privileges.SEE_KEYS) or not api_keys_enabled():
        return None
    return count_keys(subject, KeyCriteria(status=EXPIRING_SOON, owners=(subject.owner,))).n
