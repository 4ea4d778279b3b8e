"""In-memory inventory with validation; thread-safe because the HTTP server is threaded."""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass

SKU = re.compile(r"^[A-Z0-9]{3,12}$")


class InventoryError(ValueError):
    """A request the inventory refuses."""


@dataclass
class Item:
    sku: str
    name: str
    quantity: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Inventory:
    def __init__(self) -> None:
        self._items: dict[str, Item] = {}
        self._lock = threading.Lock()

    def add(self, sku: str, name: str, quantity: int) -> Item:
        if not SKU.match(sku):
            raise InventoryError("sku must be 3-12 upper-case letters or digits")
        if not name or len(name) > 100:
            raise InventoryError("name must be 1-100 characters")
        if quantity < 0:
            raise InventoryError("quantity cannot be negative")
        with self._lock:
            if sku in self._items:
                raise InventoryError(f"{sku} already exists")
            item = Item(sku, name, quantity)
            self._items[sku] = item
            return item

    def take(self, sku: str, quantity: int) -> Item:
        if quantity <= 0:
            raise InventoryError("take a positive quantity")
        with self._lock:
            item = self._items.get(sku)
            if item is None:
                raise KeyError(sku)
            if item.quantity < quantity:
                raise InventoryError(f"only {item.quantity} of {sku} left")
            item.quantity -= quantity
            return item

    def get(self, sku: str) -> Item:
        with self._lock:
            return self._items[sku]

    def all(self) -> list[Item]:
        with self._lock:
            return sorted(self._items.values(), key=lambda item: item.sku)
