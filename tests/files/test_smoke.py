from httpx import AsyncClient

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100


async def test_smoke(client: AsyncClient) -> None:
    r = await client.post("/api/files", files={"file": ("cat.png", PNG, "text/html")})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["content_type"] == "image/png"
    c = await client.get(f"/api/files/{body['id']}/content", headers={"Range": "bytes=0-7"})
    assert c.status_code == 206, c.text
    assert c.content == PNG[:8]
