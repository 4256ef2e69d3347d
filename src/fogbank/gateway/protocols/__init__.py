"""Wire protocols: rest-xml (S3), rest-json and json (X-Amz-Target), from botocore shapes."""
