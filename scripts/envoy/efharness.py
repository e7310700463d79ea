#!/usr/bin/env python3
"""Place Istio EnvoyFilter patches into a static Envoy bootstrap, the way Istio would apply them.

An EnvoyFilter is a list of patches, not an Envoy config. To let a real (upstream) Envoy judge it,
this module builds a small mesh topology that looks like what istiod generates (an inbound, an
outbound and a gateway HttpConnectionManager, each with its route configuration, virtual hosts
and routes, named as Istio names them), applies every patch to it with Istio's matching rules and
proto-merge semantics, and emits a bootstrap for `envoy --mode validate` or for a real run.

A patch whose match selects nothing is an error here (Istio would silently skip it).

Usage as a tool:
    meshctl render x.yaml | python scripts/envoy/efharness.py --envoy PATH/TO/envoy -
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import yaml

HCM = "envoy.filters.network.http_connection_manager"
HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = "envoy.filters.http.router"
ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
CONTEXTS = ("SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY")
# Older Istio/Slime filter names (ENVOY_FILTER_NAME_LEGACY) that Istio maps to the canonical ones.
LEGACY_NAMES = {"envoy.http_connection_manager": HCM, "envoy.router": ROUTER}
DEFAULT_PORT = {"SIDECAR_INBOUND": 9080, "SIDECAR_OUTBOUND": 9080, "GATEWAY": 8080}
DEFAULT_HOST = "reviews.default.svc.cluster.local"


class HarnessError(Exception):
    """The EnvoyFilter cannot be placed: bad shape, unsupported feature, or a match that hits nothing."""


# ---------------------------------------------------------------------------------------------
# Input


def load_docs(text: str) -> list[dict]:
    """All non-empty YAML documents of a multi-document stream."""
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    for i, d in enumerate(docs):
        if not isinstance(d, dict):
            raise HarnessError(f"document {i}: expected a mapping, got {type(d).__name__}")
    return docs


# Plain scalars that YAML 1.1 readers (Kubernetes' sigs.k8s.io/yaml, Envoy's yaml-cpp) take as booleans,
# while YAML 1.2 emitters print them unquoted as strings.
_YAML11_BOOL = re.compile(r"^(?:\s*-\s+|\s*[^\s'\"#][^:#]*:\s+)(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)\s*$")


def yaml11_ambiguities(text: str) -> list[str]:
    """Lines whose unquoted value is a string to a YAML 1.2 reader but a boolean to Kubernetes and Envoy."""
    return [f"line {i}: {line.strip()!r}" for i, line in enumerate(text.splitlines(), 1) if _YAML11_BOOL.match(line)]


def envoy_filters(docs: Iterable[dict]) -> list[dict]:
    return [d for d in docs if d.get("kind") == "EnvoyFilter"]


def ef_name(ef: dict) -> str:
    md = ef.get("metadata") or {}
    return f"{md.get('namespace', 'default')}/{md.get('name', '?')}"


RLS_UNITS = {"SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "YEAR"}
RLS_DESCRIPTOR_KEYS = {"key", "value", "rate_limit", "descriptors", "shadow_mode", "detailed_metric"}
RLS_LIMIT_KEYS = {"requests_per_unit", "unit", "unlimited", "name", "replaces"}


def rls_config(cm: dict) -> dict:
    """The parsed envoyproxy/ratelimit config of a ConfigMap (after check_rls_configmap)."""
    return yaml.safe_load((cm.get("data") or {}).get("config.yaml") or "") or {}


def check_rls_configmap(cm: dict) -> list[str]:
    """Checks an envoyproxy/ratelimit ConfigMap (data.config.yaml); returns the descriptor values."""
    name = ((cm.get("metadata") or {}).get("name")) or "?"
    data = cm.get("data") or {}
    if "config.yaml" not in data:
        raise HarnessError(f"ConfigMap {name}: no data['config.yaml']")
    try:
        cfg = yaml.safe_load(data["config.yaml"])
    except yaml.YAMLError as e:
        raise HarnessError(f"ConfigMap {name}: config.yaml is not YAML: {e}") from e
    if not isinstance(cfg, dict) or not isinstance(cfg.get("domain"), str) or not cfg["domain"]:
        raise HarnessError(f"ConfigMap {name}: config.yaml needs a non-empty 'domain'")
    unknown = set(cfg) - {"domain", "descriptors"}
    if unknown:
        raise HarnessError(f"ConfigMap {name}: unknown top-level keys {sorted(unknown)}")
    values: list[str] = []

    def walk(descs: Any, path: str) -> None:
        if not isinstance(descs, list):
            raise HarnessError(f"ConfigMap {name}: {path} must be a list")
        for i, d in enumerate(descs):
            p = f"{path}[{i}]"
            if not isinstance(d, dict) or not isinstance(d.get("key"), str) or not d["key"]:
                raise HarnessError(f"ConfigMap {name}: {p} needs a non-empty string 'key'")
            bad = set(d) - RLS_DESCRIPTOR_KEYS
            if bad:
                raise HarnessError(f"ConfigMap {name}: {p} has unknown keys {sorted(bad)}")
            if "value" in d:
                values.append(str(d["value"]))
            rl = d.get("rate_limit")
            if rl is not None:
                if not isinstance(rl, dict) or set(rl) - RLS_LIMIT_KEYS:
                    raise HarnessError(f"ConfigMap {name}: {p}.rate_limit has unknown keys")
                if not rl.get("unlimited"):
                    if rl.get("unit") not in RLS_UNITS:
                        raise HarnessError(f"ConfigMap {name}: {p}.rate_limit.unit {rl.get('unit')!r} is not a unit")
                    rpu = rl.get("requests_per_unit")
                    if not isinstance(rpu, int) or isinstance(rpu, bool) or rpu < 0:
                        raise HarnessError(f"ConfigMap {name}: {p}.rate_limit.requests_per_unit must be an integer >= 0")
            if "descriptors" in d:
                walk(d["descriptors"], p + ".descriptors")
            elif rl is None:
                raise HarnessError(f"ConfigMap {name}: {p} is a leaf without rate_limit")

    walk(cfg.get("descriptors") or [], "descriptors")
    return values


# ---------------------------------------------------------------------------------------------
# Proto-style merge


def _snake(k: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), k)


def _find_key(d: dict, k: str) -> str | None:
    if k in d:
        return k
    sk = _snake(k)
    for existing in d:
        if _snake(existing) == sk:
            return existing
    return None


def _is_any(v: Any) -> bool:
    return isinstance(v, dict) and "@type" in v


def proto_merge(dst: dict, src: dict) -> None:
    """proto.Merge on the JSON form: messages merge recursively, repeated fields append, scalars and
    `Any` values (which carry '@type') are replaced. snake_case and lowerCamel spellings of a field are
    the same field, as in Envoy's parser."""
    for k, v in src.items():
        ek = _find_key(dst, k)
        if ek is None:
            dst[k] = copy.deepcopy(v)
            continue
        cur = dst[ek]
        if isinstance(cur, dict) and isinstance(v, dict) and not _is_any(cur) and not _is_any(v):
            proto_merge(cur, v)
        elif isinstance(cur, list) and isinstance(v, list):
            cur.extend(copy.deepcopy(v))
        else:
            dst[ek] = copy.deepcopy(v)


