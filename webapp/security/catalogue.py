"""The data behind Elasticsearch's built-in privileges, as Keydesk models them.

For every named privilege: the transport-action patterns it grants (with the patterns it carves out, for
`manage`), and the named privileges it directly implies. `privileges.py` turns the implication table into
its transitive closure; a unit test checks the table against the action patterns, so the two can't drift.
Action names follow Elasticsearch's transport actions (they appear in its 403 messages).
"""

SECURITY = "cluster:admin/xpack/security/"

# ------------------------------------------------- cluster privileges (GET /_security/privilege/_builtin)
_CLUSTER_ALL = ("cluster:*", "indices:admin/template/*", "indices:admin/index_template/*")
_REMOTE_CLUSTER_LINK = (
    "cluster:internal/remote_cluster/handshake",
    "cluster:internal/remote_cluster/nodes",
    "cluster:internal/admin/tasks/ban",
    "cluster:internal/admin/tasks/cancel_child",
    "cluster:monitor/xpack/info",
)
_TRANSFORM = ("cluster:admin/data_frame/*", "cluster:monitor/data_frame/*",
              "cluster:monitor/transform/*", "cluster:admin/transform/*")
_MONITOR_TRANSFORM = ("cluster:monitor/data_frame/*", "cluster:monitor/transform/*")
_PIPELINES = ("cluster:admin/ingest/pipeline/*",)
_OWN_API_KEY_VERBS = ("create", "get", "query", "invalidate", "update", "bulk_update")
_OWN_API_KEY_ACTIONS = tuple(SECURITY + "api_key/" + verb + "*" for verb in _OWN_API_KEY_VERBS)

