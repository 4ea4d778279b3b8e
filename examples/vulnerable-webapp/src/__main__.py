"""A small shop catalogue with planted flaws, one per class the DAST gate probes.

DO NOT DEPLOY. Each flaw is marked ``# FLAW (class):``; ``examples/webapp`` is the fixed
twin. Standard library only: ``python3 webapp.pyz --port 8080``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import traceback
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEMS = {1: "teapot", 2: "kettle", 3: "mug"}
# FLAW (exposed-files): a deploy leftover still served at /.env.
LEFTOVERS = {"/.env": "DATABASE_URL=sqlite:///shop.db\nDEBUG=true\n"}
INDEX = """<!doctype html><html><head><title>Shop</title>
<script src="http://cdn.example.com/shop.js"></script></head><body>
<a href="/search?q=tea">search</a> <a href="/item?id=1">item</a>
<a href="/go?next=/">home</a> <a href="/file?name=readme.txt">readme</a>
<a href="/preview?url=http://127.0.0.1/">preview</a> <a href="/static/">static</a>
</body></html>"""
# FLAW (mixed-content): the script above is loaded over plain http://.
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
                    "404": {"description": "no such item"},
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

    # FLAW (banners): the default Server header names Python and its version.

    def send(
        self, status: int, body: str, kind: str = "text/html", extra: dict[str, str] | None = None
    ) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        origin = self.headers.get("Origin")
        if origin:  # FLAW (cors): any origin is trusted, with credentials.
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        # FLAW (headers): no Content-Security-Policy, X-Content-Type-Options, X-Frame-Options.
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        try:
            self.route(url.path, query)
        except Exception:
            # FLAW (error-pages): the stack trace goes to the visitor.
            self.send(500, traceback.format_exc(), "text/plain")

    def route(self, path: str, query: dict[str, str]) -> None:
        if path == "/health":
            self.send(200, "ok", "text/plain")
        elif path == "/":
            # FLAW (cookies): the session cookie has no HttpOnly, Secure or SameSite.
            self.send(200, INDEX, extra={"Set-Cookie": "session=guest"})
        elif path == "/search":
            # FLAW (xss): the query is written into the page unescaped.
            self.send(200, f"<p>results for {query.get('q', '')}</p>")
        elif path == "/item":
            # FLAW (sqli): the id is formatted into the SQL text.
            row = DB.execute(f"SELECT name FROM items WHERE id = {query.get('id', '')}").fetchone()
            self.send(200 if row else 404, f"<p>{row[0] if row else 'no such item'}</p>")
        elif path == "/go":
            # FLAW (open-redirect): any target, even another site.
            self.send(302, "", extra={"Location": query.get("next", "/")})
        elif path == "/file":
            # FLAW (path-traversal): the name is joined to the folder unchecked.
            with open(os.path.join(FILES, query.get("name", "")), encoding="utf-8") as f:
                self.send(200, f.read(), "text/plain")
        elif path == "/preview":
            # FLAW (ssrf): the server fetches whatever URL it is given.
            with urllib.request.urlopen(query.get("url", ""), timeout=2) as answer:
                self.send(200, answer.read(200).decode(errors="replace"), "text/plain")
        elif path == "/static/":
            # FLAW (directory-listing): the folder's files are listed.
            self.send(200, "<title>Index of /static/</title><a href='shop.js'>shop.js</a>")
        elif path in LEFTOVERS:
            self.send(200, LEFTOVERS[path], "text/plain")
        elif path == "/openapi.json":
            self.send(200, json.dumps(OPENAPI), "application/json")
        elif path.startswith("/api/items/"):
            # FLAW (api-fuzz): a non-integer id raises, and the answer is a 500.
            item_id = int(path.rsplit("/", 1)[1])
            name = ITEMS.get(item_id)
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
