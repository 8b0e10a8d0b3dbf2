"""The idp administrators' rules: reseller accounts, the users of every account, and reading the audit trail.

One code path: the ``idp accounts`` and ``idp users`` commands and the /admin console call these functions; nothing
here reads ``flask.request``. ``actor`` is the admin signed in to the console, or None for the command line (run by
whoever operates the server). Every change is audited with the actor, the user it concerns and no secrets; callers
commit.

Disabling, enabling and deleting are the account owner's functions (``people.service``), which check that the
manager belongs to the person's account. An admin manages every account, so ``_manager_of`` presents the admin to
them as a manager of that person's account (a thin wrapper instead of a copy of their rules).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from .. import audit, users
from ..account import access
from ..auth import devices
from ..auth.flow import enrolled_methods, has_second_factor
from ..auth.methods import recovery
from ..errors import IdpError
from ..extensions import db
from ..models import Account, AuditEvent, LoginSession, SmsPhone, Token, TotpCredential, User, WebauthnCredential
from ..notices import notify
from ..oidc.store import revoke_tokens
from ..people import service as people

PAGE_SIZE = 50
EXPORT_BATCH = 500
MAX_REASON = 500
#: choices of the "two-factor" filter of the user list
TWO_FACTOR_FILTERS = ("on", "off", "totp", "sms")


class AdminError(IdpError):
    """An administrator's request was refused; the message says why."""


class NotAdmin(IdpError):
    status = 403
    public = "Only idp administrators can use the admin console."


# --- who may use the console ----------------------------------------------------------------------------------

def check_console_access(login_session: LoginSession) -> User:
    """The admin of this session; NotAdmin unless role admin, 2FA on, and the second factor used in this session."""
    user = login_session.user
    if user.role != "admin" or user.disabled:
        raise NotAdmin()
    if not has_second_factor(user):
        raise NotAdmin("The admin console needs two-factor authentication: turn it on in your account settings, "
                       "then sign in again with it.")
    if "mfa" not in (login_session.amr or []):
        raise NotAdmin("The admin console needs a sign-in with your second factor: sign out, then sign in again.")
    return user


def _check_actor(actor: User | None) -> None:
    if actor is not None and (actor.role != "admin" or actor.disabled):
        raise NotAdmin()


def _not_oneself(actor: User | None, user: User, action: str) -> None:
    if actor is not None and actor.id == user.id:
        raise AdminError(f"You cannot {action} your own login here; use your account settings.")


def _record(event: str, actor: User | None, subject: User | None = None, **details) -> AuditEvent:
    """An audit event done by ``actor`` (None: the command line), never attributed to the subject."""
    row = audit.record(event, subject=subject, actor=actor, via="console" if actor else "cli", **details)
    row.actor_id = actor.id if actor else None
    return row


# --- accounts -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AccountRow:
    id: int
    name: str
    require_2fa: bool
    users: int
    created_at: datetime

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def create_account(actor: User | None, name: str, require_2fa: bool = False) -> Account:
    _check_actor(actor)
    account = users.create_account(name, require_2fa)
    row = _record("account_created", actor, name=account.name, require_2fa=account.require_2fa)
    row.account_id = account.id
    return account


def list_accounts() -> list[AccountRow]:
    """Every reseller account with its number of users, by name."""
    count = sa.func.count(User.id)
    rows = db.session.execute(sa.select(Account, count).outerjoin(User, User.account_id == Account.id)
                              .group_by(Account.id).order_by(Account.name)).all()
    return [AccountRow(id=a.id, name=a.name, require_2fa=a.require_2fa, users=n, created_at=a.created_at)
            for a, n in rows]


# --- the user list --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserFilters:
    account: str | None = None
    two_factor: str | None = None  # one of TWO_FACTOR_FILTERS
    disabled: bool | None = None
    not_signed_in_since: datetime | None = None  # last login before this, or never


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    email: str
    account: str
    role: str
    disabled: bool
    methods: list[str]
    last_login_at: datetime | None
    password_change_required: bool

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def list_users(filters: UserFilters = UserFilters()) -> list[UserRow]:
    """Users of all accounts (or one) with their second-factor methods and last login, by account and username."""
    query = sa.select(User).join(Account, User.account_id == Account.id).order_by(Account.name, User.username)
    if filters.account:
        query = query.where(User.account_id == users.find_account(filters.account).id)
    if filters.disabled is not None:
        query = query.where(User.disabled == filters.disabled)
    if filters.not_signed_in_since is not None:
        since = filters.not_signed_in_since.astimezone(UTC)
        query = query.where(sa.or_(User.last_login_at.is_(None), User.last_login_at < since))
    rows = [_user_row(user) for user in db.session.scalars(query)]
    return [row for row in rows if _has_two_factor(row.methods, filters.two_factor)]


