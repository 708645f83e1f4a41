"""What atomctl-tui knows about AtoM itself: job classes, worker types, gearman.yml, prefixes.

AtoM names every Gearman function ``md5(realpath(atom root) . workers_key) . '-' . JobClass``
so that several sites can share one job server (lib/job/arGearman.class.php).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from atomctl_tui import safe_yaml

DEFAULT_ATOM_ROOT = Path("/usr/share/nginx/atom")
DEFAULT_GEARMAN_SERVER = "127.0.0.1:4730"
BUILT_IN_SOURCE = "built-in default"
# md5 in lower-case hex, then '-': what AtoM puts in front of every job class.
_SITE_PREFIX = re.compile(r"^([0-9a-f]{32}-)(.+)$")

# AtoM's config/gearman.yml `worker_types`, as shipped with AtoM 2.x.
DEFAULT_WORKER_TYPES: dict[str, tuple[str, ...]] = {
    "general": ("arFindingAidJob",),
    "acl": ("arInheritRightsJob",),
    "actor_relations": ("arUpdateEsActorRelationsJob",),
    "calculate_dates": ("arCalculateDescendantDatesJob",),
    "move": ("arObjectMoveJob",),
    "search_csv_export": ("arInformationObjectCsvExportJob",),
    "sword": ("qtSwordPluginWorker",),
    "publication_status": ("arUpdatePublicationStatusJob",),
    "file_import": ("arFileImportJob",),
    "xml_export": ("arInformationObjectXmlExportJob",),
    "xml_export_single_file": ("arXmlExportSingleFileJob",),
    "generate_csv_report": ("arGenerateReportJob",),
    "actor_csv_export": ("arActorCsvExportJob",),
    "actor_xml_export": ("arActorXmlExportJob",),
    "repository_csv_export": ("arRepositoryCsvExportJob",),
    "update_io_es_documents": ("arUpdateEsIoDocumentsJob",),
    "holdings_report": ("arPhysicalObjectCsvHoldingsReportJob",),
    "csv_validation": ("arValidateCsvJob",),
}

JOB_DESCRIPTIONS: dict[str, str] = {
    "arFindingAidJob": "Generate or upload a finding aid (PDF/RTF)",
    "arInheritRightsJob": "Apply rights to descendant descriptions",
    "arUpdateEsActorRelationsJob": "Reindex authority record relations",
    "arCalculateDescendantDatesJob": "Calculate dates from descendants",
    "arObjectMoveJob": "Move a description in the hierarchy",
    "arInformationObjectCsvExportJob": "Export descriptions as CSV",
    "qtSwordPluginWorker": "Archivematica DIP upload (SWORD deposit)",
    "arUpdatePublicationStatusJob": "Change publication status of descendants",
    "arFileImportJob": "Import CSV/XML from the web interface",
    "arInformationObjectXmlExportJob": "Export descriptions as EAD/DC XML",
    "arXmlExportSingleFileJob": "Export one description as a single XML file",
    "arGenerateReportJob": "Generate a CSV report",
    "arActorCsvExportJob": "Export authority records as CSV",
    "arActorXmlExportJob": "Export authority records as EAC XML",
    "arRepositoryCsvExportJob": "Export archival institutions as CSV",
    "arUpdateEsIoDocumentsJob": "Reindex descriptions in Elasticsearch",
    "arPhysicalObjectCsvHoldingsReportJob": "Physical storage holdings report",
    "arValidateCsvJob": "Validate a CSV before import",
}

WORKER_ENVIRONMENT = "worker"
"""The symfony environment `jobs:worker` runs in (its --env default): gearman.yml's section."""

WORKER_UNIT_PATTERNS = ("atom-worker.service", "atom-worker@*.service")
"""The AtoM admin manual's unit, and the instances sites run when they want several workers."""

JOB_SERVER_UNIT = "gearman-job-server.service"  # Debian's unit for gearmand

WORKER_EXIT_LIMIT_REACHED = 111
"""`jobs:worker` exits with this status on purpose when --max-job-count/--max-mem-usage is hit."""


def site_prefix(
    atom_root: str | os.PathLike[str], workers_key: str = "", *, resolved: str | None = None
) -> str:
    """The Gearman function prefix of the AtoM site at ``atom_root`` (ends with ``-``).

    ``resolved``: the root's real path when it was resolved elsewhere (on a remote host).
    """
    real = resolved if resolved is not None else os.path.realpath(atom_root)
    return hashlib.md5((real + workers_key).encode()).hexdigest() + "-"


