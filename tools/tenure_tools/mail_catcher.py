"""A local SMTP server that accepts every email and keeps it (aiosmtpd): the dev stack's and the
tests' mail catcher. Nothing is sent on; each message is kept in memory and, with `folder`, written
there as an .eml file."""

from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller


class MailCatcher:
    def __init__(self, port: int, *, folder: Path | None = None, host: str = "127.0.0.1"):
        self.host, self.port, self.folder = host, port, folder
        self._messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)
        # A new controller each start: the tests stop the catcher to see emails retried, then start it again.
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self._messages.append(message)
        if self.folder:  # named by arrival time: a restarted dev stack keeps adding to the folder
            (self.folder / f"{time.time_ns()}.eml").write_bytes(envelope.content)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)
