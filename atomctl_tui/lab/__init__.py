"""The lab: a sandboxed systemd with journald, dbus, gearmand, sshd and AtoM-like workers.

Everything the test suite and the demo run against. See ``atomctl-lab --help``.
"""
