"""The daemon: wires every layer of a unit to one asyncio loop."""