# name -> (granted action patterns, excluded action patterns)
CLUSTER_ACTION_PATTERNS = {
    "all": (_CLUSTER_ALL, ()),
    "cancel_task": (("cluster:admin/tasks/cancel*",), ()),
    "create_snapshot": (("cluster:admin/snapshot/create", "cluster:admin/snapshot/status*",
                         "cluster:admin/snapshot/get", "cluster:admin/repository/get"), ()),
    "cross_cluster_replication": (_REMOTE_CLUSTER_LINK + ("cluster:monitor/state",), ()),
    "cross_cluster_search": (_REMOTE_CLUSTER_LINK + ("cluster:monitor/xpack/enrich/esql/resolve_policy",
                                                     "cluster:internal:data/read/esql/open_exchange",
                                                     "cluster:internal:data/read/esql/exchange"), ()),
    "delegate_pki": ((SECURITY + "delegate_pki", SECURITY + "token/invalidate"), ()),
    "grant_api_key": ((SECURITY + "api_key/grant*",), ()),
    "manage": (_CLUSTER_ALL, (SECURITY + "*",)),
    "manage_api_key": ((SECURITY + "api_key/*",), ()),
    "manage_autoscaling": (("cluster:admin/autoscaling/*",), ()),
    "manage_behavioral_analytics": (("cluster:admin/xpack/application/analytics/*",), ()),
    "manage_ccr": (("cluster:admin/xpack/ccr/*", "cluster:monitor/state",
                    SECURITY + "user/has_privileges"), ()),
    "manage_connector": (("cluster:admin/xpack/connector/*",), ("cluster:admin/xpack/connector/secret/*",)),
    "manage_data_frame_transforms": (_TRANSFORM, ()),
    "manage_data_stream_global_retention": (("cluster:admin/data_stream/global_retention/*",
                                             "cluster:monitor/data_stream/global_retention/*"), ()),
    "manage_enrich": (("cluster:admin/xpack/enrich/*", "cluster:monitor/xpack/enrich/*"), ()),
    "manage_ilm": (("cluster:admin/ilm/*",), ()),
    "manage_index_templates": (("indices:admin/template/*", "indices:admin/index_template/*",
                                "cluster:admin/component_template/*"), ()),
    "manage_inference": (("cluster:admin/xpack/inference/*", "cluster:monitor/xpack/inference*",
                          "cluster:admin/xpack/ml/trained_models/deployment/start",
                          "cluster:admin/xpack/ml/trained_models/deployment/stop",
                          "cluster:monitor/xpack/ml/trained_models/deployment/infer"), ()),
    "manage_ingest_pipelines": (_PIPELINES, ()),
    "manage_logstash_pipelines": (("cluster:admin/logstash/pipeline/*",), ()),
    "manage_ml": (("cluster:admin/xpack/ml/*", "cluster:monitor/xpack/ml/*"), ()),
    "manage_oidc": ((SECURITY + "oidc/*",), ()),
    # Elasticsearch limits this one to the caller's own keys with a request check; Keydesk's services do that.
    "manage_own_api_key": (_OWN_API_KEY_ACTIONS, ()),
    "manage_pipeline": (_PIPELINES, ()),
    "manage_rollup": (("cluster:admin/xpack/rollup/*", "cluster:monitor/xpack/rollup/*"), ()),
    "manage_saml": ((SECURITY + "saml/*", SECURITY + "token/invalidate", SECURITY + "token/refresh",
                     "cluster:monitor/xpack/security/saml/metadata"), ()),
    "manage_search_application": (("cluster:admin/xpack/application/search_application/*",), ()),
    "manage_search_query_rules": (("cluster:admin/xpack/query_rules/*",), ()),
    "manage_search_synonyms": (("cluster:admin/synonyms/*", "cluster:admin/synonyms_sets/*",
                                "cluster:admin/synonym_rules/*"), ()),
    "manage_security": ((SECURITY + "*", SECURITY + "delegate_pki"), ()),
    "manage_service_account": ((SECURITY + "service_account/*",), ()),
    "manage_slm": (("cluster:admin/slm/*", "cluster:admin/ilm/start", "cluster:admin/ilm/stop",
                    "cluster:admin/ilm/operation_mode/get"), ()),
    "manage_token": ((SECURITY + "token/*",), ()),
    "manage_transform": (_TRANSFORM, ()),
    "manage_user_profile": ((SECURITY + "profile/*",), ()),
    "manage_watcher": (("cluster:admin/xpack/watcher/*", "cluster:monitor/xpack/watcher/*"), ()),
    "monitor": (("cluster:monitor/*", "indices:admin/template/get", "indices:admin/index_template/get",
                 "cluster:admin/component_template/get"), ()),
    "monitor_connector": (("cluster:admin/xpack/connector/get", "cluster:admin/xpack/connector/list",
                           "cluster:admin/xpack/connector/sync_job/get",
                           "cluster:admin/xpack/connector/sync_job/list"), ()),
    "monitor_data_frame_transforms": (_MONITOR_TRANSFORM, ()),
    "monitor_data_stream_global_retention": (("cluster:monitor/data_stream/global_retention/*",), ()),
    "monitor_enrich": (("cluster:monitor/xpack/enrich/*", "cluster:admin/xpack/enrich/get"), ()),
    "monitor_inference": (("cluster:monitor/xpack/inference*",
                           "cluster:monitor/xpack/ml/trained_models/deployment/infer"), ()),
    "monitor_ml": (("cluster:monitor/xpack/ml/*",), ()),
    "monitor_rollup": (("cluster:monitor/xpack/rollup/*",), ()),
    "monitor_snapshot": (("cluster:admin/snapshot/status*", "cluster:admin/snapshot/get",
                          "cluster:admin/repository/get"), ()),
    "monitor_stats": (("cluster:monitor/stats*",), ()),
    "monitor_text_structure": (("cluster:monitor/text_structure/*",), ()),
    "monitor_transform": (_MONITOR_TRANSFORM, ()),
    "monitor_watcher": (("cluster:monitor/xpack/watcher/*",), ()),
    "none": ((), ()),
    "post_behavioral_analytics_event": (("cluster:admin/xpack/application/analytics/post_event",), ()),
    "read_ccr": (("cluster:monitor/state", SECURITY + "user/has_privileges"), ()),
    "read_connector_secrets": (("cluster:admin/xpack/connector/secret/get",), ()),
    "read_fleet_secrets": (("cluster:admin/fleet/secrets/get",), ()),
    "read_ilm": (("cluster:admin/ilm/get", "cluster:admin/ilm/operation_mode/get"), ()),
    "read_pipeline": (("cluster:admin/ingest/pipeline/get", "cluster:admin/ingest/pipeline/simulate"), ()),
    "read_security": (tuple(SECURITY + suffix for suffix in (
        "api_key/get", "api_key/query", "privilege/builtin/get", "privilege/get", "profile/get",
        "profile/has_privileges", "profile/suggest", "role/get", "role/query", "role_mapping/get",
        "service_account/get", "service_account/credential/get*", "user/get", "user/query",
        "user/list_privileges", "user/has_privileges", "settings/get")), ()),
    "read_slm": (("cluster:admin/slm/status", "cluster:admin/slm/get",
                  "cluster:admin/ilm/operation_mode/get"), ()),
    "transport_client": (("cluster:monitor/nodes/liveness", "cluster:monitor/state"), ()),
    "write_connector_secrets": (("cluster:admin/xpack/connector/secret/delete",
                                 "cluster:admin/xpack/connector/secret/post",
                                 "cluster:admin/xpack/connector/secret/put"), ()),
    "write_fleet_secrets": (("cluster:admin/fleet/secrets/post", "cluster:admin/fleet/secrets/delete"), ()),
}

