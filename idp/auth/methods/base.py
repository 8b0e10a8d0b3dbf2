"""The contract every second-factor method fulfils."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

import sqlalchemy as sa

from ...models import LoginFlow, User


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    #: a message for the user beyond the generic one (e.g. "3 recovery codes left")
    note: str | None = None
    #: RFC 8176 values of this use, when they depend on the credential (security keys); else the method's ``amr``
    amr: tuple[str, ...] | None = None


class Method(Protocol):
    """Optionally also ``failure_message``: what a failed login step says instead of the generic wrong-code text."""

    id: ClassVar[str]
    label: ClassVar[str]
    amr: ClassVar[tuple[str, ...]]

    def enrolled_condition(self, user_id) -> sa.ColumnElement[bool]:
        """SQL that is true when the user (an id or a bind parameter) can use this method: the flow asks all methods
        in one query (``auth.flow.enrolled_methods``)."""

    def start(self, user: User, flow: LoginFlow) -> str | None:
        """Prepare the login step (SMS: send the code now); returns a line to show, e.g. where it was sent."""

    def verify(self, user: User, flow: LoginFlow, code: str) -> VerifyResult: ...
