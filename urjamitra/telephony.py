"""Wires the dialog to the CIS and the settings: one place that builds what every voice and USSD transport runs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cis.db import make_engine, make_session_factory
from ivr.alert_calls import call_outcome_recorder
from ivr.dialog import Dialog
from ivr.outbound import AmiDialer, ConsoleDialer, Dialer, TwilioDialer
from ivr.services import CisBackend
from prompts.build import AudioLibrary
from urjamitra.settings import Settings


def make_dialog(settings: Settings, session_factory: sessionmaker[Session] | None = None) -> Dialog:
    """The dialog runner on the configured database (a session factory may be handed in, as the web app does)."""
    if session_factory is None:
        # A server database gets a connection per dialog thread (the FastAGI server runs 16), so no step
        # opens a connection of its own; SQLite keeps its default.
        sized = {} if settings.database_url.startswith("sqlite") else {"pool_size": 16, "max_overflow": 4}
        session_factory = make_session_factory(make_engine(settings.database_url, **sized))
    backend = CisBackend(session_factory, portal_url=settings.portal_link)
    return Dialog(backend, agent_queue=settings.agent_queue)


def audio_library(settings: Settings) -> AudioLibrary:
    return AudioLibrary(Path(settings.prompts_dir))


def make_dialer(settings: Settings, engine: Engine | None = None) -> Dialer:
    """The outbound dialer the settings name: Asterisk's AMI when URJA_AMI_URL is set, else Twilio when its
    account is configured, else the console dialer (prints what each call would say: the embedded default).
    With `engine`, AMI reports each call's outcome to its outbox row."""
    if settings.ami_url:
        return AmiDialer(
            settings.ami_url,
            context=settings.ami_context,
            trunk=settings.ami_trunk,
            channel=settings.ami_dial,
            caller_id=settings.ivr_number,
            limit=settings.call_limit,
            on_end=call_outcome_recorder(engine, "asterisk") if engine is not None else None,
        )
    if settings.twilio_account_sid and settings.twilio_auth_token:
        return TwilioDialer(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            from_number=settings.ivr_number,
            public_url=settings.public_url,
            limit=settings.call_limit,
        )
    return ConsoleDialer(limit=settings.call_limit)
