"""What sagemaker.image_uris.retrieve answers for every region of the three algorithms.

Prints {"version": ..., "uris": {"<algorithm>|<version or ''>|<region>": uri}} for every
(region, version) fogbank's image_registry.json lists, and the SDK's own region lists,
so the test compares the two tables without either side guessing.

    python retrieve_uris.py REGISTRY_JSON
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import sagemaker
from sagemaker import image_uris, utils

# retrieve() reloads botocore's endpoint table on every call (~0.1 s); the table does not
# change within the run, so load it once for the few hundred calls below.
utils._botocore_resolver = functools.cache(utils._botocore_resolver)

RESULT_PREFIX = "FOGBANK-SCENARIO-RESULT "


def main() -> None:
    table = json.loads(Path(sys.argv[1]).read_text())
    uris: dict[str, str] = {}
    for algorithm, entry in table["algorithms"].items():
        for repository, spec in entry["repositories"].items():
            for region in spec["registries"]:
                for tag in spec["tags"]:
                    if tag.endswith("-arm64"):
                        continue  # Graviton instance types pick these; not a version
                    version = tag.removesuffix("-cpu-py3") if algorithm == "xgboost" else None
                    key = f"{algorithm}|{repository}|{tag}|{region}"
                    uris[key] = image_uris.retrieve(algorithm, region, version)
    sdk_regions = {}
    for algorithm in table["algorithms"]:
        config = image_uris.config_for_framework(algorithm)
        versions = config.get("versions") or config["training"]["versions"]
        sdk_regions[algorithm] = sorted({r for v in versions.values() for r in v["registries"]})
    print(
        RESULT_PREFIX
        + json.dumps({"version": sagemaker.__version__, "uris": uris, "regions": sdk_regions})
    )


if __name__ == "__main__":
    main()
