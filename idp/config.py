"""Settings: one typed source of truth, read from TOML, a documented set of environment overrides, checked at start-up.

Every key lives in a dataclass below with its default; ``config.example.toml`` documents each one and a test keeps the
two in step. ``load_settings`` collects every problem before raising ``ConfigError``, naming each key.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import ipaddress
import logging
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

log = logging.getLogger(__name__)

#: Where the configuration is looked for when ``IDP_CONFIG`` is not set (``make demo`` writes it).
DEFAULT_CONFIG_PATH = Path("instance/config.toml")

#: Environment variables that override a key: variable -> (section or "", key).
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "IDP_DEMO": ("", "demo"),
    "IDP_ISSUER": ("", "issuer"),
    "IDP_SECRET_KEY": ("", "secret_key"),
    "IDP_CLIENT_SECRET_KEY": ("", "client_secret_key"),
    "IDP_DATABASE_URL": ("database", "url"),
    "IDP_KEYS_DIR": ("keys", "dir"),
    "IDP_MFA_ENCRYPTION_KEY": ("mfa", "encryption_key"),
    "IDP_SMS_HTTP_TOKEN": ("sms", "http_token"),
    "IDP_EMAIL_SMTP_PASSWORD": ("email", "smtp_password"),
    "IDP_REDIS_URL": ("redis", "url"),
    "IDP_METRICS_TOKEN": ("metrics", "token"),
    "IDP_LOGGING_FORMAT": ("logging", "format"),
}

#: Placeholder secrets used only in demo mode when none is configured.
DEMO_SECRET = "demo-mode-insecure-secret-do-not-use-in-production"
MIN_SECRET_LENGTH = 32
#: Whole-number keys where 0 means "off" rather than being an error.
ZERO_ALLOWED = {("server", "max_requests"), ("server", "proxy_hops"), ("database", "max_overflow"),
                ("database", "statement_timeout"), ("passwords", "concurrency")}


class ConfigError(Exception):
    """The configuration cannot be used; ``errors`` lists every problem as "key: reason"."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("invalid configuration:\n  " + "\n  ".join(errors))


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///instance/idp.sqlite3"
    echo: bool = False
    sqlite_busy_timeout: int = 15
    pool_size: int = 5
    max_overflow: int = 5
    pool_timeout: int = 5
    pool_pre_ping: bool = True
    connect_timeout: int = 5
    statement_timeout: int = 10
    retry_after: int = 5


@dataclass(frozen=True)
class KeysSettings:
    dir: str = "keys"
    signing_alg: str = "RS256"
    rotation_lead_time: int = 3600


@dataclass(frozen=True)
class SessionSettings:
    cookie_name: str = "idp_session"
    flow_cookie_name: str = "idp_flow"
    lifetime: int = 43200
    idle_timeout: int = 1800
    device_cookie_name: str = "idp_device"
    remember_device_lifetime: int = 2592000
    remember_device_for_admins: bool = False


@dataclass(frozen=True)
class TokenSettings:
    authorization_code_lifetime: int = 60
    access_token_lifetime: int = 600
    id_token_lifetime: int = 600
    refresh_token_lifetime: int = 2592000
    interaction_lifetime: int = 900
    secret_rotation_grace: int = 86400


@dataclass(frozen=True)
class PasswordSettings:
    time_cost: int = 2
    memory_cost: int = 19456
    parallelism: int = 1
    #: password hashes computed at once in one worker process; 0: the machine's cores shared between the workers
    concurrency: int = 0


@dataclass(frozen=True)
class MfaSettings:
    issuer_label: str = "Reseller login"
    encryption_key: str = ""
    totp_enrolment_lifetime: int = 900
    sms_code_lifetime: int = 300
    sms_max_attempts: int = 5
    sms_resend_interval: int = 30
    sms_max_per_hour: int = 5
    default_region: str = "GB"


@dataclass(frozen=True)
class WebauthnSettings:
    rp_id: str = ""
    rp_name: str = "Reseller login"
    challenge_lifetime: int = 300
    timeout: int = 120
    require_trusted_attestation: bool = False
    attestation_roots: str = ""


