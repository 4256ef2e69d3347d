"""The AWS wire API: protocols, auth and one adapter per service over the engines."""
