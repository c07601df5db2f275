"""The model catalog (catalog.json), installed as the package `emulator.catalog`."""
