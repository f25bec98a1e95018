"""scripts/build-deb: what the hotline-unit and hotline-host packages depend on, hold and do.

Both are built once per session, into a cache outside the checkout keyed by the hash of
what the build reads (`scripts/build-deb --source-hash`): a run on an unchanged tree reuses
them; any change to the sources, debian/ or the lock files builds them again (about two
minutes on the 2-core build machine, most of it pip and xz).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_DEB = ROOT / "scripts" / "build-deb"
UNIT_VENV = "/opt/venvs/hotline-unit"
HOST_VENV = "/opt/venvs/hotline-host"
KEEP_BUILDS = 3

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("dpkg-buildpackage", "dh", "dh_virtualenv", "dpkg-deb")),
    reason="needs debhelper, dh-virtualenv and dpkg-dev (scripts/setup.sh installs them; CI has them)")


def _cache_dir() -> Path:
    if os.environ.get("HOTLINE_BUILD_CACHE"):
        return Path(os.environ["HOTLINE_BUILD_CACHE"])
    if os.access("/var/cache", os.W_OK):
        return Path("/var/cache/hotline-build")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hotline-build"


def _run(*cmd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=True, **kwargs)


@pytest.fixture(scope="module")
def debs() -> dict[str, Path]:
    cache = _cache_dir()
    builds = cache / "test-debs"
    key = _run(BUILD_DEB, "--source-hash").stdout.strip()
    out = builds / key
    found = {name: sorted(out.glob(f"{name}_*.deb")) for name in ("hotline-unit", "hotline-host")}
    if not all(found.values()):
        partial = builds / f"{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        result = subprocess.run([BUILD_DEB, partial], capture_output=True, text=True,
                                env={**os.environ, "HOTLINE_BUILD_CACHE": str(cache)})
        assert result.returncode == 0, result.stderr[-4000:]
        shutil.rmtree(out, ignore_errors=True)
        partial.rename(out)
        found = {name: sorted(out.glob(f"{name}_*.deb")) for name in ("hotline-unit", "hotline-host")}
    os.utime(out)
    newest_first = sorted((d for d in builds.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime, reverse=True)
    for old in newest_first[KEEP_BUILDS:]:
        shutil.rmtree(old, ignore_errors=True)
    return {name: paths[-1] for name, paths in found.items()}


def _field(deb: Path, name: str) -> str:
    return _run("dpkg-deb", "-f", deb, name).stdout.strip()


def _names(relation: str) -> set[str]:
    """'a (>= 1), b | c, d:any' -> {'a', 'b', 'c', 'd'}."""
    return {re.split(r"[\s(:\[]", alt.strip())[0] for alt in re.split(r"[,|]", relation) if alt.strip()}


def _contents(deb: Path) -> dict[str, str]:
    """path ('/etc/...') -> the tar listing's mode string, plus ' -> target' for a symlink."""
    entries = {}
    for line in _run("dpkg-deb", "-c", deb).stdout.splitlines():
        mode, _owner, _size, _date, _time, rest = line.split(None, 5)
        path, _, target = rest.partition(" -> ")
        entries[path.removeprefix(".").rstrip("/") or "/"] = mode + (f" -> {target}" if target else "")
    return entries


def _setup_array(name: str) -> list[str]:
    script = f'source <(sed -n "/^{name}=(/,/^)/p" "$1"); printf "%s\\n" "${{{name}[@]}}"'
    return _run("bash", "-c", script, "_", ROOT / "scripts/setup.sh").stdout.split()


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _versions() -> tuple[str, str]:
    pep440, debian = _run(BUILD_DEB, "--print-version").stdout.split()
    return pep440, debian


# --- what the build reads: no build needed ---------------------------------------------------


def test_setup_sh_lists_every_build_dependency_as_development():
    control = (ROOT / "debian/control").read_text()
    build_depends = re.search(r"^Build-Depends:(.*?)^\S", control, re.M | re.S).group(1)
    names = _names(re.sub(r"^#.*$", "", build_depends, flags=re.M)) - {"debhelper-compat"}
    listed = set(_setup_array("UNIT_PACKAGES")) | set(_setup_array("DEV_PACKAGES"))
    assert names <= listed, names - listed
    assert {"debhelper", "dh-virtualenv", "dpkg-dev", "build-essential"} <= set(_setup_array("DEV_PACKAGES"))


