"""Security keys and passkeys on the settings page: add (password, name, the browser's prompt), rename, remove.

Adding one follows the rules of every method (account/service.py ``_enabled``): it becomes the default, recovery
codes are made if the user had none, the change is audited and emailed. Removing asks for the password; removing
the last key turns the method off like disabling any other (``_disabled``).
"""

from __future__ import annotations

import sqlalchemy as sa

from .. import audit
from ..auth.methods import webauthn
from ..extensions import db
from ..models import LoginSession, User, WebauthnCredential
from ..notices import notify
from .service import SettingsError, _disabled, _enabled, check_may_enrol, confirm_password


def enrol_binding(login_session: LoginSession) -> str:
    return f"enrol:{login_session.id}"


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise SettingsError("Give the key a name, such as \u201cYubiKey 5\u201d or \u201cLaptop\u201d.")
    if len(name) > webauthn.NAME_LENGTH:
        raise SettingsError(f"A key name has at most {webauthn.NAME_LENGTH} characters.")
    return name


def start_enrolment(login_session: LoginSession, password: str, name: str) -> str:
    """Check the session may add a factor, the password and the name; returns the creation options (JSON)."""
    if not webauthn.available():
        raise SettingsError("Security keys need idp to be served under a domain name.")
    check_may_enrol(login_session)
    name = clean_name(name)
    confirm_password(login_session.user, password)
    return webauthn.registration_options(login_session.user, enrol_binding(login_session), name)


def finish_enrolment(login_session: LoginSession, response: str) -> list[str] | None:
    """Verify the browser's answer and turn the key on; returns new recovery codes when the user had none."""
    check_may_enrol(login_session)
    user = login_session.user
    try:
        credential = webauthn.register(user, enrol_binding(login_session), response)
    except webauthn.WebauthnFailed as exc:
        audit.record("webauthn_enrol_failed", subject=user, reason=exc.detail)
        if exc.public != webauthn.WebauthnFailed.public:
            raise SettingsError(exc.public, detail=exc.detail) from None
        raise SettingsError("The security key could not be added. Please try again.", detail=exc.detail) from None
    audit.record("webauthn_key_added", subject=user, key_id=credential.id, key_name=credential.name,
                 aaguid=credential.aaguid, attestation=credential.attestation_format,
                 backup_eligible=credential.backup_eligible)
    return _enabled(login_session, "webauthn", extra_notice=f"The key is named \u201c{credential.name}\u201d.")


def _key_of(user: User, key_id: int) -> WebauthnCredential:
    key = db.session.scalar(sa.select(WebauthnCredential).where(WebauthnCredential.id == key_id,
                                                                WebauthnCredential.user_id == user.id))
    if key is None:
        raise SettingsError("That security key is not registered to your login.")
    return key


def rename_key(user: User, key_id: int, name: str) -> None:
    key = _key_of(user, key_id)
    old, key.name = key.name, clean_name(name)
    audit.record("webauthn_key_renamed", subject=user, key_id=key.id, old_name=old, key_name=key.name)


def remove_key(user: User, key_id: int, password: str) -> None:
    confirm_password(user, password)
    key = _key_of(user, key_id)
    name = key.name
    db.session.delete(key)
    db.session.flush()
    audit.record("webauthn_key_removed", subject=user, key_id=key_id, key_name=name)
    if webauthn.credentials_of(user):
        notify(user, "A security key was removed", f"The security key \u201c{name}\u201d was removed from your "
                                                   "reseller login.")
    else:
        _disabled(user, "webauthn")
