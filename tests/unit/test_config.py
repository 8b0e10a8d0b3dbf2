"""Settings: the example file documents every key, bad values name the key, secrets are required outside demo."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from idp.config import ConfigError, Settings, load_settings, settings_from_mapping

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"secret_key": "s" * 40, "client_secret_key": "c" * 40, "mfa": {"encryption_key": Fernet.generate_key().decode()}}


def _keys(obj, prefix=""):
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _keys(value, f"{f.name}.")
        else:
            yield prefix + f.name


def _toml_keys(data, prefix=""):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _toml_keys(value, f"{key}.")
        else:
            yield prefix + key


def test_example_config_documents_exactly_the_settings_keys():
    example = tomllib.loads((ROOT / "config.example.toml").read_text())
    assert set(_toml_keys(example)) == set(_keys(Settings()))


def test_example_config_defaults_match_the_code_defaults():
    example = tomllib.loads((ROOT / "config.example.toml").read_text())
    defaults = Settings()
    for key in _toml_keys(example):
        section, _, name = key.rpartition(".")
        file_value = example[section][name] if section else example[name]
        code_value = getattr(getattr(defaults, section) if section else defaults, name)
        assert file_value == code_value, key


def test_secrets_are_required_outside_demo_mode():
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({})
    text = str(info.value)
    assert "secret_key: required" in text and "client_secret_key: required" in text


def test_demo_mode_runs_without_secrets():
    settings = settings_from_mapping({"demo": True})
    assert settings.secret_key and settings.client_secret_key


@pytest.mark.parametrize(("data", "message"), [
    ({"tokens": {"access_token_lifetime": "abc"}}, "tokens.access_token_lifetime: must be a whole number"),
    ({"tokens": {"access_token_lifetime": 0}}, "tokens.access_token_lifetime: must be a positive whole number"),
    ({"issuer": "http://idp.example.com"}, "issuer: must use https"),
    ({"issuer": "https://idp.example.com/"}, "issuer: must not end with a slash"),
    ({"issuer": "idp"}, "issuer: must be an absolute"),
    ({"keys": {"signing_alg": "HS256"}}, "keys.signing_alg"),
    ({"session": {"lifetimes": 5}}, "session.lifetimes: unknown setting"),
    ({"database": {"url": "mysql://x"}}, "database.url"),
    ({"demo": "maybe"}, "demo: must be true or false"),
    ({"tokens": {"authorization_code_lifetime": 3600}}, "tokens.authorization_code_lifetime: at most 600"),
])
def test_invalid_setting_stops_start_up_naming_the_key(data, message):
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({**GOOD, **data})
    assert message in str(info.value)


def test_every_error_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({"tokens": {"access_token_lifetime": "x", "id_token_lifetime": "y"}})
    assert len(info.value.errors) >= 4  # two bad values and two missing secrets


def test_environment_overrides_the_documented_keys(tmp_path):
    path = tmp_path / "idp.toml"
    path.write_text('issuer = "https://login.example.com"\n[database]\nurl = "sqlite:///a.db"\n')
    env = {"IDP_SECRET_KEY": "e" * 40, "IDP_CLIENT_SECRET_KEY": "f" * 40, "IDP_MFA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "IDP_DATABASE_URL": "postgresql+psycopg://idp@db/idp", "IDP_ISSUER": "https://sso.example.com"}
    settings = load_settings(path, env)
    assert settings.database.url == "postgresql+psycopg://idp@db/idp"
    assert settings.issuer == "https://sso.example.com"
    assert settings.secret_key == "e" * 40


def test_missing_config_file_names_idp_config(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.toml", {})
    assert "IDP_CONFIG" in str(info.value)


def test_malformed_toml_is_reported(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("issuer = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, {})
