"""Scale-out tests on a real PostgreSQL (Debian's postgresql package; .ci/run installs it):
one throw-away cluster per session, started and stopped here."""

from __future__ import annotations

import pytest

from tests.scale.postgres import PostgresCluster, pg_bin


@pytest.fixture(scope="session")
def postgres():
    if not (pg_bin("initdb") and pg_bin("pg_ctl")):
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (apt-get install postgresql; .ci/run does)")
    cluster = PostgresCluster().init()
    cluster.start()
    yield cluster
    cluster.stop("immediate")
    cluster.remove()
