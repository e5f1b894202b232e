"""Starting and stopping the e-mail channel next to the HTTP app (`gateway up` / `serve`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiohttp import web

from gateway.appkeys import INTAKE, REDIS, SETTINGS, STORE
from gateway.attachments import AttachmentStore
from gateway.channels.email.imap import ImapPoller, start_pollers
from gateway.channels.email.mailintake import MailIntake
from gateway.channels.email.smtp import start_smtp

log = logging.getLogger(__name__)


@dataclass
class EmailChannel:
    mail: MailIntake
    smtp: asyncio.Server
    pollers: list[ImapPoller] = field(default_factory=list)

    async def close(self) -> None:
        self.smtp.close()
        await self.smtp.wait_closed()
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in self.pollers))


def mail_intake(app: web.Application) -> MailIntake:
    settings = app[SETTINGS]
    return MailIntake(
        settings, app[INTAKE], app[STORE], AttachmentStore(settings.attachments_dir), app[REDIS]
    )


async def start_email_channel(app: web.Application) -> EmailChannel:
    """The app's resources must be open (after AppRunner.setup)."""
    settings = app[SETTINGS]
    mail = mail_intake(app)
    server = await start_smtp(settings, mail)
    pollers = []
    if settings.imap_url:
        pollers = start_pollers(
            settings.imap_url, mail, processed_folder=settings.imap_processed_folder,
            poll_interval=settings.imap_poll_interval,
        )  # fmt: skip
    return EmailChannel(mail, server, pollers)
