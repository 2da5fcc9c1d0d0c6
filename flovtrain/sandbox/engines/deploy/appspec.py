"""Read and check a CodeDeploy AppSpec file (EC2/on-premises, version 0.0) the way the agent does.

Used by the deployment runner; pure functions, no sandbox state.

Examples
--------
>>> spec = parse("version: 0.0\\nos: linux\\nfiles:\\n  - source: /\\n    destination: /srv/app\\n")
>>> spec.files
[FileMapping(source='/', destination='/srv/app')]
"""

from __future__ import annotations

import fnmatch
import io
import os
import shutil
import stat
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Lifecycle events in the order an EC2 in-place deployment runs them.
EVENTS = (
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
)
#: Events that run scripts from the AppSpec ``hooks`` section.
HOOK_EVENTS = (
    "ApplicationStop",
    "BeforeInstall",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
)
#: Hooks that run behind a load balancer: blue/green deployments run them (:mod:`.bluegreen`).
TRAFFIC_EVENTS = (
    "BeforeBlockTraffic",
    "AfterBlockTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
)
DEFAULT_TIMEOUT = 3600
APPSPEC_NAMES = ("appspec.yml", "appspec.yaml")
DOCS = "http://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file.html"


class AppSpecError(ValueError):
    """The revision or its AppSpec file is not usable; ``str()`` is the agent's message."""


@dataclass
class FileMapping:
    source: str
    destination: str


@dataclass
class Hook:
    location: str
    timeout: int = DEFAULT_TIMEOUT
    runas: str | None = None


@dataclass
class Permission:
    object: str
    pattern: str = "**"
    excepts: list[str] = field(default_factory=list)
    mode: str | None = None
    type: list[str] = field(default_factory=lambda: ["file", "directory"])


@dataclass
class AppSpec:
    version: str
    os: str
    files: list[FileMapping] = field(default_factory=list)
    permissions: list[Permission] = field(default_factory=list)
    hooks: dict[str, list[Hook]] = field(default_factory=dict)


def extract(bundle: bytes, bundle_type: str | None, destination: Path) -> None:
    """Unpack a revision bundle (zip, tar, tgz) into ``destination``."""
    kind = (bundle_type or "zip").lower()
    destination.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "zip":
            with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
                for info in archive.infolist():
                    target = _inside(destination, info.filename)
                    if info.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(info))
                    mode = (info.external_attr >> 16) & 0o7777
                    if mode:
                        os.chmod(target, mode)
        elif kind in ("tar", "tgz"):
            with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:*") as archive:
                archive.extractall(destination, filter="data")
        else:
            raise AppSpecError(
                f"The bundle type {bundle_type!r} cannot be deployed to EC2 instances: "
                "use zip, tar or tgz."
            )
    except (zipfile.BadZipFile, tarfile.TarError) as exc:
        raise AppSpecError(
            f"The revision bundle is not a valid {kind} archive ({exc}). Upload the bundle "
            "again (e.g. `aws deploy push`, or zip the folder holding appspec.yml) and deploy it."
        ) from None


def _inside(root: Path, name: str) -> Path:
    relative = os.path.normpath("/" + name).lstrip("/")
    return root / relative


def find(archive_dir: Path) -> Path:
    """Return the AppSpec file at the root of an unpacked revision (agent's error otherwise)."""
    for name in APPSPEC_NAMES:
        if (archive_dir / name).is_file():
            return archive_dir / name
    nested = sorted(str(p.relative_to(archive_dir)) for p in archive_dir.rglob("appspec.y*ml"))
    hint = (
        f" An AppSpec file was found at {nested[0]!r}: it must be at the root of the bundle, "
        "zip the folder's contents rather than the folder."
        if nested
        else ""
    )
    raise AppSpecError(
        "The CodeDeploy agent did not find an AppSpec file within the unpacked revision "
        'directory at revision-relative path "appspec.yml". The revision was unpacked to '
        f'directory "{archive_dir}", and the AppSpec file was expected but not found at path '
        f'"{archive_dir / "appspec.yml"}". Consult the AWS CodeDeploy Appspec documentation '
        f"for more information at {DOCS}.{hint}"
    )


def load(path: Path) -> AppSpec:
    """Read and check an AppSpec file."""
    return parse(path.read_text(errors="replace"), name=path.name)


