"""environment.yml (conda users) lists exactly pyproject.toml's dependencies, runtime + dev."""

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
            problems.append(f"{name}: pyproject.toml says '{ours[name]}', "
                            f"environment.yml says '{theirs[name]}'")
    return problems


def test_same_dependencies_and_versions():
    project = pyproject()["project"]
    wanted = requirements(
        project["dependencies"] + project["optional-dependencies"]["dev"], "pyproject.toml")
    listed = requirements(pip_lines(environment()), "environment.yml")
    problems = drift(wanted, listed)
    assert not problems, "environment.yml drifted from pyproject.toml:\n" + "\n".join(problems)


def test_drift_is_reported_by_name():
    """The comparison itself must be able to fail, naming the package."""
    base = requirements(["moto[server]==5.2.5", "pandas>=3.1,<4"], "a")
    assert drift(base, requirements(["moto[server]==5.2.5"], "b")) == [
        "pandas: in pyproject.toml, missing from environment.yml"]
    assert drift(base, requirements(["moto[server]==5.2.4", "pandas<4,>=3.1"], "b")) == [
        "moto[server]: pyproject.toml says '==5.2.5', environment.yml says '==5.2.4'"]
    assert drift(base, base | requirements(["pyyaml"], "b")) == [
        "pyyaml: in environment.yml, missing from pyproject.toml"]


def test_python_version_matches():
    requires = pyproject()["project"]["requires-python"]
    conda = [d for d in environment()["dependencies"]
             if isinstance(d, str) and re.match(r"python\b", d)]
    assert conda == [f"python{requires}"]


def test_editable_install_of_flovtrain():
    sections = [d["pip"] for d in environment()["dependencies"] if isinstance(d, dict)]
    assert "-e ." in sections[0]


def test_every_dependency_line_says_why():
    lines = (REPO / "environment.yml").read_text().splitlines()
    entries = [line for line in lines if re.match(r"\s+- ", line) and "pip:" not in line]
    assert len(entries) > 20
    bare = [line.strip() for line in entries
            if "#" not in line or not line.split("#", 1)[1].strip()]
    assert not bare, f"say which chapter or purpose needs: {bare}"
