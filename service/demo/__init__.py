"""A deterministic, seeded demo shop (products, customers, orders, past sends) for the demo and for tests."""

from service.demo.store import DemoStore, generate_demo_store, write_import_files

__all__ = ["DemoStore", "generate_demo_store", "write_import_files"]
