"""User-space UDP impairment relay (this kernel has no netem).

``core.ImpairmentCore`` decides, sans I/O, what happens to each datagram
(delay, jitter, random and burst loss, reordering, duplication, blackouts);
``relay.UdpImpairmentRelay`` runs it between two loopback UDP peers on asyncio.
"""