CLUSTER_PRIVILEGE_NAMES = tuple(sorted(CLUSTER_ACTION_PATTERNS))

# Direct implications (every privilege also implies `none`, which grants nothing; `all` implies everything).
_MANAGE_SECURITY_FAMILY = ("manage_api_key", "read_security", "manage_token", "manage_oidc",
                           "manage_service_account", "manage_user_profile", "delegate_pki")
CLUSTER_IMPLIES = {
    "all": tuple(name for name in CLUSTER_PRIVILEGE_NAMES if name != "all"),
    # `manage` is every cluster action except the security ones (so not manage_security, manage_api_key...).
    "manage": ("monitor", "manage_autoscaling", "manage_behavioral_analytics", "manage_connector",
               "manage_data_frame_transforms", "manage_transform", "manage_data_stream_global_retention",
               "manage_enrich", "manage_ilm", "manage_index_templates", "manage_inference",
               "manage_ingest_pipelines", "manage_pipeline", "manage_logstash_pipelines", "manage_ml",
               "manage_rollup", "manage_search_application", "manage_search_query_rules",
               "manage_search_synonyms", "manage_slm", "manage_watcher", "cancel_task", "create_snapshot",
               "cross_cluster_search", "cross_cluster_replication", "read_connector_secrets",
               "write_connector_secrets", "read_fleet_secrets", "write_fleet_secrets"),
    "monitor": ("monitor_data_frame_transforms", "monitor_transform", "monitor_data_stream_global_retention",
                "monitor_inference", "monitor_ml", "monitor_rollup", "monitor_stats",
                "monitor_text_structure", "monitor_watcher", "transport_client"),
    "manage_security": _MANAGE_SECURITY_FAMILY,
    "manage_api_key": ("manage_own_api_key", "grant_api_key"),
    "manage_ml": ("monitor_ml",),
    "manage_inference": ("monitor_inference",),
    "manage_transform": ("manage_data_frame_transforms", "monitor_transform"),
    "manage_data_frame_transforms": ("manage_transform", "monitor_data_frame_transforms"),
    "monitor_transform": ("monitor_data_frame_transforms",),
    "monitor_data_frame_transforms": ("monitor_transform",),
    "manage_watcher": ("monitor_watcher",),
    "manage_rollup": ("monitor_rollup",),
    "manage_enrich": ("monitor_enrich",),
    "manage_ccr": ("read_ccr",),
    "manage_ilm": ("read_ilm",),
    "manage_slm": ("read_slm",),
    "create_snapshot": ("monitor_snapshot",),
    "manage_ingest_pipelines": ("manage_pipeline", "read_pipeline"),
    "manage_pipeline": ("manage_ingest_pipelines",),
    "manage_connector": ("monitor_connector",),
    "manage_behavioral_analytics": ("post_behavioral_analytics_event",),
    "manage_data_stream_global_retention": ("monitor_data_stream_global_retention",),
}

