"""CodeBuild's buildspec (version 0.2): parse, validate, run commands, collect artifacts.

How commands run (the sandbox's emulation of CodeBuild's single shell session):
each command is one ``bash`` process that first restores the session state saved by the
previous command (exported variables and the working directory), runs the command in that
shell (``source``), and saves the state again on exit. So ``export X=1`` or ``cd sub`` in one
command is seen by the next, across phases, as in CodeBuild; plain (unexported) shell
variables and shell functions do not carry over. A command fails when its exit status is not
0 (a multi-line command is judged by its last statement, as in CodeBuild).

Examples
--------
>>> spec = parse("version: 0.2\\nphases:\\n  build:\\n    commands:\\n      - echo hi\\n")
>>> spec.phases["build"].commands
['echo hi']
"""

from __future__ import annotations

import glob
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PHASES = ("install", "pre_build", "build", "post_build")
TOP_KEYS = {"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"}
ENV_KEYS = {
    "shell",
    "variables",
    "parameter-store",
    "exported-variables",
    "secrets-manager",
    "git-credential-helper",
}
PHASE_KEYS = {"run-as", "on-failure", "runtime-versions", "commands", "finally"}
ARTIFACT_KEYS = {
    "files",
    "name",
    "discard-paths",
    "base-directory",
    "exclude-paths",
    "enable-symlinks",
    "s3-prefix",
    "secondary-artifacts",
}
ON_FAILURE = {"ABORT", "CONTINUE", "RETRY"}


class BuildspecError(ValueError):
    """The buildspec cannot be used; the message names the line and what to change."""


@dataclass
class Phase:
    commands: list[str] = field(default_factory=list)
    finally_: list[str] = field(default_factory=list)
    on_failure: str = "ABORT"


@dataclass
class Artifacts:
    files: list[str] = field(default_factory=list)
    name: str | None = None
    discard_paths: bool = False
    base_directory: str | None = None
    exclude_paths: list[str] = field(default_factory=list)


@dataclass
class BuildSpec:
    version: str
    variables: dict[str, str] = field(default_factory=dict)
    parameter_store: dict[str, str] = field(default_factory=dict)
    exported_variables: list[str] = field(default_factory=list)
    phases: dict[str, Phase] = field(default_factory=dict)
    artifacts: Artifacts | None = None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_keys(node: yaml.Node, allowed: set[str], where: str) -> None:
    if not isinstance(node, yaml.MappingNode):
        raise BuildspecError(f"line {_line(node)}: {where} must be a mapping of keys to values.")
    for key, _ in node.value:
        if key.value not in allowed:
            raise BuildspecError(
                f"line {_line(key)}: unknown key {key.value!r} in {where}; "
                f"allowed keys are {', '.join(sorted(allowed))}."
            )


def _child(node: yaml.MappingNode, name: str) -> yaml.Node | None:
    for key, value in node.value:
        if key.value == name:
            return value
    return None


