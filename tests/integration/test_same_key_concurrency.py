"""Several processes changing the SAME keys at once, over real HTTP: no 5xx, no lost update, a serial order.

The app runs under gunicorn (2 processes x 4 threads) on the test's database; WORKERS client processes
(multiprocessing spawn) send PUT /_security/api_key/<id>, POST /_security/api_key/_bulk_update and
DELETE /_security/api_key on a small shared set of keys, and, part-way through, POST /_security/api_key with
one shared name. Every update carries a marker unique to its request. Each request is recorded with its
status, body and time window (CLOCK_MONOTONIC, which every process on the machine shares).

Then the recorded answers, the audit trail and the final rows have to agree on one serial order:
- every answer is a documented success or the documented error (updating an invalidated key);
- per key, the successful updates are exactly the key's audit events, version grew by exactly that many
  (+1 for the invalidation), each event's `before` is the previous event's `after`, an update answered before
  another began comes first in audit order, and the row equals the replay of its events in audit order;
- each invalidated key was reported freshly invalidated by exactly one request; an update that began after an
  invalidation had answered was refused, and no refusal came before that invalidation began;
- concurrent creates with one name all succeed, with distinct ids.
"""

import http.client
import json
import multiprocessing
import os
import random
import secrets
import subprocess
import sys
import time
from base64 import b64encode
from pathlib import Path

from tests.live_keydesk import free_port, stop_gunicorn

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 8
REQUESTS_PER_PHASE = 120  # per worker; phase one updates only, phase two adds invalidations and creates
SHARED_KEYS = 4
DOOMED_KEYS = 2  # the first shared keys are invalidated during phase two
SHARED_NAME = "same-name"
USERNAME = "racer"
ROLE_NAME = "racer-role"
UPDATE_REFUSED = "cannot update invalidated API key [{}]"


# ---- the client processes -----------------------------------------------------------------------------

class Recorder:
    """Send JSON requests (one connection each, so nothing is ever re-sent) and record every exchange."""

    def __init__(self, port, worker, password):
        self.port = port
        self.worker = worker
        self.auth = "Basic " + b64encode(f"{USERNAME}:{password}".encode()).decode()
        self.records = []

    def send(self, kind, method, path, body, targets=()):
        record = {"worker": self.worker, "number": len(self.records), "kind": kind, "method": method,
                  "path": path, "body": body, "targets": list(targets), "status": None, "response": None}
        record["start"] = time.monotonic()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            connection.request(method, path, body=json.dumps(body),
                               headers={"Authorization": self.auth, "Content-Type": "application/json",
                                        "Connection": "close"})
            response = connection.getresponse()
            payload = response.read()
            connection.close()
            record["status"] = response.status
            try:
                record["response"] = json.loads(payload)
            except ValueError:
                record["response"] = payload.decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            record["response"] = f"{type(error).__name__}: {error}"
        record["end"] = time.monotonic()
        self.records.append(record)
        return record


def _update_body(rng, marker, with_descriptors):
    body = {"metadata": {"marker": marker, "note": rng.choice(["a", "b", "c"])}}
    if with_descriptors:
        body["role_descriptors"] = {ROLE_NAME: {
            "cluster": rng.choice([[], ["monitor"]]),
            "indices": [{"names": [f"idx-{marker}"], "privileges": [rng.choice(["read", "write"])]}],
        }}
    return body


def _random_update(recorder, rng, key_ids):
    marker = f"w{recorder.worker}-n{len(recorder.records)}"
    body = _update_body(rng, marker, with_descriptors=rng.random() < 0.6)
    if rng.random() < 0.65:
        key_id = rng.choice(key_ids)
        recorder.send("update", "PUT", f"/_security/api_key/{key_id}", body, [key_id])
    else:
        ids = rng.sample(key_ids, rng.randint(2, len(key_ids)))  # a random subset, in a random order
        recorder.send("bulk_update", "POST", "/_security/api_key/_bulk_update", {"ids": ids, **body}, ids)


def _invalidate(recorder, ids):
    recorder.send("invalidate", "DELETE", "/_security/api_key", {"ids": ids, "owner": True}, ids)


def _create(recorder):
    recorder.send("create", "POST", "/_security/api_key", {"name": SHARED_NAME, "metadata": {
        "creator": f"w{recorder.worker}-n{len(recorder.records)}"}})


