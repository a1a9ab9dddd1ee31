"""Identity endpoints: who is calling."""

from flask import jsonify

from webapp.api import bp
from webapp.guard import current_subject, requires
from webapp.security.privileges import CLUSTER_PRIVILEGES, INDEX_PRIVILEGES, REMOTE_CLUSTER_PRIVILEGES


def authenticate_body(subject):
    """ES's _authenticate answer for a user or an API key."""
    if subject.is_api_key:
        realm = {"name": "_es_api_key", "type": "_es_api_key"}
        body = {
            "username": subject.username,
            "roles": [],
            "full_name": subject.full_name,
            "email": subject.email,
            "metadata": subject.metadata,
            "enabled": True,
            "authentication_realm": realm,
            "lookup_realm": realm,
            "authentication_type": "api_key",
            "api_key": {"id": subject.api_key_id, "name": subject.api_key_name},
        }
    else:
        realm = {"name": subject.realm, "type": subject.realm_type}
        body = {
            "username": subject.username,
            "roles": list(subject.roles),
            "full_name": subject.full_name,
            "email": subject.email,
            "metadata": subject.metadata,
            "enabled": True,
            "authentication_realm": realm,
            "lookup_realm": realm,
            "authentication_type": "realm",
        }
    return body


@bp.get("/_security/_authenticate")
@requires()
def authenticate():
    """200 with the caller's identity (any authenticated caller may ask)."""
    return jsonify(authenticate_body(current_subject()))


@bp.get("/_security/privilege/_builtin")
@requires("read_security", "manage_security", action="cluster:admin/xpack/security/privilege/builtin/get")
def builtin_privileges():
    """The privilege names Keydesk knows (cluster, index, remote cluster)."""
    return jsonify({
        "cluster": sorted(CLUSTER_PRIVILEGES),
        "index": sorted(INDEX_PRIVILEGES),
        "remote_cluster": sorted(REMOTE_CLUSTER_PRIVILEGES),
    })