def _str_list(value: Any, node: yaml.Node, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
        raise BuildspecError(f"line {_line(node)}: {where} must be a list of strings.")
    return [str(v) for v in value if v is not None]


def _yes(value: Any) -> bool:
    return value is True or str(value).lower() in {"yes", "true"}


def parse(text: str, source: str = "buildspec.yml") -> BuildSpec:
    """Parse and validate a buildspec.

    Raises
    ------
    BuildspecError
        Invalid YAML (with the line), an unknown key (named, with its line), a wrong version,
        a phase without commands of the right type.
    """
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        problem = getattr(exc, "problem", None) or str(exc)
        raise BuildspecError(f"{source} is not valid YAML at {where}: {problem}.") from None
    if root is None or not isinstance(data, dict):
        raise BuildspecError(f"{source} is empty or not a mapping: start it with 'version: 0.2'.")
    _check_keys(root, TOP_KEYS, "the buildspec")
    version = str(data.get("version", ""))
    if version not in {"0.2", "0.1"}:
        raise BuildspecError(
            f"line {_line(_child(root, 'version') or root)}: version must be "
            f"0.2 (got {version or 'nothing'!r})."
        )
    spec = BuildSpec(version=version)
    env_node = _child(root, "env")
    if env_node is not None and data.get("env") is not None:
        _check_keys(env_node, ENV_KEYS, "env")
        env = data["env"]
        for key, target in (
            ("variables", spec.variables),
            ("parameter-store", spec.parameter_store),
        ):
            values = env.get(key) or {}
            if not isinstance(values, dict):
                raise BuildspecError(
                    f"line {_line(_child(env_node, key))}: env.{key} must map names to values."
                )
            target.update({str(k): "" if v is None else str(v) for k, v in values.items()})
        spec.exported_variables = _str_list(
            env.get("exported-variables"), env_node, "env.exported-variables"
        )
    phases_node = _child(root, "phases")
    if phases_node is not None and data.get("phases") is not None:
        _check_keys(phases_node, set(PHASES), "phases")
        for name, raw in data["phases"].items():
            node = _child(phases_node, name)
            if raw is None:
                continue
            _check_keys(node, PHASE_KEYS, f"phases.{name}")
            on_failure = str(raw.get("on-failure", "ABORT")).upper()
            if on_failure.split()[0] not in ON_FAILURE:
                raise BuildspecError(
                    f"line {_line(_child(node, 'on-failure'))}: on-failure is "
                    f"ABORT or CONTINUE (got {raw.get('on-failure')!r})."
                )
            spec.phases[name] = Phase(
                commands=_str_list(raw.get("commands"), node, f"phases.{name}.commands"),
                finally_=_str_list(raw.get("finally"), node, f"phases.{name}.finally"),
                on_failure="CONTINUE" if on_failure == "CONTINUE" else "ABORT",
            )
    art_node = _child(root, "artifacts")
    if art_node is not None and data.get("artifacts") is not None:
        _check_keys(art_node, ARTIFACT_KEYS, "artifacts")
        raw = data["artifacts"]
        files = _str_list(raw.get("files"), art_node, "artifacts.files")
        if not files:
            raise BuildspecError(
                f"line {_line(art_node)}: artifacts needs 'files' (e.g. '- \"**/*\"')."
            )
        spec.artifacts = Artifacts(
            files=files,
            name=str(raw["name"]) if raw.get("name") else None,
            discard_paths=_yes(raw.get("discard-paths")),
            base_directory=str(raw["base-directory"]) if raw.get("base-directory") else None,
            exclude_paths=_str_list(raw.get("exclude-paths"), art_node, "artifacts.exclude-paths"),
        )
    return spec


# -- artifacts ------------------------------------------------------------------------------
def collect(spec: Artifacts, src_dir: Path) -> list[tuple[Path, str]]:
    """Return ``(file, name in the artifact)`` for the files the artifact section selects.

    Globs follow CodeBuild: ``**/*`` is every file below the base directory, a pattern
    matching a directory takes the files under it, ``discard-paths`` keeps only base names.
    """
    base = (src_dir / spec.base_directory) if spec.base_directory else src_dir
    base = base.resolve()
    if not base.is_dir():
        return []
    excluded: set[str] = set()
    for pattern in spec.exclude_paths:
        excluded.update(glob.glob(pattern, root_dir=base, recursive=True, include_hidden=True))
    found: dict[str, Path] = {}
    for pattern in spec.files:
        pattern = pattern.lstrip("./") if pattern.startswith("./") else pattern
        for rel in sorted(glob.glob(pattern, root_dir=base, recursive=True, include_hidden=True)):
            path = base / rel
            if path.is_dir():
                for sub in sorted(path.rglob("*")):
                    if sub.is_file():
                        found.setdefault(str(sub.relative_to(base)), sub)
            elif path.is_file():
                found.setdefault(os.path.normpath(rel), path)
    result = []
    for rel, path in sorted(found.items()):
        if rel in excluded or any(rel.startswith(e.rstrip("/") + "/") for e in excluded):
            continue
        result.append((path, os.path.basename(rel) if spec.discard_paths else rel))
    return result


def zip_files(files: list[tuple[Path, str]]) -> bytes:
    """Zip ``(file, name)`` pairs, keeping file modes (scripts stay executable)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, name in files:
            zf.write(path, name)
    return buffer.getvalue()


def extract(data: bytes, target: Path) -> None:
    """Unzip ``data`` into ``target`` keeping modes; refuse paths that leave the folder."""
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            dest = (root / info.filename).resolve()
            if dest != root and root not in dest.parents:
                raise BuildspecError(
                    f"the source zip has a path outside its folder: {info.filename}"
                )
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            mode = (info.external_attr >> 16) & 0o777777
            if (mode & 0o170000) == 0o120000:  # symlink
                if dest.exists() or dest.is_symlink():
                    dest.unlink()
                os.symlink(zf.read(info).decode(), dest)
                continue
            dest.write_bytes(zf.read(info))
            if mode & 0o777:
                dest.chmod(mode & 0o777)


# -- running one command --------------------------------------------------------------------
RUNNER = r"""
__state="$1"
set -a; . "$__state/env.sh" 2>/dev/null; set +a
cd "$(cat "$__state/cwd")" 2>/dev/null || true
export CODEBUILD_BUILD_SUCCEEDING="$(cat "$__state/succeeding")"
__save() {
  __rc=$?
  export -p > "$__state/env.sh.tmp" 2>/dev/null && mv "$__state/env.sh.tmp" "$__state/env.sh"
  pwd > "$__state/cwd"
  exit $__rc
}
trap __save EXIT
. "$__state/command.sh"
"""


def prepare_state(state_dir: Path, env: dict[str, str], cwd: Path) -> None:
    """Create the shell session state the first command starts from."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "runner.sh").write_text(RUNNER)
    (state_dir / "env.sh").write_text("")
    (state_dir / "cwd").write_text(str(cwd))
    (state_dir / "succeeding").write_text("1")


def command_args(state_dir: Path, command: str) -> list[str]:
    """Write ``command`` for the runner and return the argv that runs it in the session."""
    (state_dir / "command.sh").write_text(command + "\n")
    return ["bash", "--noprofile", "--norc", str(state_dir / "runner.sh"), str(state_dir)]


def session_env(state_dir: Path) -> dict[str, str]:
    """Return the exported variables the session holds now (for ``exported-variables``)."""
    import shlex

    result: dict[str, str] = {}
    for line in (state_dir / "env.sh").read_text().splitlines():
        if not line.startswith("declare -x "):
            continue
        body = line[len("declare -x ") :]
        name, sep, value = body.partition("=")
        if sep:
            try:
                parts = shlex.split(value)
            except ValueError:
                continue
            result[name] = parts[0] if parts else ""
    return result
