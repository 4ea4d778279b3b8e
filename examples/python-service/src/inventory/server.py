"""JSON over HTTP: GET /items, GET /items/<sku>, POST /items, POST /items/<sku>/take."""

from __future__ import annotations

import json
import os
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from inventory.store import Inventory, InventoryError

MAX_BODY = 16 * 1024


def make_handler(inventory: Inventory) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: HTTPStatus, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, object]:
            length = int(self.headers.get("Content-Length", "0"))
            if length > MAX_BODY:
                raise InventoryError("request body too large")
            payload = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(payload, dict):
                raise InventoryError("body must be a JSON object")
            return payload

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            parts = [p for p in self.path.split("/") if p]
            if parts == ["items"]:
                self._send(HTTPStatus.OK, [i.to_dict() for i in inventory.all()])
            elif len(parts) == 2 and parts[0] == "items":
                try:
                    self._send(HTTPStatus.OK, inventory.get(parts[1]).to_dict())
                except KeyError:
                    self._send(HTTPStatus.NOT_FOUND, {"error": "no such item"})
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            parts = [p for p in self.path.split("/") if p]
            try:
                body = self._body()
                if parts == ["items"]:
                    item = inventory.add(
                        str(body.get("sku", "")),
                        str(body.get("name", "")),
                        int(body.get("quantity", 0)),  # type: ignore[call-overload]
                    )
                    self._send(HTTPStatus.CREATED, item.to_dict())
                elif len(parts) == 3 and parts[0] == "items" and parts[2] == "take":
                    item = inventory.take(parts[1], int(body.get("quantity", 0)))  # type: ignore[call-overload]
                    self._send(HTTPStatus.OK, item.to_dict())
                else:
                    self._send(HTTPStatus.NOT_FOUND, {"error": "not found"})
            except KeyError:
                self._send(HTTPStatus.NOT_FOUND, {"error": "no such item"})
            except (InventoryError, ValueError, TypeError) as exc:
                self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


def serve(host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), make_handler(Inventory()))


def main() -> None:
    server = serve(port=int(os.environ.get("PORT", "8080")))
    print(f"inventory service on http://127.0.0.1:{server.server_address[1]}")
    server.serve_forever()


if __name__ == "__main__":
    main()