def _user_row(user: User) -> UserRow:
    return UserRow(id=user.id, username=user.username, display_name=user.display_name, email=user.email,
                   account=user.account.name, role=user.role, disabled=user.disabled, methods=enrolled_methods(user),
                   last_login_at=user.last_login_at, password_change_required=user.password_change_required)


def _has_two_factor(methods: list[str], wanted: str | None) -> bool:
    if not wanted:
        return True
    if wanted in ("on", "off"):
        return bool(methods) == (wanted == "on")
    return wanted in methods


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise users.UserNotFound("There is no such user.")
    return user


def count_users() -> dict:
    """Figures for the overview page."""
    rows = list_users()
    return {"accounts": len(list_accounts()), "users": len(rows), "admins": sum(r.role == "admin" for r in rows),
            "without_2fa": sum(not r.methods for r in rows), "disabled": sum(r.disabled for r in rows)}


# --- changing users -------------------------------------------------------------------------------------------

def create_user(actor: User | None, *, account: str, username: str, email: str, password: str,
                display_name: str | None = None, role: str = "member", change_required: bool = True) -> User:
    """A login under ``account`` (made if needed); with ``change_required`` the user replaces the password first."""
    _check_actor(actor)
    user = users.create_user(account=account, username=username, email=email, password=password,
                             display_name=display_name, role=role)
    user.password_change_required = change_required
    _record("user_created", actor, user, username=user.username, role=user.role, account=user.account.name,
            password_change_required=change_required)
    return user


@dataclass(frozen=True)
class _ActingManager:
    """An admin (id None: the command line) as seen by ``people.service``: a manager of the person's account."""

    id: int | None
    account_id: int
    account: Account
    role: str = "admin"
    disabled: bool = False


def _manager_of(actor: User | None, user: User) -> _ActingManager:
    _check_actor(actor)
    return _ActingManager(id=actor.id if actor else None, account_id=user.account_id, account=user.account)


def disable_user(actor: User | None, user: User) -> User:
    """Block sign-in, end the user's sessions and revoke their tokens (audited as ``person_disabled``)."""
    return people.disable_person(_manager_of(actor, user), user.id)


def enable_user(actor: User | None, user: User) -> User:
    return people.enable_person(_manager_of(actor, user), user.id)


def delete_user(actor: User | None, user: User) -> User:
    """Delete the login and all that hangs off it (audited as ``person_removed``, with username and sub)."""
    return people.remove_person(_manager_of(actor, user), user.id)


def _sign_out_everywhere(user: User) -> None:
    """End every session, revoke every token (also those of expired sessions) and forget remembered browsers."""
    access.end_sessions(user)
    revoke_tokens(Token.user_id == user.id)
    devices.forget(user)


def set_password(actor: User | None, user: User, password: str) -> User:
    """Set a password the user must replace at their next login; signs them out everywhere."""
    _check_actor(actor)
    _not_oneself(actor, user, "set the password of")
    users.assign_password(user, password)
    _sign_out_everywhere(user)
    _record("password_set_by_admin", actor, user, username=user.username)
    notify(user, "Your password was reset", "An administrator set a new password for your reseller login; you "
                                            "will choose your own at your next sign-in. Your sessions were signed out.")
    return user


def reset_two_factor(actor: User | None, user: User, reason: str) -> list[str]:
    """Remove every second factor of a user whose identity was checked outside idp; returns the methods removed."""
    _check_actor(actor)
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > MAX_REASON:
        raise AdminError(f"Reason: required (how the person's identity was checked), at most {MAX_REASON} characters.")
    _not_oneself(actor, user, "reset the two-factor authentication of")
    methods = enrolled_methods(user)
    db.session.execute(sa.delete(TotpCredential).where(TotpCredential.user_id == user.id))
    db.session.execute(sa.delete(SmsPhone).where(SmsPhone.user_id == user.id))
    db.session.execute(sa.delete(WebauthnCredential).where(WebauthnCredential.user_id == user.id))
    recovery.void_all(user)
    user.default_method = None
    _sign_out_everywhere(user)
    _record("two_factor_reset", actor, user, username=user.username, methods=methods, reason=reason)
    notify(user, "Two-factor authentication was reset",
           "An administrator removed the second factors of your reseller login (security keys, authenticator app, "
           "phone, recovery codes) and signed you out. Set up two-factor authentication again at your next sign-in.")
    return methods


