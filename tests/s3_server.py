"""A real S3-protocol server for the tests: moto's server on 127.0.0.1, one per session, and a
fresh bucket per test.

Test modules import the fixtures they use explicitly
(`from tests.s3_server import s3_bucket, s3_server  # noqa: F401`). Credentials are dummy
values handed to the code through the Settings object (or a client made here), never through
the process environment, so nothing leaks into other tests.

moto does not check signatures or expiry of presigned URLs; those properties are tested on the
local store, whose signing is ours (tests/worlds/test_media_assets_api.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"


@dataclass(frozen=True)
class S3Bucket:
    endpoint_url: str
    name: str
    client: Any  # a boto3 client of our own, to look at the bucket behind the code's back

    def settings(self, prefix: str) -> dict[str, Any]:
        """The Settings fields that point worldsmith at `s3://<bucket>/<prefix>` here."""
        return {
            "storage_url": f"s3://{self.name}/{prefix}",
            "s3_endpoint_url": self.endpoint_url,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY_ID,
            "s3_secret_access_key": SECRET_ACCESS_KEY,
        }

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
        return data


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The endpoint URL of a moto S3 server on a free port of 127.0.0.1."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: str) -> S3Bucket:
    client = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name=REGION,
    ).client("s3", endpoint_url=s3_server)
    name = f"test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    return S3Bucket(s3_server, name, client)
