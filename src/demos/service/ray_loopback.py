"""Keep a local Ray cluster's servers on 127.0.0.1: the book's rule for tests and notebooks.

Ray 2.60 binds its gRPC servers to the node address, which it resolves to the host's
address even when told ``127.0.0.1``; and Serve binds each replica's inter-deployment gRPC
server to every interface. Two switches, each checked by tests/test_service_ray.py, which
lists every listening socket of the cluster's processes:

- :func:`loopback_node` makes the node address 127.0.0.1, for ``ray.init`` (GCS, raylet,
  object manager, agents, workers, Serve's controller and proxy);
- :func:`replica_server_on_loopback`, called in a replica, binds its inter-deployment
  server to 127.0.0.1 instead of ``[::]``.
"""

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import ray

__all__ = ["environment", "loopback_node", "replica_server_on_loopback"]


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """``os.environ`` updated with ``values`` (which Ray's processes inherit), then restored."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


@contextlib.contextmanager
def loopback_node() -> Iterator[None]:
    """Ray's node address is 127.0.0.1 for a ``ray.init`` run while this lasts.

    ``ray._private.services.get_node_ip_address`` gives the host's address (even for a
    ``_node_ip_address="127.0.0.1"``, through ``resolve_ip_for_localhost``) unless
    ``ray_constants.ENABLE_RAY_CLUSTER`` is false, which Ray reads from
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` once, when ``ray`` is imported: so the variable is
    set for Ray's processes, and the constant for this one.
    """
    constants = ray._private.ray_constants
    saved, constants.ENABLE_RAY_CLUSTER = constants.ENABLE_RAY_CLUSTER, False
    try:
        with environment(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0"):
            yield
    finally:
        constants.ENABLE_RAY_CLUSTER = saved


def replica_server_on_loopback() -> None:
    """In a Serve replica's process, before the replica starts its inter-deployment server.

    Serve 2.60 starts it in ``Replica._on_initialized``, after the deployment's
    ``__init__``, with ``add_port_to_grpc_server(self._server, "[::]:0")``
    (ray/serve/_private/replica.py): no setting changes that address. This wraps that
    module's function so ``[::]`` becomes 127.0.0.1, the node address here; idempotent.
    """
    from ray.serve._private import replica

    add_port = replica.add_port_to_grpc_server  # AttributeError if Serve renamed it
    if getattr(add_port, "loopback", False):
        return

    def on_loopback(server: Any, address: str) -> int:
        return add_port(server, address.replace("[::]", "127.0.0.1", 1))

    on_loopback.loopback = True  # type: ignore[attr-defined]
    replica.add_port_to_grpc_server = on_loopback
