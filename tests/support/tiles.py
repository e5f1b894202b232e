"""A local stand-in for a slippy-map tile server (OpenStreetMap's `/{z}/{x}/{y}.png`).

It validates what the real server does: zoom 0-19, x and y within 0..2^z-1, else 404; it answers a
256x256 PNG, and records every tile asked for (a test can see the map really loaded from it).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from PIL import Image

from tests.support.http import serve_app

MAX_ZOOM = 19


def _tile_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (222, 234, 214)).save(out, "PNG")
    return out.getvalue()


@dataclass
class TileServer:
    url: str = ""  # the tile URL template the gateway is given
    served: list[tuple[int, int, int]] = field(default_factory=list)
    png: bytes = field(default_factory=_tile_png)

    async def tile(self, request: web.Request) -> web.Response:
        try:
            z, x, y = (int(request.match_info[k]) for k in ("z", "x", "y"))
        except ValueError:
            raise web.HTTPNotFound() from None
        if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
            raise web.HTTPNotFound()
        self.served.append((z, x, y))
        return web.Response(body=self.png, content_type="image/png")


@asynccontextmanager
async def tile_server() -> AsyncIterator[TileServer]:
    tiles = TileServer()
    app = web.Application()
    app.router.add_get("/{z}/{x}/{y}.png", tiles.tile)
    async with serve_app(app) as base:
        tiles.url = base + "/{z}/{x}/{y}.png"
        yield tiles
