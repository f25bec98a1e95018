"""Voice: Opus codec, voice-channel packets, jitter buffer, sender and receiver; tones."""
