"""Security keys and passkeys (W3C WebAuthn Level 2), verified with Duo's ``webauthn`` library.

The relying-party id and the one accepted origin come from the issuer (``config.webauthn_rp_id``/``_origin``).
Every ceremony starts with a challenge stored server-side: 32 random bytes, bound to the transaction that asked for
it (a login flow, this browser, or an enrolment in this session), valid ``webauthn.challenge_lifetime`` seconds and
consumed once, atomically, before the response is checked (WebAuthn 13.4.3). Signature counters must grow
(WebAuthn 6.1.1); a counter that does not is refused as a possible clone, in one atomic UPDATE, and audited.

``amr`` (RFC 8176): ``hwk`` for a credential bound to one device (the BE flag was clear at registration: the key
cannot leave the authenticator), ``swk`` for a multi-device passkey (BE set: the key is synced as software);
``user`` for the test of user presence every assertion carries (the UP flag); ``pin`` when the authenticator
verified the user (the UV flag: a PIN, pattern or biometric unlock of the key on the device, with the device's
retry limit), the closest registered value, since the RP cannot tell which of them was used.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import sqlalchemy as sa
from flask import current_app
from webauthn import (generate_authentication_options, generate_registration_options, options_to_json,
                      verify_authentication_response, verify_registration_response)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_attestation_object
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (AttestationConveyancePreference, AttestationFormat,
                                      AuthenticatorSelectionCriteria, AuthenticatorTransport, CredentialDeviceType,
                                      PublicKeyCredentialDescriptor, ResidentKeyRequirement,
                                      UserVerificationRequirement)

from ... import audit, clock
from ...config import is_ip_address, webauthn_origin, webauthn_rp_id
from ...errors import IdpError
from ...extensions import db
from ...notices import notify
from ...models import LoginFlow, User, WebauthnChallenge, WebauthnCredential
from .base import VerifyResult

log = logging.getLogger(__name__)

ENROL, SECOND_FACTOR, PASSKEY = "enrol", "second_factor", "passkey"
ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.EDDSA,
              COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256, COSEAlgorithmIdentifier.RSASSA_PSS_SHA_256]
TRANSPORTS = {t.value for t in AuthenticatorTransport}
MAX_RESPONSE = 16_000
NAME_LENGTH = 64


class WebauthnFailed(IdpError):
    status = 401
    public = "Your security key could not be verified. Please try again, or use another method."


class CloneWarning(WebauthnFailed):
    """The signature counter did not grow: the key may have been copied (WebAuthn 6.1.1)."""


def _settings():
    return current_app.config["IDP_SETTINGS"]


def relying_party() -> tuple[str, str]:
    """(RP id, expected origin), both from the issuer."""
    return webauthn_rp_id(_settings()), webauthn_origin(_settings())


def available() -> bool:
    """Browsers run WebAuthn only for a domain name, never for an IP address (the demo's http://127.0.0.1)."""
    return not is_ip_address(relying_party()[0])


def user_handle(user: User) -> bytes:
    """The user handle given to authenticators: derived from the random subject, no personal data (WebAuthn 14.6.1)."""
    return hashlib.sha256(b"idp-webauthn-user:" + user.subject.encode()).digest()


def credentials_of(user: User) -> list[WebauthnCredential]:
    return list(db.session.scalars(sa.select(WebauthnCredential).where(WebauthnCredential.user_id == user.id)
                                   .order_by(WebauthnCredential.id)))


def amr_for(credential: WebauthnCredential, user_verified: bool) -> tuple[str, ...]:
    return ("swk" if credential.backup_eligible else "hwk", "user") + (("pin",) if user_verified else ())


# --- challenges ----------------------------------------------------------------------------------------------

def issue_challenge(purpose: str, binding: str, user: User | None = None, label: str | None = None) -> bytes:
    now = clock.now()
    db.session.execute(sa.delete(WebauthnChallenge).where(WebauthnChallenge.expires_at <= now))
    challenge = secrets.token_bytes(32)
    db.session.add(WebauthnChallenge(challenge=bytes_to_base64url(challenge), purpose=purpose, binding=binding,
                                     user_id=user.id if user else None, label=label, created_at=now,
                                     expires_at=now + timedelta(seconds=_settings().webauthn.challenge_lifetime)))
    return challenge


def consume_challenge(purpose: str, binding: str, challenge: str, user: User | None = None) -> WebauthnChallenge:
    """The live challenge of this transaction; used up by this call (one winner), else WebauthnFailed."""
    row = db.session.scalar(sa.select(WebauthnChallenge).where(
        WebauthnChallenge.challenge == challenge[:64], WebauthnChallenge.purpose == purpose,
        WebauthnChallenge.binding == binding))
    if row is None or row.expires_at <= clock.now() or (user is not None and row.user_id != user.id):
        raise WebauthnFailed(detail="unknown, foreign or expired challenge")
    won = db.session.execute(
        sa.update(WebauthnChallenge).where(WebauthnChallenge.id == row.id, WebauthnChallenge.consumed_at.is_(None))
        .values(consumed_at=clock.now()), execution_options={"synchronize_session": False}).rowcount == 1
    if not won:
        raise WebauthnFailed(detail="challenge already used")
    return row


def _parse(response: str) -> tuple[dict, str]:
    """The browser's credential as a dict, and the challenge it signed (from clientDataJSON)."""
    if not response or len(response) > MAX_RESPONSE:
        raise WebauthnFailed(detail="no or oversized response")
    try:
        data = json.loads(response)
        client_data = json.loads(base64url_to_bytes(data["response"]["clientDataJSON"]))
        challenge = client_data["challenge"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise WebauthnFailed(detail="malformed response") from None
    if not isinstance(data.get("rawId"), str) or not isinstance(challenge, str):
        raise WebauthnFailed(detail="malformed response")
    return data, challenge


# --- registration --------------------------------------------------------------------------------------------

def registration_options(user: User, binding: str, name: str) -> str:
    """Options for ``navigator.credentials.create`` as JSON, with a fresh challenge for this enrolment."""
    rp_id, _ = relying_party()
    settings = _settings().webauthn
    options = generate_registration_options(
        rp_id=rp_id, rp_name=settings.rp_name, user_name=user.username, user_id=user_handle(user),
        user_display_name=user.display_name, challenge=issue_challenge(ENROL, binding, user, name),
        timeout=settings.timeout * 1000,
        attestation=(AttestationConveyancePreference.DIRECT if settings.require_trusted_attestation
                     else AttestationConveyancePreference.NONE),
        # a discoverable credential when the authenticator can (it then also signs in without a password)
        authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.PREFERRED,
                                                               user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=_descriptors(user), supported_pub_key_algs=ALGORITHMS)
    return options_to_json(options)


def register(user: User, binding: str, response: str) -> WebauthnCredential:
    """Verify the attestation (WebAuthn 7.1) and store the new credential; WebauthnFailed if anything is off."""
    data, challenge = _parse(response)
    row = consume_challenge(ENROL, binding, challenge, user)
    rp_id, origin = relying_party()
    settings = _settings().webauthn
    roots = _attestation_roots() if settings.require_trusted_attestation else None
    try:
        verified = verify_registration_response(
            credential=data, expected_challenge=base64url_to_bytes(row.challenge), expected_rp_id=rp_id,
            expected_origin=origin, require_user_presence=True, supported_pub_key_algs=ALGORITHMS,
            pem_root_certs_bytes_by_fmt={fmt: roots for fmt in AttestationFormat} if roots else None)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise WebauthnFailed(detail=f"registration refused: {exc}") from None
    if roots and not _trusted_attestation(verified):
        raise WebauthnFailed("This security key's make is not on the list your organisation accepts.",
                             detail=f"untrusted attestation ({verified.fmt}, aaguid {verified.aaguid})")
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(sa.select(WebauthnCredential.id).where(WebauthnCredential.credential_id == credential_id)):
        raise WebauthnFailed("This security key is already registered.", detail="credential id already registered")
    transports = data["response"].get("transports") if isinstance(data["response"], dict) else None
    credential = WebauthnCredential(
        user_id=user.id, credential_id=credential_id, public_key=bytes_to_base64url(verified.credential_public_key),
        user_handle=bytes_to_base64url(user_handle(user)), name=row.label or "Security key",
        sign_count=verified.sign_count, aaguid=verified.aaguid,
        attestation_format=getattr(verified.fmt, "value", verified.fmt),
        transports=[t for t in transports if t in TRANSPORTS][:8] if isinstance(transports, list) else [],
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE)
    db.session.add(credential)
    db.session.flush()
    return credential


def _attestation_roots() -> list[bytes]:
    pem = Path(_settings().webauthn.attestation_roots).read_bytes()
    marker = b"-----END CERTIFICATE-----"
    return [part.strip() + b"\n" + marker + b"\n" for part in pem.split(marker) if b"BEGIN CERTIFICATE" in part]


def _trusted_attestation(verified) -> bool:
    """With a trusted list, only a certificate chain counts: not "none", not self attestation (no x5c)."""
    if verified.fmt == AttestationFormat.NONE:
        return False
    statement = parse_attestation_object(verified.attestation_object).att_stmt
    return bool(statement.x5c)


# --- authentication ------------------------------------------------------------------------------------------

def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(c.credential_id),
                                          transports=[AuthenticatorTransport(t) for t in c.transports] or None)
            for c in credentials_of(user)]


