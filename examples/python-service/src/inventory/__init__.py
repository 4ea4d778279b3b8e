"""A small inventory service: stock items with quantities, over a JSON HTTP API."""
