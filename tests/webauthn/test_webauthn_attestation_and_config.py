"""Start-up checks of the WebAuthn settings (naming the wrong key), and the switch that accepts only authenticators
whose attestation chains to a trusted root."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp.auth.methods import webauthn
from idp.config import ConfigError, settings_from_mapping
from webauthn_helpers import SoftAuthenticator, keys_of

GOOD = {"secret_key": "s" * 40, "client_secret_key": "c" * 40, "demo": True}


def _config(**webauthn_keys):
    return settings_from_mapping({**GOOD, "issuer": "https://login.example.com", "webauthn": webauthn_keys})


def test_by_default_the_rp_id_is_the_issuers_host():
    from idp.config import webauthn_origin, webauthn_rp_id
    settings = _config()
    assert (webauthn_rp_id(settings), webauthn_origin(settings)) == ("login.example.com", "https://login.example.com")


def test_a_parent_domain_of_the_issuer_is_a_valid_rp_id():
    assert _config(rp_id="example.com").webauthn.rp_id == "example.com"


@pytest.mark.parametrize("rp_id", ["evil.com", "ample.com", "other.example.com", "login.example.com.evil.com"])
def test_an_rp_id_the_issuer_is_not_under_stops_start_up_naming_the_key(rp_id):
    with pytest.raises(ConfigError) as info:
        _config(rp_id=rp_id)
    assert "webauthn.rp_id: must be the issuer's host 'login.example.com'" in str(info.value)


@pytest.mark.parametrize("rp_id", ["127.0.0.1", "Example.com", ".example.com"])
def test_an_ip_address_or_a_malformed_rp_id_is_refused(rp_id):
    with pytest.raises(ConfigError, match="webauthn.rp_id"):
        _config(rp_id=rp_id)


def test_requiring_trusted_attestation_needs_a_file_of_roots(tmp_path):
    with pytest.raises(ConfigError, match="webauthn.attestation_roots: required"):
        _config(require_trusted_attestation=True)
    with pytest.raises(ConfigError, match="webauthn.attestation_roots: no PEM file"):
        _config(require_trusted_attestation=True, attestation_roots=str(tmp_path / "missing.pem"))
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing here")
    with pytest.raises(ConfigError, match="holds no PEM certificate"):
        _config(require_trusted_attestation=True, attestation_roots=str(empty))


# --- trusted attestation -------------------------------------------------------------------------------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key, issuer_name: str, issuer_key, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name, issuer = _name(subject), _name(issuer_name)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _maker(common_name: str):
    """A root CA and an attestation key with a certificate it signed."""
    root_key, attestation_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = _certificate(common_name, root_key, common_name, root_key, ca=True)
    leaf = _certificate(common_name + " key", attestation_key, common_name, root_key, ca=False)
    return root, (attestation_key, leaf.public_bytes(serialization.Encoding.DER))


TRUSTED_ROOT, TRUSTED_KEY = _maker("Trusted Maker Root")
_, UNKNOWN_KEY = _maker("Unknown Maker Root")


@pytest.fixture
def settings(settings, tmp_path):
    roots = tmp_path / "roots.pem"
    roots.write_bytes(TRUSTED_ROOT.public_bytes(serialization.Encoding.PEM))
    return settings.replace(webauthn={"require_trusted_attestation": True, "attestation_roots": str(roots)})


def _register(user, attestation=None):
    options = json.loads(webauthn.registration_options(user, "enrol:1", "Key"))
    assert options["attestation"] == "direct"
    return webauthn.register(user, "enrol:1", SoftAuthenticator().create(options, attestation=attestation))


def test_with_a_trusted_list_a_key_whose_certificate_chains_to_a_root_is_accepted(user):
    assert _register(user, TRUSTED_KEY).attestation_format == "packed"


@pytest.mark.parametrize("attestation", [None, UNKNOWN_KEY], ids=["none", "unknown maker"])
def test_with_a_trusted_list_none_and_unknown_makers_are_refused(user, attestation):
    with pytest.raises(webauthn.WebauthnFailed):
        _register(user, attestation)
    assert keys_of(user) == []
