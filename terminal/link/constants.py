"""Protocol constants, named as the WireGuard paper and Noise spec name them."""

# Noise
CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
PROTOCOL_VERSION = 1
PROLOGUE_LABEL = b"hotline link v1"

# WireGuard section 6.1 timers and limits (seconds / message counts).
REKEY_AFTER_MESSAGES = 2**60
REJECT_AFTER_MESSAGES = 2**64 - 2**13 - 1
REKEY_AFTER_TIME = 120.0
REJECT_AFTER_TIME = 180.0
REKEY_TIMEOUT = 5.0
KEEPALIVE_TIMEOUT = 10.0

# Ours.
UNREACHABLE_AFTER = 15.0          # no authenticated packet for this long -> PeerUnreachable
REPLAY_WINDOW_SIZE = 4096         # bits; RFC 6479 ring of 64-bit blocks (one block kept spare)
INITIATIONS_PER_SECOND = 20       # per source address, before any DH work
INITIATION_BURST = 10
MIN_INITIATION_INTERVAL = 0.02    # per authenticated peer (WireGuard's HandshakeInitationRate)

# Message types on the wire (first byte, then three reserved zero bytes).
MSG_INITIATION = 1
MSG_RESPONSE = 2
MSG_COOKIE_REPLY = 3              # reserved; not sent by this version
MSG_TRANSPORT = 4

# Inner framing: plaintext = version(1) | channel(1) | payload. Empty plaintext is a keepalive.
INNER_VERSION = 1
CHANNEL_CONTROL = 1               # call control: ring, answer, hangup ...
CHANNEL_VOICE = 2                 # voice frames
CHANNEL_TEXT = 3                  # reliable text messages
CHANNEL_TEST = 4                  # test / echo
CHANNEL_PRESENCE = 5              # presence, status
CHANNEL_RECORDS = 6               # reliable side channel: call outcomes, voice messages
CHANNELS = frozenset({CHANNEL_CONTROL, CHANNEL_VOICE, CHANNEL_TEXT, CHANNEL_TEST, CHANNEL_PRESENCE,
                      CHANNEL_RECORDS})
