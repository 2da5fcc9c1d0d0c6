"""Helpers share one boto3 session per thread and region, never one with stale credentials."""

from __future__ import annotations

import threading

import flovtrain
from flovtrain.session import get_session


def test_same_thread_and_region_share_a_session():
    flovtrain.connect(quiet=True)
    first = get_session()
    assert get_session() is first
    assert get_session(region="us-east-1") is not first
    assert get_session(region="us-east-1").region_name == "us-east-1"
    assert first.region_name == "eu-west-1"


def test_changed_credentials_get_a_new_session(monkeypatch):
    flovtrain.connect(quiet=True)
    before = get_session()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIMREEXAMPLE00001")
    after = get_session()
    assert after is not before
    assert after.get_credentials().access_key == "AKIAIMREEXAMPLE00001"
    monkeypatch.undo()
    assert get_session() is before


def test_each_thread_gets_its_own_session():
    flovtrain.connect(quiet=True)
    mine = get_session()
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(get_session()))
    thread.start()
    thread.join()
    assert theirs and theirs[0] is not mine


def test_connect_again_starts_afresh():
    flovtrain.connect(quiet=True)
    before = get_session()
    flovtrain.connect(quiet=True)
    assert get_session() is not before


def test_an_explicit_session_is_used_as_given():
    import boto3

    mine = boto3.Session(region_name="ca-central-1")
    assert get_session(mine) is mine
