"""Numbers of the text channel, in one place."""

MAX_TEXT_BYTES = 16 * 1024        # UTF-8 bytes of one message; longer is refused, never cut
CHUNK_BYTES = 1100                # text bytes per fragment: header + chunk + link overhead < 1200
MAX_FRAGMENTS = -(-MAX_TEXT_BYTES // CHUNK_BYTES)
SEND_WINDOW = 8                   # messages in flight (sent, not yet delivered) at once
RECEIVE_AHEAD = 64                # sequence numbers accepted beyond the next expected one
INITIAL_RTO = 1.0                 # retransmission timeout before any round trip is measured (RFC 6298)
MIN_RTO = 0.2                     # floor once measured (Linux's 200 ms rather than RFC 6298's 1 s)
MAX_RTO = 10.0                    # backoff doubles up to this: a hotline message must not idle long
