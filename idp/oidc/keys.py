"""Signing keys: PEM files in the keys directory, published as a JWKS with a ``kid`` (RFC 7638 thumbprint) on each.

File names are ``<alg>-<UTC timestamp>.pem``. A key is published in the JWKS as soon as it exists but signs only
once it is ``rotation_lead_time`` old, so relying parties that cache the JWKS learn it first; the newest such key
signs, and older keys stay published so tokens signed before a rotation still verify (OIDC Core 10.1.1). ``retire``
removes a key only when no unexpired token can carry its signature. Key files readable by group or others are
refused. The directory is the source of truth: every
process re-reads it when its listing changes, so processes sharing it never disagree for long.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from joserfc.jwk import ECKey, RSAKey

from .. import clock

ALGORITHMS = {"RS256": RSAKey, "ES256": ECKey}
_lock = threading.Lock()
_cache: dict[str, tuple[tuple, "KeyRing"]] = {}


class KeysError(Exception):
    """The keys directory is missing keys or holds a file that is not a usable key."""


@dataclass(frozen=True)
class SigningKey:
    alg: str
    kid: str
    key: RSAKey | ECKey
    filename: str

    @property
    def created_at(self) -> datetime:
        stamp = self.filename.split("-", 1)[1].removesuffix(".pem")
        return datetime.strptime(stamp, "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[SigningKey, ...]

    def signing_key(self, alg: str, lead_time: int = 0) -> SigningKey:
        """The newest key of ``alg`` published for at least ``lead_time`` seconds (else the oldest: a new install)."""
        candidates = sorted((k for k in self.keys if k.alg == alg), key=lambda k: k.filename)
        if not candidates:
            raise KeysError(f"no {alg} signing key in the keys directory (run `idp keys generate --alg {alg}`)")
        ready = [k for k in candidates if k.created_at <= clock.now() - timedelta(seconds=lead_time)]
        return ready[-1] if ready else candidates[0]

    def retirable_after(self, key: SigningKey, lead_time: int, token_lifetime: int) -> datetime | None:
        """When ``key`` may leave the JWKS: once a successor signs and its own last tokens expired. None: never
        (it is the newest key of its algorithm)."""
        newer = sorted((k for k in self.keys if k.alg == key.alg and k.filename > key.filename),
                       key=lambda k: k.filename)
        if not newer:
            return None
        return newer[0].created_at + timedelta(seconds=lead_time + token_lifetime)

    def jwks(self) -> dict:
        """Public parameters only (RFC 7517); never a private or symmetric key."""
        return {"keys": [k.key.as_dict(private=False) for k in self.keys]}

    @property
    def algorithms(self) -> list[str]:
        return sorted({k.alg for k in self.keys})


def load_keyring(directory: str | os.PathLike) -> KeyRing:
    """The keys in ``directory``, re-read only when its listing (names, sizes, mtimes) changed."""
    path = Path(directory)
    try:
        listing = tuple(sorted(_entry(e) for e in os.scandir(path) if e.name.endswith(".pem")))
    except FileNotFoundError:
        raise KeysError(f"keys directory {path} does not exist (run `idp keys generate`)") from None
    key = os.fspath(directory)  # as named: resolving it cost as much as the check itself
    with _lock:
        cached = _cache.get(key)
        if cached and cached[0] == listing:
            return cached[1]
    ring = KeyRing(tuple(_read_key(path / name) for name, _, _ in listing))
    with _lock:
        _cache[key] = (listing, ring)
    return ring


def _entry(entry: os.DirEntry) -> tuple[str, int, int]:
    stat = entry.stat()
    return entry.name, stat.st_mtime_ns, stat.st_size


def _read_key(file: Path) -> SigningKey:
    if file.stat().st_mode & 0o077:
        raise KeysError(f"{file}: readable by group or others; run `chmod 600 {file}`")
    alg = file.name.split("-", 1)[0].upper()
    cls = ALGORITHMS.get(alg)
    if cls is None:
        raise KeysError(f"{file}: name must start with one of {', '.join(a.lower() for a in ALGORITHMS)}-")
    try:
        probe = cls.import_key(file.read_bytes())
        kid = probe.thumbprint()
        key = cls.import_key(file.read_bytes(), parameters={"kid": kid, "use": "sig", "alg": alg})
    except Exception as exc:  # joserfc raises several types for a bad PEM
        raise KeysError(f"{file}: not a usable {alg} private key ({exc})") from None
    if not key.is_private:
        raise KeysError(f"{file}: holds a public key; the signing key must be private")
    return SigningKey(alg=alg, kid=kid, key=key, filename=file.name)


def generate_key(directory: str | os.PathLike, alg: str = "RS256") -> Path:
    """Write a new private key for ``alg``; it becomes the signing key for that algorithm."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    key = RSAKey.generate_key(2048, private=True) if alg == "RS256" else ECKey.generate_key("P-256", private=True)
    file = path / f"{alg.lower()}-{clock.now().strftime('%Y%m%d%H%M%S%f')}.pem"
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.as_pem(private=True))
    return file


def ensure_keys(directory: str | os.PathLike, algorithms=("RS256", "ES256")) -> list[Path]:
    """Generate a key for each algorithm that has none yet; return the new files."""
    path = Path(directory)
    existing = {p.name.split("-", 1)[0].upper() for p in path.glob("*.pem")} if path.is_dir() else set()
    return [generate_key(path, alg) for alg in algorithms if alg not in existing]


def retire_key(directory: str | os.PathLike, kid: str, lead_time: int, token_lifetime: int) -> Path:
    """Move the key ``kid`` to ``retired/`` (out of the JWKS) when no live token can carry its signature."""
    ring = load_keyring(directory)
    key = next((k for k in ring.keys if k.kid == kid), None)
    if key is None:
        raise KeysError(f"no key with kid {kid!r}")
    after = ring.retirable_after(key, lead_time, token_lifetime)
    if after is None:
        raise KeysError(f"{kid} is the newest {key.alg} key; rotate first")
    if clock.now() < after:
        raise KeysError(f"{kid} may still verify unexpired tokens; retire it after {after:%Y-%m-%d %H:%M} UTC")
    retired = Path(directory) / "retired"
    retired.mkdir(mode=0o700, exist_ok=True)
    target = retired / key.filename
    (Path(directory) / key.filename).rename(target)
    return target