# Patterns over cluster actions accepted in place of a privilege name (ES appends `*` to them).
CLUSTER_ACTION_NAMESPACE = _CLUSTER_ALL

REMOTE_CLUSTER_PRIVILEGE_NAMES = ("monitor_enrich", "monitor_stats")

# ---------------------------------------------------------------- index privileges
_INDEX_CREATE_DOC = ("indices:data/write/index", "indices:data/write/index[*",
                     "indices:data/write/index:op_type/create", "indices:data/write/bulk*",
                     "indices:data/write/simulate/bulk*")
INDEX_ACTION_PATTERNS = {
    "all": ("indices:*", "internal:transport/proxy/indices:*"),
    "auto_configure": ("indices:admin/mapping/auto_put", "indices:admin/auto_create"),
    "create": ("indices:data/write/index*", "indices:data/write/bulk*", "indices:data/write/simulate/bulk*"),
    "create_doc": _INDEX_CREATE_DOC,
    "create_index": ("indices:admin/create", "indices:admin/auto_create", "indices:admin/data_stream/create"),
    "cross_cluster_replication": ("indices:data/read/xpack/ccr/shard_changes*", "indices:monitor/stats*",
                                  "indices:admin/seq_no/add_retention_lease*",
                                  "indices:admin/seq_no/remove_retention_lease*",
                                  "indices:admin/seq_no/renew_retention_lease*"),
    "cross_cluster_replication_internal": (
        "indices:internal/admin/ccr/restore/session/clear*",
        "indices:internal/admin/ccr/restore/file_chunk/get*",
        "indices:internal/admin/ccr/restore/session/put*",
        "internal:transport/proxy/indices:internal/admin/ccr/restore/session/clear*",
        "internal:transport/proxy/indices:internal/admin/ccr/restore/file_chunk/get*"),
    "delete": ("indices:data/write/delete*", "indices:data/write/bulk*"),
    "delete_index": ("indices:admin/delete", "indices:admin/data_stream/delete"),
    "index": ("indices:data/write/index*", "indices:data/write/bulk*", "indices:data/write/update*",
              "indices:data/write/simulate/bulk*"),
    "maintenance": ("indices:admin/refresh*", "indices:admin/flush*", "indices:admin/synced_flush",
                    "indices:admin/forcemerge*"),
    "manage": ("indices:monitor/*", "indices:admin/*", "indices:data/read/field_caps*",
               "indices:data/read/xpack/rollup/get/index/caps*"),
    "manage_data_stream_lifecycle": ("indices:admin/data_stream/lifecycle/*",),
    "manage_follow_index": ("indices:admin/xpack/ccr/put_follow", "indices:admin/xpack/ccr/unfollow",
                            "indices:admin/close*", "indices:admin/data_stream/promote",
                            "indices:admin/rollover"),
    "manage_ilm": ("indices:admin/ilm/*",),
    "manage_leader_index": ("indices:admin/xpack/ccr/forget_follower*",),
    "monitor": ("indices:monitor/*",),
    "none": (),
    "read": ("indices:data/read/*", "indices:admin/resolve/index", "indices:admin/resolve/cluster"),
    "read_cross_cluster": ("internal:transport/proxy/indices:data/read/*",
                           "indices:admin/shards/search_shards", "indices:admin/search/search_shards",
                           "indices:admin/resolve/cluster",
                           "indices:data/read/esql", "indices:data/read/esql/compute"),
    # Reads through the `::failures` selector of a data stream. Actions carry no selector, so this is
    # modelled with its own synthetic namespace: only `all` covers it.
    "read_failures": ("indices:failures/data/read/*",),
    "view_index_metadata": ("indices:admin/aliases/get", "indices:admin/get",
                            "indices:admin/mappings/fields/get*", "indices:admin/mappings/get",
                            "indices:admin/shards/search_shards",
                            "indices:admin/search/search_shards", "indices:admin/validate/query*",
                            "indices:admin/settings/get", "indices:admin/ilm/explain",
                            "indices:admin/data_stream/lifecycle/get",
                            "indices:admin/data_stream/lifecycle/explain",
                            "indices:admin/data_stream/get", "indices:admin/resolve/index",
                            "indices:admin/resolve/cluster", "indices:data/read/field_caps*",
                            "indices:data/read/xpack/rollup/get/index/caps*"),
    "write": ("indices:data/write/*", "indices:admin/mapping/auto_put"),
}

