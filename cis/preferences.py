"""A consumer's mobiles and SMS preferences, as the portal changes them: add a mobile (a code sent to that mobile
proves it), remove one, alerts on or off by kind, voice or SMS for outage alerts, the daily roster schedule per
mobile.

What these promise:
- A mobile is added only when the code sent TO it is typed back, so nobody links a number they do not hold. The
  codes are `cis.otp`'s (6 digits, 10 minutes, 5 tries; 3 sends an hour to a mobile and 3 to an account, SMS REG
  included), answered only by the browser holding the ticket, and only for the account that asked.
- The last verified mobile of an account stays: OTPs (sign-in, a forgotten password) need somewhere to go.
  Removing the mobile a portal session proved at sign-in ends that session (`cis.consumer_auth.session_account`
  finds it no longer verified), and the mobile's roster subscription for the account goes with it.
- Every change writes an audit row in its own transaction; the account's row is locked while a change is
  decided, so two browsers cannot together remove every verified mobile.
- The senders read the switches set-based, in their own SQL (outage fan-out, roster SMS, bill SMS, reminders).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from cis import accounts, audit
from cis.consumer_auth import mask_hint
from cis.db import UnitOfWork, insert_ignore
from cis.errors import (
    AccountClosed,
    LastVerifiedMobile,
    MobileAlreadyRegistered,
    NoNumberForCalls,
    NoPendingOtp,
    TooManyMobiles,
    UnknownAccount,
    UnknownMobile,
)
from cis.models import Account, AccountMobile, RosterSubscription, SmsOptOut
from cis.models.accounts import MAX_MOBILES_PER_ACCOUNT
from cis.models.outages import ALERT_CHANNELS
from cis.otp import TEMPLATE as LINK_TEMPLATE
from cis.otp import _Enclosed, answer_code, claim_send, send_code, use_code
from cis.phones import normalise_mobile

ACTOR = "consumer:portal"
VIA = "portal"
# The code that proves a new mobile: its SMS is SMS REG's ("... your OTP to link a new mobile to A/c ..."), sent
# to the new mobile itself rather than to the one on record.
PURPOSE_ADD_MOBILE = "portal_mobile"
ALERT_KINDS = ("outage", "roster", "bill")  # the columns account.alert_<kind>
# The SMS templates each switch stops (replies, OTPs, receipts, complaint numbers are always sent).
BILL_TEMPLATES = ("bill.issued", "bill.revised", "bill.reminder")
ROSTER_TEMPLATE = "outage.roster"
NOT_AN_ALERT = ("outage.check",)  # "is your power back?": a question to those told, not an alert


def alert_kind(template: str) -> str | None:
    """The alert kind (a switch of `ALERT_KINDS`) an SMS template belongs to, or None for one always sent."""
    if template in BILL_TEMPLATES:
        return "bill"
    if template == ROSTER_TEMPLATE:
        return "roster"
    if template.startswith("outage.") and template not in NOT_AN_ALERT:
        return "outage"
    return None


@dataclass(frozen=True)
class MobileOnRecord:
    """A mobile of the account as its owner sees it: masked, and what it gets."""

    id: int
    masked: str  # "******8113"
    verified: bool
    added_via: str  # office, sms, ivr, portal ...
    added_at: dt.datetime
    roster: bool  # gets the daily roster schedule SMS for this account
    stopped: bool  # sent STOP: alerts and reminders are held back from it until it sends START
    this_session: bool  # the mobile the asking session proved at sign-in: removing it signs the session out
    # The mobile the alerts and bill SMS go to: the first, verified ones first, that has not sent STOP (the
    # senders' own order); the others get OTPs, and the roster schedule when subscribed.
    primary: bool = False


@dataclass(frozen=True)
class MobileCodeSent:
    """A code on its way to a new mobile: the ticket only this browser holds, the mobile masked, its expiry."""

    ticket: str
    masked: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class AlertSettings:
    """What an account gets: each kind on or off, how outage alerts come, and which mobiles get the roster SMS."""

    outage: bool
    roster: bool
    bill: bool
    channel: str  # "sms" or "voice"
    can_call: bool  # a mobile or a landline is on record, so a voice alert has a number to ring
    sms_stopped: bool  # every SMS to the account is stopped at the office (account.sms_opt_out)
    mobiles: tuple[MobileOnRecord, ...]  # the verified mobiles, each with its roster subscription


@dataclass(frozen=True)
class AlertChoice:
    """The alerts form as sent: the switches, the channel and the ids of the mobiles that get the roster SMS."""

    outage: bool
    roster: bool
    bill: bool
    channel: str
    roster_mobile_ids: frozenset[int]


def _mobiles(session: Session, account_id: int, session_mobile: str | None) -> list[MobileOnRecord]:
    subscribed = exists().where(
        RosterSubscription.account_id == AccountMobile.account_id, RosterSubscription.e164 == AccountMobile.e164
    )
    stopped = exists().where(SmsOptOut.e164 == AccountMobile.e164)
    rows = session.execute(
        select(
            AccountMobile.id,
            AccountMobile.e164,
            AccountMobile.verified,
            AccountMobile.added_via,
            AccountMobile.added_at,
            subscribed.label("roster"),
            stopped.label("stopped"),
        )
        .where(AccountMobile.account_id == account_id)
        .order_by(AccountMobile.verified.desc(), AccountMobile.id)
    ).all()
    primary = next((r.id for r in rows if not r.stopped), None)
    return [
        MobileOnRecord(
            int(r.id),
            mask_hint(r.e164),
            bool(r.verified),
            r.added_via,
            r.added_at,
            bool(r.roster),
            bool(r.stopped),
            session_mobile is not None and r.e164 == session_mobile,
            primary=r.id == primary,
        )
        for r in rows
    ]


def list_mobiles(uow: UnitOfWork, account_id: int, *, session_mobile: str | None = None) -> list[MobileOnRecord]:
    """The account's registered mobiles, verified ones first, masked; `session_mobile` (the mobile the asking
    session proved) is marked. One query."""
    with uow:
        return _mobiles(uow.session, account_id, session_mobile)


def _account(session: Session, account_id: int, *, lock: bool = True) -> tuple[str, str]:
    """(account number, status); with `lock`, the account's row locked (on SQLite: the database's write lock)."""
    query = select(Account.account_no, Account.status).where(Account.id == account_id)
    row = session.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise UnknownAccount(f"with id {account_id}")
    return str(row.account_no), str(row.status)


# --- adding and removing mobiles ------------------------------------------------------------------------------


def start_add_mobile(uow: UnitOfWork, account_id: int, raw_mobile: str, *, now: dt.datetime) -> MobileCodeSent:
    """Adding a mobile, first step: a 6-digit code by SMS (template otp.register) to the new mobile itself.

    Raises MalformedMobile; AccountClosed for a permanently disconnected account; MobileAlreadyRegistered when the
    mobile is verified on the account already (one registered but unverified is verified by this); TooManyMobiles
    when the account holds 5 others; TooManyOtpRequests past 3 codes an hour to the mobile (however asked for) or
    to the account. The challenge and its SMS commit together.
    """
    e164 = normalise_mobile(raw_mobile)
    with uow:
        session = uow.session
        account_no, status = _account(session, account_id, lock=False)
        if status == "perm_disconnected":
            raise AccountClosed(account_no)
        on_record = dict(
            session.execute(
                select(AccountMobile.e164, AccountMobile.verified).where(AccountMobile.account_id == account_id)
            ).all()
        )
    if on_record.get(e164):
        raise MobileAlreadyRegistered(account_no)
    if e164 not in on_record and len(on_record) >= MAX_MOBILES_PER_ACCOUNT:
        raise TooManyMobiles(account_no, MAX_MOBILES_PER_ACCOUNT)
    claim_send(uow, e164, now)
    ticket = send_code(
        uow,
        purpose=PURPOSE_ADD_MOBILE,
        account_id=account_id,
        mobile=e164,
        template=LINK_TEMPLATE,
        variables={"account": account_no},
        now=now,
    )
    return MobileCodeSent(ticket.ticket, mask_hint(e164), ticket.expires_at)


def finish_add_mobile(uow: UnitOfWork, account_id: int, ticket: str, code: str, *, now: dt.datetime) -> str:
    """Adding a mobile, last step: the code `start_add_mobile` sent, typed back by the browser holding `ticket`.
    The code is spent and the mobile registered as verified (audited 'mobile.registered' or 'mobile.verified')
    in one transaction; returns the mobile masked.

    WrongOtp (with the tries left) / NoPendingOtp as `cis.otp.answer_code`, and NoPendingOtp for a ticket of
    another account (the browser switched account meanwhile). AccountClosed or TooManyMobiles (filled up
    meanwhile) leave the code unspent.
    """
    answered = answer_code(uow, ticket, code, purpose=PURPOSE_ADD_MOBILE, now=now)
    if answered.account_id != account_id:
        raise NoPendingOtp()
    with uow:
        session = uow.session
        account_no, _status = _account(session, account_id)
        use_code(session, answered, now)
        accounts.register_mobile(
            _Enclosed(session), account_no, answered.sent_to, via=VIA, actor=ACTOR, verified=True, now=now
        )
        uow.commit()
    return mask_hint(answered.sent_to)


def remove_mobile(uow: UnitOfWork, account_id: int, mobile_id: int, *, now: dt.datetime) -> str:
    """Remove a registered mobile from the account (and its roster subscription for the account); returns it
    masked. Audited 'mobile.removed'.

    UnknownMobile when no mobile of the account has this id; LastVerifiedMobile when it is the account's only
    verified mobile (an unverified one always goes). A portal session that proved this mobile ends with it.
    """
    with uow:
        session = uow.session
        account_no, _status = _account(session, account_id)
        row = session.execute(
            select(AccountMobile.e164, AccountMobile.verified).where(
                AccountMobile.id == mobile_id, AccountMobile.account_id == account_id
            )
        ).first()
        if row is None:
            raise UnknownMobile()
        if row.verified:
            verified = session.scalar(
                select(func.count()).where(AccountMobile.account_id == account_id, AccountMobile.verified)
            )
            if int(verified or 0) <= 1:
                raise LastVerifiedMobile()
        unsubscribed = session.execute(
            delete(RosterSubscription).where(
                RosterSubscription.account_id == account_id, RosterSubscription.e164 == row.e164
            ),
            execution_options={"synchronize_session": False},
        ).rowcount  # type: ignore[attr-defined]
        session.execute(
            delete(AccountMobile).where(AccountMobile.id == mobile_id), execution_options={"synchronize_session": False}
        )
        audit.record(
            session,
            actor=ACTOR,
            action="mobile.removed",
            entity="account",
            entity_id=account_no,
            at=now,
            mobile=row.e164,
            verified=bool(row.verified),
            roster_unsubscribed=bool(unsubscribed),
            via=VIA,
        )
        uow.commit()
    return mask_hint(row.e164)


# --- alerts ---------------------------------------------------------------------------------------------------


def _can_call(session: Session, account_id: int, landline: str | None) -> bool:
    """A voice alert has a number to ring: any registered mobile (the fan-out rings the first) or the landline."""
    if landline:
        return True
    return session.scalar(select(AccountMobile.id).where(AccountMobile.account_id == account_id).limit(1)) is not None


def alert_settings(uow: UnitOfWork, account_id: int) -> AlertSettings:
    """The account's alert switches, channel and roster subscriptions (of its verified mobiles)."""
    with uow:
        session = uow.session
        account = session.execute(
            select(
                Account.alert_outage,
                Account.alert_roster,
                Account.alert_bill,
                Account.alert_channel,
                Account.landline,
                Account.sms_opt_out,
            ).where(Account.id == account_id)
        ).first()
        if account is None:
            raise UnknownAccount(f"with id {account_id}")
        mobiles = tuple(m for m in _mobiles(session, account_id, None) if m.verified)
        return AlertSettings(
            outage=bool(account.alert_outage),
            roster=bool(account.alert_roster),
            bill=bool(account.alert_bill),
            channel=str(account.alert_channel),
            can_call=_can_call(session, account_id, account.landline),
            sms_stopped=bool(account.sms_opt_out),
            mobiles=mobiles,
        )


