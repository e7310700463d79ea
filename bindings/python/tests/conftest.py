"""Shared fixtures: the repo's captured vectors (tests run against the installed wheel)."""

import pathlib

import pytest

import meshplane

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "mesh-codec" / "tests" / "fixtures"


def pytest_sessionstart(session):
    # The package under test is the installed wheel, never the source tree.
    src = (ROOT / "bindings" / "python" / "python").resolve()
    assert src not in pathlib.Path(meshplane.__file__).resolve().parents, meshplane.__file__


def load_tsv(name):
    out = {}
    for line in (FIXTURES / "hessian2" / name).read_text().splitlines():
        if line:
            n, h = line.split("\t")
            out[n] = bytes.fromhex(h)
    return out


@pytest.fixture(scope="session")
def caucho():
    return load_tsv("caucho.tsv")


@pytest.fixture(scope="session")
def hessianjs():
    return load_tsv("hessianjs.tsv")


@pytest.fixture(scope="session")
def fixtures():
    return FIXTURES
