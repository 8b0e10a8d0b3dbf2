"""The operations settings ([redis], [metrics], [logging], server.proxy_hops) are checked at start-up, naming the key,
and the secrets among them can come from the environment."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from idp.config import ConfigError, settings_from_mapping

GOOD = {"secret_key": "s" * 40, "client_secret_key": "c" * 40, "mfa": {"encryption_key": Fernet.generate_key().decode()}}


@pytest.mark.parametrize(("data", "message"), [
    ({"redis": {"url": "http://cache:6379"}}, "redis.url: a redis://, rediss:// or unix:// URL"),
    ({"redis": {"socket_timeout_ms": 0}}, "redis.socket_timeout_ms: between 1 and 10000 milliseconds"),
    ({"redis": {"connect_timeout_ms": 60000}}, "redis.connect_timeout_ms: between 1 and 10000 milliseconds"),
    ({"metrics": {"enabled": True}}, "metrics.token: required when metrics are enabled"),
    ({"metrics": {"enabled": True, "token": "short"}}, "metrics.token: required when metrics are enabled"),
    ({"logging": {"format": "xml"}}, "logging.format: json or text"),
    ({"logging": {"level": "LOUD"}}, "logging.level: DEBUG, INFO, WARNING or ERROR"),
    ({"server": {"proxy_hops": -1}}, "server.proxy_hops: must be 0 or a positive whole number"),
    ({"server": {"proxy_hops": 9}}, "server.proxy_hops: at most 5"),
])
def test_invalid_operations_setting_stops_start_up_naming_the_key(data, message):
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({**GOOD, **data})
    assert message in str(info.value)


def test_the_defaults_use_no_redis_no_metrics_json_logs_and_trust_no_proxy():
    settings = settings_from_mapping(GOOD)
    assert settings.redis.url == "" and not settings.metrics.enabled
    assert settings.logging.format == "json" and settings.server.proxy_hops == 0


def test_redis_url_metrics_token_and_log_format_come_from_the_environment():
    settings = settings_from_mapping({**GOOD, "metrics": {"enabled": True}}, {
        "IDP_REDIS_URL": "rediss://:pw@redis.internal:6380/0", "IDP_METRICS_TOKEN": "t" * 40,
        "IDP_LOGGING_FORMAT": "text"})
    assert settings.redis.url == "rediss://:pw@redis.internal:6380/0"
    assert settings.metrics.token == "t" * 40 and settings.logging.format == "text"
