"""Buildspec 0.2 parsing, validation and artifact selection."""

from __future__ import annotations

import io
import zipfile

import pytest

from flovtrain.sandbox.engines.builds import buildspec

FULL = """\
version: 0.2
env:
  variables:
    STAGE: test
    EMPTY:
  parameter-store:
    DB_PASSWORD: /app/db
  exported-variables:
    - STAGE
phases:
  install:
    on-failure: CONTINUE
    commands:
      - pip --version
  build:
    commands:
      - pytest -q
      - |
        echo multi
        echo line
    finally:
      - echo done
artifacts:
  files:
    - '**/*'
  base-directory: dist
  discard-paths: yes
  name: app.zip
"""


def test_full_buildspec_parses():
    spec = buildspec.parse(FULL)
    assert spec.version == "0.2"
    assert spec.variables == {"STAGE": "test", "EMPTY": ""}
    assert spec.parameter_store == {"DB_PASSWORD": "/app/db"}
    assert spec.exported_variables == ["STAGE"]
    assert spec.phases["install"].on_failure == "CONTINUE"
    assert spec.phases["build"].commands == ["pytest -q", "echo multi\necho line\n"]
    assert spec.phases["build"].finally_ == ["echo done"]
    assert spec.phases["build"].on_failure == "ABORT"
    assert spec.artifacts is not None
    assert (
        spec.artifacts.files,
        spec.artifacts.base_directory,
        spec.artifacts.discard_paths,
        spec.artifacts.name,
    ) == (["**/*"], "dist", True, "app.zip")


def test_invalid_yaml_names_the_line():
    text = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n     - bad indent\n"
    with pytest.raises(buildspec.BuildspecError, match=r"not valid YAML at line 6"):
        buildspec.parse(text)


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("version: 0.2\nphase:\n  build:\n    commands: [ls]\n", "phase", 2),
        ("version: 0.2\nphases:\n  compile:\n    commands: [ls]\n", "compile", 3),
        ("version: 0.2\nphases:\n  build:\n    command: [ls]\n", "command", 4),
        ("version: 0.2\nenv:\n  vars:\n    A: 1\n", "vars", 3),
        ("version: 0.2\nartifacts:\n  files: ['*']\n  basedir: x\n", "basedir", 4),
    ],
)
def test_unknown_keys_are_named_with_their_line(text, key, line):
    with pytest.raises(buildspec.BuildspecError) as info:
        buildspec.parse(text)
    assert f"line {line}: unknown key {key!r}" in str(info.value)


def test_wrong_version_and_bad_values():
    with pytest.raises(buildspec.BuildspecError, match="version must be 0.2"):
        buildspec.parse("version: 1.0\nphases: {}\n")
    with pytest.raises(buildspec.BuildspecError, match="on-failure is ABORT or CONTINUE"):
        buildspec.parse(
            "version: 0.2\nphases:\n  build:\n    on-failure: MAYBE\n    commands: [ls]\n"
        )
    with pytest.raises(buildspec.BuildspecError, match="must be a list of strings"):
        buildspec.parse("version: 0.2\nphases:\n  build:\n    commands:\n      - {a: b}\n")
    with pytest.raises(buildspec.BuildspecError, match="empty or not a mapping"):
        buildspec.parse("")
    with pytest.raises(buildspec.BuildspecError, match="artifacts needs 'files'"):
        buildspec.parse("version: 0.2\nartifacts:\n  name: x\n")


def _tree(tmp_path):
    (tmp_path / "dist" / "pkg").mkdir(parents=True)
    (tmp_path / "dist" / "app.py").write_text("app")
    (tmp_path / "dist" / "pkg" / "mod.py").write_text("mod")
    (tmp_path / "dist" / ".hidden").write_text("h")
    (tmp_path / "README.md").write_text("readme")
    return tmp_path


def test_collect_globs_base_directory_and_discard_paths(tmp_path):
    src = _tree(tmp_path)
    every = buildspec.collect(buildspec.Artifacts(files=["**/*"]), src)
    assert [name for _, name in every] == [
        "README.md",
        "dist/.hidden",
        "dist/app.py",
        "dist/pkg/mod.py",
    ]
    based = buildspec.collect(buildspec.Artifacts(files=["**/*"], base_directory="dist"), src)
    assert [name for _, name in based] == [".hidden", "app.py", "pkg/mod.py"]
    flat = buildspec.collect(buildspec.Artifacts(files=["dist/**/*.py"], discard_paths=True), src)
    assert [name for _, name in flat] == ["app.py", "mod.py"]
    folder = buildspec.collect(buildspec.Artifacts(files=["dist/pkg"]), src)
    assert [name for _, name in folder] == ["dist/pkg/mod.py"]
    excluded = buildspec.collect(
        buildspec.Artifacts(files=["**/*"], base_directory="dist", exclude_paths=["pkg/**/*"]), src
    )
    assert [name for _, name in excluded] == [".hidden", "app.py"]
    assert buildspec.collect(buildspec.Artifacts(files=["*.jar"]), src) == []
    assert buildspec.collect(buildspec.Artifacts(files=["*"], base_directory="nope"), src) == []


def test_zip_and_extract_keep_modes_and_refuse_escapes(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    data = buildspec.zip_files([(script, "bin/run.sh")])
    out = tmp_path / "out"
    buildspec.extract(data, out)
    assert (out / "bin" / "run.sh").stat().st_mode & 0o111
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(buildspec.BuildspecError, match="outside its folder"):
        buildspec.extract(evil.getvalue(), tmp_path / "out2")
    assert not (tmp_path / "escape.txt").exists()
