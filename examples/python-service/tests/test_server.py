import json
import sys
import threading
import unittest
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from inventory.server import serve  # noqa: E402


class ServerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.server = serve(port=0)  # the job's own loopback: no network needed
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def tearDown(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback only
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def test_create_list_take(self) -> None:
        self.assertEqual(
            self._call("POST", "/items", {"sku": "X100", "name": "nut", "quantity": 5})[0], 201
        )
        status, items = self._call("GET", "/items")
        self.assertEqual(status, 200)
        self.assertEqual(items, [{"sku": "X100", "name": "nut", "quantity": 5}])
        self.assertEqual(self._call("POST", "/items/X100/take", {"quantity": 2})[1]["quantity"], 3)

    def test_errors(self) -> None:
        self.assertEqual(self._call("GET", "/items/NOPE")[0], 404)
        self.assertEqual(self._call("POST", "/items", {"sku": "x"})[0], 400)


if __name__ == "__main__":
    unittest.main()
