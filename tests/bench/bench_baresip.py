"""CPU cost of a baresip Opus call, as the yardstick for our own pipeline (numbers, not pass/fail).

Two baresip 1.0 instances (Debian baresip-core) on loopback: B auto-answers,
A dials, each sends a looped speech WAV (aufile) as Opus 48 kHz mono,
24 kbit/s, 20 ms ptime, in-band FEC, over SRTP (AES-CM-128/HMAC-SHA1-80, as
our voice is encrypted too), with the encoder settings ours uses (SETTINGS).
What each receives is decoded and written to a WAV by baresip's sndfile module,
as our simulated handset writes its earpiece to a WAV; the run fails unless that
WAV holds the measured stretch. (The aubridge player has no matching source, so
baresip's player thread never runs: what is measured is decode and the write.)
CPU is utime+stime from /proc/<pid>/stat over a fixed stretch of the established call.

    .venv/bin/python tests/bench/bench_baresip.py [seconds]
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPEECH = Path(__file__).resolve().parents[2] / "terminal" / "voice" / "samples" / "speech_a.wav"
BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULES = "/usr/lib/baresip/modules"
SETUP_TIMEOUT = 15.0

CONFIG = """\
poll_method epoll
sip_listen 127.0.0.1:{sip_port}
net_interface 127.0.0.1
rtp_ports {rtp_low}-{rtp_high}
rtcp_mux no
audio_source aufile,{source}
audio_player aubridge,play_{name}
audio_alert aubridge,alert_{name}
ausrc_format s16
auplay_format s16
auenc_format s16
audec_format s16
audio_buffer 20-160
jitter_buffer_delay 5-10
statmode_default off
module_path {modules}
module opus.so
module aufile.so
module aubridge.so
module srtp.so
module sndfile.so
snd_path {home}
module_tmp account.so
module_app menu.so
opus_bitrate 24000
opus_stereo no
opus_sprop_stereo no
opus_inbandfec yes
opus_dtx no
opus_application voip
opus_complexity {complexity}
"""
# The settings both sides of bench_cpu use; printed beside the figures.
SETTINGS = {"codec": "Opus 48 kHz mono", "application": "voip", "complexity": 9, "bitrate": "24 kbit/s VBR",
            "frame": "20 ms", "in-band FEC": "on", "DTX": "off"}
ACCOUNT = "<sip:{name}@127.0.0.1:{sip_port}>;regint=0;answermode=auto;audio_codecs=opus;ptime=20;mediaenc=srtp\n"


@dataclass(frozen=True)
class BaresipCall:
    """CPU seconds each instance used over ``seconds`` of an established call."""

    seconds: float
    cpu_caller: float
    cpu_callee: float
    decoded: tuple = ()        # seconds of received audio each wrote to its WAV (the whole call)

    @property
    def pair_per_call_minute(self) -> float:
        return (self.cpu_caller + self.cpu_callee) * 60.0 / self.seconds

    @property
    def unit_per_call_minute(self) -> float:
        return self.pair_per_call_minute / 2


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port_pair() -> int:
    """A port p with p and p+1 free for UDP and TCP (baresip binds SIP/TLS on p+1)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65000 and all(_free(port + k, kind) for k in (0, 1) for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM)):
            return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


