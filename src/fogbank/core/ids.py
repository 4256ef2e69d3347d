"""Identifiers as AWS spells them: ARNs, request ids, opaque ids."""

from __future__ import annotations

import secrets
import uuid


def new_uuid() -> str:
    """A random UUID4 string, as AWS uses for request ids and many resource ids."""
    return str(uuid.uuid4())


def new_hex_id(nbytes: int = 16) -> str:
    """A random lowercase hex id of ``2 * nbytes`` characters."""
    return secrets.token_hex(nbytes)


def arn(service: str, region: str, account_id: str, resource: str, partition: str = "aws") -> str:
    """``arn:aws:<service>:<region>:<account>:<resource>``.

    S3 bucket ARNs leave region and account empty (``arn:aws:s3:::bucket``); pass
    empty strings for those, as AWS does.
    """
    return f"arn:{partition}:{service}:{region}:{account_id}:{resource}"


def parse_arn(value: str) -> dict[str, str]:
    """Split an ARN into partition, service, region, account and resource.

    Raises ``ValueError`` naming what is wrong when ``value`` is not an ARN.
    """
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(
            f"{value!r} is not an ARN: expected "
            "arn:<partition>:<service>:<region>:<account>:<resource>"
        )
    _, partition, service, region, account, resource = parts
    return {
        "partition": partition,
        "service": service,
        "region": region,
        "account": account,
        "resource": resource,
    }
