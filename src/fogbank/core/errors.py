"""The error tree: every error fogbank raises, named after the AWS error code.

An error carries the AWS ``code`` and a ``message`` that names the field at fault
and says what to change. Some carry extra ``fields`` that AWS puts in its error
body (``BucketName``, ``Key``, ``ArgumentName``...). No HTTP status lives here:
the gateway alone maps codes to statuses, in one table.

    FogbankError
    ├── InvalidConfiguration            fogbank's own: a setting could not be parsed
    ├── ValidationException             generic input validation (JSON services)
    ├── SerializationException          a request body of the wrong JSON type or form
    ├── UnknownOperationException       a request for no operation the service has
    ├── OperationNotImplemented         code NotImplemented: an AWS operation not served yet
    ├── RequestEntityTooLarge           a request document over the gateway's limit
    ├── ResourceNotFoundException
    ├── ResourceInUseException
    ├── LimitExceededException
    ├── NoSuchEntity                    IAM: no such user or access key
    │                                   Kinesis Data Streams (fogbank.streams):
    ├── InvalidArgumentException          a parameter out of range or inconsistent
    ├── ProvisionedThroughputExceededException a shard's read or write rate exceeded
    ├── ExpiredIteratorException          a shard iterator older than five minutes
    ├── ExpiredNextTokenException         a pagination token that has expired
    ├── KMSNotFoundException              an encryption key id that names no key
    │                                   Firehose (fogbank.firehose):
    ├── ServiceUnavailableException       a put refused for back-pressure (Firehose's throttle)
    │                                   Glue Data Catalog and crawlers (fogbank.catalog):
    ├── EntityNotFoundException           no such database, table, partition, crawler...
    ├── AlreadyExistsException            a name already taken
    ├── InvalidInputException             a parameter Glue rejects
    ├── CrawlerRunningException           a crawler asked to start or change while running
    ├── CrawlerNotRunningException        a crawler asked to stop while not running
    ├── CrawlerStoppingException          a crawler asked to act while stopping
    ├── ConcurrentModificationException   two writers changing one entity
    ├── VersionMismatchException          a version id that is not the current one
    ├── ResourceNumberLimitExceededException a Glue quota reached
    ├── SchedulerTransitioningException   a crawler schedule changing state
    ├── SchedulerRunningException         a crawler schedule started twice
    ├── SchedulerNotRunningException      a crawler schedule stopped while not running
    ├── NoScheduleException               a crawler schedule started with no schedule
    │                                   Athena (fogbank.query):
    ├── InvalidRequestException           a request Athena refuses (AthenaErrorCode set)
    ├── MetadataException                 Athena: a catalog database or table not found
    │                                   SageMaker (fogbank.ml):
    ├── ResourceInUse                     a training job name already taken
    ├── ResourceNotFound                  no such SageMaker resource (where AWS says so)
    ├── ResourceLimitExceeded             a SageMaker quota reached
    ├── ValidationError                   SageMaker Runtime: a request it refuses (no endpoint)
    ├── ModelError                        SageMaker Runtime: the model's container answered an error
    │                                   CloudWatch Logs (training jobs' logs):
    ├── InvalidParameterException         a token or parameter CloudWatch Logs refuses
    │                                   SigV4 auth (fogbank.gateway.auth), per protocol:
    ├── AccessDenied                      S3: no signature, expired presigned URL, bad date
    ├── AuthorizationHeaderMalformed      S3: an Authorization header it cannot read
    ├── AuthorizationQueryParametersError S3: presigned X-Amz-* parameters it cannot read
    ├── InvalidAccessKeyId                S3: an access key it does not know
    ├── SignatureDoesNotMatch             S3 and query: a wrong signature
    ├── RequestTimeTooSkewed              S3: a request dated over 15 minutes off
    ├── UnrecognizedClientException       json: an access key it does not know
    ├── InvalidSignatureException         json: a wrong, expired or early signature
    ├── IncompleteSignatureException      json: an Authorization header it cannot read
    ├── MissingAuthenticationTokenException json: no signature
    ├── InvalidClientTokenId              query: an access key it does not know
    ├── IncompleteSignature               query: an Authorization header it cannot read
    ├── MissingAuthenticationToken        query: no signature
    └── LakeError                       S3 semantics (fogbank.lake)
        ├── InvalidBucketName
        ├── InvalidLocationConstraint
        ├── NoSuchBucket
        ├── BucketAlreadyOwnedByYou
        ├── BucketNotEmpty
        ├── NoSuchKey
        ├── InvalidArgument
        ├── InvalidRange
        ├── NoSuchUpload
        ├── InvalidPart
        ├── InvalidPartOrder
        ├── EntityTooSmall
        ├── EntityTooLarge
        ├── KeyTooLongError
        ├── BadDigest
        ├── PreconditionFailed
        ├── NotModified                 a conditional read whose object did not change
        ├── InvalidRequest
        ├── MetadataTooLarge
        ├── MalformedXML
        ├── MethodNotAllowed            an HTTP method no AWS API takes
        ├── IncompleteBody              a short body, or a malformed aws-chunked one
        ├── InvalidDigest               a Content-MD5 that is not a base64 MD5
        ├── XAmzContentSHA256Mismatch   a body whose SHA-256 is not x-amz-content-sha256
        ├── MalformedTrailerError       aws-chunked trailers that do not match x-amz-trailer
        └── InvalidChunkSizeError       an aws-chunked chunk under 8 KiB that is not the last
"""