# --- the audit trail ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilters:
    user: str | None = None  # username: events about them, or naming them (also once deleted)
    account: str | None = None  # account name
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def as_query(self) -> dict:
        """The filters as query parameters, for links to other pages and the download."""
        values = dataclasses.asdict(self)
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items() if v}


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    page: int
    has_next: bool
    usernames: dict[int, str]
    account_names: dict[int, str]


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 date or time (UTC when it names no offset); ValueError saying what is expected."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date or time: {value!r} (e.g. 2026-11-28 or 2026-11-28T14:00)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def event_record(event: AuditEvent) -> dict:
    """An audit event as a JSON-ready record (``idp audit export`` and the console's download)."""
    return {"id": event.id, "time": event.created_at.isoformat(), "event": event.event, "actor_id": event.actor_id,
            "subject_id": event.subject_id, "account_id": event.account_id, "client_id": event.client_id,
            "ip": event.ip, "user_agent": event.user_agent, "request_id": event.request_id, "details": event.details}


def parse_audit_filters(values: Mapping[str, str]) -> AuditFilters:
    """Filters from strings (a form or options); AdminError for a time that is not ISO 8601."""
    text = {k: (values.get(k) or "").strip()[:150] or None for k in ("user", "account", "event", "since", "until")}
    try:
        since, until = parse_time(text["since"]), parse_time(text["until"])
    except ValueError as exc:
        raise AdminError(f"Time: {exc}") from None
    return AuditFilters(user=text["user"], account=text["account"], event=text["event"], since=since, until=until)


def _audit_query(filters: AuditFilters) -> sa.Select:
    query = sa.select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if filters.user:
        query = query.where(sa.or_(
            AuditEvent.subject_id.in_(sa.select(User.id).where(User.username == filters.user)),
            AuditEvent.details["username"].as_string() == filters.user))
    if filters.account:
        query = query.where(AuditEvent.account_id.in_(sa.select(Account.id).where(Account.name == filters.account)))
    if filters.event:
        query = query.where(AuditEvent.event == filters.event)
    if filters.since is not None:
        query = query.where(AuditEvent.created_at >= filters.since.astimezone(UTC))
    if filters.until is not None:
        query = query.where(AuditEvent.created_at < filters.until.astimezone(UTC))
    return query


def read_audit_page(filters: AuditFilters, page: int = 1) -> AuditPage:
    """One page of matching events, newest first, with the names of the users and accounts they mention."""
    page = max(page, 1)
    rows = list(db.session.scalars(_audit_query(filters).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    events = rows[:PAGE_SIZE]
    user_ids = {i for e in events for i in (e.actor_id, e.subject_id) if i is not None}
    account_ids = {e.account_id for e in events if e.account_id is not None}
    usernames = dict(db.session.execute(sa.select(User.id, User.username).where(User.id.in_(user_ids))).all())
    names = dict(db.session.execute(sa.select(Account.id, Account.name).where(Account.id.in_(account_ids))).all())
    return AuditPage(events=events, page=page, has_next=len(rows) > PAGE_SIZE, usernames=usernames,
                     account_names=names)


def export_audit(filters: AuditFilters) -> Iterator[dict]:
    """Every matching event as a JSON-ready record (as ``idp audit export`` writes them), newest first.

    Read in batches by keyset, each query complete before its rows are yielded: a download the client abandons
    leaves no open cursor behind."""
    query, last = _audit_query(filters).limit(EXPORT_BATCH), None
    while True:
        batch = db.session.scalars(query if last is None else query.where(sa.or_(
            AuditEvent.created_at < last.created_at,
            sa.and_(AuditEvent.created_at == last.created_at, AuditEvent.id < last.id)))).all()
        yield from (event_record(event) for event in batch)
        if len(batch) < EXPORT_BATCH:
            return
        last = batch[-1]


def list_event_types() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.event).distinct().order_by(AuditEvent.event)))
