"""The unit on its real architecture: arm64 Debian bookworm (the base of Raspberry Pi OS),
run on this x86-64 machine through qemu-user and binfmt_misc.

    scripts/arm64 up      build what is missing; install hotline-unit in a clean arm64 root
    scripts/arm64 test    up, then the test suite inside that root (run-tests' last stage)
    scripts/arm64 suite   the test suite again, in the root `up` left (a developer's rerun)
    scripts/arm64 shell   a shell inside the arm64 root
    scripts/arm64 down    remove the arm64 root (the caches stay)

What it does, in order:
1. binfmt: qemu-aarch64 registered with binfmt_misc, with the F flag (the kernel holds the
   interpreter open, so it works inside a root that does not have it); binfmt_misc mounted
   first if it is not.
2. Two arm64 root filesystems made by mmdebstrap from Debian's archive, cached as tarballs in
   CACHE (outside the checkout), rebuilt when missing or when their package list changes:
   the builder (debian/control's Build-Depends) and a clean one (what Raspberry Pi OS Lite has
   anyway: systemd, udev, CA certificates; none of the unit's own dependencies).
3. The packages built inside the builder with the same command as on x86
   (`scripts/build-deb OUTDIR`), from the files `scripts/build-deb --copy-sources` names;
   cached by `scripts/build-deb --source-hash`. The lock files (packaging/constraints-*.txt)
   fix every Python distribution's version, so the arm64 and x86 packages carry the same ones.
4. The clean root unpacked; `apt-get install ./hotline-unit_*.deb`: apt resolves the declared
   dependencies from Debian's archive, nothing else is there. Then, as a person would:
   `hotline --version`, `hotline selftest --json` on mock pins, `hotline sim --json`.
5. The test suite inside that root, against the installed package's own virtualenv: a test
   virtualenv whose only code of ours is /opt/venvs/hotline-unit's (a .pth file names it; the
   test tools come as wheels built once in the builder). Not run there, each with its reason:
   tests/lab (it boots two systemd containers: nested emulation; it runs natively) and
   tests/packaging (building and installing the .deb is steps 3 and 4 themselves). The tests
   that need netfilter (qemu-user refuses netfilter sockets) or a browser skip themselves there,
   saying so (HOTLINE_EMULATED is set); natively they run.

What this cannot prove: real GPIO (gpiozero's MockFactory stands in), a real USB gadget (no
device controller), a real sound card (ALSA's file plugin), Raspberry Pi OS's own archive
(Debian's bookworm is its base; the Pi's archive adds its kernel and firmware packages), and
timing: qemu-user is many times slower than a Pi, so no figure from here means anything.
Needs root (binfmt_misc, mmdebstrap, systemd-nspawn).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.lab import lab

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("HOTLINE_ARM64_CACHE", "/var/cache/hotline-arm64"))
WORK = Path(os.environ.get("HOTLINE_ARM64", "/var/lib/hotline-arm64"))
SUITE, ARCH = "bookworm", "arm64"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
BINFMT_CONF = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")      # from Debian's qemu-user-static
# What Raspberry Pi OS Lite has anyway; none of hotline-unit's own dependencies, which apt
# must find from the package's declarations alone.
CLEAN_PACKAGES = ["systemd", "systemd-sysv", "udev", "ca-certificates"]
# Test-only tools added to the root after the install checks (never in the unit's Depends):
# promtool for tests/metrics, systemd-analyze comes with systemd.
TEST_APT_PACKAGES = ["prometheus"]
TESTS_NOT_RUN = {
    "tests/lab": "boots two systemd containers: nested emulation under qemu-user; runs natively",
    "tests/packaging": "building and installing the .deb is this stage's own steps 3 and 4",
}
UNIT_VENV = "/opt/venvs/hotline-unit"
HOST_VENV = "/opt/venvs/hotline-host"
TEST_VENV = "/opt/hotline-test"
IN_ROOT_DEBS, IN_ROOT_WHEELS, IN_ROOT_TESTS = "/var/cache/hotline-debs", "/var/cache/hotline-wheels", "/root/hotline-tests"
CODE_EXCLUDED = ("terminal", "host")
PAIR = "/root/pair"                       # hotline sim --out: two provisioned units' configs and keys       # the checkout's code stays out of the suite's root


def say(*words) -> None:
    print("arm64:", *words, file=sys.stderr, flush=True)


run = lab.run


def host_ca_bundle() -> Path:
    """The certificates this machine trusts (a network may intercept TLS with its own CA)."""
    return Path(os.environ.get("SSL_CERT_FILE") or os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt")


def nspawn(root: Path, *cmd, binds=(), env=None, check=True, capture=False, timeout=3600):
    """A command inside an arm64 root (not booted): its own /proc, /dev and mount namespace,
    the host's network, resolv.conf and trusted certificates (pip reaches PyPI as the host
    does; apt uses Debian's signed archive over http)."""
    args = ["systemd-nspawn", "-q", "--register=no", "--keep-unit", "--resolv-conf=replace-host",
            "-D", root, "--setenv=DEBIAN_FRONTEND=noninteractive", "--setenv=LC_ALL=C.UTF-8",
            f"--bind-ro={host_ca_bundle()}:/etc/ssl/host-ca.crt", "--setenv=PIP_CERT=/etc/ssl/host-ca.crt"]
    args += [f"--bind={src}:{dst}" for src, dst in binds]
    args += [f"--setenv={k}={v}" for k, v in (env or {}).items()]
    return run(*args, "--", *cmd, check=check, capture=capture, timeout=timeout)