@dataclass(frozen=True)
class ThrottleSettings:
    free_failures: int = 5
    base_delay: int = 30
    max_delay: int = 900
    hard_limit: int = 100
    hard_lock: int = 86400
    ip_free_failures: int = 30


@dataclass(frozen=True)
class SmsSettings:
    sender: str = "console"
    http_url: str = ""
    http_token: str = ""
    timeout: int = 5


@dataclass(frozen=True)
class EmailSettings:
    sender: str = "console"
    from_address: str = "idp@localhost"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    timeout: int = 10


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    max_content_length: int = 65536
    workers: int = 2
    threads: int = 4
    worker_timeout: int = 30
    graceful_timeout: int = 20
    keepalive: int = 5
    max_requests: int = 0
    access_log: bool = False
    proxy_hops: int = 0


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""
    key_prefix: str = "idp:"
    connect_timeout_ms: int = 250
    socket_timeout_ms: int = 250


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = False
    token: str = ""


@dataclass(frozen=True)
class LoggingSettings:
    format: str = "json"
    level: str = "INFO"


@dataclass(frozen=True)
class ClientsSettings:
    allow_local_uris: bool = False
    jwks_fetch_timeout: int = 5


@dataclass(frozen=True)
class Settings:
    demo: bool = False
    issuer: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    client_secret_key: str = ""
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    keys: KeysSettings = field(default_factory=KeysSettings)
    session: SessionSettings = field(default_factory=SessionSettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    passwords: PasswordSettings = field(default_factory=PasswordSettings)
    mfa: MfaSettings = field(default_factory=MfaSettings)
    webauthn: WebauthnSettings = field(default_factory=WebauthnSettings)
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    clients: ClientsSettings = field(default_factory=ClientsSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)

    def replace(self, **changes: Any) -> "Settings":
        """A copy with top-level keys or whole sections replaced (sections may be given as dicts)."""
        for name, value in list(changes.items()):
            if isinstance(value, Mapping):
                changes[name] = dataclasses.replace(getattr(self, name), **value)
        return dataclasses.replace(self, **changes)


SECTIONS = {f.name: f.default_factory for f in dataclasses.fields(Settings) if f.default_factory is not dataclasses.MISSING}


def load_settings(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (``path``, else ``$IDP_CONFIG``, else ``instance/config.toml``) and the env overrides."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("IDP_CONFIG") or DEFAULT_CONFIG_PATH)
    if not path.is_file():
        raise ConfigError([f"IDP_CONFIG: no configuration file at {path} (copy config.example.toml, or run `make demo`)"])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None
    return settings_from_mapping(data, environ)


def settings_from_mapping(data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Build and check Settings from parsed TOML plus the env overrides; raise ConfigError listing every problem."""
    errors: list[str] = []
    data = _apply_env(dict(data), environ or {})
    top: dict[str, Any] = {}
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, Mapping):
                errors.append(f"{key}: must be a table")
                continue
            top[key] = _build(SECTIONS[key](), value, key, errors)
        elif key in _field_types(Settings):
            top[key] = _coerce(key, value, _field_types(Settings)[key], errors)
        else:
            errors.append(f"{key}: unknown setting")
    settings = dataclasses.replace(Settings(), **{k: v for k, v in top.items() if v is not None})
    errors.extend(validate(settings))
    if errors:
        raise ConfigError(errors)
    return _with_demo_secrets(settings)


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    for var, (section, key) in ENV_OVERRIDES.items():
        if var in environ:
            target = data.setdefault(section, {}) if section else data
            if section and not isinstance(target, dict):
                continue
            target[key] = environ[var]
    return data


def _field_types(cls) -> dict[str, Any]:
    return {f.name: f.type for f in dataclasses.fields(cls)}


def _build(default, values: Mapping[str, Any], section: str, errors: list[str]):
    types = _field_types(type(default))
    changes = {}
    for key, value in values.items():
        if key not in types:
            errors.append(f"{section}.{key}: unknown setting")
            continue
        coerced = _coerce(f"{section}.{key}", value, types[key], errors)
        if coerced is not None:
            changes[key] = coerced
    return dataclasses.replace(default, **changes)


def _coerce(name: str, value: Any, type_name: str, errors: list[str]):
    """Values from TOML keep their type; values from the environment arrive as strings."""
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
            return value.lower() in ("1", "true", "yes")
        errors.append(f"{name}: must be true or false (got {value!r})")
    elif type_name == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        errors.append(f"{name}: must be a whole number (got {value!r})")
    elif type_name == "str":
        if isinstance(value, str):
            return value
        errors.append(f"{name}: must be a string (got {value!r})")
    return None


def validate(s: Settings) -> list[str]:
    """Rules that span values: positive lifetimes, a usable issuer, secrets outside demo mode."""
    errors = []
    issuer = urlsplit(s.issuer)
    if issuer.scheme not in ("http", "https") or not issuer.hostname or issuer.query or issuer.fragment:
        errors.append(f"issuer: must be an absolute http(s) URL without query or fragment (got {s.issuer!r})")
    elif issuer.scheme == "http" and issuer.hostname not in ("127.0.0.1", "localhost", "::1"):
        errors.append(f"issuer: must use https except on a loopback host (got {s.issuer!r})")
    elif s.issuer.endswith("/"):
        errors.append(f"issuer: must not end with a slash (got {s.issuer!r})")
    for name in ("secret_key", "client_secret_key"):
        value = getattr(s, name)
        if not s.demo and len(value) < MIN_SECRET_LENGTH:
            errors.append(f"{name}: required outside demo mode, at least {MIN_SECRET_LENGTH} random characters")
    if s.keys.signing_alg not in ("RS256", "ES256"):
        errors.append(f"keys.signing_alg: must be RS256 or ES256 (got {s.keys.signing_alg!r})")
    if not s.database.url.startswith(("sqlite:", "postgresql")):
        errors.append(f"database.url: must be a sqlite:// or postgresql+psycopg:// URL (got {s.database.url!r})")
    errors.extend(_validate_mfa(s))
    errors.extend(_validate_webauthn(s))
    errors.extend(_validate_operations(s))
    for section in ("database", "tokens", "session", "passwords", "server", "mfa", "webauthn", "throttle", "sms",
                    "email", "clients"):
        for f in dataclasses.fields(getattr(s, section)):
            value = getattr(getattr(s, section), f.name)
            if f.type == "int" and (section, f.name) in ZERO_ALLOWED:
                if value < 0:
                    errors.append(f"{section}.{f.name}: must be 0 or a positive whole number (got {value!r})")
            elif f.type == "int" and value <= 0:
                errors.append(f"{section}.{f.name}: must be a positive whole number (got {value!r})")
    if s.tokens.authorization_code_lifetime > 600:
        errors.append("tokens.authorization_code_lifetime: at most 600 seconds (RFC 6749 4.1.2)")
    if s.passwords.memory_cost < 8 * s.passwords.parallelism:
        errors.append("passwords.memory_cost: must be at least 8 KiB per lane")
    return errors


def _validate_mfa(s: Settings) -> list[str]:
    errors = []
    if s.mfa.encryption_key:
        try:
            Fernet(s.mfa.encryption_key)
        except (ValueError, TypeError):
            errors.append("mfa.encryption_key: must be a Fernet key (32 url-safe base64 bytes; `idp keys encryption-key`)")
    elif not s.demo:
        errors.append("mfa.encryption_key: required outside demo mode (`idp keys encryption-key` makes one)")
    if len(s.mfa.default_region) != 2 or not s.mfa.default_region.isalpha():
        errors.append(f"mfa.default_region: a two-letter region code such as GB (got {s.mfa.default_region!r})")
    if s.throttle.hard_limit > 100:
        errors.append("throttle.hard_limit: at most 100 consecutive failures (NIST SP 800-63B 5.2.2)")
    if s.sms.sender not in ("console", "http"):
        errors.append(f"sms.sender: console or http (got {s.sms.sender!r})")
    elif s.sms.sender == "http" and not s.sms.http_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        errors.append("sms.http_url: required for the http sender, https except on loopback")
    if s.email.sender not in ("console", "smtp"):
        errors.append(f"email.sender: console or smtp (got {s.email.sender!r})")
    elif s.email.sender == "smtp" and not s.email.smtp_host:
        errors.append("email.smtp_host: required for the smtp sender")
    return errors


def webauthn_rp_id(s: Settings) -> str:
    """The WebAuthn relying-party id: ``webauthn.rp_id``, else the issuer's host."""
    return s.webauthn.rp_id or (urlsplit(s.issuer).hostname or "")


def webauthn_origin(s: Settings) -> str:
    """The one origin WebAuthn responses must come from: the issuer's scheme, host and port (WebAuthn 7.1 step 9)."""
    parts = urlsplit(s.issuer)
    return f"{parts.scheme}://{parts.netloc}"


def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _validate_webauthn(s: Settings) -> list[str]:
    """WebAuthn 5.1.4.1: the RP id must be the issuer's host or a domain it is under, never an IP address."""
    errors = []
    host = (urlsplit(s.issuer).hostname or "").lower()
    rp_id = s.webauthn.rp_id
    if rp_id:
        if rp_id != rp_id.lower() or rp_id.startswith(".") or rp_id.endswith("."):
            errors.append(f"webauthn.rp_id: a lower-case domain name without leading or trailing dot (got {rp_id!r})")
        elif is_ip_address(rp_id):
            errors.append(f"webauthn.rp_id: must be a domain name; browsers refuse IP addresses (got {rp_id!r})")
        elif host != rp_id and not host.endswith("." + rp_id):
            errors.append(f"webauthn.rp_id: must be the issuer's host {host!r} or a domain it is under "
                          f"(got {rp_id!r}); change webauthn.rp_id or issuer")
    if s.webauthn.require_trusted_attestation:
        if not s.webauthn.attestation_roots:
            errors.append("webauthn.attestation_roots: required when webauthn.require_trusted_attestation is true")
        elif not Path(s.webauthn.attestation_roots).is_file():
            errors.append(f"webauthn.attestation_roots: no PEM file at {s.webauthn.attestation_roots!r}")
        elif b"-----BEGIN CERTIFICATE-----" not in Path(s.webauthn.attestation_roots).read_bytes():
            errors.append(f"webauthn.attestation_roots: {s.webauthn.attestation_roots!r} holds no PEM certificate")
    if not 1 <= len(s.webauthn.rp_name) <= 64:
        errors.append("webauthn.rp_name: 1 to 64 characters")
    return errors


def _validate_operations(s: Settings) -> list[str]:
    """``[redis]``, ``[metrics]`` and ``[logging]`` (docs/deployment.md)."""
    errors = []
    if s.redis.url and not s.redis.url.startswith(("redis://", "rediss://", "unix://")):
        errors.append("redis.url: a redis://, rediss:// or unix:// URL, or empty for none")
    for name in ("connect_timeout_ms", "socket_timeout_ms"):
        if not 0 < getattr(s.redis, name) <= 10000:
            errors.append(f"redis.{name}: between 1 and 10000 milliseconds (got {getattr(s.redis, name)!r})")
    if s.metrics.enabled and len(s.metrics.token) < MIN_SECRET_LENGTH:
        errors.append(f"metrics.token: required when metrics are enabled, {MIN_SECRET_LENGTH}+ random characters")
    if s.logging.format not in ("json", "text"):
        errors.append(f"logging.format: json or text (got {s.logging.format!r})")
    if s.logging.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        errors.append(f"logging.level: DEBUG, INFO, WARNING or ERROR (got {s.logging.level!r})")
    if s.server.proxy_hops > 5:
        errors.append(f"server.proxy_hops: at most 5 proxies in front of idp (got {s.server.proxy_hops!r})")
    return errors


def _with_demo_secrets(s: Settings) -> Settings:
    missing = [n for n in ("secret_key", "client_secret_key") if not getattr(s, n)]
    if s.demo and (missing or not s.mfa.encryption_key):
        log.warning("demo mode: using built-in placeholder secrets where none are set; never run like this in production")
        demo_fernet = base64.urlsafe_b64encode(hashlib.sha256(DEMO_SECRET.encode()).digest()).decode()
        s = dataclasses.replace(s, **{n: DEMO_SECRET for n in missing})
        if not s.mfa.encryption_key:
            s = dataclasses.replace(s, mfa=dataclasses.replace(s.mfa, encryption_key=demo_fernet))
    return s
