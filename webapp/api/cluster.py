"""What a client asks a cluster before anything else: `GET /` (cluster info; pages/auth.py hands Elasticsearch
clients over to root_info, registered for them below), `GET /_xpack` and `GET /_cluster/health`.

Keydesk answers as the one node of a one-node cluster that holds no indices and is always green.
"""

import base64
import re
import socket
import uuid

from flask import request

from webapp.api import negotiation
from webapp.api.blueprint import bp
from webapp.api.license import license_body
from webapp.api.negotiation import answer
from webapp.api.parsing import bad_request, bool_param, check_params, list_param
from webapp.security import privileges
from webapp.services.access.system import installation_uuid
from webapp.services.admin import settings
from webapp.web.guard import requires
from webapp.web.root import ROOT_VIEW

CLUSTER_NAME = "keydesk"
TAGLINE = "You Know, for Search"
# The Elasticsearch release whose API Keydesk follows (what `GET /` reports as its version).
VERSION = {
    "number": "9.1.0",
    "build_flavor": "default",
    "build_type": "keydesk",
    "build_hash": "unknown",
    "build_date": "unknown",
    "build_snapshot": False,
    "lucene_version": "10.2.2",
    "minimum_wire_compatibility_version": "8.19.0",
    "minimum_index_compatibility_version": "8.0.0",
}


def node_name() -> str:
    """This node's name: the host's, as Elasticsearch names a node by default."""
    return socket.gethostname()


def node_id() -> str:
    """This node's id, in Elasticsearch's form: stable for the host."""
    raw = uuid.uuid5(uuid.NAMESPACE_URL, f"keydesk:node:{node_name()}").bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cache_cleared() -> dict:
    """The answer of Elasticsearch's `_clear_cache` endpoints for this one node: {_nodes, cluster_name, nodes}."""
    return {"_nodes": {"total": 1, "successful": 1, "failed": 0}, "cluster_name": CLUSTER_NAME,
            "nodes": {node_id(): {"name": node_name()}}}


# ---- GET / --------------------------------------------------------------------------------------------

@requires(*privileges.MONITOR, action=privileges.MAIN_INFO)
def _cluster_info():
    check_params()
    return answer({"name": node_name(), "cluster_name": CLUSTER_NAME, "cluster_uuid": installation_uuid(),
                   "version": VERSION, "tagline": TAGLINE})


def root_info():
    """GET and HEAD `/` for an Elasticsearch client: 200 with {name, cluster_name, cluster_uuid, version,
    tagline}; needs `monitor`, as in Elasticsearch (HEAD is the clients' ping)."""
    negotiation.check_request()  # what the API blueprint checks before its own views
    return _cluster_info()


@bp.record_once
def _hand_root_to_the_pages(state):
    state.app.extensions[ROOT_VIEW] = root_info


# ---- GET /_xpack --------------------------------------------------------------------------------------

XPACK_CATEGORIES = ("build", "license", "features")


def _xpack_categories():
    wanted = set()
    for name in list_param(request.args.get("categories", "_all")):
        lowered = name.strip().lower()
        if lowered == "_all":
            wanted.update(XPACK_CATEGORIES)
        elif lowered in XPACK_CATEGORIES:
            wanted.add(lowered)
        elif lowered != "_none":
            raise bad_request(f"unknown category [{name}]: expected [build], [license], [features], [_all] or "
                              "[_none]")
    return wanted


@bp.get("/_xpack")
@requires(*privileges.ACTIONS[privileges.XPACK_INFO], action=privileges.XPACK_INFO)
def xpack_info():
    """200 with {build, license, features, tagline}, narrowed by `categories`; `human=false` drops the tagline."""
    check_params("categories", "accept_enterprise")
    if not bool_param("accept_enterprise", True):
        raise bad_request("The [accept_enterprise] parameter may only be [true]")
    categories = _xpack_categories()
    human = bool_param("human", True)
    body = {}
    if "build" in categories:
        body["build"] = {"hash": VERSION["build_hash"], "date": VERSION["build_date"]}
    if "license" in categories:
        state = settings.license_state()
        full = license_body(state)
        body["license"] = {"uid": full["uid"], "type": full["type"], "mode": full["type"], "status": full["status"]}
        if state["expiry_ms"] is not None:
            body["license"]["expiry_date_in_millis"] = state["expiry_ms"]
    if "features" in categories:
        body["features"] = {"security": {"available": True, "enabled": True}}
    if human:
        body["tagline"] = "You know, for X"
    return answer(body)


# ---- GET /_cluster/health -----------------------------------------------------------------------------

HEALTH_PARAMS = ("level", "local", "master_timeout", "timeout", "wait_for_active_shards", "wait_for_events",
                 "wait_for_nodes", "wait_for_no_initializing_shards", "wait_for_no_relocating_shards",
                 "wait_for_status", "expand_wildcards")
