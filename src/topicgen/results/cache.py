"""The result cache: experiment results and what is made from them, by content hash.

What each entry depends on is built in `results.keys`. Entries are written only after
success, atomically; an unreadable entry is a miss, and so is an artifact that does not match
the digest on its first line (see `sealed`). A cache folder that cannot be written
degrades to an uncached build with one warning.

Layout: `<name>-<key>.json` (the key material and the result), `figures/<key>.<ext>`,
`data/<key>.json|csv` (a result as its figures' data files), `listings/<key>.html` (highlighted
code),
`params/<key>.json` (resolved parameters, so a rebuild need not import the experiment),
`pdf/<key>.json` (one laid-out part of a PDF, see publish.pdf), `parts/<key>.pt` (one part
of an experiment split into parts, see experiments.needed_parts), and
`index.json` (per topic/experiment: the last key material, to explain a miss, and run costs,
for ETAs).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from topicgen import experiments, sources
from topicgen.api import Context, Result, as_dict
from topicgen.errors import TopicgenError
from topicgen.experiments.loader import Experiment
from topicgen.files import write_atomic
from topicgen.results import keys
from topicgen.results.model import malformed

if TYPE_CHECKING:
    from topicgen.pools import LazyPool

log = logging.getLogger(__name__)

FOLDERS = ("figures", "data", "listings", "params", "pdf", "parts")
"""The subfolders of a cache folder (see the layout above)."""
ENTRY = re.compile(r"\.?(index|.+-[0-9a-f]{20})\.json(\.\w+\.tmp)?")
ARTIFACT = re.compile(r"\.?[0-9a-f]{20}\.\w+(\.\w+\.tmp)?")
"""The names of the files a cache writes at its top and in its subfolders, and of the
temporary files (see files.write_atomic) a killed build can leave."""


SEAL = b"topicgen-cache blake2b-128 "
"""The first line of every kept artifact: this, the hex digest of the rest, a newline."""


def sealed(data: bytes) -> bytes:
    """`data` headed by its digest, so that a file cut short or overwritten is caught."""
    return SEAL + hashlib.blake2b(data, digest_size=16).hexdigest().encode() + b"\n" + data


def unsealed(kept: bytes) -> bytes | None:
    """What `sealed` headed, or None where the file does not match its digest."""
    head, _, data = kept.partition(b"\n")
    digest = hashlib.blake2b(data, digest_size=16).hexdigest().encode()
    return data if head == SEAL + digest else None


def cache_files(directory: Path) -> list[Path]:
    """The files a cache wrote in `directory`: what `topicgen clean --cache` deletes, so that
    a cache_dir naming a folder of other files too never loses them."""
    found = [path for path in directory.glob("*") if ENTRY.fullmatch(path.name)]
    for name in FOLDERS:
        found += [path for path in (directory / name).glob("*") if ARTIFACT.fullmatch(path.name)]
    return [path for path in found if path.is_file()]


class ResultCache:
    """One cache folder; `directory=None` caches nothing."""

    def __init__(self, directory: Path | None, force: bool = False):
        self.directory = directory
        self.force = force
        self.writable = directory is not None
        self.importing: Callable[[Experiment], None] | None = None
        """Told of each experiment about to be imported to resolve its parameters: a build
        starts its workers' server with torch then, as that experiment will most likely run."""
        self.elsewhere: LazyPool | None = None
        """Where experiments are imported to resolve their parameters, if not here: the
        workers of a build that runs them there (see LazyPool)."""

    def key(self, material: dict[str, Any]) -> str:
        return keys.result_key(material)

    def load(self, material: dict[str, Any]) -> Result | None:
        """The cached result for `material`, or None (also when forced or unreadable)."""
        if self.directory is None or self.force:
            return None
        path = self._entry(material)
        try:
            entry = json.loads(path.read_text("utf-8"))
            if entry["key"] != material:
                raise ValueError("key mismatch")
            result = Result.from_json_dict(entry["result"])
            if problem := malformed(result):
                raise ValueError(problem)
            return result
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("cache entry %s is unreadable (%s); recomputing", path.name, error)
            return None

    def has(self, material: dict[str, Any]) -> bool:
        """Whether an entry for `material` is kept, unread: a guess at a hit, for choices
        that a wrong guess only slows (load tells)."""
        return self.directory is not None and not self.force and self._entry(material).exists()

    def store(self, material: dict[str, Any], result: Result) -> None:
        entry = {"key": material, "result": result.to_json_dict()}
        if self._write(self._entry(material), json.dumps(entry, allow_nan=False)):
            index = self._index()
            record = index.setdefault(index_name(material), {"costs": {}})
            record["last"] = material
            record["costs"][cost_key(material)] = result.provenance["wall_s"]
            self._write(self.directory / "index.json", json.dumps(index, indent=1))

    def find_part(self, material: dict[str, Any], part: Any) -> bytes | None:
        """One part's output as kept (see packed_part), or None."""
        return self.find(keys.part_material(material, part), ".pt", "parts")

    def keep_part(self, material: dict[str, Any], part: Any, data: bytes) -> None:
        """Keep a part's output (packed_part), so that a later run drawing another figure
        computes only the parts it lacks."""
        self.keep(keys.part_material(material, part), ".pt", data, "parts")

    def why_stale(self, material: dict[str, Any]) -> str:
        """Why `material` missed, in words: which inputs differ from the last cached run."""
        if self.force:
            return "--force"
        last = self._index().get(index_name(material), {}).get("last")
        if not last:
            return "never run with this cache"
        changes = [f"{key} {last.get(key)} -> {material[key]}"
                   for key in ("seed", "device", "torch", "topicgen")
                   if last.get(key) != material[key]]
        old, new = last.get("params", {}), material["params"]
        changes += [f"param {k} {old.get(k)} -> {new.get(k)}"
                    for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        old, new = last.get("code", {}), material["code"]
        edited = sorted(f for f in set(old) | set(new) if old.get(f) != new.get(f))
        if edited:
            changes.append("code changed: " + ", ".join(edited))
        if last.get("figures") != material.get("figures"):  # a part not computed before
            changes.append(f"figures {', '.join(last.get('figures', ['all']))} -> "
                           f"{', '.join(material.get('figures', ['all']))}")
        if not changes:
            return "its entry was removed or unreadable"
        return "; ".join(changes)

    def never_run(self, topic: str, experiments: Iterable[str]) -> list[str]:
        """Those of `topic`'s `experiments` that have never stored a result here (all of
        them with --force): a first build, or one after an experiment was added, runs them."""
        index = self._index()
        return [name for name in experiments if self.force or f"{topic}/{name}" not in index]

    def recorded_costs(self, topic: str, experiments: Iterable[str]) -> list[float | None]:
        """Seconds the longest run on record of each of `experiments` took (None: none)."""
        index = self._index()
        return [max(index.get(f"{topic}/{name}", {}).get("costs", {}).values(), default=None)
                for name in experiments]

    def expected_cost(self, material: dict[str, Any]) -> float | None:
        """Seconds the last run of `material`'s parameters and figures took (any run of the
        experiment as a fallback)."""
        costs = self._index().get(index_name(material), {}).get("costs", {})
        exact = costs.get(cost_key(material))
        return exact if exact is not None else max(costs.values(), default=None)

    def params(self, experiment: Experiment, profile: str, overrides: dict[str, str]
               ) -> dict[str, Any]:
        """`experiments.resolve_params(...)` as_dict, remembered by the experiment's code, so
        a rebuild need not import the experiment (and torch) to know its parameters."""
        def resolve() -> bytes:
            if self.elsewhere is not None:
                return self.elsewhere.call(resolved_params, experiment, profile, overrides)
            if self.importing is not None:
                self.importing(experiment)
            return resolved_params(experiment, profile, overrides)

        parts = keys.params_parts(experiment, profile, overrides)
        return json.loads(self.artifact(parts, ".json", resolve, folder="params"))

    def artifact(self, parts: dict[str, Any], suffix: str, make: Callable[[], bytes],
                 folder: str = "figures") -> bytes:
        """Bytes made by `make()`, reused while `parts` (what they depend on) are unchanged."""
        data = self.find(parts, suffix, folder)
        if data is None:
            data = make()
            self.keep(parts, suffix, data, folder)
        return data

    def find(self, parts: dict[str, Any], suffix: str, folder: str) -> bytes | None:
        """The bytes kept for `parts`, or None (also when forced, or when the file is not
        what was kept: a damaged entry is made again, never published)."""
        if self.directory is None or self.force:
            return None
        path = self._artifact_path(parts, suffix, folder)
        try:
            kept = path.read_bytes()
        except OSError:
            return None
        data = unsealed(kept)
        if data is None and kept.startswith(SEAL):
            log.warning("cache file %s/%s is damaged; making it again", folder, path.name)
        elif data is None:  # kept by an older topicgen, or emptied
            log.debug("cache file %s/%s has no digest; making it again", folder, path.name)
        return data

    def keep(self, parts: dict[str, Any], suffix: str, data: bytes, folder: str) -> None:
        if self.directory is not None:
            self._write(self._artifact_path(parts, suffix, folder), sealed(data))

    def _artifact_path(self, parts: dict[str, Any], suffix: str, folder: str) -> Path:
        return self.directory / folder / f"{sources.digest(parts)}{suffix}"

    def _entry(self, material: dict[str, Any]) -> Path:
        return self.directory / f"{material['topic']}-{material['experiment']}-" \
                                f"{self.key(material)}.json"

    def _index(self) -> dict[str, Any]:
        try:
            index = json.loads((self.directory / "index.json").read_text("utf-8"))
            return index if isinstance(index, dict) else {}
        except (OSError, ValueError, TypeError):
            return {}

    def _write(self, path: Path, data: bytes | str) -> bool:
        """Write, or warn once and stop caching: a cache is an optimisation, never a failure."""
        if not self.writable:
            return False
        try:
            write_atomic(path, data)
            return True
        except TopicgenError as error:
            self.writable = False
            log.warning("warning: %s; results are not cached in this build "
                        "(choose another folder with --cache-dir)", error.message)
            return False


def resolved_params(experiment: Experiment, profile: str, overrides: dict[str, str]) -> bytes:
    """`experiments.resolve_params(...)` as_dict, as JSON."""
    params = experiments.resolve_params(experiment, profile, overrides)
    return json.dumps(as_dict(params)).encode("utf-8")


def packed_part(output: Any, seconds: float) -> bytes:
    """A part's output (tensors, numbers, strings, lists and dicts of them) and the seconds
    it took, as the cache keeps them and as they travel between processes: a command that
    combines parts in a worker never needs torch to hold them."""
    import torch

    buffer = io.BytesIO()
    torch.save({"output": output, "seconds": seconds}, buffer)
    return buffer.getvalue()


def unpacked_part(data: bytes) -> tuple[Any, float]:
    """packed_part's inverse: (output, seconds)."""
    import torch

    found = torch.load(io.BytesIO(data), weights_only=True)
    return found["output"], float(found["seconds"])


def index_name(material: dict[str, Any]) -> str:
    return f"{material['topic']}/{material['experiment']}"


def cost_key(material: dict[str, Any]) -> str:
    """A run's entry in the index's costs: its parameters, and its figures where it draws
    only some (see keys.figures_material)."""
    if "figures" in material:
        return sources.digest([material["params"], material["figures"]])
    return sources.digest(material["params"])


def cached_run(experiment: Experiment, params: Any, ctx: Context, cache: ResultCache
               ) -> tuple[Result, bool]:
    """The result of running `experiment`, from the cache when possible: (result, hit)."""
    material = keys.result_material(experiment, as_dict(params), ctx)
    result = cache.load(material)
    if result is not None:
        return result, True
    result = experiments.run(experiment, params, ctx)
    cache.store(material, result)
    return result, False