def save_alert_settings(
    uow: UnitOfWork, account_id: int, choice: AlertChoice, *, now: dt.datetime, actor: str = ACTOR
) -> tuple[str, ...]:
    """Save the alerts form: each kind on or off, the outage alerts' channel, the roster SMS per verified mobile.
    Returns what changed ("outage", "roster", "bill", "channel", "roster:<masked mobile>"), each with its audit row
    ('alerts.switched', 'alerts.channel_changed', 'roster.subscribed' / 'roster.unsubscribed'), all in one
    transaction; nothing changed, nothing written.

    ValueError for a channel that is not "sms" or "voice"; NoNumberForCalls for voice when no mobile or landline
    is on record; UnknownMobile for a roster mobile id that is not a verified mobile of the account (nothing is
    saved then). Roster subscriptions of mobiles not verified on the account are left as they are.
    """
    if choice.channel not in ALERT_CHANNELS:
        raise ValueError(f"an alert channel is one of {ALERT_CHANNELS}")
    changed: list[str] = []
    with uow:
        session = uow.session
        account = session.scalars(select(Account).where(Account.id == account_id).with_for_update(of=Account)).first()
        if account is None:
            raise UnknownAccount(f"with id {account_id}")
        if choice.channel == "voice" and not _can_call(session, account_id, account.landline):
            raise NoNumberForCalls()
        verified = session.execute(
            select(AccountMobile.id, AccountMobile.e164).where(
                AccountMobile.account_id == account_id, AccountMobile.verified
            )
        ).all()
        if not choice.roster_mobile_ids <= {int(m.id) for m in verified}:
            raise UnknownMobile()

        def note(action: str, **detail: object) -> None:
            audit.record(
                session,
                actor=actor,
                action=action,
                entity="account",
                entity_id=account.account_no,
                at=now,
                via=VIA,
                **detail,
            )

        for kind in ALERT_KINDS:
            wanted = bool(getattr(choice, kind))
            if bool(getattr(account, f"alert_{kind}")) != wanted:
                setattr(account, f"alert_{kind}", wanted)
                note("alerts.switched", kind=kind, on=wanted)
                changed.append(kind)
        if account.alert_channel != choice.channel:
            note("alerts.channel_changed", before=account.alert_channel, after=choice.channel)
            account.alert_channel = choice.channel
            changed.append("channel")
        subscribed = set(
            session.scalars(select(RosterSubscription.e164).where(RosterSubscription.account_id == account_id))
        )
        dialect = session.connection().dialect.name
        for mobile in verified:
            wanted = int(mobile.id) in choice.roster_mobile_ids
            if wanted == (mobile.e164 in subscribed):
                continue
            if wanted:
                session.connection().execute(
                    insert_ignore(dialect, RosterSubscription, ["account_id", "e164"]).values(
                        account_id=account_id, e164=mobile.e164, created_at=now
                    )
                )
            else:
                session.execute(
                    delete(RosterSubscription).where(
                        RosterSubscription.account_id == account_id, RosterSubscription.e164 == mobile.e164
                    ),
                    execution_options={"synchronize_session": False},
                )
            note("roster.subscribed" if wanted else "roster.unsubscribed", e164=mobile.e164)
            changed.append(f"roster:{mask_hint(mobile.e164)}")
        uow.commit()
    return tuple(changed)
