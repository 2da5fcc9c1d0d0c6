"""Unit tests the build runs before anything is deployed."""

from wsgiref.util import setup_testing_defaults

from webapp.app import application


def call(path: str) -> tuple[str, str]:
    environ: dict = {}
    setup_testing_defaults(environ)
    environ["PATH_INFO"] = path
    status: list[str] = []
    body = b"".join(application(environ, lambda s, h: status.append(s)))
    return status[0], body.decode()


def test_index_page_is_served():
    status, body = call("/")
    assert status == "200 OK"
    assert "<h1>" in body and "Congratulations" in body


def test_health_answers_ok():
    status, body = call("/health")
    assert status == "200 OK" and '"ok"' in body


def test_unknown_path_is_404():
    status, _ = call("/nope")
    assert status.startswith("404")
