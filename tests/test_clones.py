"""Re-running chapter 06 keeps every earlier clone, untracked files included."""

from __future__ import annotations

from flovtrain.clones import set_aside


def test_nothing_to_set_aside(tmp_path):
    assert set_aside(tmp_path / "missing") is None


def test_every_earlier_clone_is_kept(tmp_path, capsys):
    clone = tmp_path / "environment" / "flovtrain-webapp"
    kept = []
    for run in range(3):
        clone.mkdir(parents=True)
        (clone / "notes.txt").write_text(f"untracked work of run {run}")
        kept.append(set_aside(clone, now=1_765_000_000))  # the same second, three times
    assert not clone.exists()
    assert [k.name for k in kept] == [
        "flovtrain-webapp.old-20251206-054640",
        "flovtrain-webapp.old-20251206-054640-2",
        "flovtrain-webapp.old-20251206-054640-3",
    ]
    assert [(k / "notes.txt").read_text() for k in kept] == [
        f"untracked work of run {run}" for run in range(3)
    ]
    assert "kept as environment/flovtrain-webapp.old-20251206-054640 (nothing deleted)" in (
        capsys.readouterr().out
    )
