"""`GET /_security/user/_privileges`: every privilege a set of role descriptors grants, merged as Elasticsearch
merges a user's roles into one role.

Index entries naming the same set of indices (and the same restricted-indices flag) become one entry: their
privileges are joined, and so are their field and document restrictions; an entry without a restriction lifts
it for the merged entry (it grants every field, or every document). Granted and excepted fields keep the order
the role gave them. Application entries are merged and resolved as security.application_permission does.
"""

from collections.abc import Mapping, Sequence

from webapp.security.application_permission import NO_STORED_PRIVILEGES, ApplicationPermission, StoredPrivileges
from webapp.security.descriptors.fields import string_items

_EVERY_FIELD = {"grant": ["*"]}


def _entries(value):
    return [entry for entry in value if isinstance(entry, Mapping)] if isinstance(value, (list, tuple)) else []


def _field_security(entry):
    security = entry.get("field_security")
    if not isinstance(security, Mapping):
        return _EVERY_FIELD
    group = {"grant": list(string_items(security.get("grant")))}
    if string_items(security.get("except")):
        group["except"] = list(string_items(security.get("except")))
    return group


def _merged_indices(entries, *, remote=False):
    merged = {}  # (clusters, names, allow_restricted) -> merged entry; insertion order is first appearance
    for entry in entries:
        privileges = [name.lower() for name in string_items(entry.get("privileges"))]
        if privileges == ["none"]:
            continue  # an explicit "none" grants nothing and restricts nothing
        names = frozenset(string_items(entry.get("names")))
        clusters = frozenset(string_items(entry.get("clusters"))) if remote else frozenset()
        restricted = entry.get("allow_restricted_indices") is True
        query = entry.get("query")
        target = merged.setdefault((clusters, names, restricted), {
            "privileges": set(), "field_security": [], "queries": [], "every_document": False})
        target["privileges"].update(privileges)
        fields = _field_security(entry)
        if fields not in target["field_security"]:
            target["field_security"].append(fields)
        if isinstance(query, str) and query:
            if query not in target["queries"]:
                target["queries"].append(query)
        else:
            target["every_document"] = True
    answer = []
    for (clusters, names, restricted), parts in merged.items():
        item = {"clusters": sorted(clusters)} if remote else {}
        item.update(names=sorted(names), privileges=sorted(parts["privileges"]))
        if _EVERY_FIELD not in parts["field_security"]:
            item["field_security"] = sorted(parts["field_security"], key=repr)
        if parts["queries"] and not parts["every_document"]:
            item["query"] = parts["queries"]
        item["allow_restricted_indices"] = restricted
        answer.append(item)
    return answer


def _unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def user_privileges(descriptors: Sequence[Mapping[str, object]],
                    stored: StoredPrivileges = NO_STORED_PRIVILEGES) -> dict:
    """{cluster, global, indices, applications, run_as[, remote_indices][, remote_cluster]} for the union of
    `descriptors`, in Elasticsearch's order and shapes (remote ones only when some descriptor has them).
    `stored` says which stored applications the roles' application patterns stand for."""
    descriptors = [descriptor for descriptor in descriptors if isinstance(descriptor, Mapping)]
    cluster, run_as, global_, indices, remote_indices, applications, remote_cluster = set(), set(), [], [], [], [], []
    for descriptor in descriptors:
        cluster.update(name.lower() for name in string_items(descriptor.get("cluster")))
        run_as.update(string_items(descriptor.get("run_as")))
        if isinstance(descriptor.get("global"), Mapping) and descriptor["global"]:
            global_.append(dict(descriptor["global"]))
        indices.extend(_entries(descriptor.get("indices", descriptor.get("index"))))
        remote_indices.extend(_entries(descriptor.get("remote_indices")))
        applications.extend(_entries(descriptor.get("applications", descriptor.get("application"))))
        remote_cluster.extend(_entries(descriptor.get("remote_cluster")))
    body = {
        "cluster": sorted(cluster),
        "global": _unique(global_),
        "indices": _merged_indices(indices),
        "applications": ApplicationPermission(applications).described(stored),
        "run_as": sorted(run_as),
    }
    if remote_indices:
        body["remote_indices"] = _merged_indices(remote_indices, remote=True)
    if remote_cluster:
        body["remote_cluster"] = _unique({"privileges": sorted(string_items(entry.get("privileges"))),
                                          "clusters": sorted(string_items(entry.get("clusters")))}
                                         for entry in remote_cluster)
    return body
