import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from inventory.store import Inventory, InventoryError  # noqa: E402


class StoreTest(unittest.TestCase):
    def test_add_and_take(self) -> None:
        inventory = Inventory()
        inventory.add("ABC123", "bolts", 10)
        self.assertEqual(inventory.take("ABC123", 4).quantity, 6)

    def test_cannot_take_more_than_stock(self) -> None:
        inventory = Inventory()
        inventory.add("ABC123", "bolts", 1)
        with self.assertRaises(InventoryError):
            inventory.take("ABC123", 2)

    def test_rejects_bad_sku(self) -> None:
        with self.assertRaises(InventoryError):
            Inventory().add("bad sku", "x", 1)

    def test_duplicate_sku(self) -> None:
        inventory = Inventory()
        inventory.add("AAA", "a", 1)
        with self.assertRaises(InventoryError):
            inventory.add("AAA", "b", 1)


if __name__ == "__main__":
    unittest.main()
