"""Authorization requests parked server-side while the user logs in or consents, bound to the browser.

The browser gets only the ``uid`` in the URL and a random binding value in its flow cookie; a uid taken to another
browser does not resume (RFC 9700 4.5.3, the Hydra consent fixation).
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, current_app, session

from .. import clock
from ..extensions import db
from ..models import Interaction
from ..security.tokens import new_secret, token_checksum

BROWSER_KEY = "browser"


def browser_hash() -> str:
    """SHA-256 of this browser's random binding value (kept in the signed flow cookie), made on first use."""
    if BROWSER_KEY not in session:
        session[BROWSER_KEY] = new_secret(24)
    return token_checksum(session[BROWSER_KEY])


def create_interaction(params: dict, client_id: str, prompt: str) -> Interaction:
    lifetime = current_app.config["IDP_SETTINGS"].tokens.interaction_lifetime
    ix = Interaction(
        uid=new_secret(24),
        browser_hash=browser_hash(),
        client_id=client_id,
        params=params,
        prompt=prompt,
        expires_at=clock.now() + timedelta(seconds=lifetime),
        fulfilled=[],
    )
    db.session.add(ix)
    return ix


def load_interaction(uid: str | None) -> Interaction:
    """The open interaction ``uid`` of this browser; a 400 page for an unknown, foreign, finished or expired one."""
    ix = None
    if uid and len(uid) <= 64:
        ix = db.session.scalar(sa.select(Interaction).where(Interaction.uid == uid))
    if ix is None or ix.browser_hash != browser_hash() or ix.completed_at is not None or ix.expires_at <= clock.now():
        abort(400, description="This sign-in request has expired or is not valid in this browser. "
                               "Please go back to the application and start again.")
    return ix


def fulfil(ix: Interaction, prompt: str) -> None:
    ix.fulfilled = [*ix.fulfilled, prompt]