def test_matplotlib_is_only_in_the_host_and_test_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("matplotlib")]
    assert any(d.startswith("numpy") for d in project["dependencies"])   # terminal/voice uses it
    for extra in ("host", "test"):
        assert any(d.startswith("matplotlib") for d in project["optional-dependencies"][extra])


def test_lock_files_pin_every_distribution():
    unit, host = ({line.split("==")[0].lower() for line in (ROOT / f"packaging/constraints-{kind}.txt")
                   .read_text().splitlines() if line and not line.startswith("#") and "==" in line}
                  for kind in ("unit", "host"))
    assert "matplotlib" in host and "matplotlib" not in unit and unit < host
    for kind in ("unit", "host"):
        lines = [ln for ln in (ROOT / f"packaging/constraints-{kind}.txt").read_text().splitlines()
                 if ln and not ln.startswith("#")]
        assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[A-Za-z0-9_.+!-]+", ln) for ln in lines), lines


# --- the packages ----------------------------------------------------------------------------


def test_both_packages_carry_pyprojects_version(debs):
    _, debian = _versions()
    for deb in debs.values():
        assert _field(deb, "Version") == debian
        assert _field(deb, "Source") in ("hotline-terminal", f"hotline-terminal ({debian})")


def test_unit_depends_on_run_time_packages_only(debs):
    deb = debs["hotline-unit"]
    depends, recommends = _names(_field(deb, "Depends")), _names(_field(deb, "Recommends"))
    unit_packages, dev_packages = set(_setup_array("UNIT_PACKAGES")), set(_setup_array("DEV_PACKAGES"))
    assert unit_packages <= depends | recommends, unit_packages - depends - recommends
    pulled_in = {name for name in depends | recommends if name in dev_packages - unit_packages}
    assert not pulled_in, f"development packages in hotline-unit's Depends/Recommends: {pulled_in}"
    for name in depends | recommends:
        assert not re.match(r"(chromium|baresip|espeak|sox|nftables|gcc|g\+\+|cpp|build-essential|"
                            r".*-dev$|python3-venv|debhelper|dh-virtualenv)", name), name
    assert {"python3", "libopus0", "libportaudio2", "procps", "adduser"} <= depends


def test_host_depends(debs):
    depends = _names(_field(debs["hotline-host"], "Depends"))
    assert "python3" in depends
    assert not {"chromium", "baresip-core", "espeak-ng", "sox", "nftables", "gcc"} & depends


def test_unit_package_files(debs):
    files = _contents(debs["hotline-unit"])
    for path in ("/lib/systemd/system/hotline.service", "/lib/systemd/system/hotline-provisioning.service",
                 "/lib/systemd/system/hotline-selftest.service", "/lib/systemd/system/hotline-selftest.timer",
                 "/lib/systemd/system/hotline-gadget.service", "/lib/udev/rules.d/70-hotline-unit.rules",
                 "/etc/alsa/conf.d/60-hotline-handset.conf", "/usr/share/hotline/boards/pi4.toml",
                 "/usr/share/hotline/boards/pizero2w.toml", "/usr/share/hotline/hotline.toml",
                 f"{UNIT_VENV}/bin/hotline"):
        assert path in files, path
    assert files["/usr/libexec/hotline/hotline-gadget.sh"].startswith("-rwxr-xr-x")
    assert files["/usr/bin/hotline"].endswith(f"-> {UNIT_VENV}/bin/hotline")
    assert "/usr/bin/hotline-host" not in files and f"{UNIT_VENV}/bin/hotline-host" not in files
    assert "/var/lib/hotline" not in files       # made by postinst, so dpkg never removes it
    conffiles = _run("dpkg-deb", "-I", debs["hotline-unit"], "conffiles").stdout.split()
    assert "/etc/alsa/conf.d/60-hotline-handset.conf" in conffiles
    # the unit's config is postinst's copy of the default, rewritten by provisioning: not a conffile,
    # so no upgrade ever stops at dpkg's question about a modified one
    assert "/etc/hotline/hotline.toml" not in conffiles and "/etc/hotline/hotline.toml" not in files


