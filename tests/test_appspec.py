"""The AppSpec reader: the agent's checks and messages, file copying inside an instance root."""

from __future__ import annotations

import io
import zipfile

import pytest

from flovtrain.sandbox.engines.deploy import appspec

GOOD = """version: 0.0
os: linux
files:
  - source: site
    destination: /var/www/html
  - source: config/app.ini
    destination: /etc/app
permissions:
  - object: /var/www/html
    pattern: "*.sh"
    mode: 755
    type: [file]
hooks:
  ApplicationStart:
    - location: scripts/start.sh
      timeout: 30
      runas: root
"""


def test_parse_good_appspec():
    spec = appspec.parse(GOOD)
    assert [(f.source, f.destination) for f in spec.files] == [
        ("site", "/var/www/html"),
        ("config/app.ini", "/etc/app"),
    ]
    assert spec.hooks["ApplicationStart"][0].timeout == 30
    assert spec.permissions[0].mode == "755"


@pytest.mark.parametrize(
    "text, message",
    [
        ("version: 0.0\nos: linux\nfiles: [\n", "not valid YAML"),
        ("version: 0.0\nos: linux\nfiles:\n - source: a\n  destination: b\n", "line 5"),
        ("version: 2\nos: linux\n", "invalid version value (2)"),
        ("version: 0.0\nos: macos\n", "invalid OS (macos)"),
        ("version: 0.0\nos: linux\nfiles:\n  - source: a\n", "needs both source and destination"),
        (
            "version: 0.0\nos: linux\nhooks:\n  AfterIntsall:\n    - location: x.sh\n",
            "unknown lifecycle event 'AfterIntsall'",
        ),
        (
            "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - timeout: 3\n",
            "needs a location",
        ),
        ("- just a list\n", "must be a YAML mapping"),
    ],
)
def test_invalid_appspec_messages(text, message):
    with pytest.raises(appspec.AppSpecError, match=None) as info:
        appspec.parse(text)
    assert message in str(info.value)


def test_find_reports_a_nested_appspec(tmp_path):
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "appspec.yml").write_text(GOOD)
    with pytest.raises(appspec.AppSpecError) as info:
        appspec.find(tmp_path)
    assert "did not find an AppSpec file" in str(info.value)
    assert "myapp/appspec.yml" in str(info.value)


def test_extract_install_and_permissions_stay_inside_the_root(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("appspec.yml", GOOD)
        z.writestr("site/index.html", "hi")
        z.writestr("site/run.sh", "#!/bin/sh\necho hi\n")
        z.writestr("config/app.ini", "x=1")
        z.writestr("../escape.txt", "nope")
    archive, root = tmp_path / "archive", tmp_path / "root"
    appspec.extract(buf.getvalue(), "zip", archive)
    assert not (tmp_path / "escape.txt").exists()
    spec = appspec.load(appspec.find(archive))

    def mapper(dest):
        return root / dest.lstrip("/")

    written = appspec.install_files(spec, archive, mapper)
    assert sorted(p.relative_to(root).as_posix() for p in written) == [
        "etc/app/app.ini",
        "var/www/html/index.html",
        "var/www/html/run.sh",
    ]
    appspec.apply_permissions(spec, mapper)
    assert (root / "var/www/html/run.sh").stat().st_mode & 0o777 == 0o755
    with pytest.raises(appspec.AppSpecError, match="not a valid zip"):
        appspec.extract(b"not a zip", "zip", tmp_path / "bad")


def test_map_path_never_leaves_the_instance_root(tmp_path):
    from flovtrain.sandbox.engines.instances import Instance, map_path

    record = Instance("i-1", "123456789012", "eu-west-1", "127.20.0.1", tmp_path)
    assert map_path(record, "/var/www") == tmp_path / "var/www"
    assert map_path(record, "/../../etc/passwd") == tmp_path / "etc/passwd"
    assert map_path(record, "/") == tmp_path
