"""Virtual MFA devices: create one, read its codes like an authenticator app, enable it.

The seed (the secret an authenticator app stores) is shown by AWS exactly once, at creation.
:class:`VirtualMfaDevice` keeps it privately: its repr masks it, and the QR code is displayed
only on request (never in a static, saved notebook output).

Examples
--------
>>> from flovtrain import mfa
>>> device = mfa.create_virtual_mfa_device("imre")
>>> device
VirtualMfaDevice(serial_number='arn:aws:iam::123456789012:mfa/imre', seed='****…(64 chars)')
>>> mfa.enable_mfa("imre", device)
'arn:aws:iam::123456789012:mfa/imre'
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import boto3
import pyotp
from botocore.exceptions import ClientError

from flovtrain import config
from flovtrain._aws import error_code
from flovtrain.exceptions import MfaDeviceExists
from flovtrain.session import get_session

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ISSUER = "Amazon Web Services"
STEP = 30  # seconds per TOTP code, as AWS and authenticator apps use


class VirtualMfaDevice:
    """A virtual MFA device just created, holding its secret seed privately.

    Attributes
    ----------
    serial_number : str
        The device ARN, ``arn:aws:iam::<account>:mfa/<name>``: what ``enable_mfa_device``,
        ``get_session_token`` and ``aws sts ... --serial-number`` want.
    name : str
        The device name.
    """

    def __init__(self, serial_number: str, seed: str, qr_png: bytes | None = None) -> None:
        self.serial_number = serial_number
        self.name = serial_number.rsplit("/", 1)[-1]
        self._seed = seed
        self._qr_png = qr_png

    def __repr__(self) -> str:
        return (
            f"VirtualMfaDevice(serial_number={self.serial_number!r}, "
            f"seed='****…({len(self._seed)} chars)')"
        )

    @property
    def account_id(self) -> str:
        return self.serial_number.split(":")[4]

    def totp(self) -> pyotp.TOTP:
        """Return the pyotp generator an authenticator app would build from the QR code."""
        return pyotp.TOTP(self._seed, interval=STEP)

    def codes(self, n: int = 2, at: dt.datetime | float | None = None) -> list[str]:
        """Return ``n`` consecutive 6-digit codes, the last one valid at ``at``.

        That is what a person reads off an authenticator app while waiting for the next code:
        ``codes(2)`` gives the previous and the current code, the pair ``enable_mfa_device``
        asks for.

        Parameters
        ----------
        n : int
            How many codes (at least 1).
        at : datetime or float, optional
            The moment (aware datetime or Unix time); default now.

        Examples
        --------
        >>> device.codes(2)                       # doctest: +SKIP
        ['492039', '118345']
        """
        if n < 1:
            raise ValueError(f"codes(n={n}): n must be at least 1.")
        if at is None:
            at = dt.datetime.now(dt.UTC)
        now = at.timestamp() if isinstance(at, dt.datetime) else float(at)
        totp = self.totp()
        return [totp.at(now - STEP * (n - 1 - i)) for i in range(n)]

    def provisioning_uri(self) -> str:
        """Return the ``otpauth://`` URI the QR code encodes (it contains the seed: a secret)."""
        return self.totp().provisioning_uri(
            name=f"{self.name}@{self.account_id}", issuer_name=ISSUER
        )

    def qr_png(self) -> bytes:
        """Return the QR code as PNG bytes (scan it with an authenticator app).

        AWS returns a real PNG at creation; the sandbox returns placeholder bytes, so then the
        QR code is drawn from :meth:`provisioning_uri` with the ``qrcode`` package.

        Raises
        ------
        ModuleNotFoundError
            Neither a PNG from AWS nor the ``qrcode`` package is available.
        """
        if self._qr_png and self._qr_png.startswith(PNG_SIGNATURE):
            return self._qr_png
        try:
            import qrcode
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                "Drawing the QR code needs the 'qrcode' package: pip install qrcode. Or type "
                "the seed into your authenticator app by hand."
            ) from None
        buffer = io.BytesIO()
        qrcode.make(self.provisioning_uri(), border=2).save(buffer, format="PNG")
        return buffer.getvalue()

    def display_qr(self) -> Any:
        """Display the QR code in the notebook (static mode: a placeholder, no secret).

        Returns the displayed object, so it also works as a cell's last expression.
        """
        from IPython.display import HTML, Image

        from flovtrain.widgets._static import static_widgets

        if static_widgets():
            # a saved notebook must not carry the seed, and random bytes would not compare
            return HTML(
                f"<p>[QR code of MFA device {self.serial_number}: shown only when "
                "the notebook runs live]</p>"
            )
        return Image(data=self.qr_png(), format="png")


