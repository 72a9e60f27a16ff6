"""A stateful mock service: one instance per run, so a grader reads exactly what that run sent."""

from __future__ import annotations

from typing import Any


class MockMailer:
    """E-mail to customers, kept in `sent` instead of leaving the machine."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_email(self, to: str, subject: str, body: str) -> dict[str, str]:
        """Send an e-mail to a customer (an address, or the customer's name as on the order)."""
        message_id = f"msg-{len(self.sent) + 1}"
        self.sent.append({"id": message_id, "to": to, "subject": subject, "body": body})
        return {"status": "sent", "id": message_id}
