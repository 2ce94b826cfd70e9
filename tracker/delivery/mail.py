"""The email channel: SMTP through the standard library (smtplib, email.message), with
STARTTLS (the default), implicit TLS or neither, and login when a username is set.

The message is built at send time from the parts the `email` format queued (subject, text,
HTML) and the receiver's From and To; the password is resolved from its reference then.
Message-ID is derived from the webhook-id, so a retry is the same message to a mail client.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from tracker.catalog.routing import Target
from tracker.delivery.failure import DeliveryError, resolve

_PERMANENT = range(500, 600)  # 5xx: the server refuses for good (bad address, auth rejected)


class EmailChannel:
    def __init__(self, target: Target, *, timeout: float = 15.0, environ: Mapping[str, str] | None = None) -> None:
        self.target = target
        self.options = target.email
        self.timeout = timeout
        self.environ = os.environ if environ is None else environ

    def message(self, webhook_id: str, body: bytes, now: datetime) -> EmailMessage:
        parts = json.loads(body)
        message = EmailMessage()
        message["Subject"] = parts["subject"]
        message["From"] = str(self.options["from"])
        message["To"] = ", ".join(self.options["to"])  # type: ignore[arg-type]
        message["Date"] = format_datetime(now)
        host = str(self.options["smarthost"]).rsplit(":", 1)[0]
        message["Message-ID"] = f"<{webhook_id}@{host}>"
        message.set_content(parts["text"])
        message.add_alternative(parts["html"], subtype="html")
        return message

    def send(self, webhook_id: str, body: bytes, *, now: datetime) -> int:
        message = self.message(webhook_id, body, now)
        try:
            with self._connect() as smtp:
                self._login(smtp)
                smtp.send_message(message)
        except smtplib.SMTPResponseException as error:
            permanent = error.smtp_code in _PERMANENT
            raise DeliveryError(f"SMTP {error.smtp_code}", permanent=permanent) from None
        except smtplib.SMTPRecipientsRefused as error:
            codes = sorted({code for code, _ in error.recipients.values()})
            raise DeliveryError(f"SMTP recipients refused ({codes})", permanent=all(c in _PERMANENT for c in codes)) \
                from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP {type(error).__name__}") from None
        return 250

    def _context(self) -> ssl.SSLContext:
        ca_file = self.options.get("ca_file")
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def _connect(self) -> smtplib.SMTP:
        host, port = str(self.options["smarthost"]).rsplit(":", 1)
        security = self.options.get("security", "starttls")
        if security == "tls":
            return smtplib.SMTP_SSL(host, int(port), timeout=self.timeout, context=self._context())
        smtp = smtplib.SMTP(host, int(port), timeout=self.timeout)
        try:
            if security == "starttls":
                smtp.starttls(context=self._context())  # refuses a server without STARTTLS
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        user = self.options.get("username")
        if not user:
            return
        password = self.target.password
        secret = resolve("password", lambda: password.value(self.environ)) if password else ""
        smtp.ehlo_or_helo_if_needed()
        if "PLAIN" in smtp.esmtp_features.get("auth", "").upper().split():
            # one mechanism: smtplib's login() tries the next after a 535, and a server that
            # hangs up then would turn a wrong password into a retryable disconnect
            smtp.user, smtp.password = str(user), secret
            smtp.auth("PLAIN", smtp.auth_plain)
        else:
            smtp.login(str(user), secret)
