"""SMS sending behind an interface. In development the message goes to the log (phone masked)."""

from __future__ import annotations

from collections import deque
from typing import Protocol

from shared.logging import get_logger
from shared.masking import mask_phone

log = get_logger(__name__)


class SmsSender(Protocol):
    async def send(self, phone: str, text: str) -> None: ...


class DevSmsSender:
    """Logs each message and keeps the last few in memory so tests and demos can read codes."""

    def __init__(self) -> None:
        self.outbox: deque[tuple[str, str]] = deque(maxlen=1000)

    async def send(self, phone: str, text: str) -> None:
        self.outbox.append((phone, text))
        log.info("sms.dev_send", to=mask_phone(phone), text=text)

    def last_to(self, phone: str) -> str | None:
        for to, text in reversed(self.outbox):
            if to == phone:
                return text
        return None