INDEX_PRIVILEGE_NAMES = tuple(sorted(INDEX_ACTION_PATTERNS))

INDEX_IMPLIES = {
    "all": tuple(name for name in INDEX_PRIVILEGE_NAMES if name != "all"),
    "manage": ("monitor", "create_index", "delete_index", "view_index_metadata", "manage_ilm",
               "manage_data_stream_lifecycle", "maintenance", "manage_follow_index", "manage_leader_index",
               "auto_configure"),
    "write": ("index", "delete", "create", "create_doc"),
    "index": ("create", "create_doc"),
    "create": ("create_doc",),
}

INDEX_ACTION_NAMESPACE = ("indices:*", "internal:transport/proxy/indices:*")

# ---------------------------------------------------------------- words for the UI (our own)
CLUSTER_PRIVILEGE_DESCRIPTIONS = {
    "all": "Everything, including security administration and every cluster action.",
    "manage_security": "All security administration: users, roles, role mappings and every API key.",
    "manage_api_key": "Create API keys and view or invalidate the keys of every user.",
    "manage_own_api_key": "Create, view, update and invalidate the caller's own API keys.",
    "read_security": "Read-only access to users, roles and API keys.",
    "grant_api_key": "Create API keys on behalf of other users.",
    "manage": "Cluster administration other than security.",
    "monitor": "Read-only cluster state, health and statistics.",
    "none": "No cluster privileges.",
    "manage_token": "Create and invalidate access tokens.",
    "manage_service_account": "Manage service accounts and their tokens.",
    "manage_user_profile": "Manage user profiles.",
    "cross_cluster_search": "Lets a remote cluster search this one through a cross-cluster API key.",
    "cross_cluster_replication": "Lets a remote cluster replicate from this one via a cross-cluster API key.",
    "transport_client": "Connect with the legacy transport client.",
}

INDEX_PRIVILEGE_DESCRIPTIONS = {
    "all": "Every operation on the matching indices.",
    "read": "Search and read documents.",
    "write": "Index, update and delete documents.",
    "index": "Add and update documents.",
    "create": "Add documents (also through bulk requests).",
    "create_doc": "Add new documents only; existing documents can't be overwritten.",
    "delete": "Delete documents.",
    "manage": "Administer the indices: mappings, settings, aliases, lifecycle.",
    "monitor": "Read index statistics and recovery state.",
    "view_index_metadata": "Read mappings, settings and aliases.",
    "none": "No index privileges.",
}

# ------------------------------------------------- Keydesk's own actions (named as ES transport actions)
KEYDESK_ACTIONS = tuple(SECURITY + suffix for suffix in (
    "api_key/create", "api_key/get", "api_key/query", "api_key/invalidate", "api_key/update",
    "api_key/bulk_update", "api_key/grant",
    "cross_cluster/api_key/create", "cross_cluster/api_key/update",
    "role/put", "role/get", "role/delete", "role/query",
    "user/put", "user/get", "user/delete", "user/change_password", "user/set_enabled", "user/query",
    "user/authenticate", "user/has_privileges",
    "privilege/builtin/get", "role/bulk_put", "role/bulk_delete", "user/list_privileges", "cache/clear",
    "role_mapping/put", "role_mapping/get", "role_mapping/delete",
    "privilege/put", "privilege/get", "privilege/delete", "privilege/cache/clear",
)) + ("cluster:admin/xpack/license/start_trial", "cluster:monitor/xpack/license/get",
      "cluster:monitor/main", "cluster:monitor/xpack/info", "cluster:monitor/health")
