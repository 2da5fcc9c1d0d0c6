"""Let a room in with a workshop code (``c.JupyterHub.authenticator_class``).

The instructor hands out one code (``$FLOVTRAIN_WORKSHOP_CODE``); each attendee signs in with a
name, that code and a password of their own choosing. The first sign-in with a name claims it
(the password's salted hash goes to ``.names.json`` in the room folder), so a second attendee
who types the same name with another password is refused instead of landing in the first one's
JupyterLab, and the owner can sign in again from another browser.

Examples
--------
In ``jupyterhub_config.py``::

    c.JupyterHub.authenticator_class = "flovtrain.hub.auth.WorkshopCodeAuthenticator"
    c.WorkshopCodeAuthenticator.workshop_code = "blue-otter-42"
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from jupyterhub.auth import Authenticator
from traitlets import Unicode, default

from flovtrain.hub import room as rooms

CODE_VAR = "FLOVTRAIN_WORKSHOP_CODE"
INSTRUCTOR_PASSWORD_VAR = "FLOVTRAIN_INSTRUCTOR_PASSWORD"
NAMES_FILE = ".names.json"
MIN_PASSWORD = 4

FORM = """
<form action="{{ authenticator_login_url }}" method="post" role="form">
  <div class="auth-form-header"><h1>Join the workshop</h1></div>
  <div class="auth-form-body m-auto">
    {% if login_error %}<p class="login_error">Not signed in: the workshop code is wrong, or
      this name is already taken by someone with another password. Ask the instructor for the
      code, or pick another name (e.g. add your initial).</p>{% endif %}
    <input type="hidden" name="_xsrf" value="{{ xsrf }}"/>
    <label for="username_input">Your name:</label>
    <input id="username_input" type="text" autocapitalize="off" autocorrect="off"
           class="form-control" name="username" value="{{ username }}" autofocus="autofocus"/>
    <label for="code_input">Workshop code (from the instructor):</label>
    <input id="code_input" type="text" class="form-control" name="code" autocomplete="off"/>
    <label for="password_input">A password of your own (first time: choose one, 4+ characters):
    </label>
    <input id="password_input" type="password" class="form-control" name="password"
           autocomplete="current-password"/>
    <input id="login_submit" type="submit" class="btn btn-jupyter form-control" value="Join"/>
  </div>
</form>
"""


def _hash(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 100_000).hex()


def claim(names_file: Path, name: str, password: str) -> bool:
    """True when ``name`` is free (now claimed with ``password``) or already ``password``'s.

    Examples
    --------
    >>> import tempfile
    >>> names = Path(tempfile.mkdtemp()) / ".names.json"
    >>> claim(names, "anna", "otter"), claim(names, "anna", "otter"), claim(names, "anna", "x1y2")
    (True, True, False)
    """
    names_file.parent.mkdir(parents=True, exist_ok=True)
    with open(names_file.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two first sign-ins with one name: one wins
        try:
            names = json.loads(names_file.read_text()) if names_file.exists() else {}
        except ValueError:
            names = {}
        if name in names:
            salt, digest = names[name].split("$", 1)
            return hmac.compare_digest(_hash(password, salt), digest)
        salt = secrets.token_hex(16)
        names[name] = f"{salt}${_hash(password, salt)}"
        scratch = names_file.with_suffix(".tmp")
        scratch.write_text(json.dumps(names, indent=1))
        os.chmod(scratch, 0o600)
        scratch.replace(names_file)
        return True


class WorkshopCodeAuthenticator(Authenticator):
    """Sign-in with the room's workshop code plus a self-chosen password that claims the name."""

    workshop_code = Unicode(
        config=True, help=f"The code handed out in the room (default: ${CODE_VAR})."
    )
    room = Unicode(config=True, help="The room folder (default: $FLOVTRAIN_ROOM).")
    instructor_password = Unicode(
        config=True,
        help=f"The admins' password (default: ${INSTRUCTOR_PASSWORD_VAR}); unset: admins "
        "cannot sign in with the form, only with an API token.",
    )

    @default("instructor_password")
    def _instructor_from_env(self) -> str:
        return os.environ.get(INSTRUCTOR_PASSWORD_VAR, "")

    @default("workshop_code")
    def _code_from_env(self) -> str:
        return os.environ.get(CODE_VAR, "")

    @default("room")
    def _room_from_env(self) -> str:
        return str(rooms.room_folder())

    @default("allow_all")
    def _everyone_with_the_code(self) -> bool:
        return True

    @default("custom_html")
    def _form(self) -> str:
        return FORM

    def validate_username(self, username: str) -> bool:
        """Names become folder names: letters, digits, ``.``, ``_``, ``-``; at most 32."""
        return bool(rooms.NAME.match(username)) and super().validate_username(username)

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        """Return the attendee's name when the code is right and the name is theirs."""
        if not self.workshop_code:
            self.log.error("no workshop code set: export %s=... before make hub", CODE_VAR)
            return None
        name = self.normalize_username(data.get("username", ""))
        code = data.get("code", "").strip()
        password = data.get("password", "")
        if not hmac.compare_digest(code.encode(), self.workshop_code.encode()):
            self.log.warning("sign-in as %r refused: wrong workshop code", name[:32])
            return None
        if len(password) < MIN_PASSWORD or not rooms.NAME.match(name):
            self.log.warning("sign-in as %r refused: bad name or too short a password", name[:32])
            return None
        if name in self.admin_users:  # an attendee must not claim the instructor's name first
            secret = self.instructor_password.encode()
            return name if secret and hmac.compare_digest(password.encode(), secret) else None
        names_file = Path(self.room) / NAMES_FILE
        if not await asyncio.to_thread(claim, names_file, name, password):
            self.log.warning("sign-in as %r refused: the name is taken (other password)", name)
            return None
        return name