def _free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _long_speech(path: Path, seconds: float) -> None:
    """The speech fixture looped to ``seconds`` (aufile stops at the end of its file)."""
    with wave.open(str(SPEECH), "rb") as w:
        speech = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    samples = np.tile(speech, int(seconds * 48000 / len(speech)) + 1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(samples.tobytes())


def _instance(root: Path, name: str, sip_port: int, rtp_low: int, source: Path) -> Path:
    home = root / name
    home.mkdir()
    (home / "config").write_text(CONFIG.format(sip_port=sip_port, rtp_low=rtp_low, rtp_high=rtp_low + 98,
                                               source=source, name=name, modules=MODULES, home=home,
                                               complexity=SETTINGS["complexity"]))
    (home / "accounts").write_text(ACCOUNT.format(name=name, sip_port=sip_port))
    return home


def _wait_established(logs: list[Path], procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + SETUP_TIMEOUT
    while time.monotonic() < deadline:
        if all("Call established" in log.read_text(errors="replace") for log in logs):
            return
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.05)
    tails = "\n".join(f"--- {log.name}\n" + log.read_text(errors="replace")[-1500:] for log in logs)
    raise RuntimeError(f"baresip call was not established within {SETUP_TIMEOUT} s:\n{tails}")


def measure_baresip_call(seconds: float = 20.0) -> BaresipCall:
    """Hold one baresip-to-baresip call for ``seconds`` and measure both processes' CPU."""
    with tempfile.TemporaryDirectory(prefix="bench-baresip-") as tmp:
        root = Path(tmp)
        source = root / "speech.wav"
        _long_speech(source, seconds + SETUP_TIMEOUT + 5)
        port_a, port_b = _free_port_pair(), None
        while port_b is None or abs(port_b - port_a) < 2:
            port_b = _free_port_pair()
        homes = [_instance(root, "a", port_a, 30000, source), _instance(root, "b", port_b, 30200, source)]
        logs = [root / "a.log", root / "b.log"]
        procs: list[subprocess.Popen] = []
        try:
            procs.append(subprocess.Popen([BARESIP, "-f", str(homes[1])], stdin=subprocess.DEVNULL,
                                          stdout=logs[1].open("w"), stderr=subprocess.STDOUT))
            procs.insert(0, subprocess.Popen([BARESIP, "-f", str(homes[0]), "-e", f"/dial sip:b@127.0.0.1:{port_b}"],
                                             stdin=subprocess.DEVNULL, stdout=logs[0].open("w"),
                                             stderr=subprocess.STDOUT))
            _wait_established(logs, procs)
            start = [cpu_seconds(p.pid) for p in procs]
            t0 = time.monotonic()
            time.sleep(seconds)
            end = [cpu_seconds(p.pid) for p in procs]
            elapsed = time.monotonic() - t0
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a baresip instance exited during the call")
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for log in logs:
            text = log.read_text(errors="replace")
            for expected in (r"Set audio encoder: opus 48000Hz 1ch", r"SRTP is Enabled",
                             r"incoming rtp for 'audio' established, receiving from 127\.0\.0\.1"):
                if not re.search(expected, text):
                    raise RuntimeError(f"{log.name} lacks {expected!r}:\n" + text[-1500:])
        for home in homes:
            played = _decoded_seconds(home)
            if played < 0.9 * seconds:
                raise RuntimeError(f"baresip {home.name} decoded {played:.1f} s to its sndfile WAV, "
                                   f"less than 90 % of the {seconds:.1f} s measured")
        return BaresipCall(elapsed, end[0] - start[0], end[1] - start[1],
                           tuple(_decoded_seconds(home) for home in homes))


def _decoded_seconds(home: Path) -> float:
    """Seconds of received audio baresip's sndfile module wrote (its '-dec.wav' dump)."""
    dumps = list(home.glob("dump-*-dec.wav"))
    if len(dumps) != 1:
        raise RuntimeError(f"baresip {home.name}: expected one decoded-audio dump, found {[d.name for d in dumps]}")
    with wave.open(str(dumps[0]), "rb") as w:
        return w.getnframes() / w.getframerate()


def settings_line() -> str:
    return ", ".join(f"{k} {v}" if k not in ("codec", "frame") else str(v) for k, v in SETTINGS.items())


def baresip_cpu_per_call_minute(seconds: float = 20.0) -> float:
    """CPU seconds the baresip pair (both ends together) spends per minute of call."""
    return measure_baresip_call(seconds).pair_per_call_minute


def main(argv: list[str]) -> None:
    seconds = float(argv[1]) if len(argv) > 1 else 20.0
    call = measure_baresip_call(seconds)
    print(f"baresip 1.0 pair, {settings_line()}, SRTP, loopback, {call.seconds:.1f} s of call")
    print(f"  decoded to WAV    {' / '.join(f'{d:.1f}' for d in call.decoded)} s (caller / callee, whole call)")
    print(f"  caller CPU        {call.cpu_caller:7.3f} s")
    print(f"  callee CPU        {call.cpu_callee:7.3f} s")
    print(f"  pair per call-min {call.pair_per_call_minute:7.3f} CPU s")
    print(f"  unit per call-min {call.unit_per_call_minute:7.3f} CPU s  "
          f"({100 * call.unit_per_call_minute / 60:.2f} % of one core)")


if __name__ == "__main__":
    main(sys.argv)