def test_upgrade_restarts_the_services_and_only_removal_stops_them(debs):
    scripts = {name: _run("dpkg-deb", "-I", debs["hotline-unit"], name).stdout for name in ("postinst", "prerm")}
    units = "'hotline-gadget.service' 'hotline-provisioning.service' 'hotline-selftest.timer' 'hotline.service'"
    assert "_dh_action=restart" in scripts["postinst"] and f"deb-systemd-invoke $_dh_action {units}" in scripts["postinst"]
    assert re.search(r'\[ "\$1" = remove \].*\n\s*deb-systemd-invoke stop ' + re.escape(units), scripts["prerm"])
    assert scripts["postinst"].index("adduser") < scripts["postinst"].index("deb-systemd-invoke")


def test_unit_files_name_what_the_package_installs(debs):
    """ExecStart= and Documentation= of every packaged unit point at files in the package."""
    files = _contents(debs["hotline-unit"])
    for name in ("hotline.service", "hotline-provisioning.service", "hotline-selftest.service",
                 "hotline-selftest.timer", "../usb-gadget/hotline-gadget.service"):
        text = (ROOT / "hw/systemd" / name).read_text()
        for doc in re.findall(r"^Documentation=file://(\S+)", text, re.M):
            assert doc in files, (name, doc)
        for exe in re.findall(r"^Exec(?:Start|Stop)=(\S+)", text, re.M):
            assert exe in files, (name, exe)


def test_matplotlib_only_in_the_hosts_virtualenv(debs):
    unit, host = _contents(debs["hotline-unit"]), _contents(debs["hotline-host"])
    site = "/lib/python3.11/site-packages/"
    assert not [p for p in unit if "/matplotlib" in p]
    assert f"{HOST_VENV}{site}matplotlib" in host
    assert f"{UNIT_VENV}{site}numpy" in unit and f"{UNIT_VENV}{site}terminal" in unit
    assert not [p for p in unit if p.startswith(f"{UNIT_VENV}{site}pip/")]


def test_host_package_files(debs):
    files = _contents(debs["hotline-host"])
    assert files["/usr/bin/hotline-host"].endswith(f"-> {HOST_VENV}/bin/hotline-host")
    assert "/lib/udev/rules.d/70-hotline-host.rules" in files
    assert "/usr/bin/hotline" not in files


def _extract(deb: Path, into: Path) -> Path:
    _run("dpkg-deb", "-x", deb, into)
    return into


def test_extracted_unit_reports_the_package_version_and_reads_its_config(debs, tmp_path):
    """Unpacked, not installed: the venv's python is a link to /usr/bin/python3, the rest is relative."""
    root = _extract(debs["hotline-unit"], tmp_path)
    python = root / UNIT_VENV.lstrip("/") / "bin/python"
    pep440, _ = _versions()
    probe = ("import sys, terminal, terminal.config as c; cfg = c.load(sys.argv[1]);"
             "print(terminal.__version__, cfg.peer, cfg.unit.key_dir, cfg.unit.data_dir, cfg.control.socket,"
             " cfg.hardware.board, cfg.hardware.pin_factory)")
    out = _run(python, "-c", probe, root / "usr/share/hotline/hotline.toml").stdout.split()
    assert out == [pep440, "None", "/var/lib/hotline/keys", "/var/lib/hotline/data",
                   "/run/hotline/control.sock", "pi4", "auto"]
    assert _run(python, "-c", "import importlib.util as u; print(u.find_spec('matplotlib'))").stdout.strip() == "None"
    locked = {_canonical(line.split("==")[0]) for line in
              (ROOT / "packaging/constraints-unit.txt").read_text().splitlines() if "==" in line}
    listed = _run(python, "-c", "import importlib.metadata as m; print(*(d.metadata['Name'] for d in m.distributions()))")
    assert {_canonical(n) for n in listed.stdout.split()} == locked | {"hotline-terminal"}