from __future__ import annotations


class FogbankError(Exception):
    """Root of every fogbank error: an AWS error ``code`` and a helpful ``message``."""

    code: str = "InternalFailure"

    def __init__(self, message: str, *, code: str | None = None, **fields: str) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.fields: dict[str, str] = dict(fields)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidConfiguration(FogbankError):
    code = "InvalidConfiguration"


class ValidationException(FogbankError):
    code = "ValidationException"


class SerializationException(FogbankError):
    code = "SerializationException"


class UnknownOperationException(FogbankError):
    code = "UnknownOperationException"


class OperationNotImplemented(FogbankError):
    """An operation AWS has and fogbank does not serve yet.

    The one error not named after its code: ``NotImplemented`` is a Python builtin.
    """

    code = "NotImplemented"

    def __init__(self, service: str, operation: str) -> None:
        super().__init__(
            f"fogbank does not implement {service} {operation} yet. The operations it serves "
            "are listed at GET /_fogbank/health.",
        )


class RequestEntityTooLarge(FogbankError):
    code = "RequestEntityTooLarge"


class ResourceNotFoundException(FogbankError):
    code = "ResourceNotFoundException"


class ResourceInUseException(FogbankError):
    code = "ResourceInUseException"


class LimitExceededException(FogbankError):
    code = "LimitExceededException"


class NoSuchEntity(FogbankError):
    code = "NoSuchEntity"


class InvalidArgumentException(FogbankError):
    code = "InvalidArgumentException"


class ProvisionedThroughputExceededException(FogbankError):
    code = "ProvisionedThroughputExceededException"


class ExpiredIteratorException(FogbankError):
    code = "ExpiredIteratorException"


class ExpiredNextTokenException(FogbankError):
    code = "ExpiredNextTokenException"


class KMSNotFoundException(FogbankError):
    code = "KMSNotFoundException"


class ServiceUnavailableException(FogbankError):
    code = "ServiceUnavailableException"


class EntityNotFoundException(FogbankError):
    code = "EntityNotFoundException"


class AlreadyExistsException(FogbankError):
    code = "AlreadyExistsException"


class InvalidInputException(FogbankError):
    code = "InvalidInputException"


class CrawlerRunningException(FogbankError):
    code = "CrawlerRunningException"


class CrawlerNotRunningException(FogbankError):
    code = "CrawlerNotRunningException"


class CrawlerStoppingException(FogbankError):
    code = "CrawlerStoppingException"


class InvalidRequestException(FogbankError):
    code = "InvalidRequestException"


class MetadataException(FogbankError):
    code = "MetadataException"


class ResourceInUse(FogbankError):
    code = "ResourceInUse"


class ResourceNotFound(FogbankError):
    code = "ResourceNotFound"


class ResourceLimitExceeded(FogbankError):
    code = "ResourceLimitExceeded"


