"""The one privilege check of the services: may this subject perform this action?"""

from collections.abc import Sequence

from webapp.errors import unauthorized
from webapp.security.privileges import ACTIONS
from webapp.security.subject import Subject


def require(subject: Subject, action: str, granted_by: Sequence[str] | None = None) -> None:
    """Raise Elasticsearch's 403 unless `subject` holds a privilege that grants `action`.

    The privileges come from the action table (security.privileges.ACTIONS); `granted_by` names them for the
    few checks that are narrower than the action (a group from security.privileges) or for Keydesk's own
    actions, which the table doesn't hold.
    """
    granted = tuple(granted_by) if granted_by is not None else ACTIONS[action]
    if not subject.may_any(*granted):
        raise unauthorized(subject, action, granted)
