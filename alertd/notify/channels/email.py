"""The email channel: multipart text + HTML over SMTP with aiosmtplib.

Plain SMTP, STARTTLS (`starttls = true`) or implicit TLS (`tls = true`, usually port 465), with
optional AUTH. `ca_file` trusts a private CA or a self-signed server certificate. Each
notification is one message to one recipient; its Message-ID is derived from the notification
id, so a message sent twice (a crash before the outcome was recorded) is recognisably the same.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

import aiosmtplib

from alertd import __version__
from alertd.clock import Clock
from alertd.config import DispatchSettings
from alertd.notify.channels.base import Table
from alertd.notify.errors import DeliveryError
from alertd.notify.notification import Notification


class EmailChannel:
    """Sends each notification as one email through the configured SMTP server."""

    def __init__(self, config: Table, dispatch: DispatchSettings, clock: Clock) -> None:
        self.name = config.name
        self.clock = clock
        self.host = config.string("host")
        self.tls = config.boolean("tls", False)
        self.starttls = config.boolean("starttls", False)
        self.port = config.integer("port", 465 if self.tls else 587 if self.starttls else 25)
        self.sender = config.string("from")
        if "@" not in self.sender:
            raise config.error("from", f"expected an email address, got {self.sender!r}")
        self.username = config.string("username", "") or None
        self.password = config.string("password", "") or None
        if self.username and not self.password:
            raise config.error("password", "is required with username")
        self.tls_context = _tls_context(config)
        self.timeout = config.timeout(dispatch)

    def message(self, notification: Notification) -> EmailMessage:
        """The email for one notification (exposed for `test-rule --render` and tests)."""
        content = notification.content
        message = EmailMessage(policy=SMTP)
        message["From"] = self.sender
        message["To"] = notification.recipient
        message["Subject"] = content["subject"]
        message["Date"] = formatdate(self.clock.now(), usegmt=True)
        message["Message-ID"] = f"<{notification.id}@{self.sender.rpartition('@')[2]}>"
        message["Auto-Submitted"] = "auto-generated"
        message["X-Alertd-Alert-Id"] = notification.alert_id
        message["X-Mailer"] = f"alertd/{__version__}"
        message.set_content(content["text"])
        message.add_alternative(content["html"], subtype="html")
        return message

    async def send(self, notification: Notification) -> str:
        if not notification.recipient:
            raise DeliveryError(f"[channels.{self.name}] has no recipient (to)", retryable=False)
        try:
            _refused, reply = await aiosmtplib.send(
                self.message(notification),
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.tls,
                start_tls=self.starttls,
                tls_context=self.tls_context,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            raise _reply_error(first.code, first.message, self.host) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _reply_error(exc.code, exc.message, self.host) from exc
        except aiosmtplib.SMTPTimeoutError as exc:
            raise DeliveryError(f"SMTP {self.host}: timed out", retryable=True) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            # A certificate the server cannot prove is a setup problem: retrying won't help.
            bad_certificate = isinstance(_root_cause(exc), ssl.SSLCertVerificationError)
            raise DeliveryError(f"SMTP {self.host}: {exc}", retryable=not bad_certificate) from exc
        except ValueError as exc:  # a header the email library refuses
            raise DeliveryError(f"cannot build the email: {exc}", retryable=False) from exc
        return reply

    async def aclose(self) -> None:
        return None


def _tls_context(config: Table) -> ssl.SSLContext:
    """The TLS settings, built once: a `ca_file` that is missing or holds no certificate is a
    config error naming it now, not a failure of every send."""
    ca_file = config.string("ca_file", "") or None
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except ssl.SSLError:
        raise config.error("ca_file", f"{ca_file} holds no PEM certificate") from None
    except OSError as exc:
        raise config.error("ca_file", f"cannot read {ca_file}: {exc.strerror}") from None
    if not config.boolean("verify", True):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _reply_error(code: int, message: str, host: str) -> DeliveryError:
    """4xx replies are transient by SMTP's own definition; 5xx are permanent."""
    text = " ".join(message.split())
    return DeliveryError(
        f"SMTP {host} answered {code} {text}", retryable=400 <= code < 500, status=code
    )