def authentication_options(purpose: str, binding: str, user: User | None = None) -> str:
    """Options for ``navigator.credentials.get``: the user's keys for a second factor; none (discoverable
    credentials, user verification required) for a passkey sign-in."""
    rp_id, _ = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id, challenge=issue_challenge(purpose, binding, user), timeout=_settings().webauthn.timeout * 1000,
        allow_credentials=_descriptors(user) if user is not None else [],
        user_verification=(UserVerificationRequirement.REQUIRED if purpose == PASSKEY
                           else UserVerificationRequirement.DISCOURAGED))
    return options_to_json(options)


@dataclass
class Assertion:
    """A response to ``navigator.credentials.get`` whose challenge was ours and is now used up."""

    data: dict
    challenge: WebauthnChallenge
    credential: WebauthnCredential


def load_assertion(response: str, purpose: str, binding: str, user: User | None = None) -> Assertion:
    """Consume the challenge and find the credential (of ``user``, when the user is known)."""
    data, challenge = _parse(response)
    row = consume_challenge(purpose, binding, challenge, user)
    credential = db.session.scalar(sa.select(WebauthnCredential).where(
        WebauthnCredential.credential_id == data["rawId"][:1400]))
    if credential is None or (user is not None and credential.user_id != user.id):
        raise WebauthnFailed(detail="unknown credential")
    handle = (data.get("response") or {}).get("userHandle")
    # WebAuthn 7.2 step 6: a returned user handle must be the owner's; a passkey sign-in needs one
    if (handle or purpose == PASSKEY) and handle != credential.user_handle:
        raise WebauthnFailed(detail="user handle does not match the credential")
    return Assertion(data, row, credential)


