"""The OpenAPI document is the contract: every route is in it, every path in it is a route."""

from __future__ import annotations

import re

from starlette.routing import Mount, Route

from authwise.server.spec import openapi_document

from .conftest import Server

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _spec_operations() -> set[tuple[str, str]]:
    document = openapi_document()
    return {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def _app_operations(server: Server) -> set[tuple[str, str]]:
    operations = set()
    for route in server.app.routes:
        if isinstance(route, Mount):
            assert route.path == "/static", "only the static files are mounted outside the spec"
            continue
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":
                operations.add((route.path, method))
    return operations


async def test_every_route_is_in_the_spec_and_back(server: Server) -> None:
    assert _app_operations(server) == _spec_operations()


async def test_served_document_is_the_repository_file(server: Server) -> None:
    response = await server.client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == openapi_document()
    assert response.json()["openapi"].startswith("3.1")


def test_every_operation_documents_its_errors() -> None:
    document = openapi_document()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "405" in responses, (path, method)
            if operation.get("security") and operation["security"] != [{}, {"clientBasic": []}]:
                assert {"401", "303"} & set(responses), (path, method)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), (path, method)
            for status, response in responses.items():
                if re.fullmatch(r"[45]\d\d", status) and "content" in response:
                    assert set(response["content"]) <= {"application/json", "text/html"}


def test_schema_references_resolve() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    text = str(document)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in schemas
