"""Signing keys: PEM files in the keys directory, published as a JWKS with a ``kid`` (RFC 7638 thumbprint) on each.

File names are ``<alg>-<UTC timestamp>.pem``; the newest file for an algorithm signs, the others stay published so
tokens signed before a rotation still verify (OIDC Core 10.1.1). The directory is the source of truth: every
process re-reads it when its listing changes, so processes sharing it never disagree for long.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
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


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[SigningKey, ...]

    def signing_key(self, alg: str) -> SigningKey:
        candidates = [k for k in self.keys if k.alg == alg]
        if not candidates:
            raise KeysError(f"no {alg} signing key in the keys directory (run `idp keys generate --alg {alg}`)")
        return max(candidates, key=lambda k: k.filename)

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
        listing = tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in os.scandir(path) if e.name.endswith(".pem")))
    except FileNotFoundError:
        raise KeysError(f"keys directory {path} does not exist (run `idp keys generate`)") from None
    key = str(path.resolve())
    with _lock:
        cached = _cache.get(key)
        if cached and cached[0] == listing:
            return cached[1]
    ring = KeyRing(tuple(_read_key(path / name) for name, _, _ in listing))
    with _lock:
        _cache[key] = (listing, ring)
    return ring


def _read_key(file: Path) -> SigningKey:
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