# -- 1. binfmt --------------------------------------------------------------------------


def binfmt() -> None:
    if not BINFMT_CONF.exists():
        raise RuntimeError(f"{BINFMT_CONF} is missing: install qemu-user-static (scripts/setup.sh does)")
    if not (BINFMT / "register").exists():
        say(f"mounting binfmt_misc on {BINFMT}")
        run("mount", "-t", "binfmt_misc", "binfmt_misc", BINFMT)
    entry = BINFMT / "qemu-aarch64"
    if not entry.exists():
        say("registering qemu-aarch64 with binfmt_misc")
        (BINFMT / "register").write_text(BINFMT_CONF.read_text().strip())
    text = entry.read_text()
    flags = re.search(r"^flags: (\S*)", text, re.M)
    if "enabled" not in text or not flags or "F" not in flags.group(1):
        raise RuntimeError(f"{entry} is registered without the F flag or disabled:\n{text}\n"
                           f"remove it (echo -1 > {entry}) and run again")


# -- 2. root filesystems ----------------------------------------------------------------


def build_depends() -> list[str]:
    """debian/control's Build-Depends, without versions: the builder's packages."""
    text = (ROOT / "debian" / "control").read_text()
    field = re.search(r"^Build-Depends:(.*?)^\S", text, re.M | re.S).group(1)
    field = "\n".join(line for line in field.splitlines() if not line.lstrip().startswith("#"))
    names = [re.sub(r"\(.*?\)", "", dep).strip() for dep in field.split(",")]
    virtual = {"debhelper-compat": "debhelper"}          # apt installs a virtual package only by its provider
    return [virtual.get(n, n) for n in names if n]


def builder_packages() -> list[str]:
    # dpkg-buildpackage wants build-essential beside Build-Depends; ca-certificates for pip
    return sorted({*build_depends(), "build-essential", "ca-certificates"})


def rootfs(kind: str, packages: list[str]) -> Path:
    key = hashlib.sha256(" ".join([SUITE, ARCH, *packages]).encode()).hexdigest()[:12]
    tar = CACHE / f"rootfs-{SUITE}-{ARCH}-{kind}-{key}.tar"
    if not tar.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        say(f"building the {kind} {ARCH} root filesystem with mmdebstrap (once; cached as {tar})")
        partial = tar.with_name(tar.stem + ".partial.tar")
        started = time.monotonic()
        run("mmdebstrap", f"--arch={ARCH}", "--variant=minbase", "--format=tar",
            "--include=" + ",".join(packages), SUITE, partial, capture=True)
        partial.rename(tar)
        say(f"  {tar.name}: {tar.stat().st_size >> 20} MiB in {time.monotonic() - started:.0f} s")
    return tar


def unpack(tar: Path, root: Path) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    run("tar", "-xf", tar, "-C", root)
    return root


# -- 3. the packages, built on arm64 -----------------------------------------------------


def source_hash() -> str:
    return run(ROOT / "scripts" / "build-deb", "--source-hash", capture=True).stdout.strip()


def test_requirements() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]


