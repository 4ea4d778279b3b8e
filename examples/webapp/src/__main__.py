"""The shop catalogue of ``examples/vulnerable-webapp`` with every planted flaw fixed.

Each fix is marked ``# FIXED (class):``; the DAST gate passes it. Standard library only:
``python3 webapp.pyz --port 8080``.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sqlite3
import tempfile
import traceback
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEMS = {1: "teapot", 2: "kettle", 3: "mug"}
PREVIEW_HOSTS: frozenset[str] = frozenset()
# FIXED (exposed-files): no leftovers are served.
INDEX = """<!doctype html><html><head><title>Shop</title>
<script src="https://cdn.example.com/shop.js"></script></head><body>
<a href="/search?q=tea">search</a> <a href="/item?id=1">item</a>
<a href="/go?next=/">home</a> <a href="/file?name=readme.txt">readme</a>
<a href="/preview?url=http://127.0.0.1/">preview</a> 
</body></html>"""
# FIXED (mixed-content): the script is loaded over https://.
OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "shop", "version": "1"},
    "paths": {
        "/api/items/{item_id}": {
            "get": {
                "parameters": [
                    {
                        "name": "item_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "the item",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id", "name"],
                                    "properties": {
                                        "id": {"type": "integer"},
                                        "name": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "404": {
                        "description": "no such item",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["error"],
                                    "properties": {"error": {"type": "string"}},
                                }
                            }
                        },
                    },
                },
            }
        }
    },
}


def database() -> sqlite3.Connection:
    """An in-memory catalogue (the probes only read it)."""
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    db.executemany("INSERT INTO items VALUES (?, ?)", ITEMS.items())
    return db


DB = database()
FILES = tempfile.mkdtemp(prefix="shop-files-")
with open(os.path.join(FILES, "readme.txt"), "w", encoding="utf-8") as readme:
    readme.write("The shop's readme.\n")


class Handler(BaseHTTPRequestHandler):
    """Every route of the shop."""

    # FIXED (banners): the Server header names no software or version.
    server_version = "shop"
    sys_version = ""

    def send(
        self, status: int, body: str, kind: str = "text/html", extra: dict[str, str] | None = None
    ) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        # FIXED (cors): no cross-origin access is granted.
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        # FIXED (headers): the security headers on every answer.
        self.send_header("Content-Security-Policy", "default-src 'self' https://cdn.example.com")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        try:
            self.route(url.path, query)
        except Exception:
            # FIXED (error-pages): the trace goes to the log, the visitor sees a plain page.
            traceback.print_exc()
            self.send(500, "internal error", "text/plain")

    def route(self, path: str, query: dict[str, str]) -> None:
        if path == "/health":
            self.send(200, "ok", "text/plain")
        elif path == "/":
            # FIXED (cookies): HttpOnly, Secure and SameSite.
            cookie = "session=guest; HttpOnly; Secure; SameSite=Lax"
            self.send(200, INDEX, extra={"Set-Cookie": cookie})
        elif path == "/search":
            # FIXED (xss): the query is escaped.
            self.send(200, f"<p>results for {html.escape(query.get('q', ''))}</p>")
        elif path == "/item":
            # FIXED (sqli): a parameterised query, and the id must be a number.
            if not re.fullmatch(r"[0-9]{1,9}", query.get("id", "")):
                self.send(400, "<p>id must be a number</p>")
                return
            row = DB.execute("SELECT name FROM items WHERE id = ?", (query["id"],)).fetchone()
            self.send(200 if row else 404, f"<p>{row[0] if row else 'no such item'}</p>")
        elif path == "/go":
            # FIXED (open-redirect): only a path on this site.
            target = query.get("next", "/")
            safe = target.startswith("/") and not target.startswith("//") and "\\" not in target
            self.send(302, "", extra={"Location": target if safe else "/"})
        elif path == "/file":
            # FIXED (path-traversal): only a file directly inside the folder.
            name = os.path.basename(query.get("name", ""))
            path = os.path.join(FILES, name)
            if not name or not os.path.isfile(path):
                self.send(404, "<p>no such file</p>")
                return
            with open(path, encoding="utf-8") as f:
                self.send(200, f.read(), "text/plain")
        elif path == "/preview":
            # FIXED (ssrf): previews only of allow-listed hosts (none in this example).
            host = urllib.parse.urlsplit(query.get("url", "")).hostname
            if host not in PREVIEW_HOSTS:
                self.send(400, "<p>that host is not allowed</p>")
                return
            with urllib.request.urlopen(query["url"], timeout=2) as answer:  # noqa: S310
                self.send(200, answer.read(200).decode(errors="replace"), "text/plain")
        # FIXED (directory-listing): /static/ is not listed (it is a 404).
        elif path == "/openapi.json":
            self.send(200, json.dumps(OPENAPI), "application/json")
        elif path.startswith("/api/items/"):
            # FIXED (api-fuzz): a non-integer id is a documented 404.
            text = path.rsplit("/", 1)[1]
            item_id = int(text) if re.fullmatch(r"-?[0-9]{1,18}", text) else None
            name = ITEMS.get(item_id) if item_id is not None else None
            if name is None:
                self.send(404, json.dumps({"error": "no such item"}), "application/json")
            else:
                self.send(200, json.dumps({"id": item_id, "name": name}), "application/json")
        else:
            self.send(404, "<p>not found</p>")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
