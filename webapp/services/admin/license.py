"""License level changes (basic, trial once, enterprise)."""

from webapp.clock import now_ms
from webapp.errors import ValidationFailed
from webapp.model.db import database
from webapp.security import privileges
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.admin import settings
from webapp.services.audit import trail as audit


def set_license(subject: Subject, level: str) -> dict:
    """Set the license level; a trial can be started only once. Returns the new license state."""
    require(subject, privileges.LICENSE_PUT, privileges.MANAGE_SECURITY)
    if level not in settings.LICENSE_LEVELS:
        raise ValidationFailed([f"unknown license type [{level}]; expected one of basic, trial, enterprise"])
    before = settings.license_state()
    with database.atomic():
        if level == "trial":
            if before["trial_used"] and before["type"] != "trial":
                raise ValidationFailed(["Trial was already activated."])
            if not before["trial_used"]:
                settings.set_setting("license.trial_started", now_ms())
        settings.set_setting("license.type", level)
        after = settings.license_state()
        audit.record(subject, "license.set", target_type="license", target_id="license",
                     before={"type": before["type"]}, after={"type": after["type"]})
    return after
