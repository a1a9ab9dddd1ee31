"""The reserved roles Keydesk ships. They are read-only and can't be deleted (metadata._reserved)."""


def _role(description, cluster=(), indices=(), run_as=(), deprecated=None, applications=()):
    metadata = {"_reserved": True}
    if deprecated:
        metadata["_deprecated"] = True
        metadata["_deprecated_reason"] = deprecated
    return {
        "cluster": list(cluster),
        "indices": [dict(entry, allow_restricted_indices=entry.get("allow_restricted_indices", False))
                    for entry in indices],
        "applications": [dict(entry) for entry in applications],
        "run_as": list(run_as),
        "metadata": metadata,
        "transient_metadata": {"enabled": True},
        "description": description,
    }


BUILTIN_ROLES = {
    "superuser": _role(
        "Grants full access to everything, including security administration.",
        cluster=["all"],
        indices=[{"names": ["*"], "privileges": ["all"], "allow_restricted_indices": True}],
        applications=[{"application": "*", "privileges": ["*"], "resources": ["*"]}],
        run_as=["*"],
    ),
    "security_admin": _role(
        "Manages users, roles, settings and every API key.", cluster=["manage_security"]
    ),
    "api_key_admin": _role("Manages the API keys of every user.", cluster=["manage_api_key"]),
    "api_key_user": _role("Creates and manages its own API keys.", cluster=["manage_own_api_key"]),
    "security_viewer": _role(
        "Reads users, roles and API keys without changing them.", cluster=["read_security"]
    ),
    "viewer": _role(
        "Reads every index except restricted ones.",
        indices=[{"names": ["*"], "privileges": ["read", "view_index_metadata"]}],
    ),
    "editor": _role(
        "Reads and writes every index except restricted ones.",
        indices=[{"names": ["*"], "privileges": ["read", "write", "view_index_metadata"]}],
    ),
    "monitoring_user": _role(
        "Reads monitoring data.",
        cluster=["monitor"],
        indices=[{"names": [".monitoring-*"], "privileges": ["read", "read_cross_cluster"]}],
    ),
    "kibana_user": _role(
        "Old name for a user of the dashboards; use a role of your own instead.",
        deprecated="Please use a role of your own with the privileges it needs.",
    ),
}
