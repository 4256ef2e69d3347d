"""SageMaker Runtime on the gateway (rest-json): InvokeEndpoint.

The request's members arrive bound from the URI and headers, with ``Body`` the raw
payload; the answer's ``Body`` goes back as the payload and the other members as the
headers botocore's model names (Content-Type, x-Amzn-Invoked-Production-Variant,
X-Amzn-SageMaker-Custom-Attributes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fogbank.gateway.services.registry import Operations, present

if TYPE_CHECKING:
    from fogbank.app import Fogbank

OPERATIONS = Operations()


@OPERATIONS("InvokeEndpoint")
def invoke_endpoint(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    answer = fb.endpoints.invoke(
        p["EndpointName"],
        p.get("Body") or b"",
        content_type=p.get("ContentType"),
        accept=p.get("Accept"),
        custom_attributes=p.get("CustomAttributes"),
        target_variant=p.get("TargetVariant"),
        target_container=p.get("TargetContainerHostname"),
    )
    return present(
        {
            "Body": answer.body,
            "ContentType": answer.content_type,
            "InvokedProductionVariant": answer.variant,
            "CustomAttributes": answer.custom_attributes,
        }
    )