# ---------------------------------------------------------------------------------------------
# Topology (what istiod would have generated for the proxy)


@dataclass
class Route:
    name: str
    cluster: str
    config: dict = field(default_factory=dict)  # extra Route fields merged by patches


@dataclass
class VHost:
    name: str
    routes: list[Route] = field(default_factory=list)
    config: dict = field(default_factory=dict)

    def route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)


@dataclass
class RouteConfig:
    name: str
    vhosts: list[VHost] = field(default_factory=list)
    config: dict = field(default_factory=dict)

    def vhost(self, name: str) -> VHost | None:
        return next((v for v in self.vhosts if v.name == name), None)


@dataclass
class Listener:
    context: str
    port: int  # the mesh port Istio would match portNumber against
    rc: RouteConfig
    http_filters: list[dict] = field(default_factory=list)
    network_filters_before: list[dict] = field(default_factory=list)
    network_filters_after: list[dict] = field(default_factory=list)
    hcm_extra: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        prefix = {"SIDECAR_INBOUND": "virtualInbound", "SIDECAR_OUTBOUND": "0.0.0.0", "GATEWAY": "0.0.0.0"}[self.context]
        return f"{prefix}_{self.port}"


@dataclass
class Topology:
    listeners: list[Listener] = field(default_factory=list)
    extra_clusters: list[dict] = field(default_factory=list)

    def of(self, context: str) -> list[Listener]:
        if context == "ANY":
            return list(self.listeners)
        return [l for l in self.listeners if l.context == context]


def _router() -> dict:
    return {"name": ROUTER, "typed_config": {"@type": ROUTER_TYPE}}


# Istio's naming, used to decide whether a name in a match could ever exist.
INBOUND_RC = re.compile(r"^inbound\|(\d+)\|\|$")
INBOUND_VH = re.compile(r"^inbound\|http\|(\d+)$")
HOSTPORT = re.compile(r"^([A-Za-z0-9*][A-Za-z0-9.*_-]*):(\d+)$")
GATEWAY_RC = re.compile(r"^(?:http|https)\.(\d+)(?:\..+)?$")


def _cluster_for(context: str, vhost: str, port: int) -> str:
    if context == "SIDECAR_INBOUND":
        return f"inbound|{port}||"
    m = HOSTPORT.match(vhost)
    host = m.group(1) if m and "*" not in m.group(1) else DEFAULT_HOST
    return f"outbound|{m.group(2) if m else port}||{host}"