@functools.lru_cache(maxsize=8192)  # the same few names come back every poll
def split_function_name(function: str) -> tuple[str | None, str]:
    """``(site prefix, job class)`` of a Gearman function; no prefix when it is not AtoM's."""
    match = _SITE_PREFIX.match(function)
    if match is None:
        return None, function
    return match.group(1), match.group(2)


def describe_job_class(job_class: str) -> str:
    """A short description of what an AtoM job class does, or '' for one AtoM does not ship."""
    return JOB_DESCRIPTIONS.get(job_class, "")


@dataclass(frozen=True)
class GearmanConfig:
    """AtoM's Gearman settings for one site, and the file they came from."""

    servers: tuple[str, ...] = (DEFAULT_GEARMAN_SERVER,)
    worker_types: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_WORKER_TYPES)
    )
    source: str = BUILT_IN_SOURCE  # where ``servers`` came from

    @property
    def servers_from_file(self) -> bool:
        return self.source != BUILT_IN_SOURCE

    @property
    def asked_server(self) -> str:
        """The server AtoM asks whether a worker can take a job before queueing it: only the
        last one configured (``arGearman::getServer()`` pops it off the list)."""
        return self.servers[-1]

    def job_classes(self, types: list[str] | None = None) -> list[str]:
        """Job classes of the given worker types (all types when None), in config order."""
        chosen = self.worker_types if types is None else {t: self.worker_types[t] for t in types}
        classes: list[str] = []
        for names in chosen.values():
            classes.extend(n for n in names if n not in classes)
        return classes


class AtomConfigError(Exception):
    """A gearman.yml that cannot be used, with the file and the reason in the message."""


FileReader = Callable[[Path], "str | None"]
"""Reads a config file: its text, None when there is no such file, AtomConfigError when it
cannot be read. ``read_local_file`` here; a remote host's files come over SSH."""