class Builder:
    """A builder root, unpacked when first needed, with a copy of the sources at /root/src."""

    def __init__(self, name: str = "builder"):
        self.name = name
        self.root: Path | None = None
        self.pip_cache = CACHE / "pip"

    def __enter__(self):
        return self

    def get(self) -> Path:
        if self.root is None:
            self.root = unpack(rootfs("builder", builder_packages()), WORK / self.name)
            run(ROOT / "scripts" / "build-deb", "--copy-sources", self.root / "root" / "src")
            self.pip_cache.mkdir(parents=True, exist_ok=True)
        return self.root

    def __exit__(self, *exc):
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


def cached(out: Path, make) -> Path:
    """`out`, made by make(partial) into a sibling directory and renamed when it succeeded."""
    if out.exists():
        return out
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    make(partial)
    partial.rename(out)
    return out


def packages(builder: Builder) -> Path:
    """The arm64 hotline-unit and hotline-host packages of this source, built in the builder
    with scripts/build-deb when missing (cached by its source hash)."""
    def build(partial: Path) -> None:
        say(f"building hotline-unit and hotline-host for {ARCH} inside the builder (scripts/build-deb)")
        started = time.monotonic()
        nspawn(builder.get(), "/root/src/scripts/build-deb", "/out",
               binds=[(partial, "/out"), (builder.pip_cache, "/var/cache/hotline-build")],
               env={"HOTLINE_BUILD_CACHE": "/var/cache/hotline-build"})
        say(f"  built in {time.monotonic() - started:.0f} s")
    return cached(CACHE / "debs" / source_hash(), build)


def wheels(builder: Builder) -> Path:
    """Wheels of pyproject.toml's test tools for arm64 (pesq compiles), pip's own among them:
    the unit's virtualenv has no pip. Cached by the requirements and the host lock file."""
    lock = (ROOT / "packaging" / "constraints-host.txt").read_text()
    key = hashlib.sha256("\n".join([*test_requirements(), lock]).encode()).hexdigest()[:12]

    def build(partial: Path) -> None:
        say("building the test tools' wheels inside the builder (pip wheel)")
        nspawn(builder.get(), "/bin/sh", "-c", "python3 -m venv /root/wheels && /root/wheels/bin/pip install -q "
               "--upgrade pip && exec /root/wheels/bin/pip wheel -q --wheel-dir /out "
               "--constraint /root/src/packaging/constraints-host.txt pip \"$@\"", "-", *test_requirements(),
               binds=[(partial, "/out"), (builder.pip_cache, "/root/.cache/pip")])
    return cached(CACHE / "wheels" / key, build)


def describe(deb: Path) -> dict:
    fields = run("dpkg-deb", "--field", deb, "Version", "Architecture", "Installed-Size", "Depends", "Recommends",
                 capture=True).stdout
    info = dict(re.findall(r"^([\w-]+): (.*)$", fields, re.M))
    return {"file": deb.name, "bytes": deb.stat().st_size, "installed_kib": int(info["Installed-Size"]),
            "architecture": info["Architecture"], "version": info["Version"],
            "depends": [d.strip() for d in info.get("Depends", "").split(",") if d.strip()],
            "recommends": [d.strip() for d in info.get("Recommends", "").split(",") if d.strip()]}


# -- 4. a clean root, the package installed, the checks ------------------------------------


def unit_root() -> Path:
    return WORK / "unit"


def built_wheels() -> Path:
    with Builder("builder-wheels") as builder:
        return wheels(builder)


def up(with_wheels: bool = False) -> dict:
    """Steps 1 to 4; with_wheels: the test tools' wheels too. On a cold cache, what does not
    depend on each other is built side by side (two cores, and qemu runs each process on one)."""
    binfmt()
    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        clean = pool.submit(rootfs, "clean", CLEAN_PACKAGES)
        rootfs("builder", builder_packages())
        wheel_job = pool.submit(built_wheels) if with_wheels else None
        with Builder() as builder:
            debs = packages(builder)
        unit = unit_root()
        unpack(clean.result(), unit)
        if wheel_job is not None:
            wheel_job.result()
    inbox = unit / IN_ROOT_DEBS.lstrip("/")
    inbox.mkdir(parents=True)
    for deb in debs.glob("hotline-*.deb"):
        shutil.copy(deb, inbox)
    unit_deb = next(debs.glob("hotline-unit_*_arm64.deb"))
    # Depends alone, no Recommends: what the unit runs on must all be declared as needed.
    say(f"installing {unit_deb.name} with apt in a clean {ARCH} root (Depends only, from Debian's archive)")
    nspawn(unit, "apt-get", "update", "-q", capture=True)
    nspawn(unit, "apt-get", "install", "-y", "-q", "--no-install-recommends", f"{IN_ROOT_DEBS}/{unit_deb.name}",
           capture=True)
    lab.mock_desk(unit, "arm64")
    summary = {"package": describe(unit_deb), "checks": checks(unit), "up_seconds": round(time.monotonic() - started)}
    say(f"  up in {summary['up_seconds']} s")
    return summary


