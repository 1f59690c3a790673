"""The declaration: variant paths come from the router, so each is written once."""

import importlib.util
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from fastapi import APIRouter

from bench_app.technique import RequestBody, Technique
from bench_app.techniques import all_techniques
from tests.demo_technique import demo_technique

router = APIRouter(prefix="/demo")


@router.get("/naive")
async def naive(size: int = 1) -> int:
    return size


@router.get("/fast-path")
async def fast_path(size: int = 1) -> int:
    return size


def declare(*variants: str) -> Technique:
    return demo_technique("demo", router, variants, baseline="naive", params={"size": 3})


def test_a_variant_path_is_its_route_of_the_same_name() -> None:
    technique = declare("naive", "fast_path")
    assert technique.paths == {"naive": "/demo/naive", "fast_path": "/demo/fast-path"}
    assert technique.url("fast_path") == "/demo/fast-path?size=3"
    assert technique.url("naive", {"size": 9}) == "/demo/naive?size=9"


def test_a_variant_without_a_route_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="no route named slow_path"):
        declare("naive", "slow_path")


def test_every_registered_variant_has_a_route() -> None:
    for technique in all_techniques().values():
        assert list(technique.paths) == list(technique.variants), technique.key


def test_every_declared_workload_module_exists() -> None:
    # Found, not imported: importing Locust would monkey-patch this test process for gevent.
    for technique in all_techniques().values():
        for module in (technique.scenario, technique.micro):
            assert module is None or importlib.util.find_spec(module) is not None, module


def test_a_variant_is_a_get_unless_the_technique_declares_a_body() -> None:
    plain = declare("naive", "fast_path").request("naive")
    assert (plain.method, plain.url, plain.content, plain.headers) == (
        "GET",
        "/demo/naive?size=3",
        None,
        {},
    )

    def body(params: Mapping[str, Any]) -> RequestBody:
        return RequestBody(f"size={params['size']}".encode(), "text/plain")

    upload = replace(declare("naive", "fast_path"), request_body=body)
    posted = upload.request("fast_path", {"size": 7})
    assert (posted.method, posted.url) == ("POST", "/demo/fast-path?size=7")
    assert posted.content == b"size=7"
    assert posted.headers == {"content-type": "text/plain"}


def test_a_path_parameter_is_filled_from_the_params() -> None:
    users = APIRouter(prefix="/demo")

    @users.get("/naive/users/{user_id}")
    async def naive(user_id: int, detail: str = "short") -> int:
        return user_id

    technique = demo_technique("demo", users, ("naive",), baseline="naive", params={"user_id": 7})
    assert technique.url("naive") == "/demo/naive/users/7"
    assert technique.url("naive", {"user_id": "a/b", "detail": "long"}) == (
        "/demo/naive/users/a%2Fb?detail=long"
    )
    with pytest.raises(ValueError, match="no value for the path parameter {user_id}"):
        technique.url("naive", {"detail": "long"})


def test_a_target_is_the_variants_route_and_its_params() -> None:
    technique = declare("naive", "fast_path")
    assert technique.target("naive").path == "/demo/naive"
    assert technique.target("naive").params == {"size": 3}  # the defaults
    assert technique.target("naive", {"size": 9}).url == "/demo/naive?size=9"


def test_a_bystander_route_is_declared_by_name_and_must_exist() -> None:
    mixed = APIRouter(prefix="/mixed")

    @mixed.get("/naive")
    async def naive() -> bool:
        return True

    @mixed.get("/bystander")
    async def bystander() -> bool:
        return True

    technique = replace(declare("naive"), router=mixed, params={}, bystander="bystander")
    assert technique.bystander_target().url == "/mixed/bystander"
    assert technique.route_target("naive", {"size": 2}).url == "/mixed/naive?size=2"
    with pytest.raises(ValueError, match="no route named idle"):
        replace(technique, bystander="idle")
    with pytest.raises(ValueError, match="declares no bystander route"):
        declare("naive").bystander_target()


def test_every_registered_bystander_is_a_route_apart_from_the_variants() -> None:
    mixed = [technique for technique in all_techniques().values() if technique.bystander]
    assert mixed, "event_loop_blocking and upstream_timeouts declare one"
    for technique in mixed:
        assert technique.bystander_target().path not in technique.paths.values(), technique.key


def test_the_techniques_headers_go_with_every_request_the_harness_makes() -> None:
    caller = {"x-user-id": "7"}
    technique = replace(declare("naive"), request_headers=caller)
    assert technique.request("naive").headers == caller


def test_a_burst_needs_the_declared_errors_it_compares() -> None:
    with pytest.raises(ValueError, match="needs the contract_errors"):
        replace(declare("naive"), equivalence_burst=8)


def test_a_sweeps_named_starts_and_work_unit_must_be_its_params() -> None:
    swept = replace(declare("naive"), sweep={"size": [1, 9]})
    assert replace(swept, sweep_from={"big": {"size": 5}}, work_unit="size").work_unit == "size"
    with pytest.raises(ValueError, match="sweep_from names starting points of no sweep"):
        replace(declare("naive"), sweep_from={"big": {"size": 5}})
    with pytest.raises(ValueError, match="colour is not one of its params"):
        replace(swept, sweep_from={"red": {"colour": "red"}})
    with pytest.raises(ValueError, match="jobs is not one of its params"):
        replace(swept, work_unit="jobs")