def _rc_port(context: str, name: str) -> int:
    if context == "SIDECAR_INBOUND":
        m = INBOUND_RC.match(name)
        if not m:
            raise HarnessError(f"routeConfiguration.name {name!r}: Istio names inbound route configs 'inbound|PORT||'; it matches nothing")
        return int(m.group(1))
    if context == "SIDECAR_OUTBOUND":
        if name.isdigit():
            return int(name)
        m = HOSTPORT.match(name)
        if not m:
            raise HarnessError(f"routeConfiguration.name {name!r}: Istio names outbound route configs 'PORT' or 'host:PORT'; it matches nothing")
        return int(m.group(2))
    m = GATEWAY_RC.match(name)
    if not m:
        raise HarnessError(f"routeConfiguration.name {name!r}: Istio names gateway route configs 'http.PORT'; it matches nothing")
    return int(m.group(1))


def _default_rc_name(context: str, port: int) -> str:
    return {"SIDECAR_INBOUND": f"inbound|{port}||", "SIDECAR_OUTBOUND": str(port), "GATEWAY": f"http.{port}"}[context]


def _default_vhost(context: str, port: int) -> str:
    return {"SIDECAR_INBOUND": f"inbound|http|{port}", "SIDECAR_OUTBOUND": f"{DEFAULT_HOST}:{port}", "GATEWAY": f"*:{port}"}[context]


def _check_vhost_name(context: str, name: str) -> int | None:
    """The port a vhost name implies, or a HarnessError if Istio never generates such a name."""
    if context == "SIDECAR_INBOUND":
        m = INBOUND_VH.match(name)
        if not m:
            raise HarnessError(f"vhost.name {name!r}: Istio names inbound virtual hosts 'inbound|http|PORT'; it matches nothing")
        return int(m.group(1))
    if context == "SIDECAR_OUTBOUND" and name in ("allow_any", "block_all"):
        return None
    m = HOSTPORT.match(name)
    if not m:
        raise HarnessError(f"vhost.name {name!r}: Istio names {context.lower()} virtual hosts 'host:PORT'; it matches nothing")
    return int(m.group(2))


def _check_route_name(context: str, name: str) -> None:
    if context == "SIDECAR_INBOUND" and name != "default":
        raise HarnessError(f"route.name {name!r}: every Istio inbound HTTP route is named 'default'; it matches nothing")


def _ensure_listener(topo: Topology, context: str, rc_name: str, port: int) -> Listener:
    for l in topo.of(context):
        if l.rc.name == rc_name:
            return l
    l = Listener(context=context, port=port, rc=RouteConfig(rc_name), http_filters=[_router()])
    topo.listeners.append(l)
    return l


def _ensure_vhost(l: Listener, name: str) -> VHost:
    vh = l.rc.vhost(name)
    if vh is None:
        vh = VHost(name)
        l.rc.vhosts.append(vh)
    return vh


def _ensure_route(l: Listener, vh: VHost, name: str) -> Route:
    r = vh.route(name)
    if r is None:
        r = Route(name, _cluster_for(l.context, vh.name, l.port))
        vh.routes.append(r)
    return r


def _contexts(match: dict) -> list[str]:
    ctx = match.get("context", "ANY")
    if ctx not in CONTEXTS + ("ANY",):
        raise HarnessError(f"match.context {ctx!r} is not an Istio PatchContext")
    return list(CONTEXTS) if ctx == "ANY" else [ctx]


def derive_topology(efs: Iterable[dict]) -> Topology:
    """The smallest Istio-shaped topology in which every route-level name the patches mention exists,
    provided Istio could generate it (names Istio never generates are errors)."""
    topo = Topology()
    for ctx in CONTEXTS:
        port = DEFAULT_PORT[ctx]
        l = _ensure_listener(topo, ctx, _default_rc_name(ctx, port), port)
        _ensure_route(l, _ensure_vhost(l, _default_vhost(ctx, port)), "default")
    for ef in efs:
        for i, cp in enumerate((ef.get("spec") or {}).get("configPatches") or []):
            where = f"{ef_name(ef)} configPatches[{i}]"
            try:
                _derive_one(topo, cp)
            except HarnessError as e:
                raise HarnessError(f"{where}: {e}") from None
    return topo