def _find_device(iam: Any, name: str) -> dict[str, Any] | None:
    for page in iam.get_paginator("list_virtual_mfa_devices").paginate(AssignmentStatus="Any"):
        for device in page["VirtualMFADevices"]:
            if device["SerialNumber"].rsplit("/", 1)[-1] == name:
                return device
    return None


def _seed_text(seed: Any) -> str:
    return seed.decode("ascii") if isinstance(seed, bytes) else str(seed)


def create_virtual_mfa_device(
    name: str, replace: bool = False, session: boto3.Session | None = None
) -> VirtualMfaDevice:
    """Create a virtual MFA device and keep its seed (AWS shows it only this once).

    Parameters
    ----------
    name : str
        Device name; usually the user's name (the console uses it too).
    replace : bool
        If a device with that name exists and is not assigned to anyone, delete it and create
        a new one (its seed cannot be read again, so it is useless without ``replace``).
    session : boto3.Session, optional
        Defaults to the current flovtrain connection.

    Returns
    -------
    VirtualMfaDevice

    Raises
    ------
    MfaDeviceExists
        A device with that name exists (and ``replace`` is False, or it is in use).

    Examples
    --------
    >>> device = create_virtual_mfa_device("imre")
    >>> device.serial_number
    'arn:aws:iam::123456789012:mfa/imre'
    """
    iam = get_session(session).client("iam")
    existing = _find_device(iam, name)
    if existing is not None:
        serial = existing["SerialNumber"]
        owner = (existing.get("User") or {}).get("UserName")
        if owner:
            raise MfaDeviceExists(
                f"MFA device {serial} exists and is enabled for user {owner!r}. Its seed was shown "
                f"only when it was created. To start over, deactivate it first: "
                f"iam.deactivate_mfa_device(UserName={owner!r}, SerialNumber={serial!r}), then "
                f"create_virtual_mfa_device({name!r}, replace=True)."
            )
        if not replace:
            raise MfaDeviceExists(
                f"MFA device {serial} exists already, unassigned. Its seed was shown only when it "
                f"was created: if you still have that VirtualMfaDevice object, use it; otherwise "
                f"call create_virtual_mfa_device({name!r}, replace=True) to delete and recreate it."
            )
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    try:
        created = iam.create_virtual_mfa_device(
            VirtualMFADeviceName=name, Tags=config.workshop_tags()
        )
    except ClientError as exc:
        if error_code(exc) == "EntityAlreadyExists":  # created meanwhile by someone else
            raise MfaDeviceExists(
                f"An MFA device named {name!r} was created meanwhile: {exc}"
            ) from None
        raise
    device = created["VirtualMFADevice"]
    return VirtualMfaDevice(
        device["SerialNumber"], _seed_text(device["Base32StringSeed"]), device.get("QRCodePNG")
    )


def enable_mfa(
    user_name: str,
    device: VirtualMfaDevice,
    at: dt.datetime | None = None,
    session: boto3.Session | None = None,
) -> str:
    """Enable ``device`` for ``user_name`` with two consecutive codes; idempotent.

    Parameters
    ----------
    user_name : str
        The IAM user.
    device : VirtualMfaDevice
        From :func:`create_virtual_mfa_device`.
    at : datetime, optional
        The moment the codes are read (default now).
    session : boto3.Session, optional
        Defaults to the current flovtrain connection.

    Returns
    -------
    str
        The device's serial number (ARN).

    Examples
    --------
    >>> enable_mfa("imre", device)
    'arn:aws:iam::123456789012:mfa/imre'
    """
    iam = get_session(session).client("iam")
    for page in iam.get_paginator("list_mfa_devices").paginate(UserName=user_name):
        if any(d["SerialNumber"] == device.serial_number for d in page["MFADevices"]):
            return device.serial_number  # already enabled for this user
    first, second = device.codes(2, at=at)
    iam.enable_mfa_device(
        UserName=user_name,
        SerialNumber=device.serial_number,
        AuthenticationCode1=first,
        AuthenticationCode2=second,
    )
    return device.serial_number
