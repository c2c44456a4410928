"""HTTP endpoints of the gateway, one module per audience; each handler parses, calls the
router or a store function, and formats."""