def _derive_one(topo: Topology, cp: dict) -> None:
    apply_to = cp.get("applyTo")
    match = cp.get("match") or {}
    if apply_to in ("HTTP_FILTER", "NETWORK_FILTER", "LISTENER", "FILTER_CHAIN"):
        lm = match.get("listener") or {}
        port = lm.get("portNumber")
        for ctx in _contexts(match):
            if port and not any(l.port == port for l in topo.of(ctx)):
                _ensure_route(*_vh_of(_ensure_listener(topo, ctx, _default_rc_name(ctx, port), port), ctx, port))
        return
    if apply_to not in ("ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE"):
        return
    rcm = match.get("routeConfiguration") or {}
    vhm = rcm.get("vhost") or {}
    vh_name = vhm.get("name")
    route_name = (vhm.get("route") or {}).get("name")
    op = (cp.get("patch") or {}).get("operation")
    for ctx in _contexts(match):
        if match.get("context", "ANY") == "ANY":
            continue  # ANY matches whatever exists; it cannot tell us what should exist
        port = None
        rc_name = rcm.get("name")
        if rc_name:
            port = _rc_port(ctx, rc_name)
        if rcm.get("portNumber"):
            if port is not None and port != rcm["portNumber"]:
                raise HarnessError(f"routeConfiguration.name {rc_name!r} and portNumber {rcm['portNumber']} never coincide")
            port = rcm["portNumber"]
        vport = None
        if vh_name:
            vport = _check_vhost_name(ctx, vh_name)
            if ctx == "SIDECAR_INBOUND" and port is not None and vport != port:
                raise HarnessError(f"vhost {vh_name!r} is never inside inbound route config for port {port}")
        if route_name:
            _check_route_name(ctx, route_name)
        if port is None:
            port = vport or DEFAULT_PORT[ctx]
        l = _ensure_listener(topo, ctx, rc_name or _default_rc_name(ctx, port), port)
        if apply_to == "ROUTE_CONFIGURATION":
            continue
        if apply_to == "VIRTUAL_HOST" and op in ("ADD",):
            continue
        if vh_name:
            vh = _ensure_vhost(l, vh_name)
            if route_name or not vh.routes:
                _ensure_route(l, vh, route_name or "default")
        elif route_name:
            if not any(vh.route(route_name) for vh in l.rc.vhosts):
                vh = l.rc.vhosts[0] if l.rc.vhosts else _ensure_vhost(l, _default_vhost(ctx, port))
                _ensure_route(l, vh, route_name)
        elif not l.rc.vhosts:
            _ensure_route(l, _ensure_vhost(l, _default_vhost(ctx, port)), "default")


def _vh_of(l: Listener, ctx: str, port: int) -> tuple[Listener, VHost, str]:
    return l, _ensure_vhost(l, _default_vhost(ctx, port)), "default"


# ---------------------------------------------------------------------------------------------
# Applying patches


SUPPORTED_LISTENER_MATCH = {"portNumber", "name", "filterChain"}
SUPPORTED_CHAIN_MATCH = {"filter"}
SUPPORTED_FILTER_MATCH = {"name", "subFilter"}
SUPPORTED_RC_MATCH = {"name", "portNumber", "vhost"}
SUPPORTED_VH_MATCH = {"name", "route"}
SUPPORTED_ROUTE_MATCH = {"name", "action"}


def _only(d: dict, allowed: set[str], what: str) -> None:
    bad = set(d) - allowed
    if bad:
        raise HarnessError(f"{what} keys {sorted(bad)} are not supported by this harness")


def _canon(name: str | None) -> str | None:
    return LEGACY_NAMES.get(name, name) if name else name


def _listeners_for(topo: Topology, match: dict) -> list[tuple[Listener, dict]]:
    lm = match.get("listener") or {}
    _only(lm, SUPPORTED_LISTENER_MATCH, "match.listener")
    out = []
    for ctx in _contexts(match):
        for l in topo.of(ctx):
            if lm.get("portNumber") and lm["portNumber"] != l.port:
                continue
            if lm.get("name") and lm["name"] != l.name:
                continue
            out.append((l, lm))
    return out


def _filter_match(lm: dict) -> tuple[str | None, str | None]:
    fc = lm.get("filterChain") or {}
    _only(fc, SUPPORTED_CHAIN_MATCH, "match.listener.filterChain")
    fm = fc.get("filter") or {}
    _only(fm, SUPPORTED_FILTER_MATCH, "match.listener.filterChain.filter")
    sub = fm.get("subFilter") or {}
    _only(sub, {"name"}, "match.listener.filterChain.filter.subFilter")
    return _canon(fm.get("name")), _canon(sub.get("name"))


def _named(value: dict, what: str) -> dict:
    if not isinstance(value, dict) or not value.get("name"):
        raise HarnessError(f"{what} patch value needs a 'name'")
    return copy.deepcopy(value)


def _apply_http_filter(topo: Topology, match: dict, op: str, value: Any) -> int:
    hits = 0
    for l, lm in _listeners_for(topo, match):
        fname, sub = _filter_match(lm)
        if fname and fname != HCM:
            continue  # this topology has only HTTP connection managers
        names = [f["name"] for f in l.http_filters]
        if op in ("INSERT_BEFORE", "INSERT_AFTER", "REMOVE", "MERGE", "REPLACE"):
            if not sub:
                if op in ("INSERT_BEFORE", "INSERT_AFTER", "MERGE", "REPLACE", "REMOVE"):
                    raise HarnessError(f"HTTP_FILTER {op} needs match.listener.filterChain.filter.subFilter.name")
            if sub not in names:
                continue
            idx = names.index(sub)
            if op == "INSERT_BEFORE":
                l.http_filters.insert(idx, _named(value, "HTTP_FILTER"))
            elif op == "INSERT_AFTER":
                l.http_filters.insert(idx + 1, _named(value, "HTTP_FILTER"))
            elif op == "REMOVE":
                del l.http_filters[idx]
            elif op == "REPLACE":
                l.http_filters[idx] = _named(value, "HTTP_FILTER")
            else:
                proto_merge(l.http_filters[idx], value)
        elif op == "INSERT_FIRST":
            l.http_filters.insert(0, _named(value, "HTTP_FILTER"))
        elif op == "ADD":
            l.http_filters.append(_named(value, "HTTP_FILTER"))
        else:
            raise HarnessError(f"HTTP_FILTER operation {op!r} is not an Istio operation")
        hits += 1
    return hits


