"""A real embedded S3 server per integration-test module, for services called without HTTP.

Each module names its credentials and bucket as module constants ACCESS_KEY, SECRET_KEY, BUCKET.
"""

from __future__ import annotations

import pytest

from emulator.storage.s3 import ObjectStore
from emulator.storage.seaweed import EmbeddedS3, SeaweedPorts
from tests.support import free_s3_base


@pytest.fixture(scope="module")
def objects(request, tmp_path_factory):
    """ObjectStore on a fresh SeaweedFS with the module's BUCKET created; stopped after the module."""
    module = request.module
    server = EmbeddedS3(
        tmp_path_factory.mktemp("seaweed"),
        SeaweedPorts.from_base(free_s3_base()),
        module.ACCESS_KEY,
        module.SECRET_KEY,
    )
    server.start()
    store = ObjectStore(server.endpoint, module.ACCESS_KEY, module.SECRET_KEY)
    store.ensure_bucket(module.BUCKET)
    yield store
    server.stop()
