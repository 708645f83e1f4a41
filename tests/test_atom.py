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


LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}' if prev else 'x'] * 10)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d"], ["a", "b", "c", "d", "e"], strict=True)
)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("all:\n  servers: !!python/object/apply:os.system ['id']\n", 2, "tag !!python/object/"),
        ("all:\n  servers: !!python/name:os.system\n", 2, "tag !!python/name:os.system"),
        ("all:\n  servers:\n    default: " + "9" * 5000 + "\n", 3, "5,000 characters long"),
        ("all:\n  x: !!timestamp 2020-13-45\n", 2, "'2020-13-45' is not a valid timestamp"),
        ("all:\n  servers: " + "[" * 5000 + "]" * 5000 + "\n", 2, "nested more than 64"),
        ("all:\n  ? [a]\n  : b\n", 2, "unhashable key"),
        (LAUGHS + "all: {servers: [*e]}\n", 1, "more than 100,000 values"),
    ],
)
def test_hostile_yaml_is_a_file_line_and_reason_not_a_traceback(tmp_path, text, line, reason):
    write(tmp_path, {"apps/qubit/config/gearman.yml": text})
    with pytest.raises(AtomConfigError) as error:
        load_gearman_config(tmp_path)
    assert str(error.value).startswith(f"{tmp_path}/apps/qubit/config/gearman.yml:{line}: ")
    assert reason in str(error.value)