def _apply_network_filter(topo: Topology, match: dict, op: str, value: Any) -> int:
    hits = 0
    for l, lm in _listeners_for(topo, match):
        fname, sub = _filter_match(lm)
        if sub:
            raise HarnessError("NETWORK_FILTER match must not name a subFilter")
        if op == "INSERT_FIRST":
            l.network_filters_before.insert(0, _named(value, "NETWORK_FILTER"))
        elif op == "INSERT_BEFORE" and fname == HCM:
            l.network_filters_before.append(_named(value, "NETWORK_FILTER"))
        elif op in ("INSERT_AFTER", "ADD") and (fname == HCM or op == "ADD"):
            l.network_filters_after.append(_named(value, "NETWORK_FILTER"))
        elif op == "MERGE" and fname == HCM:
            proto_merge(l.hcm_extra, (value or {}).get("typed_config", (value or {}).get("typedConfig", {})))
        elif fname and fname != HCM:
            # a filter before/after an inserted one
            seq = l.network_filters_before + l.network_filters_after
            if not any(f["name"] == fname for f in seq):
                continue
            tgt = l.network_filters_before if any(f["name"] == fname for f in l.network_filters_before) else l.network_filters_after
            idx = [f["name"] for f in tgt].index(fname)
            if op == "INSERT_BEFORE":
                tgt.insert(idx, _named(value, "NETWORK_FILTER"))
            elif op == "INSERT_AFTER":
                tgt.insert(idx + 1, _named(value, "NETWORK_FILTER"))
            elif op == "REMOVE":
                del tgt[idx]
            elif op == "MERGE":
                proto_merge(tgt[idx], value)
            else:
                continue
        else:
            continue
        hits += 1
    return hits


def _rc_targets(topo: Topology, match: dict) -> list[Listener]:
    rcm = match.get("routeConfiguration") or {}
    _only(rcm, SUPPORTED_RC_MATCH, "match.routeConfiguration")
    out = []
    for ctx in _contexts(match):
        for l in topo.of(ctx):
            if rcm.get("name") and rcm["name"] != l.rc.name:
                continue
            if rcm.get("portNumber") and rcm["portNumber"] != l.port:
                continue
            out.append(l)
    return out


def _vh_targets(topo: Topology, match: dict) -> list[tuple[Listener, VHost]]:
    vhm = (match.get("routeConfiguration") or {}).get("vhost") or {}
    _only(vhm, SUPPORTED_VH_MATCH, "match.routeConfiguration.vhost")
    return [(l, vh) for l in _rc_targets(topo, match) for vh in l.rc.vhosts if not vhm.get("name") or vhm["name"] == vh.name]


def _route_targets(topo: Topology, match: dict) -> list[tuple[VHost, int]]:
    rm = ((match.get("routeConfiguration") or {}).get("vhost") or {}).get("route") or {}
    _only(rm, SUPPORTED_ROUTE_MATCH, "match.routeConfiguration.vhost.route")
    if rm.get("action", "ANY") not in ("ANY", "ROUTE"):
        return []  # every route of this topology is a ROUTE action
    out = []
    for _, vh in _vh_targets(topo, match):
        for i, r in enumerate(vh.routes):
            if not rm.get("name") or rm["name"] == r.name:
                out.append((vh, i))
    return out


def _apply_route_level(topo: Topology, apply_to: str, match: dict, op: str, value: Any) -> int:
    if apply_to == "ROUTE_CONFIGURATION":
        targets = _rc_targets(topo, match)
        if op != "MERGE":
            raise HarnessError(f"ROUTE_CONFIGURATION supports only MERGE, not {op!r}")
        for l in targets:
            proto_merge(l.rc.config, value)
        return len(targets)
    if apply_to == "VIRTUAL_HOST":
        if op == "ADD":
            rcs = _rc_targets(topo, match)
            for l in rcs:
                v = _named(value, "VIRTUAL_HOST")
                l.rc.vhosts.append(VHost(v.pop("name"), routes=[], config=v))
            return len(rcs)
        targets = _vh_targets(topo, match)
        for l, vh in targets:
            if op == "MERGE":
                proto_merge(vh.config, value)
            elif op == "REMOVE":
                l.rc.vhosts.remove(vh)
            else:
                raise HarnessError(f"VIRTUAL_HOST operation {op!r} is not supported")
        return len(targets)
    targets = _route_targets(topo, match)
    for vh, i in reversed(targets):  # reversed keeps indexes valid while inserting
        r = vh.routes[i]
        if op == "MERGE":
            proto_merge(r.config, value)
        elif op == "REMOVE":
            del vh.routes[i]
        elif op in ("INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST", "ADD"):
            v = _named(value, "HTTP_ROUTE")
            nr = Route(v.pop("name"), cluster="", config=v)
            pos = {"INSERT_BEFORE": i, "INSERT_AFTER": i + 1, "INSERT_FIRST": 0, "ADD": len(vh.routes)}[op]
            vh.routes.insert(pos, nr)
        else:
            raise HarnessError(f"HTTP_ROUTE operation {op!r} is not supported")
    return len(targets)