def checks(unit: Path) -> dict:
    """What a person does first on a freshly installed unit, each answer checked."""
    def inside(*cmd):
        return nspawn(unit, *cmd, capture=True, timeout=900)

    arch = inside("dpkg", "--print-architecture").stdout.strip()
    machine = inside("/usr/bin/python3", "-c", "import platform; print(platform.machine())").stdout.strip()
    if (arch, machine) != ("arm64", "aarch64"):
        raise RuntimeError(f"the root is not arm64: dpkg says {arch!r}, python says {machine!r}")
    version = inside("/usr/bin/hotline", "--version").stdout.split()
    expected = run(ROOT / "scripts" / "build-deb", "--print-version", capture=True).stdout.split()[0]
    if version != ["hotline", expected]:
        raise RuntimeError(f"hotline --version said {version}, expected hotline {expected}")
    # The simulated pair first: it also leaves two provisioned units' configs and keys behind.
    sim = nspawn(unit, "/usr/bin/hotline", "sim", "--json", "--out", PAIR, capture=True, check=False, timeout=900)
    if sim.returncode != 0:
        raise RuntimeError(f"hotline sim on the arm64 unit exited {sim.returncode}:\n{sim.stderr[-3000:]}")
    handshake_ms = json.loads(sim.stdout)["handshake"]["ms"]
    # The self-test of unit A on mock pins and the handset's ALSA file plugin, its peer B's
    # daemon running beside it, so that the end-to-end link check has someone to reach.
    script = (f"/usr/bin/hotline run --config {PAIR}/B/hotline.toml 2>/dev/null & b=$!; "
              f"/usr/bin/hotline selftest --config {PAIR}/A/hotline.toml --standalone --json --link-timeout 60; "
              "code=$?; kill $b; wait $b; exit $code")
    selftest = nspawn(unit, "/bin/bash", "-c", script, capture=True, check=False, timeout=900)
    report = json.loads(selftest.stdout or "{}")
    if selftest.returncode != 0 or not report.get("passed"):
        raise RuntimeError(f"hotline selftest on the arm64 unit exited {selftest.returncode}:\n"
                           f"{selftest.stdout[-3000:]}{selftest.stderr[-2000:]}")
    checks = [c["name"] for c in report["checks"]]
    say(f"  {' '.join(version)}; sim passed (handshake {handshake_ms} ms); selftest passed: {', '.join(checks)}")
    return {"version": " ".join(version), "sim_handshake_ms": handshake_ms, "selftest_checks": checks}


# -- 5. the suite inside -----------------------------------------------------------------


def test(pytest_args: list[str]) -> int:
    """up, then the suite inside; the summary of both in CACHE/last-run.json."""
    summary = up(with_wheels=True)
    code, summary["suite_seconds"] = suite(pytest_args)
    summary["suite_exit"] = code
    (CACHE / "last-run.json").write_text(json.dumps(summary, indent=2) + "\n")
    package = summary["package"]
    say(f"suite under {ARCH}: exit {code} in {summary['suite_seconds']} s; package {package['file']} "
        f"{package['bytes'] >> 10} KiB, installed {package['installed_kib']} KiB; Depends: "
        f"{', '.join(package['depends'])}; summary in {CACHE / 'last-run.json'}")
    return code


