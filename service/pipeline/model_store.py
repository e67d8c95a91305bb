"""Trained models on disk as versioned folders, and the in-memory current ones the service serves from.

Layout: `<models_dir>/<kind>/<version>/` holds `model.pkl` (what the model's own `save` wrote) and
`metadata.json`;
`<models_dir>/<kind>/CURRENT` names the version in use. Publishing writes the folder first and swaps the
pointer last (an atomic rename), and `ModelStore` reloads when the pointer changes, so a newly trained model
replaces the old one without downtime. Pointing it back at a kept version (`use_version`) rolls back the same way.
Publishing keeps the newest `kept` versions and the current one, and deletes older ones: each holds a whole model
(an EASE recommender over 10,000 products is about 400 MB), and a scheduled retrain publishes one a day.

A customer's erasure marks its moment (`mark_erasure`, before the database forgets them: a mark that cannot be
written fails the erasure, which can be tried again) and then deletes every version trained before it
(`forget_erased`) but the current one, which serves until the next training publishes another and is deleted
then; no version trained before an erasure is made current again (`use_version`): each holds the erased
customer's id and purchases, which a deletion that failed (a full disk, a stopped process) leaves on disk. A
version is named by the moment its training began reading the data (and the mark is set again once the erasure is
committed), so one trained while a customer was erased counts as trained before the erasure.

A version is written in a hidden folder (`.<version>.partial`) and renamed to its name once whole: a training
stopped half way (killed, the disk full) left a folder no listing showed and no pruning removed, holding every
customer's id. Such leftovers older than a day, or begun before an erasure, are deleted at each publish and erasure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

from service.clock import as_text
from service.errors import NotFound, NotReady, Remedy
from service.schemas import ModelKind


def new_version(moment: datetime | None = None) -> str:
    """A version's name: its moment (now unless given) in UTC, so that names sort as the moments do."""
    return (moment or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


MODEL_FILE = "model.pkl"


MODEL_KINDS: tuple[str, ...] = get_args(ModelKind)
METADATA_FILE = "metadata.json"


def publish(
    models_dir: Path, kind: str, save: Callable[[Path], Any], metadata: dict[str, Any], kept: int | None = None,
    read_at: datetime | None = None,
) -> Path:  # fmt: skip
    """Save a model (its `save(file)`) as a new version of `kind`, make it the current one unless the current one
    read newer data (two trainings at once: the one that began later serves, whichever ends last), and with `kept`
    delete the versions older than the newest `kept`. `read_at`: when its training began reading the data (now
    unless given), which names the version: a customer erased while it trained is one it holds, and the version
    is then one trained before their erasure."""
    version = new_version(read_at)
    folder, partial = models_dir / kind / version, models_dir / kind / f".{new_version()}{PARTIAL}"
    partial.mkdir(parents=True, exist_ok=False)
    for private in (models_dir, models_dir / kind, partial):  # models hold customers' ids and purchases
        private.chmod(0o700)
    try:
        save(partial / MODEL_FILE)
        (partial / METADATA_FILE).write_text(json.dumps({"version": version, **metadata}, indent=2, default=str))
        for written in partial.iterdir():
            written.chmod(0o600)
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _delete_partials(models_dir, kind)
    current = current_folder(models_dir, kind)
    if current is None or version > current.name:  # a training that read older data, finished later, is kept only
        _point_at(models_dir, kind, version)
    if kept is not None:
        prune(models_dir, kind, kept)
    _delete_erased(models_dir, kind)
    return folder


def _point_at(models_dir: Path, kind: str, version: str) -> None:
    _write_whole(models_dir / kind / "CURRENT", version)


def _write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` beside it, then rename: a reader finds the old text or the new, never half (and
    a write that fails leaves no temporary file)."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


PARTIAL = ".partial"  # a version being written: `.<version>.partial`, renamed to `<version>` once whole
STALE_PARTIAL_VERSION_AGE = timedelta(days=1)  # after which a partial version is a training that stopped


def _delete_partials(models_dir: Path, kind: str) -> list[str]:
    """Delete the partial versions of `kind` that no training is still writing (begun more than a day ago) or that
    were begun before an erasure (their training read the erased customer); the versions deleted."""
    folder = models_dir / kind
    if not folder.is_dir():
        return []
    erased_before = _erased_before(models_dir)
    stale_before = max(new_version(datetime.now(UTC) - STALE_PARTIAL_VERSION_AGE), erased_before)
    doomed = [
        path for path in folder.iterdir()
        if path.is_dir() and not (path / METADATA_FILE).is_file()  # a version written before partial folders, too
        and path.name.removeprefix(".").removesuffix(PARTIAL) < stale_before
    ]  # fmt: skip
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return [path.name for path in doomed]


def versions(models_dir: Path, kind: str) -> list[str]:
    """The complete versions of `kind` kept on disk (model file and metadata written), newest first."""
    folder = models_dir / kind
    if not folder.is_dir():
        return []
    complete = [
        path.name for path in folder.iterdir()
        if not path.name.startswith(".") and (path / MODEL_FILE).is_file() and (path / METADATA_FILE).is_file()
    ]  # fmt: skip
    return sorted(complete, reverse=True)  # names are UTC timestamps: their order is their age


def use_version(models_dir: Path, kind: str, version: str) -> None:
    """Make a kept version the current one (a rollback, or back to the newest); NotFound names what is kept, and
    refuses a version trained before a customer's erasure (the current one, kept until the next training)."""
    kept = versions(models_dir, kind)
    if not kept:  # "the kept ones: none." said nothing of what to do
        raise NotFound.naming(
            TRAINING,
            lambda train: (
                f"No {kind} model version '{version}' is kept: none is trained yet; train one first ({train})."
            ),
        )
    if version not in kept:
        listed = ", ".join(kept[:5]) + (" …" if len(kept) > 5 else "")
        raise NotFound(f"No {kind} model version '{version}' is kept; the kept ones, newest first: {listed}.")
    current = current_folder(models_dir, kind)
    if version < _erased_before(models_dir) and (current is None or version != current.name):
        raise NotFound.naming(
            TRAINING,
            lambda train: (
                f"The {kind} model version '{version}' was trained before a customer was erased and holds "
                f"their data: it cannot be used again. Train a new one ({train})."
            ),
        )
    _point_at(models_dir, kind, version)


TRAINING = Remedy(api="POST /train", command_line="`tailor train`")  # how a new version is made
ERASED_MARK = "ERASED_BEFORE"  # in models_dir: the versions named before it were trained before an erasure


def mark_erasure(models_dir: Path) -> None:
    """Before a customer's erasure is committed: from now, the versions trained before are erased ones. OSError
    when the mark cannot be written (the erasure is then not committed, and may be tried again)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    _write_whole(models_dir / ERASED_MARK, new_version())


def forget_erased(models_dir: Path) -> list[str]:
    """After a customer's erasure is committed (``mark_erasure`` before): mark its moment again, for a training
    that read the data between the first mark and the commit still read the customer; then delete every version
    of every kind trained before it, but the current one (it serves until the next training, which deletes it),
    and the partial versions begun before it; the versions deleted, as ``kind/version``. A version that cannot be
    deleted stays refused (``use_version``)."""
    with contextlib.suppress(OSError):  # the mark written before the commit stands
        mark_erasure(models_dir)
    deleted = [f"{kind}/{version}" for kind in MODEL_KINDS for version in _delete_erased(models_dir, kind)]
    for kind in MODEL_KINDS:
        _delete_partials(models_dir, kind)
    return deleted


def _erased_before(models_dir: Path) -> str:
    """The moment of the last erasure as a version name ("" before any): versions named before it hold erased
    customers."""
    mark = models_dir / ERASED_MARK
    return mark.read_text().strip() if mark.is_file() else ""


def _delete_erased(models_dir: Path, kind: str) -> list[str]:
    erased_before = _erased_before(models_dir)
    current = current_folder(models_dir, kind)
    doomed = [
        version for version in versions(models_dir, kind)
        if version < erased_before and (current is None or version != current.name)
    ]  # fmt: skip
    for version in doomed:
        shutil.rmtree(models_dir / kind / version, ignore_errors=True)
    return doomed


def prune(models_dir: Path, kind: str, kept: int) -> list[str]:
    """Delete the complete versions older than the newest `kept`, never the current one; the versions deleted.
    Folders still being written (no metadata yet) are left alone."""
    current = current_folder(models_dir, kind)
    doomed = [v for v in versions(models_dir, kind)[kept:] if current is None or v != current.name]
    for version in doomed:
        shutil.rmtree(models_dir / kind / version, ignore_errors=True)
    return doomed


def current_folder(models_dir: Path, kind: str) -> Path | None:
    pointer = models_dir / kind / "CURRENT"
    if not pointer.exists():
        return None
    return models_dir / kind / pointer.read_text().strip()


def read_metadata(folder: Path) -> dict[str, Any]:
    """A version's metadata as training writes it now: a recommender saved before its data's `first` and `last`
    moments were written with their zone (``2024-11-01 02:43:51``, UTC) gets them as ``2024-11-01T02:43:51Z``."""
    metadata = json.loads((folder / METADATA_FILE).read_text())
    data = metadata.get("data")
    if isinstance(data, dict):
        for bound in ("first", "last"):
            if isinstance(data.get(bound), str) and not data[bound].endswith("Z"):
                with contextlib.suppress(ValueError):  # not a moment: shown as it was written
                    data[bound] = as_text(datetime.fromisoformat(data[bound]))
    return metadata


class ModelStore:
    """Holds the current model of each kind in memory; reloads when a newer version is published."""

    def __init__(self, models_dir: Path, loaders: dict[str, Callable[[Path], Any]]) -> None:
        """`loaders` maps a kind to the function that reads its model file."""
        self.models_dir = models_dir
        self.loaders = loaders
        self._loaded: dict[str, tuple[Path, Any]] = {}
        # the version a loader refused (NotReady), as `_as_saved` tells its file, and why
        self._refused: dict[str, tuple[tuple[Path, tuple[int, int] | None], str]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str) -> Any:
        folder = current_folder(self.models_dir, kind)
        if folder is None:
            raise NotReady.naming(TRAINING, lambda train: f"No {kind} model is trained yet: train one first ({train}).")
        with self._lock:
            saved = _as_saved(folder)
            if self._refused.get(kind, (None,))[0] == saved:  # a file refused is not read again until it changes
                raise NotReady(self._refused[kind][1])
            loaded = self._loaded.get(kind)
            if loaded is None or loaded[0] != folder:
                try:
                    self._loaded[kind] = (folder, self.loaders[kind](folder / MODEL_FILE))
                except NotReady as error:
                    self._refused[kind] = (saved, str(error))
                    raise
            return self._loaded[kind][1]

    def unservable(self, kind: str, *, load: bool = True) -> str | None:
        """Why the current version of `kind` cannot be served (one saved by an older, incompatible version of
        Tailor), or None when it can or none is trained yet. With ``load``, a version not read yet is read (and
        kept for the requests); without, only a refusal already met is told (what /health asks, which never
        reads a model file: the server reads each current one at its start)."""
        folder = current_folder(self.models_dir, kind)
        if folder is None:
            return None
        if not load:
            refused = self._refused.get(kind)
            return refused[1] if refused is not None and refused[0] == _as_saved(folder) else None
        try:
            self.get(kind)
        except NotReady as error:
            return str(error)
        return None

    def version(self, kind: str) -> str | None:
        folder = current_folder(self.models_dir, kind)
        return folder.name if folder else None


def _as_saved(folder: Path) -> tuple[Path, tuple[int, int] | None]:
    """A version's folder with its model file's modification time and size (None while there is none): a file
    damaged or gone, once put back from a backup, is read again. Refused for its folder alone, it was refused until
    the server restarted, while `POST /models/{kind}/current` put the version back in use and said it could serve."""
    try:
        stat = (folder / MODEL_FILE).stat()
    except OSError:
        return folder, None
    return folder, (stat.st_mtime_ns, stat.st_size)


def describe(models_dir: Path, kind: str) -> dict[str, Any]:
    """The current version of `kind` and every kept one, newest first, each with its metadata."""
    current = current_folder(models_dir, kind)
    current_name = current.name if current else None
    kept = []
    for version in versions(models_dir, kind):
        try:
            metadata = read_metadata(models_dir / kind / version)
        except FileNotFoundError:  # deleted by a publish in another process since it was listed
            continue
        kept.append({"version": version, "current": version == current_name, "metadata": metadata})
    return {"kind": kind, "current": current_name, "versions": kept}
