"""The audit page: filter, page through and export the audit trail."""

import csv
import io
import json

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for

from webapp.errors import ValidationFailed
from webapp.security import privileges
from webapp.services.audit import query as audit_query
from webapp.web.errors import wants_partial
from webapp.web.guard import current_subject, requires

bp = Blueprint("audit", __name__, url_prefix="/audit")
FILTER_FIELDS = ("actor", "action", "target", "outcome", "since", "until")


def _filter_values():
    return {name: request.args.get(name, "") for name in FILTER_FIELDS}


def audit_table_context(values):
    """Everything audit/_table.html needs, for the page and the htmx fragment alike."""
    size = request.args.get("size", type=int) or 50
    before = request.args.get("before", type=int)
    try:
        criteria = audit_query.build_filter(**values)
    except ValidationFailed as error:
        return {"events": [], "next_before": None, "errors": error.fields, "values": values, "size": size,
                "export_query": values}
    events, next_before = audit_query.audit_page(current_subject(), criteria, size=size, before_id=before)
    return {"events": events, "next_before": next_before, "errors": {}, "values": values, "size": size,
            "export_query": {k: v for k, v in values.items() if v}, "first_page": before is None}


@bp.get("/")
@requires(*privileges.READ_SECURITY)
def index():
    """The audit page (audit/index.html); to htmx, the table partial (audit/_table.html → #audit-table)."""
    context = audit_table_context(_filter_values())
    status = 422 if context["errors"] else 200
    template = "audit/_table.html" if wants_partial() else "audit/index.html"
    return render_template(template, **context), status


def _export(make_body, mimetype, extension):
    try:
        criteria = audit_query.build_filter(**_filter_values())
    except ValidationFailed as error:
        return Response(error.reason + "\n", status=422, mimetype="text/plain")
    rows = audit_query.export_rows(current_subject(), criteria)
    response = Response(stream_with_context(make_body(rows)), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="keydesk-audit.{extension}"'
    return response


def _csv_cell(value):
    """Text a spreadsheet shows as text: JSON for structures, and no formula from a leading = + - @."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, separators=(",", ":"))
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_lines(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(audit_query.EXPORT_FIELDS)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_cell(row[field]) for field in audit_query.EXPORT_FIELDS])
        yield buffer.getvalue()


def _json_lines(rows):
    for row in rows:
        yield json.dumps(row, separators=(",", ":")) + "\n"


@bp.get("/export.csv")
@requires(*privileges.READ_SECURITY)
def export_csv():
    """The filtered audit trail as CSV (streamed)."""
    return _export(_csv_lines, "text/csv", "csv")


@bp.get("/export.jsonl")
@requires(*privileges.READ_SECURITY)
def export_jsonl():
    """The filtered audit trail as JSON lines (streamed)."""
    return _export(_json_lines, "application/x-ndjson", "jsonl")


@bp.app_template_global()
def event_time(timestamp_ms):
    """ISO 8601 UTC time of an epoch-ms timestamp."""
    return audit_query.event_row_time(timestamp_ms)


@bp.app_template_global()
def audit_url(endpoint, **params):
    """url_for with the non-empty filter values only."""
    return url_for(endpoint, **{k: v for k, v in params.items() if v not in ("", None)})