def _apply_cluster(topo: Topology, match: dict, op: str, value: Any) -> int:
    if op == "ADD":
        topo.extra_clusters.append(_named(value, "CLUSTER"))
        return 1
    cm = match.get("cluster") or {}
    _only(cm, {"name"}, "match.cluster")
    hits = [c for c in topo.extra_clusters if not cm.get("name") or c["name"] == cm["name"]]
    for c in hits:
        if op == "MERGE":
            proto_merge(c, value)
        elif op == "REMOVE":
            topo.extra_clusters.remove(c)
        else:
            raise HarnessError(f"CLUSTER operation {op!r} is not supported")
    return len(hits)


def apply_envoy_filter(topo: Topology, ef: dict) -> None:
    spec = ef.get("spec")
    if not isinstance(spec, dict):
        raise HarnessError(f"{ef_name(ef)}: no spec")
    patches = spec.get("configPatches")
    if not isinstance(patches, list) or not patches:
        raise HarnessError(f"{ef_name(ef)}: spec.configPatches must be a non-empty list")
    for i, cp in enumerate(patches):
        where = f"{ef_name(ef)} configPatches[{i}]"
        if not isinstance(cp, dict):
            raise HarnessError(f"{where}: not a mapping")
        apply_to = cp.get("applyTo")
        match = cp.get("match") or {}
        patch = cp.get("patch") or {}
        op = patch.get("operation")
        value = patch.get("value")
        if op != "REMOVE" and not isinstance(value, dict):
            raise HarnessError(f"{where}: patch.value must be a mapping")
        try:
            if apply_to == "HTTP_FILTER":
                hits = _apply_http_filter(topo, match, op, value)
            elif apply_to == "NETWORK_FILTER":
                hits = _apply_network_filter(topo, match, op, value)
            elif apply_to in ("ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE"):
                hits = _apply_route_level(topo, apply_to, match, op, value)
            elif apply_to == "CLUSTER":
                hits = _apply_cluster(topo, match, op, value)
            else:
                raise HarnessError(f"applyTo {apply_to!r} is not supported by this harness")
        except HarnessError as e:
            raise HarnessError(f"{where}: {e}") from None
        if hits == 0:
            raise HarnessError(f"{where}: {apply_to} {op} matches nothing (Istio would silently skip it): match={match}")


# ---------------------------------------------------------------------------------------------
# Bootstrap


