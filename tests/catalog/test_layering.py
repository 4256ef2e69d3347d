"""The catalog is an engine: importing it loads neither the gateway nor botocore."""

from __future__ import annotations

import subprocess
import sys


def test_the_catalog_imports_neither_the_gateway_nor_botocore() -> None:
    code = (
        "import sys, fogbank.catalog\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.startswith(('fogbank.gateway', 'botocore', 'boto3'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
