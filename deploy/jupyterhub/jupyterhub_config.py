# JupyterHub for a flovtrain class on one machine: `make hub` starts it with this file.
# Everything a room changes comes from environment variables (see the README's "Run a workshop"):
#   FLOVTRAIN_WORKSHOP_CODE        the code handed out in the room (make hub makes one if unset)
#   FLOVTRAIN_ROOM                 one home per attendee (default ~/flovtrain-room)
#   FLOVTRAIN_HUB_IP / _PORT       where the room connects (default 127.0.0.1:8000)
#   FLOVTRAIN_INSTRUCTOR(_PASSWORD) the admin's name (default instructor) and password
#   FLOVTRAIN_HUB_API_TOKEN        an admin token for automation (the load test uses it)
#   FLOVTRAIN_HUB_MEM / _CPUS      per-attendee limits (default 2G, 1 core; where enforceable)
#   FLOVTRAIN_HUB_IDLE             seconds before an idle server is stopped (default 3600)
#   FLOVTRAIN_WORKBOOK             what attendees get a copy of
#                                  (default notebooks,exercises,solutions)
import os
import secrets
import sys
from pathlib import Path

from flovtrain.hub.room import room_folder

c = get_config()  # noqa: F821 - JupyterHub's config loader provides it

HERE = Path(__file__).resolve().parent
ROOM = room_folder()
STATE = ROOM / ".hub"  # the hub's database, cookie secret and proxy token: a restart keeps them
STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
env = os.environ.get


def _kept_secret(name: str) -> str:
    """A random secret made once per room and kept in its .hub folder (0600)."""
    path = STATE / name
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


c.JupyterHub.ip = env("FLOVTRAIN_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(env("FLOVTRAIN_HUB_PORT", "8000"))
c.JupyterHub.hub_port = int(env("FLOVTRAIN_HUB_INTERNAL_PORT", "0")) or c.JupyterHub.port + 81
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
# A restarted hub finds the attendees' servers (and so their sandboxes) still running
c.JupyterHub.cleanup_servers = False
c.JupyterHub.cleanup_proxy = False
c.ConfigurableHTTPProxy.auth_token = _kept_secret("proxy_token")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{c.JupyterHub.port + 1}"
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]

c.JupyterHub.authenticator_class = "flovtrain.hub.auth.WorkshopCodeAuthenticator"
instructor = env("FLOVTRAIN_INSTRUCTOR", "instructor")
c.Authenticator.admin_users = {instructor}
c.WorkshopCodeAuthenticator.room = str(ROOM)
code = env("FLOVTRAIN_WORKSHOP_CODE", "")
if not code:  # one readable code per room, kept across restarts: write it on the whiteboard
    path = STATE / "workshop_code"
    if not path.exists():
        path.write_text(f"flov-{secrets.randbelow(10**6):06d}")
        path.chmod(0o600)
    code = path.read_text().strip()
c.WorkshopCodeAuthenticator.workshop_code = code
print(f"flovtrain hub: workshop code {code} (set FLOVTRAIN_WORKSHOP_CODE to choose one)")

c.JupyterHub.spawner_class = "flovtrain.hub.spawner.RoomSpawner"
c.RoomSpawner.room = str(ROOM)
c.RoomSpawner.workbook = env("FLOVTRAIN_WORKBOOK", "notebooks,exercises,solutions").split(",")
c.Spawner.mem_limit = env("FLOVTRAIN_HUB_MEM", "2G")
c.Spawner.cpu_limit = float(env("FLOVTRAIN_HUB_CPUS", "1"))
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90

idle = env("FLOVTRAIN_HUB_IDLE", "3600")
services = [
    {
        "name": "progress",
        "url": f"http://127.0.0.1:{c.JupyterHub.port + 2}",
        "command": [sys.executable, "-m", "flovtrain.hub.progress"],
        "environment": {"FLOVTRAIN_ROOM": str(ROOM)},
        "oauth_no_confirm": True,
        "display": True,
    },
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={idle}"],
    },
]
roles = [
    {
        "name": "progress-reader",
        "scopes": ["list:users", "read:users", "read:servers"],
        "services": ["progress"],
    },
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
]
token = env("FLOVTRAIN_HUB_API_TOKEN", "")
if token:  # automation (the load test, a room script) acts as an admin service with this token
    services.append({"name": "automation", "api_token": token})
    roles.append(
        {
            "name": "automation",
            "scopes": [
                "admin:users",
                "admin:servers",
                "access:servers",
                "access:services",
                "list:users",
                "read:users",
                "tokens",
            ],
            "services": ["automation"],
        }
    )
c.JupyterHub.services = services
c.JupyterHub.load_roles = roles
