"""The webhook endpoint on loopback: payload shape, secret header, unknown paths and methods."""

import httpx

from studio.triggers.webhook import WebhookReply, WebhookRoute, WebhookServer


async def test_a_webhook_call_reaches_its_handler_and_gets_its_reply():
    seen = []

    async def handler(payload):
        seen.append(payload)
        return WebhookReply(200, {"echo": payload["body"]["text"]})

    server = WebhookServer()
    server.add(WebhookRoute("POST", "hooks/echo", handler, secret_header="X-Flow-Secret", secret="s3cret"))
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            ok = await http.post("/hooks/echo?source=test", json={"text": "hi"}, headers={"X-Flow-Secret": "s3cret"})
            wrong = await http.post("/hooks/echo", json={"text": "hi"}, headers={"X-Flow-Secret": "nope"})
            missing = await http.post("/hooks/other", json={})
            method = await http.get("/hooks/echo")
    finally:
        await server.stop()
    assert server.host == "127.0.0.1"
    assert (ok.status_code, ok.json()) == (200, {"echo": "hi"})
    assert seen[0]["query"] == {"source": "test"}
    assert seen[0]["method"] == "POST" and seen[0]["path"] == "/hooks/echo"
    assert "x-flow-secret" not in seen[0]["headers"]  # the secret never reaches the flow
    assert wrong.status_code == 401 and "X-Flow-Secret" in wrong.json()["error"]
    assert missing.status_code == 404
    assert method.status_code == 405 and "POST" in method.json()["error"]
    assert len(seen) == 1


async def test_two_flows_cannot_claim_the_same_route():
    async def handler(payload):
        return WebhookReply(202, None)

    server = WebhookServer()
    server.add(WebhookRoute("POST", "/a", handler))
    try:
        server.add(WebhookRoute("post", "a/", handler))
    except ValueError as exc:
        assert "already served" in str(exc)
    else:
        raise AssertionError("duplicate route accepted")
