"""Handset audio I/O: PyAudio (PortAudio over ALSA) streams and file-backed streams.

Every stream speaks 48 kHz mono int16 PCM in frames of 10, 20 or 40 ms and is
paced against a clock value its caller passes in (see ``pacer.FramePacer``).
"""
