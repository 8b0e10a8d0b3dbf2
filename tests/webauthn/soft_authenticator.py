"""A software WebAuthn authenticator for tests: real attestation ("none" or "packed" with a certificate chain) and
assertion responses, signed with an EC P-256 key by ``cryptography``, shaped like a browser's JSON answer.

It follows WebAuthn 6.1 (authenticator data) and 6.5 (attestation objects); the flags are set as asked, so a test
can leave out user verification, reuse an old counter or sign for another origin.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from helpers import b64url, unb64url

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40



@dataclass
class SoftAuthenticator:
    rp_id: str = "localhost"
    origin: str = "http://localhost:8000"
    #: the BE flag: a multi-device (synced) passkey
    backup_eligible: bool = False
    aaguid: bytes = b"\x00" * 16
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    sign_count: int = 0
    user_handle: bytes | None = None

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _auth_data(self, flags: int, attested: bool, rp_id: str | None) -> bytes:
        flags |= BE if self.backup_eligible else 0
        data = hashlib.sha256((rp_id or self.rp_id).encode()).digest() + bytes([flags | (AT if attested else 0)])
        data += struct.pack(">I", self.sign_count)
        if attested:
            data += self.aaguid + struct.pack(">H", len(self.credential_id)) + self.credential_id + self.cose_key()
        return data

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict | str, *, uv: bool = True, origin: str | None = None, rp_id: str | None = None,
               attestation: tuple[ec.EllipticCurvePrivateKey, bytes] | None = None) -> str:
        """Answer ``navigator.credentials.create`` options (JSON or dict) with attestation "none", or "packed"
        signed by ``attestation`` = (attestation key, DER certificate)."""
        options = json.loads(options) if isinstance(options, str) else options
        self.user_handle = unb64url(options["user"]["id"])
        auth_data = self._auth_data(UP | (UV if uv else 0), True, rp_id)
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        if attestation is None:
            statement, fmt = {}, "none"
        else:
            signer, certificate = attestation
            signature = signer.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
            statement, fmt = {"alg": -7, "sig": signature, "x5c": [certificate]}, "packed"
        attestation_object = cbor2.dumps({"fmt": fmt, "attStmt": statement, "authData": auth_data})
        return json.dumps({
            "id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
            "authenticatorAttachment": "cross-platform", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation_object),
                         "transports": ["usb", "nfc"]},
        })

    def get(self, options: dict | str, *, uv: bool = True, up: bool = True, origin: str | None = None,
            rp_id: str | None = None, counter: int | None = None, user_handle: bool = True) -> str:
        """Answer ``navigator.credentials.get`` options; the counter grows by one unless ``counter`` is given."""
        options = json.loads(options) if isinstance(options, str) else options
        self.sign_count = self.sign_count + 1 if counter is None else counter
        auth_data = self._auth_data((UP if up else 0) | (UV if uv else 0), False, rp_id)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps({
            "id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
            "authenticatorAttachment": "cross-platform", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature),
                         "userHandle": b64url(self.user_handle) if user_handle and self.user_handle else None},
        })
