"""Fixtures for the scale-out proofs: a cluster of real Herald processes on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scaleout.cluster import Cluster


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster on a fresh PostgreSQL database; every process it started is killed after."""
    running = Cluster(postgres_url, tmp_path)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def redis_cluster(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster on a fresh PostgreSQL database and the test Redis database."""
    running = Cluster(postgres_url, tmp_path, redis_url=redis_url)
    try:
        yield running
    finally:
        running.close()
