"""The daemon's local control socket: a versioned JSON-lines API for the console and the CLI."""
