"""What moved between two report.json files: scalars, claim verdicts, runs added or removed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from topicgen.errors import UsageError

# Changes below this relative size are float noise (summation order), not a moved number.
RELATIVE_TOLERANCE = 1e-9


def read_report(path: Path) -> dict[str, Any]:
    """A previous report.json, checked just enough to compare against; else one-line error."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as error:
        raise UsageError(f"--compare {path}: cannot read: {error.strerror or error}") from None
    except ValueError as error:  # also UnicodeDecodeError
        raise UsageError(f"--compare {path}: not JSON ({error})") from None
    entries = data.get("experiments") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("experiment"), str)
            and isinstance(e.get("scalars"), dict) and isinstance(e.get("claims"), list)
            for e in entries):
        raise UsageError(f"--compare {path}: not a topicgen report.json (expected "
                         '"experiments": a list of runs with "experiment", "scalars" and "claims")')
    return data


def compare_reports(old: dict[str, Any], new: dict[str, Any], path: Path | None = None
                    ) -> dict[str, Any]:
    """The "compare" section of report.json: what changed from `old` to `new`."""
    before, after = by_run(old), by_run(new)
    common = [run for run in after if run in before]
    return {
        "previous": str(path) if path is not None else None,
        "scalars": [change for run in common
                    for change in scalar_changes(run, before[run], after[run])],
        "claims": [flip for run in common for flip in claim_flips(run, before[run], after[run])],
        "added": [run for run in after if run not in before],
        "removed": [run for run in before if run not in after],
    }


def by_run(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Entries keyed by run id (reports from before ids existed: by experiment)."""
    return {entry.get("run", entry["experiment"]): entry for entry in data["experiments"]}


def scalar_changes(run: str, old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    changes = []
    for name, value in new["scalars"].items():
        if name not in old["scalars"]:
            continue
        previous = old["scalars"][name]
        if moved(previous, value):
            changes.append({"run": run, "name": name, "old": previous, "new": value,
                            **difference(previous, value)})
    return changes


def moved(old: Any, new: Any) -> bool:
    """Null (a non-finite number) against a number counts as moved; two nulls do not."""
    if old is None or new is None or isinstance(old, bool) or isinstance(new, bool):
        return old != new
    if not isinstance(old, (int, float)):
        return True
    return abs(new - old) > RELATIVE_TOLERANCE * max(abs(old), abs(new))


def difference(old: Any, new: Any) -> dict[str, float | None]:
    if not isinstance(old, (int, float)) or not isinstance(new, (int, float)):
        return {"change": None, "relative": None}
    return {"change": new - old, "relative": (new - old) / abs(old) if old else None}


def claim_flips(run: str, old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    verdicts = {claim.get("id"): claim.get("passed") for claim in old["claims"]
                if isinstance(claim, dict)}
    return [{"run": run, "id": claim["id"], "statement": claim["statement"],
             "old": verdicts[claim["id"]], "new": claim["passed"]}
            for claim in new["claims"]
            if claim["id"] in verdicts and verdicts[claim["id"]] != claim["passed"]]
