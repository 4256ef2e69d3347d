"""The one table from error codes to HTTP statuses.

Engines raise :class:`~fogbank.core.errors.FogbankError` subclasses that know
nothing of HTTP; every status the gateway sends for an error comes from
:data:`STATUS`. A code the table does not list is a client error (400).
"""

from __future__ import annotations

STATUS: dict[str, int] = {
    # S3
    "AccessDenied": 403,
    "AuthorizationHeaderMalformed": 400,
    "AuthorizationQueryParametersError": 400,
    "BadDigest": 400,
    "BucketAlreadyExists": 409,
    "BucketAlreadyOwnedByYou": 409,
    "BucketNotEmpty": 409,
    "EntityTooLarge": 400,
    "EntityTooSmall": 400,
    "IncompleteBody": 400,
    "InvalidAccessKeyId": 403,
    "InvalidArgument": 400,
    "InvalidChunkSizeError": 400,
    "MalformedTrailerError": 400,
    "InvalidBucketName": 400,
    "InvalidLocationConstraint": 400,
    "InvalidDigest": 400,
    "InvalidPart": 400,
    "InvalidPartOrder": 400,
    "InvalidRange": 416,
    "InvalidRequest": 400,
    "KeyTooLongError": 400,
    "MalformedXML": 400,
    "MetadataTooLarge": 400,
    "MethodNotAllowed": 405,
    "MissingContentLength": 411,
    "NoSuchBucket": 404,
    "NoSuchKey": 404,
    "NoSuchUpload": 404,
    "NotImplemented": 501,
    "NotModified": 304,
    "PreconditionFailed": 412,
    "RequestTimeTooSkewed": 403,
    "SignatureDoesNotMatch": 403,
    "XAmzContentSHA256Mismatch": 400,
    # JSON services
    "IncompleteSignature": 400,
    "IncompleteSignatureException": 400,
    "MissingAuthenticationTokenException": 403,
    "NoSuchEntity": 404,
    "RequestEntityTooLarge": 413,
    "InvalidClientTokenId": 403,
    "InvalidSignatureException": 403,
    "MissingAuthenticationToken": 403,
    "UnrecognizedClientException": 400,
    "ResourceNotFoundException": 400,
    "ResourceInUseException": 400,
    "LimitExceededException": 400,
    "ValidationException": 400,
    # SageMaker Runtime: the container's error, as InvokeEndpoint reports it
    "ModelError": 424,
    "ModelNotReadyException": 429,
    "SerializationException": 400,
    "UnknownOperationException": 400,
    "ThrottlingException": 400,
    "ServiceUnavailableException": 503,
    "InternalFailure": 500,
    "InternalFailureException": 500,
    "InternalServiceException": 500,
    "InternalError": 500,
    "InvalidConfiguration": 500,
}


def status_for(code: str) -> int:
    """The HTTP status AWS sends with error ``code``."""
    return STATUS.get(code, 400)
