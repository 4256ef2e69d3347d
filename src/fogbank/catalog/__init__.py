"""The Glue Data Catalog: databases, tables, table versions, partitions and their tags."""

from fogbank.catalog.engine import Catalog

__all__ = ["Catalog"]
