"""No secret is ever committed: scan every file git would commit, notebooks' outputs included.

"Would commit" = tracked files plus untracked files that .gitignore does not exclude, so a
notebook is checked before its first commit too.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import boto3
import pytest

from flovtrain import config
from flovtrain.sandbox import control

REPO = Path(__file__).resolve().parents[1]
B64 = r"[A-Za-z0-9/+]"
# 40 base64-ish characters (an AWS secret access key's shape) within 60 characters after "secret"
SECRET_NEAR_WORD = re.compile(rf"(?is)secret.{{0,60}}?(?<!{B64})({B64}{{40}})(?!{B64})")
CONFIG_VALUE = re.compile(rf"(?i)aws_secret_access_key\s*[=:]\s*[\"']?({B64}{{16,}})")
# a PEM private key header, with or without key material: even a header alone in a stored
# output looks like a leaked key to every scanner, and teaches nothing (say "PEM format").
# Built from parts so that this file does not match itself.
PEM_HEADER = re.compile("-----BEGIN " + r"(?:[A-Z]+ )*PRIVATE KEY" + "-----")
#: Values that look like secrets but are public on purpose.
ALLOWED = {config.SANDBOX_SECRET_ACCESS_KEY}


class Secrets(frozenset):
    """A set of secrets whose repr (e.g. in a failing test's report) shows none in full."""

    def __repr__(self) -> str:
        return f"<{len(self)} secrets: {', '.join(s[:4] + '…' for s in sorted(self))}>"


def committable_files() -> list[Path]:
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    return [REPO / name for name in listed if name and (REPO / name).is_file()]


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def findings(text: str, known_secrets: set[str] = frozenset()) -> list[str]:
    """Return a short, masked description of every secret-shaped string in ``text``."""
    found = []
    for pattern, what in (
        (SECRET_NEAR_WORD, "secret-key-shaped value"),
        (CONFIG_VALUE, "aws_secret_access_key value"),
    ):
        for match in pattern.finditer(text):
            value = match.group(1)
            if value in ALLOWED or "EXAMPLE" in value:
                continue
            found.append(f"{what} {value[:4]}…{value[-2:]}")
    for match in PEM_HEADER.finditer(text):
        found.append(f"PEM private key ({match.group(0)[11:].split('-----')[0]})")
    for secret in known_secrets:
        if secret in text:
            found.append(f"a sandbox secret access key {secret[:4]}…")
    return found


@pytest.fixture(scope="module")
def sandbox_secrets() -> set[str]:
    """The secret keys the seeded sandbox hands out first: deterministic, so a notebook
    printing one would print exactly these."""
    control.reset()
    iam = boto3.client(
        "iam",
        endpoint_url=control.endpoint(),
        region_name="eu-west-1",
        aws_access_key_id=config.SANDBOX_ACCESS_KEY_ID,
        aws_secret_access_key=config.SANDBOX_SECRET_ACCESS_KEY,
    )
    secrets = set()
    for name in ("imre", "john"):
        iam.create_user(UserName=name)
        for _ in range(2):
            secrets.add(iam.create_access_key(UserName=name)["AccessKey"]["SecretAccessKey"])
            keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
            if len(keys) == 2:
                iam.delete_access_key(UserName=name, AccessKeyId=keys[0]["AccessKeyId"])
    control.reset()
    assert len(secrets) == 4
    return Secrets(secrets)


def test_the_scanner_catches_what_it_should(sandbox_secrets):
    """Guard against a scanner that can never fail."""
    fake = "Ab3/" * 10
    pem = "-----BEGIN " + "RSA PRIVATE KEY" + "-----\nMIIE..."
    known = next(iter(sandbox_secrets))
    assert findings(f'"SecretAccessKey": "{fake}"')
    assert findings(f"aws_secret_access_key = {fake[:20]}")
    assert findings(pem) == ["PEM private key (RSA PRIVATE KEY)"]
    material = "MIIEowIBAAKCAQEA" + "q" * 48
    assert findings(f"{pem[:31]}\n{material}\n") == ["PEM private key (RSA PRIVATE KEY)"]
    in_notebook = f'"text": [\n  "{pem[:31]}\\n",\n  "{material}\\n"'
    assert findings(in_notebook) == ["PEM private key (RSA PRIVATE KEY)"]
    assert findings(f"key.pem · mode 600 · {pem[:31]} … (private key not shown)")
    assert not findings("key.pem · mode 600 · an RSA private key in PEM format (never shown)")
    assert findings(f"key: {known}", {known})
    assert not findings("SecretAccessKey: wJal…EKEY (masked)")
    assert not findings(f"AWS_SECRET_ACCESS_KEY={config.SANDBOX_SECRET_ACCESS_KEY}")
    masked = findings(f"secret={fake}")[0]
    assert fake not in masked  # a finding never prints the secret in full


def qr_findings(png: bytes) -> list[str]:
    """Return a masked description of every QR code in a PNG that carries an MFA seed."""
    import io

    import zxingcpp
    from PIL import Image

    found = []
    for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("RGB")):
        if "otpauth://" in code.text or "secret=" in code.text.lower():
            found.append(f"QR code of an MFA seed ({code.text[:16]}…)")
    return found


