"""What the caller holds, as `_has_privileges` and `_privileges` answer it: the Subject's permission, with the
application privileges its roles grant resolved against the stored definitions."""

from webapp.security import permissions
from webapp.security.subject import Subject
from webapp.security.user_privileges import user_privileges
from webapp.services.admin import application_privileges


def has_privileges(subject: Subject, checks: dict) -> dict:
    """The body of `_has_privileges` (without `username`) for parsed `checks` {cluster, index, application}.
    Raises DescriptorError for privilege names Elasticsearch refuses."""
    applications = [entry.get("application") for entry in checks.get("application") or ()]
    stored = application_privileges.stored_for(subject.permission, [name for name in applications if name])
    return permissions.has_privileges(subject.permission, stored=stored, **checks)


def privileges_of(subject: Subject) -> dict:
    """`GET /_security/user/_privileges` for a subject whose permission is one set of descriptors (a user, or
    an API key without role descriptors of its own)."""
    permission = subject.permission
    return user_privileges(permission.descriptors, application_privileges.stored_for(permission, []))
