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
REKEY_TIMEOUT = 5.0               # the longest wait between handshake tries
KEEPALIVE_TIMEOUT = 10.0

# Ours.
UNREACHABLE_AFTER = 15.0          # no authenticated packet for this long -> PeerUnreachable
REPLAY_WINDOW_SIZE = 4096         # bits; RFC 6479 ring of 64-bit blocks (one block kept spare)
INITIATIONS_PER_SECOND = 20       # per source address, before any DH work
INITIATION_BURST = 10
MIN_INITIATION_INTERVAL = 0.02    # per authenticated peer (WireGuard's HandshakeInitationRate)
# Handshake tries: the first retry after ~1 s, then 1.5x longer each time up to REKEY_TIMEOUT,
# each wait jittered by +-15% so two units that lost the same packet do not retry in step.
# Every message of a handshake goes out twice to each candidate path, so at 30 % loss one try
# gets through with p = (1-0.3^2)^2 = 0.83 instead of 0.49. That is at most 2 copies x a few
# paths per ~1 s: a tenth of the responder's INITIATIONS_PER_SECOND per source.
HANDSHAKE_RETRY_FIRST = 1.0
HANDSHAKE_RETRY_GROWTH = 1.5
HANDSHAKE_RETRY_JITTER = 0.15
HANDSHAKE_COPIES = 2
RESPONSE_DH_TRIES = 8             # responses to one pending initiation we spend DH on (forgeries included)
PROBE_INTERVAL = 1.0              # each path is probed this often (also the keepalive a NAT needs)

# Message types on the wire (first byte, then three reserved zero bytes).
MSG_INITIATION = 1
MSG_RESPONSE = 2
MSG_COOKIE_REPLY = 3              # sent only under load (terminal/link/cookie.py)
MSG_TRANSPORT = 4

# Inner framing: plaintext = version(1) | channel(1) | payload. Empty plaintext is a keepalive.
INNER_VERSION = 1
CHANNEL_CONTROL = 1               # call control: ring, answer, hangup ...
CHANNEL_VOICE = 2                 # voice frames
CHANNEL_TEXT = 3                  # reliable text messages
CHANNEL_TEST = 4                  # test / echo
CHANNEL_PRESENCE = 5              # presence, status
CHANNEL_RECORDS = 6               # reliable side channel: call outcomes, voice messages
CHANNEL_PATH = 7                  # the link's own path probes; never reaches a service
CHANNEL_PQ = 8                    # the link's own post-quantum ratchet exchange (terminal/link/pq.py)
CHANNELS = frozenset({CHANNEL_CONTROL, CHANNEL_VOICE, CHANNEL_TEXT, CHANNEL_TEST, CHANNEL_PRESENCE,
                      CHANNEL_RECORDS, CHANNEL_PATH, CHANNEL_PQ})
# An unanswered ratchet offer is sent again while the keys live (and at once on new keys):
# first after 4 round trips (at least 0.5 s), then twice as long each time, at most every 4 s.
PQ_OFFER_RETRY_MIN = 0.5
PQ_OFFER_RETRY_RTTS = 4
PQ_OFFER_RETRY_GROWTH = 2.0
PQ_OFFER_RETRY_MAX = 4.0