def suite(pytest_args: list[str]) -> tuple[int, int]:
    """The test suite inside the arm64 root `up` made: (pytest's exit code, seconds)."""
    unit = unit_root()
    binfmt()
    started = time.monotonic()
    say("preparing the suite: hotline-host, promtool, a test virtualenv over the unit's")
    host_deb = next((unit / IN_ROOT_DEBS.lstrip("/")).glob("hotline-host_*_arm64.deb"))
    nspawn(unit, "apt-get", "install", "-y", "-q", "--no-install-recommends", f"{IN_ROOT_DEBS}/{host_deb.name}",
           *TEST_APT_PACKAGES, capture=True)
    nspawn(unit, "/usr/bin/python3", "-m", "venv", "--without-pip", TEST_VENV)
    site = "lib/python3.11/site-packages"
    (unit / TEST_VENV.lstrip("/") / site / "hotline-installed.pth").write_text(
        f"{UNIT_VENV}/{site}\n{HOST_VENV}/{site}\n")
    for tool in ("hotline", "hotline-host"):             # the installed commands, beside the suite's python
        link = unit / TEST_VENV.lstrip("/") / "bin" / tool
        link.unlink(missing_ok=True)
        link.symlink_to(f"/usr/bin/{tool}")
    wheel_dir = built_wheels()
    pip = next(wheel_dir.glob("pip-*.whl")).name           # the unit's virtualenv has no pip: pip from its wheel
    nspawn(unit, f"{TEST_VENV}/bin/python", f"{IN_ROOT_WHEELS}/{pip}/pip", "install", "-q", "--no-index",
           "--find-links", IN_ROOT_WHEELS, *test_requirements(), binds=[(wheel_dir, IN_ROOT_WHEELS)], capture=True)
    # The handset PCMs of the checks' mock desk (/etc/asound.conf) and of the package (the USB
    # handset, /etc/alsa/conf.d) out of the way: the audio tests define the same names on files
    # through ALSA_CONFIG_PATH, which ALSA reads before both. A machine running the suite
    # natively has neither.
    (unit / "etc" / "asound.conf").unlink(missing_ok=True)
    (unit / "etc" / "alsa" / "conf.d" / "60-hotline-handset.conf").unlink(missing_ok=True)
    tests = unit / IN_ROOT_TESTS.lstrip("/")
    shutil.rmtree(tests, ignore_errors=True)
    run(ROOT / "scripts" / "build-deb", "--copy-sources", tests)     # hw/, docs/, debian/ ... as the tests read them
    shutil.copytree(ROOT / "tests", tests / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    for name in CODE_EXCLUDED:
        shutil.rmtree(tests / name, ignore_errors=True)
    where = nspawn(unit, f"{TEST_VENV}/bin/python", "-c", "import terminal, host; print(terminal.__file__, host.__file__)",
                   capture=True, env={"PYTHONSAFEPATH": "1"}).stdout.split()
    if not all(w.startswith(UNIT_VENV) for w in where):
        raise RuntimeError(f"the suite would not test the installed package: it imports {where}")
    for path, why in TESTS_NOT_RUN.items():
        say(f"  not run under {ARCH}: {path}: {why}")
    say(f"running the suite under {ARCH} against {UNIT_VENV} (prepared in {time.monotonic() - started:.0f} s)")
    started = time.monotonic()
    ignores = [f"--ignore={path}" for path in TESTS_NOT_RUN]
    result = nspawn(unit, "/bin/sh", "-c", f"cd {IN_ROOT_TESTS} && exec {TEST_VENV}/bin/python -m pytest "
                    f"-p no:cacheprovider -ra {' '.join(ignores)} " + " ".join(map(shlex.quote, pytest_args)),
                    env={"HOTLINE_EMULATED": f"qemu-user {ARCH}"}, check=False, timeout=3600)
    return result.returncode, round(time.monotonic() - started)


def shell() -> int:
    unit = unit_root()
    if not (unit / "usr").exists():
        say("no arm64 root yet: scripts/arm64 up")
        return 1
    binfmt()
    return subprocess.call(["systemd-nspawn", "-q", "--register=no", "-D", str(unit), "--resolv-conf=replace-host"])


def down() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    say(f"removed {WORK} (caches in {CACHE} stay)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/arm64", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "test", "suite", "shell", "down"])
    args, args.pytest_args = parser.parse_known_args(argv)     # test, suite: the rest goes to pytest inside
    if os.geteuid() != 0:
        print("arm64: needs root (binfmt_misc, mmdebstrap, systemd-nspawn)", file=sys.stderr)
        return 2
    if args.command == "up":
        print(json.dumps(up(), indent=2))
        return 0
    if args.command == "test":
        return test(args.pytest_args)
    if args.command == "suite":
        return suite(args.pytest_args)[0]
    if args.command == "shell":
        return shell()
    down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
