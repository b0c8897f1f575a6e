"""The page a World's `world_marble_url` points to: look around the panorama in the browser,
read the caption, and download every file. Public worlds open for anyone; private ones need
the signed link the API hands out."""

from __future__ import annotations

import html
import json
import time

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from worldsmith.core.deps import ContainerDep
from worldsmith.core.errors import NotFound
from worldsmith.core.security import UrlGrant
from worldsmith.worlds import repository
from worldsmith.worlds.render import VIEW_METHOD, Renderer

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:0;background:#111;color:#eee}}
main{{max-width:960px;margin:auto;padding:16px}}canvas{{width:100%;aspect-ratio:16/9;
background:#000;cursor:grab;border-radius:8px}}a{{color:#8cf}}li{{margin:4px 0}}</style></head>
<body><main><h1>{title}</h1><p>{status}</p>{body}</main></body></html>"""

_VIEWER = """<canvas id="view" width="960" height="540"></canvas>
<p>Drag to look around. {caption}</p><h2>Files</h2><ul>{links}</ul>
<script>
const pano = new Image(); pano.crossOrigin = "anonymous"; pano.src = {pano_url};
const canvas = document.getElementById("view"), ctx = canvas.getContext("2d");
let yaw = 0, pitch = 0, src = null, dragging = false, lastX = 0, lastY = 0;
pano.onload = () => {{
  const c = document.createElement("canvas"); c.width = pano.width; c.height = pano.height;
  const g = c.getContext("2d"); g.drawImage(pano, 0, 0);
  src = g.getImageData(0, 0, c.width, c.height); draw();
}};
function draw() {{
  if (!src) return;
  const W = canvas.width, H = canvas.height, out = ctx.createImageData(W, H);
  const f = (W / 2) / Math.tan(Math.PI / 4), cy = Math.cos(yaw), sy = Math.sin(yaw);
  const cp = Math.cos(pitch), sp = Math.sin(pitch), pw = src.width, ph = src.height;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {{
    let dx = (x - W / 2) / f, dy = (y - H / 2) / f, dz = 1;
    let ty = dy * cp - dz * sp, tz = dy * sp + dz * cp;
    let tx = dx * cy + tz * sy; tz = -dx * sy + tz * cy;
    const lon = Math.atan2(tx, tz), lat = Math.atan2(ty, Math.hypot(tx, tz));
    const u = Math.floor(((lon / (2 * Math.PI)) + 0.5) * pw) % pw;
    const v = Math.min(ph - 1, Math.floor((lat / Math.PI + 0.5) * ph));
    const i = (v * pw + u) * 4, o = (y * W + x) * 4;
    out.data[o] = src.data[i]; out.data[o+1] = src.data[i+1];
    out.data[o+2] = src.data[i+2]; out.data[o+3] = 255;
  }}
  ctx.putImageData(out, 0, 0);
}}
canvas.onpointerdown = e => {{ dragging = true; lastX = e.clientX; lastY = e.clientY; }};
window.onpointerup = () => {{ dragging = false; }};
window.onpointermove = e => {{
  if (!dragging) return;
  yaw -= (e.clientX - lastX) * 0.005; pitch = Math.max(-1.5, Math.min(1.5,
    pitch + (e.clientY - lastY) * 0.005)); lastX = e.clientX; lastY = e.clientY; draw();
}};
</script>"""


@router.get("/worlds/{world_id}", response_class=HTMLResponse)
async def view_world(
    world_id: str,
    container: ContainerDep,
    expires: int | None = None,
    signature: str | None = None,
) -> HTMLResponse:
    async with container.db.read() as session:
        found = await repository.world_with_job(session, world_id)
    if found is None:
        raise NotFound("world not found")
    world, job = found
    if not world.is_public:
        grant = UrlGrant(VIEW_METHOD, f"worlds/{world.id}", expires or 0)
        valid = signature is not None and container.signer.verify(grant, signature)
        if not valid or grant.expires < time.time():
            raise NotFound("world not found")
    renderer = Renderer(container)
    rendered = renderer.world(world)
    title = html.escape(world.display_name)
    assets = rendered.assets
    if assets is None or assets.imagery is None or assets.imagery.pano_url is None:
        status = f"This world is not ready yet (status: {html.escape(job.status)})."
        return HTMLResponse(_PAGE.format(title=title, status=status, body=""))
    files = {"Panorama (PNG)": assets.imagery.pano_url}
    if assets.splats and assets.splats.spz_urls:
        files.update({f"Gaussian splats {k} (SPZ)": v for k, v in assets.splats.spz_urls.items()})
    if assets.mesh and assets.mesh.collider_mesh_url:
        files["Collider mesh (GLB)"] = assets.mesh.collider_mesh_url
    if assets.thumbnail_url:
        files["Thumbnail (JPEG)"] = assets.thumbnail_url
    links = "".join(
        f'<li><a href="{html.escape(url)}">{html.escape(name)}</a></li>'
        for name, url in files.items()
    )
    body = _VIEWER.format(
        caption=html.escape(assets.caption or ""),
        links=links,
        pano_url=json.dumps(assets.imagery.pano_url),
    )
    status = f"Model: {html.escape(world.model)}"
    return HTMLResponse(_PAGE.format(title=title, status=status, body=body))
