"""Negative fixtures: what meshctl now refuses (mesh-core/src/rules/http.rs), real Envoys reject.

Each case is a SmartLimiter with one placeholder value. With the placeholder, `meshctl render` succeeds
and both Envoys accept the EnvoyFilter. With the bad value, `meshctl render` exits 1 naming the field,
and the EnvoyFilter it rendered before, with the placeholder replaced by the bad value (the output
meshctl used to emit), is rejected by both Envoys with the message given here.

The last test lists the rules where meshctl is stricter than Envoy (Envoy accepts the config, but
the limit could never apply), so the difference stays visible."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

import efharness as h

SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "namespace": "default"},
           "spec": {"selector": {"app": "reviews"}}}
PLACEHOLDER = "placeholder-7f3a"


def limiter(descriptor: dict, global_: bool = False) -> str:
    d = {"action": {"quota": "5", "fill_interval": {"seconds": 60}, "strategy": "global" if global_ else "single"},
         "condition": "true", "target": {"port": 9080}}
    for k, v in descriptor.items():
        d[k] = {**d[k], **v} if isinstance(v, dict) and isinstance(d.get(k), dict) else v
    sl = {"apiVersion": "microservice.slime.io/v1alpha2", "kind": "SmartLimiter",
          "metadata": {"name": "reviews", "namespace": "default"},
          "spec": {"sets": {"_base": {"descriptor": [d]}}}}
    # JSON documents are YAML, and json.dumps escapes every control character.
    return f"---\n{json.dumps(sl)}\n---\n{json.dumps(SERVICE)}\n"


def render(meshctl: str, text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "in.yaml"
    path.write_text(text)
    return subprocess.run([meshctl, "render", str(path)], capture_output=True, text=True, timeout=60)


def replace(node, old: str, new: str):
    """`node` with every string equal to `old` replaced by `new`; counts the replacements."""
    count = 0

    def walk(n):
        nonlocal count
        if isinstance(n, dict):
            return {k: walk(v) for k, v in n.items()}
        if isinstance(n, list):
            return [walk(v) for v in n]
        if n == old:
            count += 1
            return new
        return n

    out = walk(node)
    return out, count


HEADER = {"action": {"headers_to_add": [{"key": "x-limited", "value": PLACEHOLDER}]}}
HEADER_KEY = {"action": {"headers_to_add": [{"key": PLACEHOLDER, "value": "1"}]}}
MATCH = {"match": [{"name": PLACEHOLDER, "exact_match": "a"}]}
SEPARATE = {"match": [{"name": PLACEHOLDER, "present_match_separate": True}]}
QUERY = {"match": [{"name": PLACEHOLDER, "matchSource": "QueryMatch", "exact_match": "a"}]}
REGEX = {"match": [{"name": "x-user", "regex_match": PLACEHOLDER}]}

HTA = "default/reviews: spec.sets._base.descriptor[0].action.headers_to_add[0]"
M = "default/reviews: spec.sets._base.descriptor[0].match[0]"
PGV = "Proto constraint validation failed"

# (id, descriptor, global, bad value, meshctl's line starts with, Envoy's message contains)
CASES = [
    ("added-value-CR-LF", HEADER, False, "a\r\nInjected: 1", f"{HTA}.value: contains CR", PGV),
    ("added-value-LF", HEADER, False, "a\nb", f"{HTA}.value: contains LF", PGV),
    ("added-value-NUL", HEADER, False, "a\0b", f"{HTA}.value: contains NUL", PGV),
    ("added-value-16385-bytes", HEADER, False, "v" * 16385, f"{HTA}.value: is 16385 bytes long", PGV),
    ("added-value-16386-utf8-bytes", HEADER, False, "é" * 8193, f"{HTA}.value: is 16386 bytes long", PGV),
    ("added-value-single-percent", HEADER, False, "100%", f"{HTA}.value: has a single `%`",
     "Couldn't find valid command"),
    ("added-value-unknown-command", HEADER, False, "%LIMITED%", f"{HTA}.value: has a single `%`",
     "Not supported field in StreamInfo: LIMITED"),
    ("added-key-CR", HEADER_KEY, False, "x\rlimited", f"{HTA}.key: contains CR", PGV),
    ("added-key-NUL", HEADER_KEY, False, "x\0", f"{HTA}.key: contains NUL", PGV),
    ("added-key-16385-bytes", HEADER_KEY, False, "x" * 16385, f"{HTA}.key: is 16385 bytes long", PGV),
    ("added-key-pseudo-header", HEADER_KEY, False, ":status", f"{HTA}.key: \":status\" is a pseudo-header",
     ":-prefixed or host headers may not be modified"),
    ("added-key-host", HEADER_KEY, False, "Host", f"{HTA}.key: Envoy refuses to add or modify the host header",
     ":-prefixed or host headers may not be modified"),
    ("match-name-CR", MATCH, False, "x-user\r", f"{M}.name: contains CR", PGV),
    ("match-name-LF", MATCH, False, "x\nuser", f"{M}.name: contains LF", PGV),
    ("match-name-NUL", MATCH, False, "x\0user", f"{M}.name: contains NUL", PGV),
    ("request-headers-name-CR", SEPARATE, True, "x\ruser", f"{M}.name: contains CR", PGV),
    ("query-name-1025-bytes", QUERY, False, "q" * 1025, f"{M}.name: is 1025 bytes long", PGV),
    ("regex-program-over-100", REGEX, False, "a{100}", f"{M}.regex_match: compiles to an RE2 program",
     "RE2 program size of 104 > max program size of 100"),
    ("regex-program-101", REGEX, False, "a{97}", f"{M}.regex_match: compiles to an RE2 program of at least 101",
     "RE2 program size of 101 > max program size of 100"),
    ("regex-anchored-program-202", REGEX, False, "^a{200}", f"{M}.regex_match: compiles to an RE2 program of at least 202",
     "RE2 program size of 202 > max program size of 100"),
    ("regex-repeat-over-1000", REGEX, False, "a{1001}", f"{M}.regex_match: repeats 1001 times",
     "invalid repetition size"),
    ("regex-backreference", REGEX, False, "(a)\\1", f"{M}.regex_match: not a valid RE2 regex",
     "invalid escape sequence"),
]


@pytest.fixture(scope="module")
def accepted(meshctl, tmp_path_factory):
    """The placeholder rendering of each descriptor shape, rendered once."""
    cache: dict[str, list[dict]] = {}

    def get(descriptor: dict, global_: bool) -> list[dict]:
        key = json.dumps([descriptor, global_], sort_keys=True)
        if key not in cache:
            p = render(meshctl, limiter(descriptor, global_), tmp_path_factory.mktemp("ok"))
            assert p.returncode == 0, p.stderr
            cache[key] = h.envoy_filters(h.load_docs(p.stdout))
        return cache[key]

    return get


def test_every_rule_family_is_covered():
    ids = {c[0] for c in CASES}
    for family in ("added-value", "added-key", "match-name", "request-headers", "query-name", "regex"):
        assert any(i.startswith(family) for i in ids), family


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_meshctl_refuses_what_envoy_rejects(envoy, meshctl, accepted, tmp_path, case):
    _, descriptor, global_, bad, meshctl_says, envoy_says = case
    # 1. The placeholder renders and Envoy accepts it (the fixture is sound).
    efs = accepted(descriptor, global_)
    assert len(efs) == 1
    _, boot = h.build(efs[0])
    ok = h.envoy_validate(envoy, boot)
    assert ok.ok, f"placeholder rejected by {envoy}:\n{ok.output}"
    # 2. meshctl refuses the bad value, naming the field (exit 1, every problem listed).
    text = limiter(json.loads(json.dumps(descriptor).replace(PLACEHOLDER, "@@")), global_)
    text = text.replace('"@@"', json.dumps(bad))
    p = render(meshctl, text, tmp_path)
    assert p.returncode == 1, f"meshctl accepted {bad[:40]!r}:\n{p.stdout[:500]}"
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert any(l.startswith(meshctl_says) for l in lines), p.stderr[:2000]
    # 3. The output meshctl used to emit for it is rejected by Envoy.
    bad_ef, n = replace(copy.deepcopy(efs[0]), PLACEHOLDER, bad)
    assert n >= 1, "the placeholder does not appear in the rendered EnvoyFilter"
    _, boot = h.build(bad_ef)
    v = h.envoy_validate(envoy, boot)
    assert not v.ok, f"{envoy} accepted {bad[:40]!r}: meshctl's rule is stricter than Envoy here"
    assert envoy_says in v.output, v.output[-2000:]


@pytest.mark.parametrize("descriptor, bad, ok_value", [
    (HEADER, "v" * 16384, None),
    (HEADER, "100%% of the quota\tused", None),
    (MATCH, ":authority", None),
    (REGEX, "a{96}", None),
    (REGEX, "^" + "b" * 200, None),
    (QUERY, "q" * 1024, None),
], ids=["added-value-16384-bytes", "added-value-escaped-percent", "match-pseudo-header", "regex-a96", "regex-anchored-literal-prefix",
        "query-name-1024-bytes"])
def test_the_limits_themselves_are_accepted(envoy, meshctl, tmp_path, descriptor, bad, ok_value):
    text = limiter(json.loads(json.dumps(descriptor).replace(PLACEHOLDER, "@@")))
    p = render(meshctl, text.replace('"@@"', json.dumps(bad)), tmp_path)
    assert p.returncode == 0, p.stderr[:2000]
    for ef in h.envoy_filters(h.load_docs(p.stdout)):
        _, boot = h.build(ef)
        v = h.envoy_validate(envoy, boot)
        assert v.ok, f"{envoy} rejected:\n{v.output[-2000:]}"


@pytest.mark.parametrize("descriptor, bad", [
    (MATCH, "x user"),
    (MATCH, "é"),
    (HEADER_KEY, "x:limited"),
], ids=["match-name-space", "match-name-non-ascii", "added-key-colon"])
def test_where_meshctl_is_stricter_than_envoy(envoy, meshctl, accepted, tmp_path, descriptor, bad):
    """Header names that are not RFC 9110 tokens: Envoy takes them in config, no request can carry them."""
    text = limiter(json.loads(json.dumps(descriptor).replace(PLACEHOLDER, "@@")))
    p = render(meshctl, text.replace('"@@"', json.dumps(bad)), tmp_path)
    assert p.returncode == 1 and "RFC 9110 token" in p.stderr, p.stderr[:2000]
    bad_ef, n = replace(copy.deepcopy(accepted(descriptor, False)[0]), PLACEHOLDER, bad)
    assert n >= 1
    _, boot = h.build(bad_ef)
    assert h.envoy_validate(envoy, boot).ok
