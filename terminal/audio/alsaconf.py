"""An asoundrc whose PCMs read and write files, so tests run the real PortAudio/ALSA path.

The ALSA ``file`` plugin reads capture samples from ``infile`` (raw s16le, 48 kHz
mono, no header) and writes played samples to ``file`` (here as WAV) over a
``null`` slave. ``null`` is defined in the system ``alsa.conf``, which must be
loaded first, hence ``ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:<ours>``.
The plugin is not paced and repeats stale data past the end of ``infile``:
the handset adapter paces itself, and inputs must outlast the test.
"""

import os
import string
from pathlib import Path

from terminal.audio.errors import AudioError
from terminal.audio.wavfile import open_pcm_wav

SYSTEM_ALSA_CONF = Path("/usr/share/alsa/alsa.conf")
SIM_TEMPLATE = Path(__file__).resolve().parents[2] / "hw" / "alsa" / "file-sim.asoundrc.in"
CAPTURE_PCM = "hotline_capture"
PLAYBACK_PCM = "hotline_playback"


def _alsa_string(path: Path) -> str:
    text = str(Path(path).resolve())
    if any(c in text for c in '"\\\n'):
        raise AudioError(f"path {text!r} cannot be quoted in an asoundrc (contains a quote, backslash or newline)")
    return text


def write_file_asoundrc(path: Path, capture_raw: Path, playback_wav: Path,
                        template: Path = SIM_TEMPLATE) -> Path:
    """Write an asoundrc with PCMs ``hotline_capture`` (reads ``capture_raw``) and
    ``hotline_playback`` (writes ``playback_wav``); return its path."""
    text = string.Template(Path(template).read_text()).substitute(
        capture_file=_alsa_string(capture_raw), playback_file=_alsa_string(playback_wav))
    path = Path(path)
    path.write_text(text)
    return path


def alsa_config_path(asoundrc: Path) -> str:
    """The ALSA_CONFIG_PATH value that loads the system config and then ``asoundrc``."""
    if not SYSTEM_ALSA_CONF.exists():
        raise AudioError(f"{SYSTEM_ALSA_CONF} is missing; install alsa-utils / libasound2-data")
    return f"{SYSTEM_ALSA_CONF}:{Path(asoundrc).resolve()}"


def use_asoundrc(asoundrc: Path) -> None:
    """Point ALSA of this process at ``asoundrc``; call before creating a PyAudio handset."""
    os.environ["ALSA_CONFIG_PATH"] = alsa_config_path(asoundrc)


def wav_to_raw(wav_path: Path, raw_path: Path) -> int:
    """Copy a 48 kHz mono int16 WAV's samples to a headerless file for ``infile``; return frames."""
    with open_pcm_wav(wav_path) as wav:
        frames = wav.getnframes()
        Path(raw_path).write_bytes(wav.readframes(frames))
    return frames
