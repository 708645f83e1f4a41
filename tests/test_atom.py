"""AtoM knowledge: prefixes and gearman.yml, against AtoM's own file layout."""

from __future__ import annotations

import hashlib

import pytest

from atomctl_tui.atom import (
    DEFAULT_WORKER_TYPES,
    AtomConfigError,
    gearman_yml_text,
    load_gearman_config,
    site_prefix,
)


def test_site_prefix_is_md5_of_the_real_path(tmp_path):
    real = tmp_path / "atom"
    real.mkdir()
    link = tmp_path / "current"
    link.symlink_to(real)
    expected = hashlib.md5(str(real).encode()).hexdigest() + "-"
    assert site_prefix(link) == expected
    assert site_prefix(real, "key") == hashlib.md5(f"{real}key".encode()).hexdigest() + "-"


def test_written_gearman_yml_reads_back(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/gearman.yml").write_text(
        gearman_yml_text({"default": "10.0.0.5:4730"}, DEFAULT_WORKER_TYPES)
    )
    config = load_gearman_config(tmp_path)
    assert config.servers == ("10.0.0.5:4730",)
    assert config.worker_types == DEFAULT_WORKER_TYPES
    assert config.job_classes(["sword"]) == ["qtSwordPluginWorker"]


def test_apps_qubit_override_wins(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/gearman.yml").write_text("all:\n  servers:\n    default: a:1\n")
    (tmp_path / "apps/qubit/config").mkdir(parents=True)
    (tmp_path / "apps/qubit/config/gearman.yml").write_text("all:\n  servers:\n    x: b:2\n")
    config = load_gearman_config(tmp_path)
    assert config.servers == ("b:2",)
    assert config.source.endswith("apps/qubit/config/gearman.yml")


def test_broken_yaml_names_file_and_line(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/gearman.yml").write_text("all:\n  servers: [unclosed\n")
    with pytest.raises(AtomConfigError, match=r"gearman\.yml:\d+: not valid YAML"):
        load_gearman_config(tmp_path)