STATUSES = ("green", "yellow", "red")  # best first
LEVELS = ("cluster", "indices", "shards")
EVENT_PRIORITIES = ("immediate", "urgent", "high", "normal", "low", "languid")
WILDCARD_STATES = ("all", "open", "closed", "hidden", "none")
_TIME_VALUE = re.compile(r"(?:-1|0|\d+(?:\.\d+)?\s*(?:nanos|micros|ms|s|m|h|d))", re.IGNORECASE)
_NODE_COUNT = re.compile(r"(>=|<=|>|<)?\s*([0-9]{1,18})|(ge|le|gt|lt)\(\s*([0-9]{1,18})\s*\)")
_COMPARE = {"": int.__eq__, ">=": int.__ge__, "ge": int.__ge__, "<=": int.__le__, "le": int.__le__,
            ">": int.__gt__, "gt": int.__gt__, "<": int.__lt__, "lt": int.__lt__}


def _choice(name, allowed):
    value = request.args.get(name)
    if value is None:
        return None
    if value.lower() not in allowed:
        raise bad_request(f"[{name}] must be one of [{', '.join(allowed)}], found [{value}]")
    return value.lower()


def _time_value(name):
    value = request.args.get(name)
    if value is not None and not _TIME_VALUE.fullmatch(value.strip()):
        raise bad_request(f"failed to parse setting [{name}] with value [{value}] as a time value: unit is "
                          "missing or unrecognized", type="parse_exception")


def _one_node_satisfies(expression):
    """`wait_for_nodes`: N, >=N, <=N, >N, <N, ge(N), le(N), gt(N), lt(N), checked against this one node."""
    match = _NODE_COUNT.fullmatch(expression.strip())
    if not match:
        raise bad_request(f"failed to parse [wait_for_nodes] with value [{expression}]: expected a number of nodes, "
                          "optionally after >=, <=, >, < or inside ge(), le(), gt(), lt()")
    operator = match.group(1) or match.group(3) or ""
    count = int(match.group(2) or match.group(4))
    return _COMPARE[operator](1, count)


@bp.get("/_cluster/health")
@bp.get("/_cluster/health/<index>")
@requires(*privileges.MONITOR, action=privileges.CLUSTER_HEALTH)
def cluster_health(index=None):
    """200 with the health of a one-node green cluster without indices. Named indices that don't exist make it
    red (Elasticsearch's answer for them); a `wait_for_*` condition that can't be met answers 408 at once with
    `timed_out: true`, since nothing would change while waiting."""
    check_params(*HEALTH_PARAMS)
    level = _choice("level", LEVELS) or "cluster"
    _choice("wait_for_events", EVENT_PRIORITIES)
    for name in ("timeout", "master_timeout"):
        _time_value(name)
    for name in ("local", "wait_for_no_initializing_shards", "wait_for_no_relocating_shards"):
        bool_param(name)
    for state in list_param(request.args.get("expand_wildcards")):
        if state.lower() not in WILDCARD_STATES:
            raise bad_request(f"No valid expand wildcard value [{state}]")
    shards = request.args.get("wait_for_active_shards")
    if shards is not None and shards.lower() not in ("all", "index-setting") and not shards.isdigit():
        raise bad_request(f"[wait_for_active_shards] must be a non-negative number of shards, [all] or "
                          f"[index-setting], found [{shards}]")
    wanted_status = request.args.get("wait_for_status")
    if wanted_status is not None and wanted_status.lower() not in STATUSES:
        raise bad_request(f"unknown cluster health status [{wanted_status}]")
    missing = [name for name in list_param(index) if name != "_all" and "*" not in name]
    status = "red" if missing else "green"
    timed_out = False
    if wanted_status is not None and STATUSES.index(status) > STATUSES.index(wanted_status.lower()):
        timed_out = True
    nodes = request.args.get("wait_for_nodes")
    if nodes and not _one_node_satisfies(nodes):
        timed_out = True
    human = bool_param("human", False)
    body = {"cluster_name": CLUSTER_NAME, "status": status, "timed_out": timed_out, "number_of_nodes": 1,
            "number_of_data_nodes": 1, "active_primary_shards": 0, "active_shards": 0, "relocating_shards": 0,
            "initializing_shards": 0, "unassigned_shards": 0, "unassigned_primary_shards": 0,
            "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0}
    if human:
        body["task_max_waiting_in_queue"] = "0s"
    body["task_max_waiting_in_queue_millis"] = 0
    if human:
        body["active_shards_percent"] = "100.0%"
    body["active_shards_percent_as_number"] = 100.0
    if level != "cluster":
        body["indices"] = {}
    return answer(body, 408 if timed_out else 200)
