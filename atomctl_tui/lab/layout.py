"""The files a lab boots from: its /etc/systemd/system, the fake AtoM root and the boot script.

All of them live in the lab's own directory; inside the lab, ``unit_dir`` is bind-mounted over
/etc/systemd/system, so `systemctl enable` and drop-ins never reach the host's /etc.
"""

from __future__ import annotations

import importlib.util
import shutil
import stat
from pathlib import Path

from atomctl_tui.atom import DEFAULT_WORKER_TYPES, gearman_yml_text
from atomctl_tui.lab import mariadb
from atomctl_tui.lab.state import LabPaths
from atomctl_tui.lab.worker import JOB_CLASSES_FILE

LAB_TARGET = "atomctl-lab.target"
SSHD_UNIT = "atomctl-lab-sshd.service"
GEARMAN_UNIT = "gearman-job-server.service"
WORKER_UNIT = "atom-worker.service"
WORKER_TEMPLATE = "atom-worker@.service"
SYSTEM_PYTHON = "/usr/bin/python3"

# Units that would change global kernel or host state from inside the lab, or that are
# simply irrelevant there. Masked by a symlink to /dev/null in the lab's /etc/systemd/system.
MASKED_UNITS = (
    "systemd-sysctl.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount",
    "systemd-modules-load.service",
    "kmod-static-nodes.service",
    "systemd-remount-fs.service",
    "systemd-tmpfiles-setup.service",
    "systemd-tmpfiles-setup-dev.service",
    "systemd-tmpfiles-clean.timer",
    "systemd-journal-flush.service",
    "systemd-timesyncd.service",
    "systemd-update-utmp.service",
    "systemd-update-utmp-runlevel.service",
    "systemd-pstore.service",
    "systemd-sysusers.service",
    "systemd-firstboot.service",
    "systemd-machine-id-commit.service",
    "systemd-random-seed.service",
    "systemd-hwdb-update.service",
    "systemd-udevd.service",
    "systemd-udev-trigger.service",
    "systemd-logind.service",
    "systemd-ask-password-wall.path",
    "systemd-ask-password-console.path",
    "getty.target",
    "console-getty.service",
    "dev-hugepages.mount",
    "dev-mqueue.mount",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-fs-fuse-connections.mount",
    "ssh.service",
    "memcached.service",
    "postgresql.service",
    "cron.service",
    "e2scrub_reap.service",
    "e2scrub_all.timer",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "man-db.timer",
    "fstrim.timer",
    "dpkg-db-backup.timer",
    "logrotate.timer",
)

NOT_ENABLED_BY_DEFAULT = {"qtSwordPluginWorker": "qtSwordPlugin"}
"""Job classes of gearman.yml whose plugin a default AtoM install does not enable (arInstall's
`plugins` setting), so its workers log "Ability not defined" for them."""
SITE_JOB_CLASSES = tuple(
    job_class
    for classes in DEFAULT_WORKER_TYPES.values()
    for job_class in classes
    if job_class not in NOT_ENABLED_BY_DEFAULT
)
"""The job classes of the lab's fake AtoM site: those of a default install."""

# Python packages the stand-in worker imports; copied into the lab's runtime directory.
WORKER_PACKAGES = ("atomctl_tui", "gearman", "yaml", "pymysql")


def write_lab_files(
    paths: LabPaths, *, gearman_port: int, ssh_port: int, mysql_port: int, workers: int
) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.root.chmod(0o755)
    _write_runtime(paths.runtime)
    _write_atom_root(paths, gearman_port)
    mariadb.write_files(paths, mysql_port)
    _write_unit_dir(paths, gearman_port=gearman_port, workers=workers)
    _write_boot_script(paths)


def _write_runtime(runtime: Path) -> None:
    """Copy the worker's packages where any user can read them (the venv may be under /root)."""
    if runtime.exists():
        shutil.rmtree(runtime)
    runtime.mkdir(mode=0o755)
    for name in WORKER_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"Python package {name!r} is not installed")
        source = Path(next(iter(spec.submodule_search_locations)))
        shutil.copytree(source, runtime / name, ignore=shutil.ignore_patterns("__pycache__"))
    for path in runtime.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _write_atom_root(paths: LabPaths, gearman_port: int) -> None:
    atom = paths.atom_root
    (atom / "config").mkdir(parents=True, exist_ok=True)
    (atom / "config" / "gearman.yml").write_text(
        gearman_yml_text({"default": f"127.0.0.1:{gearman_port}"}, DEFAULT_WORKER_TYPES)
    )
    # `symfony` as in a real AtoM root, so the unit reads `... symfony jobs:worker`.
    symfony = atom / "symfony"
    symfony.write_text(
        f"#!{SYSTEM_PYTHON}\n"
        '"""atomctl lab: stands in for AtoM\'s symfony CLI; only `jobs:worker` exists."""\n'
        "import sys\n"
        f"sys.path.insert(0, {str(paths.runtime)!r})\n"
        "from atomctl_tui.lab.worker import main\n"
        "sys.exit(main())\n"
    )
    symfony.chmod(0o755)
    disabled = ", ".join(f"{c} ({p})" for c, p in NOT_ENABLED_BY_DEFAULT.items())
    (atom / JOB_CLASSES_FILE).write_text(
        "# atomctl lab: the job classes this fake AtoM site has, one a line; the stand-in\n"
        "# worker registers only these (AtoM's worker: class_exists()). Those of a default\n"
        f"# install: every class of gearman.yml but {disabled}, whose plugin is not enabled.\n"
        + "".join(f"{job_class}\n" for job_class in SITE_JOB_CLASSES)
    )
    (atom / JOB_CLASSES_FILE).chmod(0o644)  # the worker runs as www-data
    for path in [atom, *atom.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)


