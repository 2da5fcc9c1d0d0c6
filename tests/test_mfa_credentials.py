"""Virtual MFA (TOTP codes, enable, idempotence) and credential files (0600, format, overwrite)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat
from pathlib import Path

import boto3
import pyotp
import pytest

import flovtrain
from flovtrain import credentials, mfa
from flovtrain.exceptions import CredentialFileExists, MfaDeviceExists
from flovtrain.sandbox import control

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def iam():
    control.reset()
    flovtrain.connect(quiet=True)
    client = boto3.client("iam")
    for name in ("imre", "john"):
        client.create_user(UserName=name)
    return client


def _seed_from_aws(client, serial: str) -> str:
    # the sandbox lists seeds (real AWS does not): an independent source to check codes against
    for device in client.list_virtual_mfa_devices()["VirtualMFADevices"]:
        if device["SerialNumber"] == serial:
            return device["Base32StringSeed"].decode()
    raise AssertionError(f"{serial} not listed")


# --- MFA -------------------------------------------------------------------------------------


def test_device_codes_are_the_authenticator_apps(iam):
    device = mfa.create_virtual_mfa_device("imre")
    assert device.serial_number == f"arn:aws:iam::{ACCOUNT}:mfa/imre"
    seed = _seed_from_aws(iam, device.serial_number)
    assert seed not in repr(device) and "imre" in repr(device)
    at = dt.datetime(2026, 11, 28, 9, 0, 10, tzinfo=dt.UTC)
    totp = pyotp.TOTP(seed)
    first, second = device.codes(2, at=at)
    assert second == totp.at(at) and first == totp.at(at - dt.timedelta(seconds=30))
    assert first != second and len(first) == 6 and first.isdigit()
    three = device.codes(3, at=at.timestamp())
    assert three[1:] == [first, second]
    with pytest.raises(ValueError):
        device.codes(0)


def test_enable_mfa_with_two_consecutive_codes_is_idempotent(iam):
    device = mfa.create_virtual_mfa_device("john")
    assert mfa.enable_mfa("john", device) == device.serial_number
    listed = iam.list_mfa_devices(UserName="john")["MFADevices"]
    assert [d["SerialNumber"] for d in listed] == [device.serial_number]
    assert mfa.enable_mfa("john", device) == device.serial_number  # second call: no-op
    assert len(iam.list_mfa_devices(UserName="john")["MFADevices"]) == 1
    with pytest.raises(MfaDeviceExists, match="deactivate"):
        mfa.create_virtual_mfa_device("john", replace=True)  # in use: never deleted


def test_existing_unassigned_device_needs_replace(iam):
    old = mfa.create_virtual_mfa_device("spare")
    with pytest.raises(MfaDeviceExists, match="replace=True"):
        mfa.create_virtual_mfa_device("spare")
    new = mfa.create_virtual_mfa_device("spare", replace=True)
    assert new.serial_number == old.serial_number
    assert _seed_from_aws(iam, new.serial_number) == new.totp().secret
    assert new.totp().secret != old.totp().secret


def test_qr_code_is_a_png_and_hidden_in_static_mode(iam, monkeypatch):
    device = mfa.create_virtual_mfa_device("qr")
    png = device.qr_png()
    assert png.startswith(mfa.PNG_SIGNATURE) and len(png) > 200
    uri = device.provisioning_uri()
    assert uri.startswith("otpauth://totp/") and f"secret={device.totp().secret}" in uri
    monkeypatch.setenv("FLOVTRAIN_STATIC_WIDGETS", "1")
    shown = device.display_qr()
    assert device.serial_number in shown.data and device.totp().secret not in shown.data
    monkeypatch.setenv("FLOVTRAIN_STATIC_WIDGETS", "0")
    from IPython.display import Image

    live = device.display_qr()
    assert isinstance(live, Image) and live.data == png


# --- credential files ------------------------------------------------------------------------


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_access_key_csv_is_the_consoles_format_and_0600(iam, tmp_path):
    key = iam.create_access_key(UserName="imre")["AccessKey"]
    old_umask = os.umask(0)  # even a permissive umask must not widen the file
    try:
        path = credentials.save_access_key_csv("imre", key, folder=tmp_path)
    finally:
        os.umask(old_umask)
    assert path == tmp_path / "imre_accessKeys.csv"
    assert _mode(path) == 0o600
    assert path.read_text() == (
        f"Access key ID,Secret access key\n{key['AccessKeyId']},{key['SecretAccessKey']}\n"
    )
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {"Access key ID": key["AccessKeyId"], "Secret access key": key["SecretAccessKey"]}
    ]


def test_credential_files_are_never_overwritten_by_accident(iam, tmp_path):
    first = iam.create_access_key(UserName="john")
    path = credentials.save_access_key_csv("john", first, folder=tmp_path)  # whole response ok
    before = path.read_text()
    second = iam.create_access_key(UserName="john")["AccessKey"]
    with pytest.raises(CredentialFileExists, match="overwrite=True"):
        credentials.save_access_key_csv("john", second, folder=tmp_path)
    assert path.read_text() == before  # nothing lost
    credentials.save_access_key_csv("john", second, folder=tmp_path, overwrite=True)
    assert second["SecretAccessKey"] in path.read_text() and _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["john_accessKeys.csv"]  # no temp left


def test_access_key_without_secret_or_of_another_user_is_refused(iam, tmp_path):
    metadata = iam.list_access_keys(UserName="imre")["AccessKeyMetadata"][0]
    with pytest.raises(ValueError, match="create_access_key"):
        credentials.save_access_key_csv("imre", metadata, folder=tmp_path)
    key = iam.create_access_key(UserName="imre")["AccessKey"]
    with pytest.raises(ValueError, match="belongs to 'imre'"):
        credentials.save_access_key_csv("john", key, folder=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_console_password_csv(tmp_path):
    url = "https://flovtrain.signin.aws.amazon.com/console"
    path = credentials.save_console_password_csv("imre", 'Pa,ss"word1!', url, folder=tmp_path)
    assert path.name == "imre_credentials.csv" and _mode(path) == 0o600
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["User name", "Password", "Console sign-in URL"], ["imre", 'Pa,ss"word1!', url]]
    with pytest.raises(CredentialFileExists):
        credentials.save_console_password_csv("imre", "other", url, folder=tmp_path)


def test_default_folder_is_the_projects_credentials(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOVTRAIN_HOME")  # the default home (the test session names its own)
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname='x'\n")
    monkeypatch.chdir(project / "notebooks")
    path = credentials.save_console_password_csv("imre", "pw-1A!xyzxyz", "https://x")
    assert path == project / "credentials" / "imre_credentials.csv"
    assert _mode(project / "credentials") == 0o700
    elsewhere = tmp_path / "nowhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("FLOVTRAIN_HOME", str(tmp_path / "home"))
    assert credentials.credentials_folder() == tmp_path / "home" / "credentials"


def test_the_repository_ignores_credential_files():
    root = credentials.project_root()
    ignored = (root / ".gitignore").read_text().split()
    assert "credentials/" in ignored and "*_accessKeys.csv" in ignored


def test_mask():
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert credentials.mask(secret) == "wJal…(40 chars)"
    assert secret[4:] not in credentials.mask(secret)
    assert credentials.mask("") == "(empty)"


@pytest.mark.parametrize(
    "policy",
    [
        None,
        {
            "MinimumPasswordLength": 14,
            "RequireSymbols": True,
            "RequireNumbers": True,
            "RequireUppercaseCharacters": True,
            "RequireLowercaseCharacters": True,
        },
        {"PasswordPolicy": {"MinimumPasswordLength": 40, "RequireSymbols": True}},
    ],
)
def test_generated_passwords_satisfy_the_policy(policy):
    passwords = {credentials.generate_password(policy) for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert credentials.check_password(password, policy) == []
    minimum = (credentials._policy(policy) or {}).get("MinimumPasswordLength", 8)
    assert min(len(p) for p in passwords) >= max(minimum, 20)


def test_check_password_names_each_broken_rule():
    policy = {"MinimumPasswordLength": 14, "RequireSymbols": True, "RequireNumbers": True}
    assert credentials.check_password("short", policy) == [
        "at least 14 characters (it has 5)",
        "at least one number",
        "at least one symbol",
    ]
    assert credentials.check_password("alllowercase", None) == [
        "3 of: uppercase, lowercase, number, symbol (AWS default policy)"
    ]
    with pytest.raises(ValueError, match="128"):
        credentials.generate_password(length=129)


def test_generated_password_is_accepted_by_iam(iam):
    iam.update_account_password_policy(MinimumPasswordLength=16, RequireSymbols=True)
    policy = iam.get_account_password_policy()
    password = credentials.generate_password(policy)
    iam.create_login_profile(UserName="john", Password=password)
    assert iam.get_login_profile(UserName="john")["LoginProfile"]["UserName"] == "john"


def test_each_own_home_keeps_its_own_credentials(tmp_path, monkeypatch):
    """Sandboxes side by side (their own FLOVTRAIN_HOME each) never share credential files;
    the default home keeps them in the project's git-ignored credentials/ folder."""
    from flovtrain import config
    from flovtrain.credentials import credentials_folder

    folders = []
    for name in ("attendee-1", "attendee-2"):
        monkeypatch.setenv(config.HOME_VAR, str(tmp_path / name))
        folders.append(credentials_folder())
    assert folders == [
        tmp_path / "attendee-1" / "credentials",
        tmp_path / "attendee-2" / "credentials",
    ]
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv(config.HOME_VAR, str(tmp_path / "user" / ".flovtrain"))  # the default, named
    assert credentials_folder() == Path(__file__).resolve().parents[1] / "credentials"
    monkeypatch.delenv(config.HOME_VAR)
    assert credentials_folder() == Path(__file__).resolve().parents[1] / "credentials"
