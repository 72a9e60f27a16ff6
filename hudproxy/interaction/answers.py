"""Answers hudproxy gives in place of an upstream's, shared by the recorder and replay's passthrough (which
never imports the recorder)."""

from __future__ import annotations

import json

from hudproxy.errors import CassetteWriteError
from hudproxy.interaction.model import Response

WRITE_FAILED_STATUS = 507  # Insufficient Storage: the answer was not kept, whatever the exact reason


def write_failed_response(exc: CassetteWriteError) -> Response:
    """What a client gets instead of a response the cassette could not keep: 507 and the reason."""
    body = json.dumps({"error": "hudproxy could not record this response", "reason": str(exc)}).encode()
    headers = (("Content-Type", "application/json"), ("Content-Length", str(len(body))))
    return Response(WRITE_FAILED_STATUS, "Insufficient Storage", headers, body)