def check_assertion(assertion: Assertion, require_user_verification: bool) -> tuple[str, ...]:
    """Verify the signature, origin, RP id and flags (WebAuthn 7.2), then move the counter; returns the amr."""
    credential = assertion.credential
    rp_id, origin = relying_party()
    try:
        verified = verify_authentication_response(
            credential=assertion.data, expected_challenge=base64url_to_bytes(assertion.challenge.challenge),
            expected_rp_id=rp_id, expected_origin=origin,
            credential_public_key=base64url_to_bytes(credential.public_key),
            credential_current_sign_count=0,  # the counter is checked below, atomically
            require_user_verification=require_user_verification)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise WebauthnFailed(detail=f"assertion refused: {exc}") from None
    if not _advance_counter(credential, verified.new_sign_count):
        audit.record("webauthn_clone_warning", subject=credential.user, key_id=credential.id, key_name=credential.name,
                     stored_count=credential.sign_count, presented_count=verified.new_sign_count)
        notify(credential.user, "A security key was refused",
               f"The security key \"{credential.name}\" was refused at sign-in: its signature counter went backwards, "
               "which can mean the key was copied. If you did not just use it, remove it in your security settings.")
        raise CloneWarning(detail="signature counter did not grow")
    return amr_for(credential, verified.user_verified)


def _advance_counter(credential: WebauthnCredential, new_count: int) -> bool:
    """WebAuthn 6.1.1: store a greater counter; both zero means the authenticator keeps none. One winner."""
    table = WebauthnCredential
    grows = table.sign_count == 0 if new_count == 0 else table.sign_count < new_count
    return db.session.execute(
        sa.update(table).where(table.id == credential.id, grows)
        .values(sign_count=new_count, last_used_at=clock.now()),
        execution_options={"synchronize_session": False}).rowcount == 1


def flow_binding(flow: LoginFlow) -> str:
    return f"login:{flow.id}"


class Webauthn:
    id: ClassVar[str] = "webauthn"
    label: ClassVar[str] = "Security key or passkey"
    #: the usual values; each login reports the key's own (``amr_for``)
    amr: ClassVar[tuple[str, ...]] = ("hwk", "user")
    #: shown instead of the generic "That code is not valid" when the step fails
    failure_message: ClassVar[str] = WebauthnFailed.public

    def enrolled_condition(self, user_id) -> sa.ColumnElement[bool]:
        return sa.exists().where(WebauthnCredential.user_id == user_id)

    def start(self, user: User, flow: LoginFlow) -> str | None:
        return "Use your security key or passkey when your browser asks for it."

    def verify(self, user: User, flow: LoginFlow, code: str) -> VerifyResult:
        try:
            assertion = load_assertion(code, SECOND_FACTOR, flow_binding(flow), user)
            amr = check_assertion(assertion, require_user_verification=False)
        except WebauthnFailed as exc:
            log.info("security key refused for user %s: %s", user.id, exc.detail)
            return VerifyResult(False)
        return VerifyResult(True, amr=amr)
