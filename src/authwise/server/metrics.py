"""Prometheus metrics: a registry per app, and a thin ASGI layer counting responses."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Metrics", "MetricsMiddleware"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "authwise_http_requests",
            "HTTP responses by method and status code.",
            ["method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "authwise_http_request_seconds",
            "Time to the first byte of the response.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.logins = Counter(
            "authwise_logins", "Sign-in attempts by outcome.", ["outcome"], registry=self.registry
        )
        self.tokens = Counter(
            "authwise_token_grants",
            "Token endpoint grants by type and outcome.",
            ["grant_type", "outcome"],
            registry=self.registry,
        )
        self.throttled = Counter(
            "authwise_throttled", "Requests refused with 429.", registry=self.registry
        )
        self.store_unavailable = Counter(
            "authwise_store_unavailable",
            "Requests answered 503 because a store could not be reached.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every HTTP response. Label children are cached: one dict lookup per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._children: dict[tuple[str, int], Counter] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method = scope["method"]

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                key = (method, message["status"])
                child = self._children.get(key)
                if child is None:
                    if len(self._children) > 256:  # methods are client-chosen: bound the labels
                        key = ("other", message["status"])
                    child = self.metrics.requests.labels(key[0], str(key[1]))
                    self._children[key] = child
                child.inc()
                self.metrics.latency.observe(time.perf_counter() - start)
            await send(message)

        await self.app(scope, receive, counted)
