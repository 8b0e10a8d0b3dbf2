"""The one clock of the provider: every expiry, auth_time and lifetime reads it, so tests can move time."""

from datetime import UTC, datetime


def now() -> datetime:
    """Timezone-aware current time in UTC."""
    return datetime.now(UTC)


def timestamp() -> int:
    """Seconds since the epoch, as used in JWT claims."""
    return int(now().timestamp())


def default_now() -> datetime:
    """Column default: looks ``now`` up at call time, so a test that moves the clock moves defaults too."""
    return now()