class ValidationError(FogbankError):
    code = "ValidationError"


class ModelError(FogbankError):
    code = "ModelError"


class InvalidParameterException(FogbankError):
    code = "InvalidParameterException"


class SchedulerRunningException(FogbankError):
    code = "SchedulerRunningException"


class SchedulerNotRunningException(FogbankError):
    code = "SchedulerNotRunningException"


class NoScheduleException(FogbankError):
    code = "NoScheduleException"


class ConcurrentModificationException(FogbankError):
    code = "ConcurrentModificationException"


class VersionMismatchException(FogbankError):
    code = "VersionMismatchException"


class ResourceNumberLimitExceededException(FogbankError):
    code = "ResourceNumberLimitExceededException"


class SchedulerTransitioningException(FogbankError):
    code = "SchedulerTransitioningException"


class AccessDenied(FogbankError):
    code = "AccessDenied"


class AuthorizationHeaderMalformed(FogbankError):
    code = "AuthorizationHeaderMalformed"


class AuthorizationQueryParametersError(FogbankError):
    code = "AuthorizationQueryParametersError"


class InvalidAccessKeyId(FogbankError):
    code = "InvalidAccessKeyId"


class SignatureDoesNotMatch(FogbankError):
    code = "SignatureDoesNotMatch"


class RequestTimeTooSkewed(FogbankError):
    code = "RequestTimeTooSkewed"


class UnrecognizedClientException(FogbankError):
    code = "UnrecognizedClientException"


class InvalidSignatureException(FogbankError):
    code = "InvalidSignatureException"


class IncompleteSignatureException(FogbankError):
    code = "IncompleteSignatureException"


class MissingAuthenticationTokenException(FogbankError):
    code = "MissingAuthenticationTokenException"


class InvalidClientTokenId(FogbankError):
    code = "InvalidClientTokenId"


class IncompleteSignature(FogbankError):
    code = "IncompleteSignature"


class MissingAuthenticationToken(FogbankError):
    code = "MissingAuthenticationToken"


class LakeError(FogbankError):
    """Errors with S3's codes, raised by the lake."""


class InvalidBucketName(LakeError):
    code = "InvalidBucketName"


class InvalidLocationConstraint(LakeError):
    code = "InvalidLocationConstraint"


class NoSuchBucket(LakeError):
    code = "NoSuchBucket"


class BucketAlreadyOwnedByYou(LakeError):
    code = "BucketAlreadyOwnedByYou"


class BucketNotEmpty(LakeError):
    code = "BucketNotEmpty"


class NoSuchKey(LakeError):
    code = "NoSuchKey"


class InvalidArgument(LakeError):
    code = "InvalidArgument"


class InvalidRange(LakeError):
    code = "InvalidRange"


class NoSuchUpload(LakeError):
    code = "NoSuchUpload"


class InvalidPart(LakeError):
    code = "InvalidPart"


class InvalidPartOrder(LakeError):
    code = "InvalidPartOrder"


class EntityTooSmall(LakeError):
    code = "EntityTooSmall"


class EntityTooLarge(LakeError):
    code = "EntityTooLarge"


class KeyTooLongError(LakeError):
    code = "KeyTooLongError"


class BadDigest(LakeError):
    code = "BadDigest"


class PreconditionFailed(LakeError):
    code = "PreconditionFailed"


class NotModified(LakeError):
    code = "NotModified"


class InvalidRequest(LakeError):
    code = "InvalidRequest"


class MetadataTooLarge(LakeError):
    code = "MetadataTooLarge"


class MethodNotAllowed(LakeError):
    code = "MethodNotAllowed"


class MalformedXML(LakeError):
    code = "MalformedXML"


class IncompleteBody(LakeError):
    code = "IncompleteBody"


class InvalidDigest(LakeError):
    code = "InvalidDigest"


class XAmzContentSHA256Mismatch(LakeError):
    code = "XAmzContentSHA256Mismatch"


class MalformedTrailerError(LakeError):
    code = "MalformedTrailerError"


class InvalidChunkSizeError(LakeError):
    code = "InvalidChunkSizeError"
