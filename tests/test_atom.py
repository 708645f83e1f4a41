"""AtoM knowledge: prefixes and gearman.yml, against AtoM's own file layout."""

from __future__ import annotations

import hashlib
from pathlib import Path

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


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_apps_qubit_servers_are_added_to_those_of_config_gearman_yml(tmp_path):
    write(tmp_path, {
        "config/gearman.yml": gearman_yml_text({"default": "a:1"}, DEFAULT_WORKER_TYPES),
        "apps/qubit/config/gearman.yml": "all:\n  servers:\n    x: b:2\n",
    })  # fmt: skip
    config = load_gearman_config(tmp_path)
    assert config.servers == ("a:1", "b:2")
    assert config.asked_server == "b:2"  # AtoM's capable-worker check asks the last one
    assert config.source == (
        f"{tmp_path}/config/gearman.yml + {tmp_path}/apps/qubit/config/gearman.yml"
    )
    assert config.worker_types == DEFAULT_WORKER_TYPES


def test_a_server_under_the_same_key_is_replaced_in_its_place(tmp_path):
    write(tmp_path, {
        "config/gearman.yml": "all:\n  servers:\n    default: a:1\n    second: c:3\n",
        "apps/qubit/config/gearman.yml": "all:\n  servers:\n    default: b:2\n",
    })  # fmt: skip
    assert load_gearman_config(tmp_path).servers == ("b:2", "c:3")


def test_default_all_and_the_worker_environment_are_merged_other_environments_not(tmp_path):
    write(tmp_path, {
        "config/gearman.yml": (
            "default:\n  servers:\n    default: a:1\n"
            "all:\n  worker_types:\n    general: [arFindingAidJob]\n"
            "prod:\n  servers:\n    web: w:9\n"
        ),
        "apps/qubit/config/gearman.yml": (
            "worker:\n  servers:\n    extra: e:5\n  worker_types:\n    mine: [myPluginJob]\n"
        ),
    })  # fmt: skip
    config = load_gearman_config(tmp_path)
    assert config.servers == ("a:1", "e:5")
    assert config.worker_types == {"general": ("arFindingAidJob",), "mine": ("myPluginJob",)}
    assert load_gearman_config(tmp_path, environment="prod").servers == ("a:1", "w:9")


def test_an_app_level_worker_type_adds_a_plugins_job_classes_to_atoms(tmp_path):
    write(tmp_path, {
        "config/gearman.yml": gearman_yml_text({"default": "a:1"}, DEFAULT_WORKER_TYPES),
        "apps/qubit/config/gearman.yml": (
            "all:\n  worker_types:\n    my_plugin: [myPluginExportJob, myPluginImportJob]\n"
        ),
    })  # fmt: skip
    config = load_gearman_config(tmp_path)
    assert config.worker_types == {
        **DEFAULT_WORKER_TYPES,
        "my_plugin": ("myPluginExportJob", "myPluginImportJob"),
    }
    assert config.servers == ("a:1",)
    assert config.source == f"{tmp_path}/config/gearman.yml"


def test_broken_yaml_names_file_and_line(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/gearman.yml").write_text("all:\n  servers: [unclosed\n")
    with pytest.raises(AtomConfigError, match=r"gearman\.yml:\d+: not valid YAML"):
        load_gearman_config(tmp_path)
