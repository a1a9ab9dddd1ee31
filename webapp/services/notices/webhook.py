"""Webhook requests: a JSON body POSTed with an HMAC-SHA256 signature (docs/notices.md says how to check it).

The signed text is the timestamp header's value, a full stop, then the raw body bytes:
    X-Keydesk-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>
so a receiver that refuses old timestamps also refuses a request recorded and sent again later.
"""

import hashlib
import hmac
import time
import urllib.error
import urllib.request

from webapp.services.notices.mail import DeliveryFailed

SIGNATURE_HEADER = "X-Keydesk-Signature"
TIMESTAMP_HEADER = "X-Keydesk-Timestamp"
EVENT_HEADER = "X-Keydesk-Event"
DELIVERY_HEADER = "X-Keydesk-Delivery"
USER_AGENT = "Keydesk-Notices/1"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Keydesk-Signature value of `body` sent at `timestamp` (Unix seconds, as text)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a place to send the notice again (urllib would turn the POST into a GET)."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, secret: str, body: bytes, *, event: str, delivery: str, timeout: float) -> int:
    """POST `body` to `url`, signed now; the 2xx status, or DeliveryFailed (with the status when one came)."""
    timestamp = str(int(time.time()))
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT, EVENT_HEADER: event,
        DELIVERY_HEADER: delivery, TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
            return response.status
    except urllib.error.HTTPError as error:
        with error:
            permanent = 400 <= error.code < 500 and error.code not in (408, 425, 429)
            raise DeliveryFailed(f"the webhook answered HTTP {error.code}", error.code, permanent) from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryFailed(f"could not reach the webhook: {reason}") from None
