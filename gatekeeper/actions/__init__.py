"""Use cases: what the web API, the pages and the CLI do, on the pure core and the adapters."""
