"""Signed builds: an Ed25519 signature over the manifest's exact bytes.

The manifest lists the sha256 of every file of a build and seals everything that changes
behaviour (products, files, release date, calendar) under its digest. A digest alone proves
nothing against someone who can run productkit's own code: they edit a file, hash it again and
reseal the manifest. A signature made with the bank's release key does: ``productkit build --sign
KEYFILE`` writes ``manifest.sig`` beside ``manifest.json``, and ``Catalog.load(build,
trusted_keys=[...])`` refuses a build that is unsigned, signed by another key, or whose manifest
changed after signing::

    private_pem, public_pem = generate_key_pair()
    signature = sign(manifest_bytes, private_pem)        # the JSON text of manifest.sig
    problem = verify(manifest_bytes, signature, [public_pem])   # None when it is good
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the cryptography library loads when a key is first used, not with every build
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "SIGNATURE_FILE",
    "SIGNATURE_FORMAT",
    "SigningKeyError",
    "generate_key_pair",
    "key_id",
    "manifest_digest",
    "public_key",
    "public_of",
    "sign",
    "verify",
]

SIGNATURE_FILE = "manifest.sig"
SIGNATURE_FORMAT = "productkit.signature/1"
_MAX_SIGNATURE_BYTES = 64 * 1024


class SigningKeyError(ValueError):
    """A key file or key text that is not an Ed25519 key of the expected kind."""


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """The digest a manifest carries: sha256 of the canonical JSON of every other field."""
    from ..ir import canonical_bytes  # the definition models load with the first digest, not with the seal

    body = {k: v for k, v in manifest.items() if k != "digest"}
    return "sha256:" + hashlib.sha256(canonical_bytes(body)).hexdigest()


def generate_key_pair() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as PEM: (private key, PKCS#8 unencrypted; public key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    return (private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()),
            private.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))


def _private(pem: bytes) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"a {type(key).__name__}, expected an Ed25519 private key")
    return key


def public_of(private_pem: bytes) -> bytes:
    """The raw public key of a private key (PEM); SigningKeyError when it is not one."""
    from cryptography.hazmat.primitives import serialization

    return _private(private_pem).public_key().public_bytes(serialization.Encoding.Raw,
                                                            serialization.PublicFormat.Raw)


def public_key(key: bytes | str) -> bytes:
    """The raw 32 bytes of an Ed25519 public key given as PEM or as raw/base64 text."""
    data = key.encode("ascii", "replace") if isinstance(key, str) else key
    if b"-----BEGIN" in data:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            loaded = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise SigningKeyError(f"not a PEM public key: {exc}") from None
        if not isinstance(loaded, Ed25519PublicKey):
            raise SigningKeyError(f"a {type(loaded).__name__}, expected an Ed25519 public key")
        return loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if len(data) == 32:
        return data
    try:
        raw = base64.b64decode(data.strip(), validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SigningKeyError("an Ed25519 public key is PEM, 32 raw bytes or their base64")
    return raw


def key_id(raw: bytes) -> str:
    """A short, stable name of a public key: sha256 of its raw bytes."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def sign(manifest: bytes, private_pem: bytes) -> bytes:
    """The text of ``manifest.sig``: who signed (the public key) and the signature."""
    from cryptography.hazmat.primitives import serialization

    private = _private(private_pem)
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    body = {"format": SIGNATURE_FORMAT, "algorithm": "ed25519", "key": base64.b64encode(raw).decode(),
            "key_id": key_id(raw), "signature": base64.b64encode(private.sign(manifest)).decode()}
    return (json.dumps(body, sort_keys=True, indent=2) + "\n").encode()


def verify(manifest: bytes, signature: bytes, trusted: Iterable[bytes | str]) -> str | None:
    """None when ``signature`` (the text of manifest.sig) is a valid signature of ``manifest``
    by one of the ``trusted`` keys; otherwise what is wrong."""
    if len(signature) > _MAX_SIGNATURE_BYTES:
        return "the signature file is too large to be one"
    try:
        body = json.loads(signature)
        raw = base64.b64decode(body["key"], validate=True)
        sig = base64.b64decode(body["signature"], validate=True)
        if body.get("format") != SIGNATURE_FORMAT or body.get("algorithm") != "ed25519":
            return f"unknown signature format {body.get('format')!r} / {body.get('algorithm')!r}"
    except (ValueError, TypeError, KeyError, AttributeError):
        return "the signature file is not a productkit signature"
    if raw not in {public_key(k) for k in trusted}:
        return f"signed by key {key_id(raw)}, which is not among the trusted keys"
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(sig, manifest)
    except (InvalidSignature, ValueError):
        return f"the signature by {key_id(raw)} does not match the manifest: it changed after signing"
    return None