def parse(text: str, name: str = "appspec.yml") -> AppSpec:
    """Parse AppSpec YAML and check it like the agent does.

    Raises
    ------
    AppSpecError
        Invalid YAML (with line and column), a wrong ``version`` or ``os``, a malformed
        ``files``, ``permissions`` or ``hooks`` section.
    """
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise AppSpecError(
            f"The AppSpec file {name} is not valid YAML: {problem}{where}. Fix it and deploy "
            "a new revision."
        ) from None
    if not isinstance(data, dict):
        raise AppSpecError(
            f"The AppSpec file {name} must be a YAML mapping with version, os, files and hooks; "
            f"it holds a {type(data).__name__}. See {DOCS}"
        )
    version = str(data.get("version", "")).strip()
    if version not in ("0.0", "0"):
        raise AppSpecError(
            f"The deployment failed because an invalid version value ({data.get('version')}) "
            "was entered in the application specification file. Make sure your AppSpec file "
            'specifies "0.0" as the version, and then try again.'
        )
    os_name = str(data.get("os", "")).strip()
    if os_name not in ("linux", "windows"):
        raise AppSpecError(
            "The deployment failed because the application specification file specifies an "
            f'invalid OS ({data.get("os")}). Make sure your AppSpec file specifies "linux" '
            'or "windows" as the os, and then try again.'
        )
    spec = AppSpec(version="0.0", os=os_name)
    for i, entry in enumerate(_list(data, "files")):
        if not isinstance(entry, dict) or "source" not in entry or "destination" not in entry:
            raise AppSpecError(
                f"files[{i}] in {name} needs both source and destination (got {entry!r})."
            )
        spec.files.append(FileMapping(str(entry["source"]), str(entry["destination"])))
    for i, entry in enumerate(_list(data, "permissions")):
        if not isinstance(entry, dict) or "object" not in entry:
            raise AppSpecError(f"permissions[{i}] in {name} needs an object (got {entry!r}).")
        mode = entry.get("mode")
        if mode is not None and not str(mode).isdigit():
            raise AppSpecError(f"permissions[{i}].mode in {name} must be octal digits like 755.")
        types = entry.get("type") or ["file", "directory"]
        spec.permissions.append(
            Permission(
                object=str(entry["object"]),
                pattern=str(entry.get("pattern", "**")),
                excepts=[str(e) for e in entry.get("except") or []],
                mode=None if mode is None else str(mode),
                type=[types] if isinstance(types, str) else list(types),
            )
        )
    hooks = data.get("hooks") or {}
    if not isinstance(hooks, dict):
        raise AppSpecError(f"hooks in {name} must map lifecycle event names to script lists.")
    for event, scripts in hooks.items():
        if event not in HOOK_EVENTS + TRAFFIC_EVENTS:
            raise AppSpecError(
                f"hooks in {name} names an unknown lifecycle event {event!r}. EC2 deployments "
                f"run: {', '.join(HOOK_EVENTS)}."
            )
        parsed = []
        for i, script in enumerate(scripts or []):
            if not isinstance(script, dict) or not script.get("location"):
                raise AppSpecError(f"hooks.{event}[{i}] in {name} needs a location.")
            try:
                timeout = int(script.get("timeout", DEFAULT_TIMEOUT))
            except (TypeError, ValueError):
                raise AppSpecError(
                    f"hooks.{event}[{i}].timeout in {name} must be a number of seconds."
                ) from None
            parsed.append(Hook(str(script["location"]), timeout, script.get("runas")))
        spec.hooks[event] = parsed
    return spec


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise AppSpecError(f"{key} in the AppSpec file must be a list (starting with '- ').")
    return value


def install_files(spec: AppSpec, archive_dir: Path, map_destination: Any) -> list[Path]:
    """Copy ``files`` from the unpacked revision; return every file written.

    ``map_destination`` turns an absolute destination into a local folder (the instance root).
    """
    written: list[Path] = []
    for mapping in spec.files:
        source = _inside(archive_dir, mapping.source)
        if not source.exists():
            raise AppSpecError(
                f"The specified file or directory {mapping.source!r} does not exist in the "
                "revision: check files.source in the AppSpec file (paths are relative to the "
                "bundle root)."
            )
        destination = map_destination(mapping.destination)
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                target = destination / path.relative_to(source)
                if path.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
                    written.append(target)
        else:
            destination.mkdir(parents=True, exist_ok=True)
            target = destination / source.name
            shutil.copy2(source, target)
            written.append(target)
    return written


def apply_permissions(spec: AppSpec, map_destination: Any) -> None:
    """Apply ``permissions`` modes (owner and group have no meaning in the sandbox)."""
    for perm in spec.permissions:
        if perm.mode is None:
            continue
        root = map_destination(perm.object)
        mode = int(perm.mode, 8)
        targets = [root] if root.is_file() else list(root.rglob("*")) if root.exists() else []
        for path in targets:
            kind = "directory" if path.is_dir() else "file"
            if kind not in perm.type:
                continue
            name = path.name
            if not fnmatch.fnmatch(name, perm.pattern) and perm.pattern != "**":
                continue
            if any(fnmatch.fnmatch(name, e) for e in perm.excepts):
                continue
            os.chmod(path, mode)


def script_command(script: Path) -> list[str]:
    """How to run a hook script: its shebang if it has one (made executable), else bash."""
    with open(script, "rb") as handle:
        first = handle.readline()
    if first.startswith(b"#!"):
        interpreter = first[2:].decode(errors="replace").split()
        if interpreter and not Path(interpreter[0]).exists():
            # e.g. #!/usr/bin/python on a machine that only has python3: use the sandbox's
            if "python" in interpreter[0]:
                return [sys.executable, str(script)]
            return ["bash", str(script)]
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return [str(script)]
    return ["bash", str(script)]
