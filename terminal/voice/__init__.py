"""Voice: Opus codec, voice-channel packets, adaptive jitter buffer, sender and receiver (all sans-I/O)."""
