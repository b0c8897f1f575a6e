"""Captions and alt text from an OpenAI-compatible vision endpoint (a fake one, over real HTTP
on localhost), and the fallback to the builtin analyser when it fails."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.assets.test_skills_support import ai_payload, encode, make_asset, run_skill, scene
from tests.conftest import TestAccount
from worldsmith.core.container import Container


@dataclass
class FakeVision:
    base_url: str
    status: int = 200
    answer: str = "A gradient of blue and orange with soft round blobs."
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def fake_vision() -> Iterator[FakeVision]:
    state = FakeVision(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            state.requests.append(
                {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
            )
            reply: dict[str, Any]
            if state.status == 200:
                reply = {"choices": [{"message": {"role": "assistant", "content": state.answer}}]}
            else:
                reply = {"error": {"message": "model overloaded"}}
            data = json.dumps(reply).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


async def test_caption_and_alt_text_from_the_vision_endpoint(
    client: httpx.AsyncClient,
    container: Container,
    account: TestAccount,
    fake_vision: FakeVision,
) -> None:
    container.settings.vision_api_base_url = fake_vision.base_url
    container.settings.vision_api_key = "sk-test"
    container.settings.vision_model = "fake-vision-1"
    asset_id = await make_asset(container, account.account_id, encode(scene(1600, 1200)))
    response = await run_skill(client, account, asset_id, "basic_image_enrich")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["succeeded"] is True
    assert data["steps"][2] == {**data["steps"][2], "stepName": "caption", "errorMessage": None}
    caption = ai_payload(data["asset"], "caption")
    assert caption == {**caption, "text": fake_vision.answer, "source": "vision"}

    (request,) = fake_vision.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "fake-vision-1"
    parts = body["messages"][0]["content"]
    url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
    assert url.startswith("data:image/jpeg;base64,")
    jpeg = base64.b64decode(url.split(",", 1)[1])
    assert jpeg[:3] == b"\xff\xd8\xff"  # a real JPEG, downscaled for the endpoint

    fake_vision.answer = "Soft coloured blobs on a gradient."
    response = await run_skill(client, account, asset_id, "alt-text")
    asset = response.json()["data"]["asset"]
    assert asset["altText"] == "Soft coloured blobs on a gradient."
    assert "alt text" in fake_vision.requests[-1]["body"]["messages"][0]["content"][0]["text"]


async def test_vision_failure_falls_back_to_the_builtin_analyser(
    client: httpx.AsyncClient,
    container: Container,
    account: TestAccount,
    fake_vision: FakeVision,
) -> None:
    container.settings.vision_api_base_url = fake_vision.base_url
    fake_vision.status = 500
    asset_id = await make_asset(container, account.account_id, encode(scene()))
    response = await run_skill(client, account, asset_id, "basic_image_enrich")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["succeeded"] is True
    step = data["steps"][2]
    assert step["stepName"] == "caption" and step["succeeded"] is True
    assert "HTTP 500" in step["errorMessage"] and "builtin analyser" in step["errorMessage"]
    caption = ai_payload(data["asset"], "caption")
    assert caption["source"] == "builtin"
    assert caption["text"].startswith("A landscape image")
    assert len(fake_vision.requests) == 1


async def test_unreachable_vision_endpoint_falls_back(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    container.settings.vision_api_base_url = "http://127.0.0.1:9/v1"  # discard port: refused
    asset_id = await make_asset(container, account.account_id, encode(scene()))
    response = await run_skill(client, account, asset_id, "alt-text")
    step = response.json()["data"]["steps"][1]
    assert step["succeeded"] is True and "unreachable" in step["errorMessage"]
