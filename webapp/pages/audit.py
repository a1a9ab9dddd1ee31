"""The audit page: filter, page through and export the audit trail."""

import csv
import io
import json

from flask import Blueprint, Response, request, stream_with_context

from webapp.errors import ValidationFailed
from webapp.security import privileges
from webapp.services.audit import query as audit_query
from webapp.web.guard import current_subject, requires
from webapp.web.htmx import render

bp = Blueprint("audit", __name__, url_prefix="/audit")
FILTER_FIELDS = ("actor", "action", "target", "outcome", "since", "until")


def _filter_values():
    return {name: request.args.get(name, "") for name in FILTER_FIELDS}


@bp.get("/")
@requires(*privileges.READ_SECURITY)
def index():
    """The audit page (audit/index.html); to htmx, the table partial (audit/_table.html → #audit-table)."""
    page = audit_query.audit_page_of(current_subject(), _filter_values(), size=request.args.get("size", type=int),
                                     before_id=request.args.get("before", type=int))
    return render("audit/index.html", "audit/_table.html", 422 if page.errors else 200, page=page)


def _export(make_body, mimetype, extension):
    try:
        rows = audit_query.export_rows(current_subject(), _filter_values())
    except ValidationFailed as error:
        return Response(error.reason + "\n", status=422, mimetype="text/plain")
    response = Response(stream_with_context(make_body(rows)), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="keydesk-audit.{extension}"'
    return response


def csv_cell(value):
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
        writer.writerow([csv_cell(row[field]) for field in audit_query.EXPORT_FIELDS])
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