def worker_unit_text(paths: LabPaths) -> str:
    """AtoM's admin-manual unit; lab differences are commented."""
    return f"""\
[Unit]
Description=AtoM worker
After=network.target
# lab: a real site's job server is up long before; at lab boot it starts alongside.
After={GEARMAN_UNIT}
StartLimitIntervalSec=24h
StartLimitBurst=3

[Service]
Type=simple
User=www-data
Group=www-data
WorkingDirectory={paths.atom_root}
# lab: the stand-in worker instead of `/usr/bin/php -d memory_limit=-1 ... symfony jobs:worker`
ExecStart={SYSTEM_PYTHON} symfony jobs:worker
KillSignal=SIGTERM
Restart=on-failure
# lab: 30 s in AtoM's manual
RestartSec=1

[Install]
WantedBy=multi-user.target
"""


def _write_unit_dir(paths: LabPaths, *, gearman_port: int, workers: int) -> None:
    unit_dir = paths.unit_dir
    if unit_dir.exists():
        shutil.rmtree(unit_dir)
    unit_dir.mkdir(mode=0o755)
    for unit in MASKED_UNITS:
        (unit_dir / unit).symlink_to("/dev/null")

    (unit_dir / LAB_TARGET).write_text(
        "[Unit]\n"
        "Description=atomctl lab\n"
        "Requires=dbus.socket systemd-journald.socket\n"
        "After=dbus.socket systemd-journald.socket\n"
        "Wants=multi-user.target\n"
        "After=multi-user.target\n"
        "AllowIsolate=yes\n"
    )

    gearman_dropin = unit_dir / f"{GEARMAN_UNIT}.d"
    gearman_dropin.mkdir()
    # EnvironmentFile= (empty) drops Debian's /etc/default file, whose PARAMS would win.
    (gearman_dropin / "atomctl-lab.conf").write_text(
        "[Service]\n"
        "EnvironmentFile=\n"
        f'Environment="PARAMS=--listen=127.0.0.1 --port={gearman_port} --daemon'
        ' --syslog --log-file=none --verbose=WARNING"\n'
    )

    (unit_dir / WORKER_UNIT).write_text(worker_unit_text(paths))
    (unit_dir / WORKER_TEMPLATE).write_text(
        worker_unit_text(paths).replace("Description=AtoM worker", "Description=AtoM worker %i")
    )

    for relative, text in mariadb.unit_files(paths).items():
        (unit_dir / relative).parent.mkdir(exist_ok=True)
        (unit_dir / relative).write_text(text)
    for alias in mariadb.MARIADB_ALIASES:
        (unit_dir / alias).symlink_to(f"/lib/systemd/system/{mariadb.MARIADB_UNIT}")

    sshd_config = paths.ssh_dir / "sshd_config"
    (unit_dir / SSHD_UNIT).write_text(
        "[Unit]\n"
        "Description=OpenSSH server of the atomctl lab\n"
        "[Service]\n"
        f"ExecStartPre=/usr/sbin/sshd -t -f {sshd_config}\n"
        f"ExecStart=/usr/sbin/sshd -D -e -f {sshd_config}\n"
        "RuntimeDirectory=sshd\n"
        "RuntimeDirectoryMode=0755\n"
        "Restart=on-failure\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )

    # What `systemctl enable` would write, done before boot so everything starts with it.
    wants = unit_dir / "multi-user.target.wants"
    wants.mkdir()
    (wants / GEARMAN_UNIT).symlink_to(f"/lib/systemd/system/{GEARMAN_UNIT}")
    (wants / SSHD_UNIT).symlink_to(f"/etc/systemd/system/{SSHD_UNIT}")
    (wants / mariadb.MARIADB_UNIT).symlink_to(f"/lib/systemd/system/{mariadb.MARIADB_UNIT}")
    (wants / mariadb.ATOM_DATABASE_UNIT).symlink_to(
        f"/etc/systemd/system/{mariadb.ATOM_DATABASE_UNIT}"
    )
    for index in range(1, workers + 1):
        (wants / f"atom-worker@{index}.service").symlink_to(
            f"/etc/systemd/system/{WORKER_TEMPLATE}"
        )


def _write_boot_script(paths: LabPaths) -> None:
    """Runs as the first process of the new namespaces and becomes the lab's systemd."""
    script = paths.boot_script
    script.write_text(
        f"""\
#!/bin/sh
# atomctl lab {paths.name}: private /run, /tmp, /var/tmp and journal, then systemd as PID 1.
set -e
for dir in /run /tmp /var/tmp /var/log/journal; do
    # A host without /var/log/journal keeps it that way: journald then stays in /run.
    if [ -d "$dir" ]; then mount -t tmpfs -o mode=0755 tmpfs "$dir"; fi
done
chmod 1777 /tmp /var/tmp
mkdir -p /run/dbus
mount --bind {paths.unit_dir} /etc/systemd/system
exec env container=atomctl-lab-{paths.name} /lib/systemd/systemd --system --unit={LAB_TARGET}
"""
    )
    script.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
