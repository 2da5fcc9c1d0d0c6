"""The lock decides what a learner gets; environment.yml (conda) and pyproject.toml agree with it.

* requirements.lock pins every package exactly (transitive ones too), with hashes;
* every pyproject.toml range admits the locked version (else the lock is stale: make lock);
* environment.yml lists exactly pyproject.toml's dependencies, each pinned to the locked version.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def _key(requirement: Requirement) -> str:
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return canonicalize_name(requirement.name) + extras


def requirements(lines: list[str], where: str) -> dict[str, SpecifierSet]:
    found: dict[str, SpecifierSet] = {}
    for line in lines:
        requirement = Requirement(line)
        key = _key(requirement)
        assert key not in found, f"{key} is listed twice in {where}"
        found[key] = requirement.specifier
    return found


LOCK = REPO / "requirements.lock"


def locked(text: str | None = None) -> dict[str, str]:
    """Package -> exact version from requirements.lock (uv pip compile --generate-hashes)."""
    text = LOCK.read_text() if text is None else text
    found = {}
    for match in re.finditer(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", text, re.MULTILINE):
        found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def environment() -> dict:
    return yaml.safe_load((REPO / "environment.yml").read_text())


def pip_lines(env: dict) -> list[str]:
    sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml needs exactly one pip: section"
    return [line for line in sections[0] if not line.startswith("-e ")]


def drift(ours: dict[str, SpecifierSet], theirs: dict[str, SpecifierSet]) -> list[str]:
    problems = []
    for name in sorted(set(ours) | set(theirs)):
        if name not in theirs:
            problems.append(f"{name}: in pyproject.toml, missing from environment.yml")
        elif name not in ours:
            problems.append(f"{name}: in environment.yml, missing from pyproject.toml")
        elif ours[name] != theirs[name]:
            problems.append(
                f"{name}: the lock says '{ours[name]}', environment.yml says '{theirs[name]}'"
            )
    return problems


def declared() -> dict[str, SpecifierSet]:
    """The runtime and dev dependencies; ``flovtrain[hub]`` in dev stands for the hub extra's."""
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    lines = []
    for line in project["dependencies"] + extras["dev"]:
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
            lines += [x for extra in sorted(requirement.extras) for x in extras[extra]]
        else:
            lines.append(line)
    return requirements(lines, "pyproject.toml")


def pinned_by_lock(wanted: dict[str, SpecifierSet], lock: dict[str, str]) -> dict:
    """What environment.yml must say: each declared package at its locked version."""
    return {
        name: SpecifierSet(f"=={lock[canonicalize_name(name.split('[')[0])]}") for name in wanted
    }


def stale(wanted: dict[str, SpecifierSet], lock: dict[str, str]) -> list[str]:
    problems = []
    for name, specifier in sorted(wanted.items()):
        version = lock.get(canonicalize_name(name.split("[")[0]))
        if version is None:
            problems.append(f"{name}: not in requirements.lock")
        elif version not in specifier:
            problems.append(f"{name}: locked {version} is outside pyproject.toml's '{specifier}'")
    return problems


def test_lock_pins_every_package_with_hashes():
    text = LOCK.read_text()
    entries = re.findall(r"^[A-Za-z0-9_.\-]+==[^\n]*", text, re.MULTILINE)
    assert len(entries) > 100  # the transitive closure, not just the direct dependencies
    unpinned = [
        line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line) and "==" not in line
    ]
    assert not unpinned
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)
    for tool in ("pip", "setuptools", "wheel", "uv"):  # what installs and re-locks, too
        assert tool in locked(text)


def test_lock_agrees_with_pyproject_ranges():
    problems = stale(declared(), locked())
    assert not problems, "requirements.lock is stale (run make lock):\n" + "\n".join(problems)


def test_stale_lock_is_reported_by_name():
    wanted = requirements(["boto3>=1.45,<1.46", "pandas"], "a")
    assert stale(wanted, {"boto3": "1.44.18"}) == [
        "boto3: locked 1.44.18 is outside pyproject.toml's '<1.46,>=1.45'",
        "pandas: not in requirements.lock",
    ]


def test_make_installs_from_the_lock():
    makefile = (REPO / "Makefile").read_text()
    assert "--require-hashes --no-deps -r $(LOCK)" in makefile
    assert "LOCK := requirements.lock" in makefile
    assert "uv pip compile" in makefile  # make lock


def test_same_dependencies_and_versions():
    wanted = declared()
    listed = requirements(pip_lines(environment()), "environment.yml")
    problems = drift(pinned_by_lock(wanted, locked()), listed)
    assert not problems, "environment.yml drifted from the lock:\n" + "\n".join(problems)


def test_drift_is_reported_by_name():
    """The comparison itself must be able to fail, naming the package."""
    base = requirements(["moto[server]==5.2.5", "pandas>=3.1,<4"], "a")
    assert drift(base, requirements(["moto[server]==5.2.5"], "b")) == [
        "pandas: in pyproject.toml, missing from environment.yml"
    ]
    assert drift(base, requirements(["moto[server]==5.2.4", "pandas<4,>=3.1"], "b")) == [
        "moto[server]: the lock says '==5.2.5', environment.yml says '==5.2.4'"
    ]
    assert drift(base, base | requirements(["pyyaml"], "b")) == [
        "pyyaml: in environment.yml, missing from pyproject.toml"
    ]


def test_python_version_matches():
    requires = pyproject()["project"]["requires-python"]
    conda = [
        d for d in environment()["dependencies"] if isinstance(d, str) and re.match(r"python\b", d)
    ]
    assert conda == [f"python{requires}"]


def test_editable_install_of_flovtrain():
    sections = [d["pip"] for d in environment()["dependencies"] if isinstance(d, dict)]
    assert "-e ." in sections[0]


def test_every_dependency_line_says_why():
    lines = (REPO / "environment.yml").read_text().splitlines()
    entries = [line for line in lines if re.match(r"\s+- ", line) and "pip:" not in line]
    assert len(entries) > 20
    bare = [
        line.strip() for line in entries if "#" not in line or not line.split("#", 1)[1].strip()
    ]
    assert not bare, f"say which chapter or purpose needs: {bare}"
