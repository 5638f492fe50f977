"""Settings: embedded defaults, each variable read once, malformed values refused, secrets masked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from urjamitra.settings import Settings, SettingsError


def test_empty_environment_gives_the_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'urjamitra.db'}"
    assert settings.redis_url is None
    assert settings.sms_provider == "console"
    assert settings.web_bind == "127.0.0.1:8080"
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)
    assert settings.fastagi_bind == "127.0.0.1:4573"
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.twilio_account_sid is None
    assert settings.twilio_auth_token is None
    assert settings.ami_url is None
    assert settings.demo_consumers == 2000


def test_without_a_configured_key_each_start_gets_a_fresh_strong_one() -> None:
    first, second = Settings.from_env({}).secret_key, Settings.from_env({}).secret_key
    assert first != second
    assert len(bytes.fromhex(first)) >= 32


@pytest.mark.parametrize(
    ("variable", "value", "attribute", "expected"),
    [
        (
            "URJA_DATABASE_URL",
            "postgresql+psycopg://urja@db:5432/urja",
            "database_url",
            "postgresql+psycopg://urja@db:5432/urja",
        ),
        ("URJA_REDIS_URL", "redis://redis:6379/0", "redis_url", "redis://redis:6379/0"),
        ("URJA_WEB_BIND", "0.0.0.0:9000", "web_bind", "0.0.0.0:9000"),
        ("URJA_FASTAGI_BIND", "10.0.0.5:4574", "fastagi_bind", "10.0.0.5:4574"),
        ("URJA_SMS_RATE", "250", "sms_rate", 250.0),
        ("URJA_SMS_RATE", "0.5", "sms_rate", 0.5),
        ("URJA_SMS_BATCH", "1000", "sms_batch", 1000),
        ("URJA_SMS_GATEWAY_SECRET", "gw-secret", "sms_gateway_secret", "gw-secret"),
        ("URJA_DLT_ENTITY_ID", "1201159000000000042", "dlt_entity_id", "1201159000000000042"),
        ("URJA_SMS_SENDER", "KESCOK", "sms_sender", "KESCOK"),
        ("URJA_PUBLIC_URL", "https://urja.example.in", "public_url", "https://urja.example.in"),
        ("URJA_PUBLIC_URL", "https://urja.example.in/", "public_url", "https://urja.example.in"),
        ("URJA_SECRET_KEY", "a-configured-key", "secret_key", "a-configured-key"),
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef", "twilio_account_sid", "AC0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", "tw-token", "twilio_auth_token", "tw-token"),
        ("URJA_AMI_URL", "tcp://pbx:5038", "ami_url", "tcp://pbx:5038"),
        ("URJA_DEMO_CONSUMERS", "50", "demo_consumers", 50),
        ("URJA_DEMO_CONSUMERS", "0", "demo_consumers", 0),
        ("URJA_STAFF_IDLE_MINUTES", "15", "staff_idle_minutes", 15),
        ("URJA_PORTAL_IDLE_MINUTES", "10", "portal_idle_minutes", 10),
    ],
)
def test_each_variable_is_read(variable: str, value: str, attribute: str, expected: object) -> None:
    assert getattr(Settings.from_env({variable: value}), attribute) == expected


def test_a_real_sms_provider_is_chosen_with_its_credentials() -> None:
    twilio = Settings.from_env({"URJA_SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"})
    assert twilio.sms_provider == "twilio"
    dlt = Settings.from_env(
        {"URJA_SMS_PROVIDER": "dlt", "URJA_SMS_GATEWAY_URL": "https://gw.example.in/v1", "URJA_SMS_GATEWAY_KEY": "k"}
    )
    assert (dlt.sms_provider, dlt.sms_gateway_url, dlt.sms_gateway_key) == ("dlt", "https://gw.example.in/v1", "k")
    assert dlt.masked()["sms_gateway_key"] == "********"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"URJA_SMS_PROVIDER": "twilio"}, "needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"),
        ({"URJA_SMS_PROVIDER": "dlt", "URJA_SMS_GATEWAY_URL": "https://gw"}, "needs URJA_SMS_GATEWAY_URL and"),
        ({"URJA_SMS_RATE": "0"}, "URJA_SMS_RATE"),
        ({"URJA_SMS_RATE": "fast"}, "URJA_SMS_RATE"),
        ({"URJA_SMS_RATE": "nan"}, "URJA_SMS_RATE"),
        ({"URJA_SMS_BATCH": "0"}, "URJA_SMS_BATCH"),
        ({"URJA_SMS_BATCH": "100000"}, "URJA_SMS_BATCH"),
        ({"URJA_DLT_ENTITY_ID": "12345"}, "URJA_DLT_ENTITY_ID"),
    ],
)
def test_sms_settings_that_cannot_work_are_refused_at_start(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_public_url_follows_the_web_bind_when_not_given() -> None:
    settings = Settings.from_env({"URJA_WEB_BIND": "0.0.0.0:9000"})
    assert settings.public_url == "http://0.0.0.0:9000"
    assert (settings.web_host, settings.web_port) == ("0.0.0.0", 9000)


@pytest.mark.parametrize("variable", ["URJA_DATABASE_URL", "URJA_REDIS_URL", "URJA_SECRET_KEY", "URJA_PUBLIC_URL"])
def test_an_empty_variable_means_the_default(variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({variable: ""})
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'urjamitra.db'}"
    assert settings.redis_url is None
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.secret_key


def test_without_an_explicit_mapping_the_process_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("URJA_SMS_PROVIDER", "URJA_WEB_BIND", "URJA_FASTAGI_BIND"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("URJA_DEMO_CONSUMERS", "7")
    assert Settings.from_env().demo_consumers == 7


@pytest.mark.parametrize("variable", ["URJA_WEB_BIND", "URJA_FASTAGI_BIND"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("8080", id="port-only"),
        pytest.param("localhost", id="host-only"),
        pytest.param(":8080", id="no-host"),
        pytest.param("127.0.0.1:", id="no-port"),
        pytest.param("127.0.0.1:http", id="port-name"),
        pytest.param("127.0.0.1:65536", id="port-too-big"),
        pytest.param("127.0.0.1:-1", id="negative-port"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_bind_is_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_port_zero_asks_for_any_free_port() -> None:
    assert Settings.from_env({"URJA_WEB_BIND": "127.0.0.1:0"}).web_port == 0


@pytest.mark.parametrize("provider", ["msg91", "Twilio", "sms", ""])
def test_unknown_sms_provider_is_refused(provider: str) -> None:
    with pytest.raises(SettingsError, match="URJA_SMS_PROVIDER"):
        Settings.from_env({"URJA_SMS_PROVIDER": provider})


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("many", id="word"),
        pytest.param("2k", id="suffix"),
        pytest.param("-5", id="negative"),
        pytest.param("2.5", id="decimal"),
        pytest.param("1e3", id="exponent"),
        pytest.param(" 50", id="leading-space"),
        pytest.param("", id="empty"),
        pytest.param("²", id="superscript-two"),
    ],
)
def test_non_numeric_demo_consumers_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="URJA_DEMO_CONSUMERS"):
        Settings.from_env({"URJA_DEMO_CONSUMERS": value})


@pytest.mark.parametrize("value", ["0", "721", "30m", "-5", "1.5"])
def test_a_staff_idle_time_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="URJA_STAFF_IDLE_MINUTES"):
        Settings.from_env({"URJA_STAFF_IDLE_MINUTES": value})


@pytest.mark.parametrize("value", ["0", "721", "30m", "-5", "1.5"])
def test_a_portal_idle_time_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="URJA_PORTAL_IDLE_MINUTES"):
        Settings.from_env({"URJA_PORTAL_IDLE_MINUTES": value})


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


@pytest.mark.parametrize(
    ("variable", "url", "still_shown"),
    [
        pytest.param(
            "URJA_DATABASE_URL",
            "postgresql+psycopg://urja:s3cret@db:5432/urja",
            "postgresql+psycopg://***@db:5432/urja",
            id="database-password",
        ),
        pytest.param("URJA_REDIS_URL", "redis://:s3cret@redis:6379/0", "redis://***@redis:6379/0", id="redis-password"),
        pytest.param(
            "URJA_REDIS_URL",
            "redis://default:s3cret@redis:6379/0",
            "redis://***@redis:6379/0",
            id="redis-user-and-password",
        ),
        pytest.param("URJA_AMI_URL", "tcp://admin:s3cret@pbx:5038", "tcp://***@pbx:5038", id="ami-password"),
        pytest.param(
            "URJA_DATABASE_URL",
            "postgresql+psycopg://urja:p@ss:s3cret@db:5432/urja",
            "postgresql+psycopg://***@db:5432/urja",
            id="password-containing-at-sign",
        ),
        pytest.param(
            "URJA_DATABASE_URL",
            "postgresql+psycopg://urja@db:5432/urja?password=s3cret",
            "db:5432/urja",
            id="password-in-query-string",
        ),
    ],
)
def test_masked_never_shows_a_password_inside_a_url(variable: str, url: str, still_shown: str) -> None:
    shown = Settings.from_env({variable: url}).masked()
    assert all("s3cret" not in (value or "") for value in shown.values()), shown
    assert any(still_shown in (value or "") for value in shown.values()), shown


def test_masked_never_shows_the_secret_key_or_the_twilio_token() -> None:
    settings = Settings.from_env({"URJA_SECRET_KEY": "k3y-for-sessions", "TWILIO_AUTH_TOKEN": "tw1lio-t0ken"})
    shown = settings.masked()
    assert "k3y-for-sessions" not in str(shown)
    assert "tw1lio-t0ken" not in str(shown)
    assert shown["secret_key"] == shown["twilio_auth_token"] == "********"


def test_masked_never_shows_the_generated_secret_key() -> None:
    settings = Settings.from_env({})
    assert settings.secret_key not in str(settings.masked())


def test_masked_shows_every_other_setting_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"URJA_REDIS_URL": "redis://redis:6379/0", "TWILIO_ACCOUNT_SID": "AC123"})
    shown = settings.masked()
    assert set(shown) == {field.name for field in dataclasses.fields(Settings)}
    assert shown["database_url"] == settings.database_url
    assert shown["redis_url"] == "redis://redis:6379/0"
    assert shown["twilio_account_sid"] == "AC123"
    assert shown["web_bind"] == "127.0.0.1:8080"
    assert shown["demo_consumers"] == "2000"
    assert shown["twilio_auth_token"] is None
    assert shown["ami_url"] is None


def test_demo_password_comes_from_the_environment_and_is_never_shown() -> None:
    settings = Settings.from_env({"URJA_DEMO_PASSWORD": "training-room-7"})
    assert settings.demo_password == "training-room-7"
    assert "training-room-7" not in repr(settings)
    assert "training-room-7" not in str(settings.masked())
    assert Settings.from_env({}).demo_password == "demo1912"


def test_an_agent_line_twilio_cannot_dial_is_refused() -> None:
    import pytest

    from urjamitra.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="URJA_AGENT_DIAL"):
        Settings.from_env({"URJA_AGENT_DIAL": "1912"})
    assert Settings.from_env({"URJA_AGENT_DIAL": "sip:1912@pbx.example.in"}).agent_dial == "sip:1912@pbx.example.in"
    assert Settings.from_env({}).agent_dial is None


def test_the_outbound_dial_string_is_a_template_checked_at_start() -> None:
    assert Settings.from_env({}).ami_dial == "PJSIP/{e164_digits}@{trunk}"
    assert Settings.from_env({"URJA_AMI_DIAL": "DAHDI/g0/0{national}"}).ami_dial == "DAHDI/g0/0{national}"
    with pytest.raises(SettingsError, match="URJA_AMI_DIAL"):
        Settings.from_env({"URJA_AMI_DIAL": "PJSIP/{msisdn}@trunk"})
    with pytest.raises(SettingsError, match="URJA_AMI_DIAL"):
        Settings.from_env({"URJA_AMI_DIAL": "9876543210"})


def test_the_settings_file_is_read_under_the_environment(tmp_path: Path) -> None:
    from urjamitra.settings import environment, read_env_file

    env_file = tmp_path / "env"
    env_file.write_text(
        "# Urja Mitra on this box\n\nexport URJA_DATABASE_URL='postgresql+psycopg://urja@db/urja'\n"
        'URJA_AGENT_QUEUE="1912"\nTWILIO_AUTH_TOKEN=t0k3n\nPATH=/evil\nURJA_WEB_BIND=0.0.0.0:8080\n'
    )
    assert read_env_file(env_file) == {
        "URJA_DATABASE_URL": "postgresql+psycopg://urja@db/urja",
        "URJA_AGENT_QUEUE": "1912",
        "TWILIO_AUTH_TOKEN": "t0k3n",
        "URJA_WEB_BIND": "0.0.0.0:8080",
    }
    merged = environment({"URJA_ENV_FILE": str(env_file), "URJA_WEB_BIND": "127.0.0.1:9000", "PATH": "/usr/bin"})
    assert merged["URJA_DATABASE_URL"] == "postgresql+psycopg://urja@db/urja"
    assert (merged["URJA_WEB_BIND"], merged["PATH"]) == ("127.0.0.1:9000", "/usr/bin")  # the environment wins
    assert environment({}, env_file=str(env_file))["URJA_AGENT_QUEUE"] == "1912"  # a default file, when present
    assert environment({}, env_file=str(tmp_path / "absent")) == {}
    with pytest.raises(SettingsError, match="does not exist"):
        environment({"URJA_ENV_FILE": str(tmp_path / "absent")})
    env_file.write_text("URJA_DATABASE_URL\n")
    with pytest.raises(SettingsError, match="line 1"):
        read_env_file(env_file)


def test_abuse_limits_have_defaults_and_are_read_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert defaults.trusted_proxies == 0  # no proxy is believed unless one is configured
    assert defaults.limit_accounts == "30 per minute; 600 per hour"
    assert defaults.limit_sms == "10 per 10 minutes"
    assert defaults.rate_limit_prefix == "urja"
    given = Settings.from_env(
        {
            "URJA_TRUSTED_PROXIES": "1",
            "URJA_LIMIT_ACCOUNTS": "5/minute",
            "URJA_LIMIT_USSD": "100 per hour; 10 per minute",
            "URJA_RATE_LIMIT_PREFIX": "kesco",
        }
    )
    assert (given.trusted_proxies, given.limit_accounts, given.limit_ussd) == (
        1,
        "5/minute",
        "100 per hour; 10 per minute",
    )
    assert given.rate_limit_prefix == "kesco"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"URJA_TRUSTED_PROXIES": "-1"}, "URJA_TRUSTED_PROXIES"),
        ({"URJA_TRUSTED_PROXIES": "many"}, "URJA_TRUSTED_PROXIES"),
        ({"URJA_TRUSTED_PROXIES": "9"}, "URJA_TRUSTED_PROXIES"),
        ({"URJA_LIMIT_ACCOUNTS": "lots"}, "URJA_LIMIT_ACCOUNTS"),
        ({"URJA_LIMIT_SMS": "0 per minute"}, "URJA_LIMIT_SMS"),
        ({"URJA_LIMIT_LOGIN": "10 per fortnight"}, "URJA_LIMIT_LOGIN"),
    ],
)
def test_abuse_limit_settings_that_cannot_work_are_refused_at_start(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_sms_link_to_the_public_url_unless_a_portal_url_is_given() -> None:
    settings = Settings.from_env({"URJA_PUBLIC_URL": "https://urja.example.in/"})
    assert settings.portal_link == "https://urja.example.in"
    portal = Settings.from_env(
        {"URJA_PUBLIC_URL": "https://urja.example.in", "URJA_PORTAL_URL": "https://wss.kesco.in/"}
    )
    assert portal.portal_link == "https://wss.kesco.in"


@pytest.mark.parametrize(
    "value", ["wss.kesco.in", "ftp://wss.kesco.in", "https://wss kesco.in", "https://selfservice.kesco.example.in"]
)
def test_a_portal_url_that_is_no_web_address_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="URJA_PORTAL_URL"):
        Settings.from_env({"URJA_PORTAL_URL": value})


def test_the_web_edge_limits_have_defaults_and_are_read() -> None:
    defaults = Settings.from_env({})
    tuned = Settings.from_env(
        {
            "URJA_MAX_BODY_BYTES": "65536",
            "URJA_DB_CONNECT_TIMEOUT": "3",
            "URJA_DB_STATEMENT_TIMEOUT": "0",
            "URJA_DB_POOL_TIMEOUT": "2",
        }
    )

    assert (defaults.max_body_bytes, defaults.db_connect_timeout, defaults.db_statement_timeout) == (1_048_576, 5, 10)
    assert defaults.db_pool_timeout == 5
    assert (tuned.max_body_bytes, tuned.db_connect_timeout, tuned.db_statement_timeout, tuned.db_pool_timeout) == (
        65536,
        3,
        0,
        2,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("URJA_MAX_BODY_BYTES", "12"),
        ("URJA_MAX_BODY_BYTES", "9" * 40),
        ("URJA_DB_CONNECT_TIMEOUT", "0"),
        ("URJA_DB_STATEMENT_TIMEOUT", "-1"),
        ("URJA_DB_POOL_TIMEOUT", "5s"),
    ],
)
def test_web_edge_limits_that_cannot_work_are_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_uploads_are_kept_beside_the_sqlite_database_unless_a_folder_is_set(tmp_path: Path) -> None:
    db = tmp_path / "data" / "urjamitra.db"
    assert Settings.from_env({"URJA_DATABASE_URL": f"sqlite:///{db}"}).uploads_path == tmp_path / "data" / "uploads"
    chosen = Settings.from_env({"URJA_DATABASE_URL": f"sqlite:///{db}", "URJA_UPLOAD_DIR": "/srv/urja/uploads"})
    assert chosen.uploads_path == Path("/srv/urja/uploads")
    postgres = Settings.from_env({"URJA_DATABASE_URL": "postgresql+psycopg://u@db/urja"})
    assert postgres.uploads_path == Path.cwd() / "uploads"
