#!/usr/bin/env bash
# Installs everything the project needs on Debian bookworm / Raspberry Pi OS:
# the Debian packages, a virtualenv in .venv, and the project into it.
# Idempotent: a second run installs nothing and needs no network.
# Sourced by run-sim and run-tests; may also be run on its own.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

# Debian packages. Keep these lists the single place a system dependency lives.
# What a desk unit needs at run time: debian/control's hotline-unit Depends/Recommends
# carry these (tests/packaging checks it), and nothing else from the lists below.
UNIT_PACKAGES=(
  python3                                       # the interpreter the unit's virtualenv runs on
  libopus0                                      # Opus codec (opuslib loads it)
  libportaudio2 libasound2 alsa-utils           # PyAudio over ALSA; alsa-utils: arecord/alsamixer checks
  procps                                        # /bin/kill: hotline.service's ExecReload
  kmod                                          # modprobe libcomposite in hw/usb-gadget/hotline-gadget.sh
)
# Development: building, testing and simulating; never on a unit.
DEV_PACKAGES=(
  python3-venv python3-dev gcc                  # the virtualenv and C builds (PyAudio)
  portaudio19-dev                               # PyAudio's headers
  espeak-ng sox                                 # speech fixtures for the simulation (regenerating them)
  iproute2 nftables                             # network-namespace tests
  chromium                                      # the auditor's report rendered in a test
  systemd                                       # systemd-analyze verify of the unit files
  baresip-core                                  # the CPU yardstick in tests/bench/bench_cpu.py
  build-essential dpkg-dev debhelper dh-virtualenv   # scripts/build-deb: the .deb packages
  systemd-container mmdebstrap socat            # scripts/lab: installed units booted under systemd-nspawn
  qemu-user-static arch-test                    # scripts/arm64: the unit built and tested on arm64 (binfmt_misc);
                                                # arch-test: mmdebstrap needs it for a foreign root (only a Recommends)
  prometheus                                    # promtool: tests/metrics check and test the shipped alert rules
)
APT_PACKAGES=("${UNIT_PACKAGES[@]}" "${DEV_PACKAGES[@]}")

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  [[ "$pkg" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The virtualenv, rebuilt only when pyproject.toml changes.
stamp="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "setup: creating virtualenv in $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
if [[ "$(cat "$VENV/.installed" 2>/dev/null)" != "$stamp" ]]; then
  echo "setup: installing the project into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --upgrade pip >&2
  "$VENV/bin/python" -m pip install -q -e "$ROOT[test,host]" >&2
  echo "$stamp" > "$VENV/.installed"
fi