def hammer(port, worker, seed, password, key_ids, ready, phase_two, out_path):
    """Run in a separate process: phase one updates the shared keys; then (all together) invalidate, create."""
    rng = random.Random(f"{seed}-{worker}")
    recorder = Recorder(port, worker, password)
    doomed = key_ids[:DOOMED_KEYS]
    try:
        ready.wait(60)
        for _ in range(REQUESTS_PER_PHASE):
            _random_update(recorder, rng, key_ids)
        phase_two.wait(60)
        # Everyone at once: the same invalidation, then a create with the same name.
        _invalidate(recorder, doomed[:1])
        _create(recorder)
        late_invalidation = rng.randrange(REQUESTS_PER_PHASE // 4, REQUESTS_PER_PHASE // 2)
        for number in range(REQUESTS_PER_PHASE):
            roll = rng.random()
            if number == late_invalidation or roll < 0.08:
                _invalidate(recorder, rng.sample(doomed, rng.randint(1, len(doomed))))
            elif roll < 0.2:
                _create(recorder)
            else:
                _random_update(recorder, rng, key_ids)
    finally:
        Path(out_path).write_text(json.dumps(recorder.records))


# ---- the server ---------------------------------------------------------------------------------------

def _start_gunicorn(database_url, workdir, port):
    env = dict(os.environ, KEYDESK_DATABASE_URL=database_url, KEYDESK_SECRET_KEY="same-key-secret",
               KEYDESK_INSTANCE_PATH=str(workdir))
    log = open(workdir / "gunicorn.log", "wb")  # noqa: SIM115 (closed by stop_gunicorn)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--threads", "4", "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log = log
    deadline = time.monotonic() + 30
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        finally:
            connection.close()
        assert process.poll() is None, f"gunicorn exited: {(workdir / 'gunicorn.log').read_text()}"
        assert time.monotonic() < deadline, "gunicorn did not answer /healthz within 30 s"
        time.sleep(0.2)


# ---- checks -------------------------------------------------------------------------------------------

def _brief(record):
    return (f"w{record['worker']}#{record['number']} {record['method']} {record['path']} "
            f"{json.dumps(record['body'])[:200]} -> {record['status']} {json.dumps(record['response'])[:400]}")


def _is_refusal(error, key_id):
    """The documented answer to updating an invalidated key (ES: illegal_argument_exception, 400)."""
    return error == {"type": "illegal_argument_exception", "reason": UPDATE_REFUSED.format(key_id)}


def _classify(records, key_ids, doomed):
    """Check each answer's shape; return successful updates, refusals and invalidation answers per key."""
    problems = []
    updates = {key_id: [] for key_id in key_ids}  # (marker, record) of each reported success
    refusals = {key_id: [] for key_id in key_ids}
    fresh = {key_id: [] for key_id in key_ids}  # invalidations that report the key freshly invalidated
    already = {key_id: [] for key_id in key_ids}
    creates = []
    for record in records:
        status, response = record["status"], record["response"]
        if status is None or status >= 500:
            problems.append(f"server error or no answer: {_brief(record)}")
            continue
        if record["kind"] == "update":
            key_id = record["targets"][0]
            if status == 200 and response == {"updated": True}:
                updates[key_id].append((record["body"]["metadata"]["marker"], record))
            elif (status == 400 and key_id in doomed and isinstance(response, dict)
                  and response.get("status") == 400
                  and _is_refusal({k: v for k, v in response["error"].items() if k != "root_cause"}, key_id)):
                refusals[key_id].append(record)
            else:
                problems.append(f"undocumented answer (a unique marker must report updated: true): {_brief(record)}")
        elif record["kind"] == "bulk_update":
            details = (response.get("errors") or {}).get("details", {}) if isinstance(response, dict) else {}
            if (status != 200 or set(response) - {"updated", "noops", "errors"} or response["noops"]
                    or sorted(response["updated"] + list(details)) != sorted(record["targets"])
                    or ("errors" in response and response["errors"]["count"] != len(details))):
                problems.append(f"undocumented bulk answer: {_brief(record)}")
                continue
            for key_id in response["updated"]:
                updates[key_id].append((record["body"]["metadata"]["marker"], record))
            for key_id, error in details.items():
                if key_id in doomed and _is_refusal(error, key_id):
                    refusals[key_id].append(record)
                else:
                    problems.append(f"undocumented bulk error for {key_id}: {_brief(record)}")
        elif record["kind"] == "invalidate":
            if (status != 200 or response.get("error_count") != 0 or "error_details" in response
                    or sorted(response["invalidated_api_keys"] + response["previously_invalidated_api_keys"])
                    != sorted(record["targets"])):
                problems.append(f"undocumented invalidate answer: {_brief(record)}")
                continue
            for key_id in response["invalidated_api_keys"]:
                fresh[key_id].append(record)
            for key_id in response["previously_invalidated_api_keys"]:
                already[key_id].append(record)
        else:
            if (status != 200 or response.get("name") != SHARED_NAME or not response.get("id")
                    or not response.get("api_key") or not response.get("encoded")):
                problems.append(f"undocumented create answer: {_brief(record)}")
                continue
            creates.append(response["id"])
    return problems, updates, refusals, fresh, already, creates


def _timing_problems(key_id, updates, refusals, fresh, already):
    """An invalidated key: exactly one fresh invalidation, and refusals exactly where the clock demands."""
    problems = []
    if len(fresh) != 1:
        return [f"{key_id}: {len(fresh)} requests report it freshly invalidated (must be exactly one): "
                + "; ".join(_brief(r) for r in fresh)]
    began, answered = fresh[0]["start"], min(r["end"] for r in fresh + already)
    for marker, record in updates:
        if record["start"] > answered:
            problems.append(f"{key_id}: update {marker} began after the invalidation had answered, yet succeeded: "
                            f"{_brief(record)}")
    for record in refusals + already:
        if record["end"] < began:
            problems.append(f"{key_id}: saw the key invalidated before any invalidation of it began: {_brief(record)}")
    return problems


def _replay_problems(key_id, initial, row, events, updates, invalidated_once):
    """The audit events of one key, in id order, against the reported successes and the final row."""
    from webapp.security.descriptors.roles import parse_role_descriptors

    problems = []
    reported = {marker: record for marker, record in updates}
    if len(reported) != len(updates):
        problems.append(f"{key_id}: one marker reported as applied twice")
    state = {field: initial[field] for field in ("metadata", "role_descriptors", "invalidated")}
    seen_markers = []
    invalidations = 0
    for event in events:
        if invalidations:
            problems.append(f"{key_id}: audit event {event.id} ({event.action}) after the invalidation")
        if event.action == "api_key.invalidate":
            invalidations += 1
            if event.before.get("invalidated") is not False:
                problems.append(f"{key_id}: invalidation event {event.id} of a key already invalidated")
            state["invalidated"] = True
            continue
        assert event.action == "api_key.update", f"unexpected audit event {event.action} for {key_id}"
        for field in ("metadata", "role_descriptors", "invalidated"):
            if event.before[field] != state[field]:
                problems.append(f"{key_id}: event {event.id} changed {field} from {event.before[field]!r}, but the "
                                f"previous event left {state[field]!r} (a lost update)")
        marker = event.after["metadata"].get("marker")
        seen_markers.append(marker)
        record = reported.get(marker)
        if record is None:
            problems.append(f"{key_id}: audit event {event.id} for marker {marker!r} nobody was told succeeded")
            state.update(metadata=event.after["metadata"], role_descriptors=event.after["role_descriptors"])
            continue
        state["metadata"] = record["body"]["metadata"]
        if "role_descriptors" in record["body"]:
            state["role_descriptors"] = parse_role_descriptors(record["body"]["role_descriptors"], for_api_key=True)
        for field in ("metadata", "role_descriptors", "invalidated"):
            if event.after[field] != state[field]:
                problems.append(f"{key_id}: event {event.id} recorded {field} {event.after[field]!r}, the request "
                                f"{marker} asked for {state[field]!r}")
    if sorted(seen_markers) != sorted(reported):
        missing = sorted(set(reported) - set(seen_markers))
        doubled = sorted({m for m in seen_markers if seen_markers.count(m) > 1})
        problems.append(f"{key_id}: successful updates without exactly one audit event: missing {missing}, "
                        f"recorded more than once {doubled}")
    # Real-time order: an update answered before another one began comes first in the audit order too.
    applied = [reported[marker] for marker in seen_markers if marker in reported]
    earliest_later_end = float("inf")
    for record in reversed(applied):
        if record["start"] > earliest_later_end:
            problems.append(f"{key_id}: update {record['body']['metadata']['marker']} is serialised before an update "
                            "that had already answered when it began")
        earliest_later_end = min(earliest_later_end, record["end"])
    if invalidations != (1 if invalidated_once else 0):
        problems.append(f"{key_id}: {invalidations} invalidation events (expected {int(invalidated_once)})")
    final = {"metadata": row.metadata, "role_descriptors": row.role_descriptors, "invalidated": row.invalidated}
    if final != state:
        problems.append(f"{key_id}: final row {final!r} is not the replay of its audit events {state!r}")
    if row.version - initial["version"] != len(updates) + (1 if row.invalidated else 0):
        problems.append(f"{key_id}: version grew by {row.version - initial['version']}, but {len(updates)} updates "
                        f"reported success (+{int(row.invalidated)} for the invalidation)")
    if updates:
        last_marker = seen_markers[-1] if seen_markers else None
        if row.metadata.get("marker") != last_marker:
            problems.append(f"{key_id}: final metadata {row.metadata!r} is not that of the last serialised update "
                            f"{last_marker!r}")
    return problems


# ---- the test -----------------------------------------------------------------------------------------

def test_same_keys_from_many_processes_keep_one_serial_order(app, make_user, subject_of, tmp_path):
    from tests.conftest import USER_PASSWORD, count
    from webapp.model import ApiKey, AuditEvent
    from webapp.model.db import database
    from webapp.services.api_keys import commands as api_keys

    with database.connection_context():
        owner = subject_of(make_user(USERNAME, ["api_key_user"]))
        key_ids = [api_keys.create_api_key(owner, name=f"shared-{n}", metadata={"marker": "initial"},
                                           role_descriptors={ROLE_NAME: {"cluster": ["monitor"]}}).id
                   for n in range(SHARED_KEYS)]
        initial = {row.id: {"metadata": row.metadata, "role_descriptors": row.role_descriptors,
                            "invalidated": row.invalidated, "version": row.version}
                   for row in ApiKey.select().where(ApiKey.id.in_(key_ids))}
    doomed = key_ids[:DOOMED_KEYS]
    seed = secrets.token_hex(4)
    workdir = tmp_path / "server"
    workdir.mkdir()
    port = free_port()
    server = _start_gunicorn(app.config["KEYDESK_DATABASE_URL"], workdir, port)
    started = time.monotonic()
    try:
        context = multiprocessing.get_context("spawn")
        ready, phase_two = context.Barrier(WORKERS), context.Barrier(WORKERS)
        outputs = [tmp_path / f"worker-{worker}.json" for worker in range(WORKERS)]
        workers = [context.Process(target=hammer, args=(port, worker, seed, USER_PASSWORD, key_ids, ready,
                                                        phase_two, str(outputs[worker])))
                   for worker in range(WORKERS)]
        for process in workers:
            process.start()
        for process in workers:
            process.join(120)
        exit_codes = [process.exitcode for process in workers]
    finally:
        stop_gunicorn(server)
    elapsed = time.monotonic() - started
    assert exit_codes == [0] * WORKERS, f"client processes failed (seed {seed}): {exit_codes}"
    records = [record for path in outputs for record in json.loads(path.read_text())]
    assert len(records) == WORKERS * (2 * REQUESTS_PER_PHASE + 2)
    log = (workdir / "gunicorn.log").read_text()
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log, log[-3000:]

    problems, updates, refusals, fresh, already, creates = _classify(records, key_ids, doomed)
    for key_id in doomed:
        problems += _timing_problems(key_id, updates[key_id], refusals[key_id], fresh[key_id], already[key_id])
    for key_id in set(key_ids) - set(doomed):
        assert not refusals[key_id] and not fresh[key_id] and not already[key_id], key_id
    with database.connection_context():
        rows = {row.id: row for row in ApiKey.select().where(ApiKey.id.in_(key_ids))}
        for key_id in key_ids:
            events = list(AuditEvent.select().where((AuditEvent.target_id == key_id)
                                                    & (AuditEvent.action != "api_key.create"))
                          .order_by(AuditEvent.id))
            problems += _replay_problems(key_id, initial[key_id], rows[key_id], events, updates[key_id],
                                         invalidated_once=key_id in doomed)
        named = {row.id for row in ApiKey.select().where(ApiKey.name == SHARED_NAME)}
        create_events = AuditEvent.select().where((AuditEvent.action == "api_key.create")
                                                  & AuditEvent.target_id.in_(creates)).count()
    summary = (f"seed {seed}, {len(records)} requests from {WORKERS} processes in {elapsed:.1f} s; "
               f"updates that succeeded per key {[len(updates[k]) for k in key_ids]}, "
               f"refused {[len(refusals[k]) for k in key_ids]}, creates {len(creates)}")
    assert problems == [], summary + "\n" + "\n".join(problems[:40])

    # Concurrent creates with one name: all succeeded, each a distinct key with its one audit event.
    expected_creates = sum(1 for record in records if record["kind"] == "create")
    assert len(creates) == expected_creates >= WORKERS, summary
    assert len(set(creates)) == len(creates) and named == set(creates), summary
    assert create_events == len(creates), summary
    # The run did exercise what it claims: updates landed on every key, some were refused after invalidation.
    assert all(rows[key_id].invalidated for key_id in doomed), summary
    assert all(updates[key_id] for key_id in key_ids), summary
    assert sum(len(refusals[key_id]) for key_id in doomed) > 0, summary
    count(f"concurrency: requests on {SHARED_KEYS} shared keys from {WORKERS} processes at once", len(records))
    print(summary)
