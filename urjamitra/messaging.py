"""SMS wiring: the provider, the rate limit and the dispatcher's settings, chosen from Settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from typing import TextIO

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sms.dispatch import DispatchConfig, DispatchStats, drain
from sms.providers import ConsoleProvider, DltGatewayProvider, SmsProvider, TwilioSmsProvider
from sms.ratelimit import LocalTokenBucket, RedisTokenBucket, TokenBucket
from sms.templates import SmsTemplate, load_templates
from urjamitra.settings import Settings

BUCKET_KEY = "urja:sms:bucket:{provider}"


def make_sms_provider(
    settings: Settings, session_factory: Callable[[], Session], *, stream: TextIO | None = None
) -> SmsProvider:
    """The provider URJA_SMS_PROVIDER names, configured from the settings."""
    if settings.sms_provider == "twilio":
        http_client = None
        if settings.twilio_api_url:
            from ivr.outbound import RebasedHttpClient

            http_client = RebasedHttpClient(settings.twilio_api_url, timeout=15.0)
        return TwilioSmsProvider(
            settings.twilio_account_sid or "",
            settings.twilio_auth_token or "",
            public_url=settings.public_url,
            from_=settings.sms_sender,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            http_client=http_client,
            max_batch=settings.sms_batch,
        )
    if settings.sms_provider == "dlt":
        return DltGatewayProvider(
            settings.sms_gateway_url or "",
            settings.sms_gateway_key or "",
            receipt_url=f"{settings.public_url}/sms/gateway/receipt",
            max_batch=settings.sms_batch,
        )
    return ConsoleProvider(session_factory, stream=stream)


def make_bucket(settings: Settings, provider: str, client: redis.Redis | None = None) -> TokenBucket:
    """A Redis token bucket every worker shares; in-process when there is no Redis (the embedded default)."""
    if settings.redis_url:
        return RedisTokenBucket(
            client or _redis(settings.redis_url), BUCKET_KEY.format(provider=provider), rate=settings.sms_rate
        )
    return LocalTokenBucket(rate=settings.sms_rate)


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def dispatch_config(settings: Settings) -> DispatchConfig:
    return DispatchConfig(
        batch_size=settings.sms_batch,
        entity_id=settings.dlt_entity_id,
        allowed_urls=(settings.portal_link,),
        defaults={"portal_url": settings.portal_link},
    )


@lru_cache(maxsize=1)
def templates() -> dict[str, SmsTemplate]:
    return load_templates()


def drain_outbox(
    settings: Settings,
    engine: Engine,
    provider: SmsProvider,
    bucket: TokenBucket | None,
    *,
    budget_s: float | None = None,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> DispatchStats:
    """Send what is due in the outbox now with these settings."""
    return drain(
        engine,
        provider,
        templates=templates(),
        bucket=bucket,
        config=dispatch_config(settings),
        clock=clock,
        budget_s=budget_s,
    )


def queue_reminders(settings: Settings, engine: Engine, *, days_before: int, now: dt.datetime) -> int:
    """Queue bill-due reminders for unpaid bills falling due within `days_before` days (India's today)."""
    from zoneinfo import ZoneInfo

    from cis.db import UnitOfWork, make_session_factory
    from cis.reminders import queue_bill_reminders

    today = now.astimezone(ZoneInfo("Asia/Kolkata")).date()
    return queue_bill_reminders(
        UnitOfWork(make_session_factory(engine)),
        today=today,
        now=now,
        portal_url=settings.portal_link,
        days_before=days_before,
    )


def sms_preview(settings: Settings) -> Callable[[str, dict[str, object]], tuple[str, int]]:
    """What an outbox row says, as the consumer's handset shows it, with its secrets (an OTP, a closure code)
    blanked, and how many parts it takes: the console shows staff what a consumer was sent. A row whose values
    were removed after sending (a secret's payload is) shows the template with its blanks."""
    from sms.dispatch import variables_for
    from sms.templates import _VARIABLE, BLANK, TemplateMismatch, blank_secrets, render, segments

    config = dispatch_config(settings)

    def preview(template_key: str, payload: dict[str, object]) -> tuple[str, int]:
        template = templates().get(template_key)
        if template is None:
            return template_key, 0
        try:
            rendered = render(
                template,
                variables_for(template, payload, config.defaults),
                allowed_urls=config.allowed_urls,
                allowed_numbers=config.allowed_numbers,
                entity_id=config.entity_id,
            )
        except (TemplateMismatch, ValueError):
            text = _VARIABLE.sub(BLANK, template.text)
            return text, segments(text)[0]
        return blank_secrets(template, rendered.text), rendered.segments

    return preview