def read_local_file(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AtomConfigError(f"{path}: cannot read ({exc})") from exc


def gearman_yml_paths(atom_root: str | os.PathLike[str]) -> list[Path]:
    """Where AtoM reads gearman.yml from, lowest precedence first."""
    root = Path(atom_root)
    return [root / "config" / "gearman.yml", root / "apps" / "qubit" / "config" / "gearman.yml"]


def app_yml_paths(atom_root: str | os.PathLike[str]) -> list[Path]:
    """Where old AtoM (≤ 2.3) kept its ``gearman_job_server`` setting, lowest precedence first."""
    root = Path(atom_root)
    return [root / "config" / "app.yml", root / "apps" / "qubit" / "config" / "app.yml"]


def load_gearman_config(
    atom_root: str | os.PathLike[str],
    read: FileReader = read_local_file,
    *,
    environment: str = WORKER_ENVIRONMENT,
) -> GearmanConfig:
    """Read ``servers`` and ``worker_types`` as symfony does for AtoM's worker: every
    gearman.yml deep-merged in turn, then its ``default:``, ``all:`` and ``environment``
    sections merged in that order. A server or worker type named under a new key is added;
    one under a key already used replaces it, in its place.

    When no gearman.yml names servers, the legacy ``gearman_job_server`` of app.yml does.
    """
    merged: PhpArray = {}
    read_files: list[str] = []
    named_servers: list[str] = []  # the files that name servers, for the admin
    for path in gearman_yml_paths(atom_root):
        document = _read_yaml_mapping(path, read)
        if document is None:
            continue
        read_files.append(str(path))
        sections = {env: _php_array(value) for env, value in document.items() if value is not None}
        if any(isinstance(s, dict) and "servers" in s for s in sections.values()):
            named_servers.append(str(path))
        merged = _deep_merge(merged, sections)
    flat: PhpArray = {}
    for env in ("default", "all", environment):
        section = merged.get(env)
        if isinstance(section, dict):
            flat = _deep_merge(flat, section)
    servers: tuple[str, ...] | None = None
    source = BUILT_IN_SOURCE
    if "servers" in flat:
        servers = _parse_servers(flat["servers"], " + ".join(named_servers))
        source = " + ".join(named_servers)
    worker_types = None
    if "worker_types" in flat:
        worker_types = _parse_worker_types(flat["worker_types"], " + ".join(read_files))
    if servers is None:
        for path in app_yml_paths(atom_root):
            section = _read_all_section(path, read)
            if section is not None and "gearman_job_server" in section:
                servers = _parse_legacy_servers(section["gearman_job_server"], path)
                source = f"{path} (legacy gearman_job_server)"
    return GearmanConfig(
        servers=servers or (DEFAULT_GEARMAN_SERVER,),
        worker_types=worker_types or dict(DEFAULT_WORKER_TYPES),
        source=source,
    )


def read_workers_key(atom_root: str | os.PathLike[str], read: FileReader = read_local_file) -> str:
    """The app's ``workers_key`` (app.yml), part of the site prefix; '' when none is set."""
    key = ""
    for path in app_yml_paths(atom_root):
        section = _read_all_section(path, read)
        if section is not None and section.get("workers_key") is not None:
            key = str(section["workers_key"])
    return key


def _read_yaml_mapping(path: Path, read: FileReader) -> dict[object, object] | None:
    """A symfony YAML file's sections (``all:``, ``default:``, an environment); None when
    there is no such file."""
    text = read(path)
    if text is None:
        return None
    try:
        data = safe_yaml.load(text)
    except safe_yaml.YamlTextError as exc:
        where = f"{path}:{exc.line}" if exc.line is not None else str(path)
        raise AtomConfigError(f"{where}: {exc.reason}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("all", {}), dict):
        raise AtomConfigError(f"{path}: expected a mapping with an 'all:' section")
    return data


def _read_all_section(path: Path, read: FileReader) -> dict[object, object] | None:
    """The ``all:`` section of a symfony YAML file; None when there is no such file."""
    data = _read_yaml_mapping(path, read)
    if data is None:
        return None
    section = data.get("all") or {}
    assert isinstance(section, dict)  # _read_yaml_mapping checked it
    return section


PhpArray = dict[object, object]
"""A PHP array as symfony's YAML loader gives it: a list's items keyed by their index."""


def _php_array(value: object) -> object:
    """``value`` with every list turned into a PHP array, all the way down."""
    if isinstance(value, list):
        return {index: _php_array(item) for index, item in enumerate(value)}
    if isinstance(value, dict):
        return {key: _php_array(item) for key, item in value.items()}
    return value


def _deep_merge(first: object, second: object) -> PhpArray:
    """symfony's ``sfToolkit::arrayDeepMerge``: keys of both in the first one's order, then
    the second one's new keys; two arrays under one key merge, anything else the second
    replaces."""
    if not isinstance(first, dict):
        first = {}
    if not isinstance(second, dict):
        return dict(first)
    merged: PhpArray = {}
    for key in [*first, *(key for key in second if key not in first)]:
        if key in first and key in second:
            a, b = first[key], second[key]
            merged[key] = _deep_merge(a, b) if isinstance(a, dict) and isinstance(b, dict) else b
        else:
            merged[key] = first[key] if key in first else second[key]
    return merged


def _parse_servers(value: object, path: Path | str) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, list):
        items = value
    else:
        raise AtomConfigError(f"{path}: 'servers' must be a mapping, a list or a string")
    servers = tuple(str(item).strip() for item in items if str(item).strip())
    if not servers:
        raise AtomConfigError(f"{path}: 'servers' names no server")
    return servers


def _parse_legacy_servers(value: object, path: Path) -> tuple[str, ...]:
    # Net_Gearman takes one "host:port" or several separated by commas.
    if not isinstance(value, str):
        raise AtomConfigError(f"{path}: 'gearman_job_server' must be a string like host:4730")
    servers = tuple(item.strip() for item in value.split(",") if item.strip())
    if not servers:
        raise AtomConfigError(f"{path}: 'gearman_job_server' names no server")
    return servers


def _parse_worker_types(value: object, path: Path | str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise AtomConfigError(f"{path}: 'worker_types' must be a mapping of type to job classes")
    types: dict[str, tuple[str, ...]] = {}
    for name, classes in value.items():
        if isinstance(classes, str):
            classes = [classes]
        elif isinstance(classes, dict):  # a list, as a PHP array
            classes = list(classes.values())
        if not isinstance(classes, list):
            raise AtomConfigError(f"{path}: worker type '{name}' must list job classes")
        types[str(name)] = tuple(str(c) for c in classes)
    return types


def gearman_yml_text(servers: dict[str, str], worker_types: dict[str, tuple[str, ...]]) -> str:
    """A gearman.yml in AtoM's own layout."""
    document = {
        "all": {
            "servers": dict(servers),
            "worker_types": {name: list(classes) for name, classes in worker_types.items()},
        }
    }
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=None)