def _find_grpc_clusters(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if _snake(k) == "envoy_grpc" and isinstance(v, dict):
                name = v.get("cluster_name", v.get("clusterName"))
                if name:
                    out.add(name)
            _find_grpc_clusters(v, out)
    elif isinstance(node, list):
        for v in node:
            _find_grpc_clusters(v, out)


def _static_cluster(name: str, port: int, http2: bool = False) -> dict:
    c = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}],
        },
    }
    if http2:
        c["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    return c


def _vhost_domains(l: Listener, vh: VHost, index: int) -> list[str]:
    if l.context == "SIDECAR_INBOUND" or vh.name == "allow_any":
        return ["*"] if index == 0 else [f"vh{index}.invalid"]
    m = HOSTPORT.match(vh.name)
    if m:
        host, port = m.group(1), m.group(2)
        return [host, f"{host}:{port}"] if host != "*" else ["*"]
    return [f"vh{index}.invalid"]


def bootstrap(topo: Topology, bind_ports: Callable[[Listener], int] | None = None,
              upstream_port: int = 1, rls_port: int = 2, admin_port: int = 0,
              access_log: bool = False) -> dict:
    """The static bootstrap. Every route cluster is a static cluster to 127.0.0.1:upstream_port;
    every envoy_grpc cluster named in the config is an HTTP/2 cluster to 127.0.0.1:rls_port."""
    listeners, clusters = [], {}
    for i, l in enumerate(topo.listeners):
        rc = {"name": l.rc.name, "virtual_hosts": []}
        domains_seen: set[str] = set()
        for j, vh in enumerate(l.rc.vhosts):
            routes = []
            named = [r for r in vh.routes if r.name != "default"] + [r for r in vh.routes if r.name == "default"]
            for r in named:
                route = {"name": r.name, "match": {"prefix": "/" if r.name == "default" else f"/{r.name}"}}
                if r.cluster:
                    route["route"] = {"cluster": r.cluster, "timeout": "0s"}
                    clusters.setdefault(r.cluster, _static_cluster(r.cluster, upstream_port))
                proto_merge(route, r.config)
                routes.append(route)
            doms = [d for d in _vhost_domains(l, vh, j) if d not in domains_seen] or [f"vh{j}.invalid"]
            domains_seen.update(doms)
            v = {"name": vh.name, "domains": doms, "routes": routes}
            proto_merge(v, vh.config)
            rc["virtual_hosts"].append(v)
        proto_merge(rc, l.rc.config)
        hcm = {
            "@type": HCM_TYPE,
            "stat_prefix": f"{l.context.lower()}_{l.port}",
            "route_config": rc,
            "http_filters": copy.deepcopy(l.http_filters),
        }
        if access_log:
            hcm["access_log"] = [{"name": "envoy.access_loggers.stderr", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog"}}]
        proto_merge(hcm, l.hcm_extra)
        filters = copy.deepcopy(l.network_filters_before) + [{"name": HCM, "typed_config": hcm}] + copy.deepcopy(l.network_filters_after)
        port = bind_ports(l) if bind_ports else 20000 + i
        listeners.append({
            "name": l.name,
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [{"filters": filters}],
        })
    for c in topo.extra_clusters:
        clusters[c["name"]] = copy.deepcopy(c)
    grpc: set[str] = set()
    _find_grpc_clusters(listeners, grpc)
    for name in sorted(grpc):
        clusters.setdefault(name, _static_cluster(name, rls_port, http2=True))
    return {
        "node": {"id": "meshplane-harness", "cluster": "meshplane"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {"listeners": listeners, "clusters": list(clusters.values())},
    }


def build(ef: dict, topology: Topology | None = None, **kw: Any) -> tuple[Topology, dict]:
    """Topology (derived from the EnvoyFilter unless given) with the EnvoyFilter applied, and its bootstrap."""
    topo = topology if topology is not None else derive_topology([ef])
    apply_envoy_filter(topo, ef)
    return topo, bootstrap(topo, **kw)


# ---------------------------------------------------------------------------------------------
# Semantic cross-checks Envoy cannot make: a local descriptor no route action produces never applies.

LOCAL_RL = "envoy.filters.http.local_ratelimit"
# Entry keys Slime's own route actions produce; other keys (custom_key) get their action from elsewhere.
SLIME_KEYS = {"generic_key", "header_match", "query_match", "remote_address", "body_match"}
WILDCARD = None  # an action whose descriptor value comes from the request (remote_address, request_headers)


def _get(d: dict, key: str, default: Any = None) -> Any:
    k = _find_key(d, key)
    return d[k] if k is not None else default


def _action_entries(actions: list) -> list[tuple[str, str | None]] | None:
    """The descriptor entries Envoy builds from one rate_limits entry (None if an action is unknown here)."""
    out: list[tuple[str, str | None]] = []
    for a in actions:
        if not isinstance(a, dict) or len(a) != 1:
            return None
        (kind, body), = a.items()
        kind, body = _snake(kind), body or {}
        if kind == "generic_key":
            out.append((_get(body, "descriptor_key") or "generic_key", _get(body, "descriptor_value")))
        elif kind == "header_value_match":
            out.append((_get(body, "descriptor_key") or "header_match", _get(body, "descriptor_value")))
        elif kind == "query_parameter_value_match":
            out.append((_get(body, "descriptor_key") or "query_match", _get(body, "descriptor_value")))
        elif kind == "remote_address":
            out.append(("remote_address", WILDCARD))
        elif kind == "request_headers":
            out.append((_get(body, "descriptor_key"), WILDCARD))
        elif kind in ("source_cluster", "destination_cluster"):
            out.append((kind, WILDCARD))
        else:
            return None
    return out


def _local_value(cfg: Any) -> dict | None:
    if not isinstance(cfg, dict):
        return None
    if cfg.get("@type", "").endswith("TypedStruct"):
        return cfg.get("value") or {}
    return cfg


def _produces(produced: list[tuple[str, str | None]], wanted: list[dict]) -> bool:
    if len(produced) != len(wanted):
        return False
    for (k, v), e in zip(produced, wanted):
        if k != e.get("key"):
            return False
        if v is not WILDCARD and e.get("value", "") not in ("", v):
            return False
    return True


def lint_local_descriptors(boot: dict) -> list[str]:
    """For every route (and vhost) carrying per-route LocalRateLimit descriptors: each descriptor must be
    produced by some rate_limits entry that applies there (route entries, else the vhost's), or it never
    limits anything."""
    problems = []
    for l in boot["static_resources"]["listeners"]:
        for f in l["filter_chains"][0]["filters"]:
            rc = (f.get("typed_config") or {}).get("route_config")
            if not rc:
                continue
            for vh in rc.get("virtual_hosts", []):
                vh_limits = _get(vh, "rate_limits", [])
                vh_cfg = _local_value(_get(vh, "typed_per_filter_config", {}).get(LOCAL_RL))
                for r in vh.get("routes", []):
                    cfg = _local_value(_get(r, "typed_per_filter_config", {}).get(LOCAL_RL)) or vh_cfg
                    if not cfg:
                        continue
                    limits = _get(_get(r, "route", {}), "rate_limits", []) or vh_limits
                    produced = [_action_entries(_get(rl, "actions", [])) for rl in limits]
                    if any(p is None for p in produced):
                        continue  # an action this check does not model: do not guess
                    for i, d in enumerate(_get(cfg, "descriptors", [])):
                        if any(e.get("key") not in SLIME_KEYS for e in d.get("entries", [])):
                            continue  # custom_key/custom_value: the action comes from elsewhere (an EnvoyPlugin)
                        if not any(_produces(p, d.get("entries", [])) for p in produced):
                            problems.append(f"listener {l['name']} vhost {vh['name']} route {r.get('name')}: local "
                                            f"descriptor {i} {d.get('entries')} is produced by no rate_limits action")
    return problems


def lint_global_descriptors(boot: dict, configmap_trees: list[dict]) -> list[str]:
    """Every descriptor the route actions send to the RLS must have a matching path in the RLS config."""
    problems = []
    trees = [t for t in configmap_trees if t]
    if not trees:
        return problems
    for l in boot["static_resources"]["listeners"]:
        for f in l["filter_chains"][0]["filters"]:
            rc = (f.get("typed_config") or {}).get("route_config")
            if not rc:
                continue
            for vh in rc.get("virtual_hosts", []):
                for r in vh.get("routes", []):
                    for rl in _get(_get(r, "route", {}), "rate_limits", []) or _get(vh, "rate_limits", []):
                        entries = _action_entries(_get(rl, "actions", []))
                        if entries and not any(_rls_matches(t.get("descriptors") or [], entries) for t in trees):
                            problems.append(f"vhost {vh['name']} route {r.get('name')}: descriptor {entries} has "
                                            "no rate limit in the RLS ConfigMap")
    return problems


def _rls_matches(nodes: list, entries: list[tuple[str, str | None]]) -> bool:
    if not entries:
        return False
    (k, v), rest = entries[0], entries[1:]
    for n in nodes:
        if n.get("key") != k:
            continue
        if "value" in n and v is not WILDCARD and str(n["value"]) != v:
            continue
        if not rest:
            if "rate_limit" in n:
                return True
        elif _rls_matches(n.get("descriptors") or [], rest):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Running Envoy


@dataclass
class Verdict:
    ok: bool
    output: str


def envoy_validate(envoy: str, boot: dict, workdir: str | None = None, timeout: float = 60) -> Verdict:
    """`envoy --mode validate -c bootstrap.yaml -l critical`: exit 0 and Envoy's message."""
    with tempfile.TemporaryDirectory(dir=workdir) as d:
        path = os.path.join(d, "bootstrap.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(boot, f, sort_keys=False)
        p = subprocess.run([envoy, "--mode", "validate", "-c", path, "-l", "critical"],
                           capture_output=True, text=True, timeout=timeout)
    return Verdict(p.returncode == 0, (p.stdout + p.stderr).strip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--envoy", action="append", required=True, help="envoy binary (repeat for several versions)")
    ap.add_argument("--dump", metavar="DIR", help="also write each bootstrap to DIR")
    ap.add_argument("files", nargs="+", help="multi-document YAML files ('-' = stdin)")
    args = ap.parse_args(argv)
    failed = 0
    for fn in args.files:
        text = sys.stdin.read() if fn == "-" else open(fn).read()
        try:
            docs = load_docs(text)
            for d in docs:
                if d.get("kind") == "ConfigMap":
                    check_rls_configmap(d)
            trees = [rls_config(d) for d in docs if d.get("kind") == "ConfigMap"]
            efs = envoy_filters(docs)
            if not efs:
                raise HarnessError("no EnvoyFilter in the input")
            ambiguous = yaml11_ambiguities(text)
            if ambiguous:
                raise HarnessError(f"unquoted strings that kubectl and Envoy read as booleans: {ambiguous}")
        except HarnessError as e:
            print(f"FAIL {fn}: {e}")
            failed += 1
            continue
        for ef in efs:
            try:
                _, boot = build(ef)
            except HarnessError as e:
                print(f"FAIL {fn} {ef_name(ef)}: {e}")
                failed += 1
                continue
            problems = lint_local_descriptors(boot) + lint_global_descriptors(boot, trees)
            if problems:
                print(f"FAIL {fn} {ef_name(ef)}: " + "; ".join(problems))
                failed += 1
            if args.dump:
                os.makedirs(args.dump, exist_ok=True)
                with open(os.path.join(args.dump, ef_name(ef).replace("/", "_") + ".bootstrap.yaml"), "w") as f:
                    yaml.safe_dump(boot, f, sort_keys=False)
            for envoy in args.envoy:
                v = envoy_validate(envoy, boot)
                print(f"{'ok  ' if v.ok else 'FAIL'} {fn} {ef_name(ef)} [{envoy}]" + ("" if v.ok else f"\n{v.output}"))
                failed += not v.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