def test_extracted_host_imports_the_report(debs, tmp_path):
    root = _extract(debs["hotline-host"], tmp_path)
    python = root / HOST_VENV.lstrip("/") / "bin/python"
    out = _run(python, "-c", "import host.report, matplotlib, terminal; print(terminal.__version__)").stdout
    assert out.strip() == _versions()[0]


# --- installed for real: root only -----------------------------------------------------------


def _installed(package: str) -> bool:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return "ok installed" in result.stdout or "config-files" in result.stdout


def _exists(lookup, name) -> bool:
    try:
        lookup(name)
        return True
    except KeyError:
        return False


@pytest.mark.skipif(os.geteuid() != 0, reason="installs the package with dpkg: root only (CI runs as root)")
def test_install_upgrade_remove_purge(debs):
    """dpkg -i; the unit provisioned (config rewritten, keys written); dpkg -i again (the
    maintainer scripts' upgrade path); dpkg -r keeps both; dpkg --purge keeps /var/lib/hotline."""
    if _installed("hotline-unit"):
        pytest.skip("hotline-unit is installed on this machine; not touching it")
    had = {"user": _exists(pwd.getpwnam, "hotline"), "group": _exists(grp.getgrnam, "hotline"),
           "gpio": _exists(grp.getgrnam, "gpio"), "state": Path("/var/lib/hotline").exists()}
    deb = debs["hotline-unit"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    config, marker = Path("/etc/hotline/hotline.toml"), Path("/var/lib/hotline/keys/private.keys")
    try:
        _run("dpkg", "-i", deb, env=env)
        user = pwd.getpwnam("hotline")
        groups = {g.gr_name for g in grp.getgrall() if "hotline" in g.gr_mem}
        assert {"gpio", "audio", "dialout"} <= groups
        state = os.stat("/var/lib/hotline")
        assert (stat.S_IMODE(state.st_mode), state.st_uid) == (0o750, user.pw_uid)
        etc = os.stat("/etc/hotline")
        assert (stat.S_IMODE(etc.st_mode), etc.st_gid) == (0o770, grp.getgrnam("hotline").gr_gid)
        assert _run("/usr/bin/hotline", "--version").stdout.split() == ["hotline", _versions()[0]]
        board = _run(f"{UNIT_VENV}/bin/python", "-c",
                     "from terminal.hardware.profile import load_profile; print(load_profile('pi4').name)")
        assert board.stdout.strip() == "Raspberry Pi 4 Model B"
        for wants in ("multi-user.target.wants/hotline.service", "multi-user.target.wants/hotline-provisioning.service",
                      "multi-user.target.wants/hotline-gadget.service", "timers.target.wants/hotline-selftest.timer"):
            assert Path("/etc/systemd/system", wants).is_symlink(), wants

        # What enrol and pair do to a unit: keys in key_dir, the config rewritten in place.
        marker.parent.mkdir(mode=0o700)
        marker.write_text("keys")
        config.write_text(config.read_text().replace('id = "blank"', 'id = "A1"'))

        reinstall = _run("dpkg", "-i", deb, env=env)
        assert 'id = "A1"' in config.read_text(), reinstall.stdout
        assert marker.read_text() == "keys"

        _run("dpkg", "-r", "hotline-unit", env=env)
        assert not Path("/usr/bin/hotline").exists() and not Path(UNIT_VENV).exists()
        assert 'id = "A1"' in config.read_text() and marker.exists()

        purge = _run("dpkg", "--purge", "hotline-unit", env=env)
        assert not Path("/etc/hotline").exists()
        assert marker.read_text() == "keys"
        assert "/var/lib/hotline is NOT removed" in purge.stdout + purge.stderr
    finally:
        if _installed("hotline-unit"):
            subprocess.run(["dpkg", "--purge", "hotline-unit"], capture_output=True, env=env)
        if not had["state"]:
            shutil.rmtree("/var/lib/hotline", ignore_errors=True)
        if not had["user"] and _exists(pwd.getpwnam, "hotline"):
            subprocess.run(["deluser", "--quiet", "--system", "hotline"], capture_output=True)
        for group in ("hotline", "gpio"):
            if not had["group" if group == "hotline" else "gpio"] and _exists(grp.getgrnam, group):
                subprocess.run(["delgroup", "--quiet", "--system", group], capture_output=True)
