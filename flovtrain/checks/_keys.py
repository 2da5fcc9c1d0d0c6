"""Does a saved private key belong to an EC2 key pair? Compare fingerprints, not file names.

EC2 reports one ``KeyFingerprint`` per key pair, computed in a way that depends on how the key
was made (AWS's *Verify your key pair* page):

- RSA created by EC2: SHA-1 of the private key in DER PKCS#8, as colon-separated hex;
- RSA imported: MD5 of the public key in DER (SubjectPublicKeyInfo), colon-separated hex;
- ED25519: SHA-256 of the OpenSSH public key blob, base64 (as ``ssh-keygen -l`` prints it).

moto (the sandbox) hashes the DER public key instead (SHA-1 for RSA it creates, SHA-256 for
ED25519), so those forms are accepted too: a match on any form means the file holds the pair's key.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def _colons(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def _load(pem: bytes) -> object | None:
    loaders: tuple[Callable[..., object], ...] = (
        serialization.load_pem_private_key,
        serialization.load_ssh_private_key,
    )
    for load in loaders:
        try:
            return load(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
    return None


def key_fingerprints(pem: str | bytes) -> set[str]:
    """Return every fingerprint EC2 (or the sandbox) may report for the private key ``pem``.

    Parameters
    ----------
    pem : str or bytes
        A private key file's content (PEM, or OpenSSH's format for ED25519).

    Returns
    -------
    set of str
        Empty when ``pem`` holds no readable, unencrypted private key.

    Examples
    --------
    >>> from cryptography.hazmat.primitives.asymmetric import rsa
    >>> key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    >>> pem = key.private_bytes(serialization.Encoding.PEM,
    ...     serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    >>> len(key_fingerprints(pem)), key_fingerprints(b"not a key")
    (3, set())
    """
    data = pem.encode() if isinstance(pem, str) else pem
    key = _load(data)
    if not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        return set()
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if isinstance(key, ed25519.Ed25519PrivateKey):
        blob = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        openssh = base64.b64encode(hashlib.sha256(base64.b64decode(blob.split()[1])).digest())
        return {openssh.decode(), _colons(hashlib.sha256(public_der).digest())}
    private_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        _colons(hashlib.sha1(private_der).digest()),  # noqa: S324 - AWS's own fingerprint
        _colons(hashlib.md5(public_der).digest()),  # noqa: S324 - AWS's, for imported keys
        _colons(hashlib.sha1(public_der).digest()),  # noqa: S324 - moto's
    }
