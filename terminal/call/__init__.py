"""Ringdown call loop: state machine, control messages, cadences, escalation (sans-I/O)."""