def notebook_pngs(path: Path) -> list[bytes]:
    """Every PNG a notebook stores in its outputs (display_data and execute_result)."""
    import base64

    import nbformat

    nb = nbformat.read(path, as_version=4)
    return [
        base64.b64decode(output["data"]["image/png"])
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]


def test_the_qr_scanner_catches_an_mfa_seed():
    """Guard: a stored QR of an otpauth:// URI is found; a QR of something else is not."""
    import io

    import pyotp
    import qrcode

    def png(text: str) -> bytes:
        buffer = io.BytesIO()
        qrcode.make(text, border=2).save(buffer, format="PNG")
        return buffer.getvalue()

    uri = pyotp.TOTP(pyotp.random_base32()).provisioning_uri(name="root", issuer_name="AWS")
    assert qr_findings(png(uri)) and uri not in qr_findings(png(uri))[0]
    assert qr_findings(png("https://example.com/flovtrain")) == []


def test_no_mfa_seed_qr_codes_in_stored_outputs():
    notebooks = [p for p in committable_files() if p.suffix == ".ipynb"]
    problems = [
        f"{path.relative_to(REPO)}: {finding}"
        for path in notebooks
        for png in notebook_pngs(path)
        for finding in qr_findings(png)
    ]
    assert not problems, "MFA seeds would be committed as QR codes:\n" + "\n".join(problems)


def test_no_secrets_in_committable_files(sandbox_secrets):
    files = committable_files()
    assert any(p.name == "pyproject.toml" for p in files)
    problems = []
    for path in files:
        text = text_of(path)
        if text is None:
            continue
        problems += [f"{path.relative_to(REPO)}: {f}" for f in findings(text, sandbox_secrets)]
    assert not problems, "secrets would be committed:\n" + "\n".join(problems)


def test_notebooks_are_scanned():
    notebooks = [p for p in committable_files() if p.suffix == ".ipynb"]
    on_disk = [
        p
        for d in ("notebooks", "solutions", "exercises")
        for p in (REPO / d).glob("**/*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    ]
    assert set(on_disk) <= set(notebooks), "a notebook is git-ignored, hence never scanned"


@pytest.mark.parametrize(
    "path",
    [
        "credentials/imre.csv",
        "notebooks/credentials/keys.txt",
        "flovtrain-key.pem",
        "notebooks/flovtrain-webapp.pem",
        "imre_accessKeys.csv",
        "notebooks/john_accessKeys.csv",
        "notebooks/new_user_credentials.csv",
    ],
)
def test_gitignore_covers_credential_files(path):
    done = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=REPO)
    assert done.returncode == 0, f"{path} is not git-ignored"


def test_gitignore_keeps_notebooks():
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", "notebooks/01_iam_users_groups.ipynb"], cwd=REPO
    )
    assert done.returncode == 1
