"""fogbank: the AWS machine-learning pipeline, open source, on one machine.

The public entry points are :class:`Fogbank` (the object that owns every engine),
:class:`FogbankConfig` (its one typed configuration) and :func:`client` (a boto3 client
served in-process by the gateway).

``Fogbank`` is imported on first use, so that a process which needs one corner of
fogbank (a training job's container imports only ``fogbank.ml``) does not load every
engine.
"""

from typing import TYPE_CHECKING, Any

from fogbank.core.config import FogbankConfig

if TYPE_CHECKING:
    from fogbank.app import Fogbank

__version__ = "0.1.0"

__all__ = ["Fogbank", "FogbankConfig", "__version__", "client"]


def __getattr__(name: str) -> Any:
    if name == "Fogbank":
        from fogbank.app import Fogbank

        return Fogbank
    raise AttributeError(f"module 'fogbank' has no attribute {name!r}")


def client(service: str, **options: Any) -> Any:
    """A real boto3 client for ``service`` whose requests go straight into fogbank's gateway
    in this process, with no server and no socket: ``fogbank.client("s3")``.

    Options: ``fogbank=`` (share a :class:`Fogbank`), ``home=``, ``region_name=``, ``config=``.
    """
    from fogbank.gateway.client import client as in_process_client

    return in_process_client(service, **options)
