"""Saving and loading fits: the only module that writes result files.

A saved fit is one NetCDF-4 file (h5netcdf) that plain ``arviz.from_netcdf`` opens:
groups ``posterior``, ``sample_stats``, ``log_likelihood``, ``log_prior``,
``observed_data`` and ``fit_data`` (the validated runs), and root attrs
``format_version``, ``package_version``, ``versions``, ``config`` (JSON), ``config_hash``,
``seed``, ``law``, ``data_hash``, ``posterior_sha256`` and ``group_sha256`` (a checksum per
group, JSON).

Nothing is lost: ``save`` writes a temporary file in the target directory and renames it
into place, so a crash mid-write leaves the previous file intact; ``load`` reads every
group into memory and recomputes the config hash, the data hash and the checksum of every
group, so a truncated, damaged or edited file is refused with a clear error when it is
loaded, not later when a group is first used.

An averaged posterior (:class:`forecast.averaged.Stack`) is one file too: root attrs
``format_version``, ``kind = "stack"``, ``components`` (JSON list), ``method``, ``seed``,
``stack_sha256`` (checksum of the ``stack`` group) and ``components_sha256`` (JSON: a
checksum of each component's checksums); NetCDF group ``stack`` holds ``weight`` and the
scores along ``component``; each component is a whole saved fit (its groups and attrs, as
above) under the NetCDF group ``components/<name>``, which arviz opens on its own
(``InferenceData.from_netcdf`` with ``base_group="components/<name>"``; see the README).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from forecast import _idata
from forecast.averaged import Stack
from forecast.config import FitConfig
from forecast.data.runs import runs_from_dataset
from forecast.diagnostics import diagnose
from forecast.errors import IncompatibleFileError
from forecast.fit import FORMAT_VERSION, Fit, data_hash, package_versions

#: Root attr ``kind`` of a file holding an averaged posterior.
STACK_KIND = "stack"
_COMPONENTS = "components"


def _digest_dataset(ds, digest) -> None:
    """Feed every variable and coordinate of ``ds`` (name, dtype, shape, values) to ``digest``."""
    for name in sorted(map(str, ds.variables)):
        values = np.asarray(ds.variables[name].values)
        text = values.dtype.kind in "OUS"  # object in memory, fixed-width once read back
        digest.update(f"{name}|{'text' if text else values.dtype.str}|{values.shape}|".encode())
        if text:
            digest.update("\x1f".join(map(str, values.ravel().tolist())).encode())
        else:
            digest.update(np.ascontiguousarray(values).tobytes())


def posterior_checksum(idata) -> str:
    """SHA-256 of the posterior arrays (names, shapes and bytes, in sorted order)."""
    digest = hashlib.sha256()
    posterior = _idata.group(idata, "posterior")
    for name in sorted(posterior.data_vars):
        values = np.ascontiguousarray(posterior[name].values)
        digest.update(str(name).encode())
        digest.update(str(values.shape).encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def group_checksums(idata) -> dict[str, str]:
    """SHA-256 of every group: its variables and coordinates (names, dtypes, shapes, values).

    Stored in a saved file's root attr ``group_sha256`` (JSON) and recomputed by
    :func:`load`, so damage to any group, ``log_likelihood`` included, is refused.
    """
    out = {}
    for name in sorted(_idata.group_names(idata)):
        digest = hashlib.sha256()
        _digest_dataset(_idata.group(idata, name), digest)
        out[name] = digest.hexdigest()
    return out


def _umask() -> int:
    """Read the process umask, without changing it where the OS allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (momentary, process-wide)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    """Choose the permissions of a new file at ``path``.

    Those of the file it replaces, else 0o666 minus the umask, as ``open(path, "w")``
    would give (``mkstemp`` makes its files 0o600, readable by their owner only).
    """
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where directories cannot open."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | Path, write) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``.

    The temporary file is a hidden ``.<name>.*.tmp`` in the same directory, flushed to disk
    before the rename, so ``path`` holds either the previous file or the whole new one, even
    if the process is killed mid-write (a killed write leaves only the hidden temporary
    file). The new file gets the permissions of the file it replaces, else the umask's.

    Parameters
    ----------
    path : str or Path
        Final destination.
    write : callable
        Writes a complete file at the path it is given.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _with_checksums(idata):
    """Return a copy of ``idata`` with its ``posterior_sha256`` and ``group_sha256`` attrs."""
    sums = {
        "posterior_sha256": posterior_checksum(idata),
        "group_sha256": json.dumps(group_checksums(idata), sort_keys=True),
    }
    return _idata.with_attrs(idata, sums)


def _dataset_checksum(ds: xr.Dataset) -> str:
    digest = hashlib.sha256()
    _digest_dataset(ds, digest)
    for key in sorted(ds.attrs):
        digest.update(f"{key}={ds.attrs[key]!r}".encode())
    return digest.hexdigest()


def _component_checksum(idata) -> str:
    """SHA-256 of a component's stored checksums (binds the component to the stack)."""
    attrs = _idata.attrs(idata)
    text = f"{attrs['posterior_sha256']}|{attrs['group_sha256']}|{attrs['config_hash']}"
    return hashlib.sha256(text.encode()).hexdigest()


def _stack_dataset(stack: Stack) -> xr.Dataset:
    ds = stack.scores.assign(weight=stack.weights)
    ds.attrs = dict(stack.scores.attrs)
    return ds


def _write_stack(stack: Stack, tmp: str) -> None:
    parts = {n: _with_checksums(f.idata) for n, f in stack.components.items()}
    table = _stack_dataset(stack)
    root = {
        "format_version": FORMAT_VERSION,
        "kind": STACK_KIND,
        "package_version": package_versions()["scaling-forecast"],
        "components": json.dumps(stack.names),
        "method": stack.method,
        "seed": int(stack.seed),
        "stack_sha256": _dataset_checksum(table),
        "components_sha256": json.dumps(
            {n: _component_checksum(i) for n, i in parts.items()}, sort_keys=True
        ),
    }
    _idata.dataset_to_netcdf(xr.Dataset(attrs=root), tmp)
    _idata.dataset_to_netcdf(table, tmp, group="stack", append=True)
    for name, idata in parts.items():
        _idata.to_netcdf(idata, tmp, base_group=f"{_COMPONENTS}/{name}", append=True)


def save(result: Fit | Stack, path: str | Path, *, overwrite: bool = False) -> Path:
    """Save a fit or an averaged posterior to one NetCDF file atomically.

    Parameters
    ----------
    result : Fit or Stack
        The fit to save, or an averaged posterior (components, weights and their
        provenance; layout in the module docstring).
    path : str or Path
        Destination ``.nc`` file.
    overwrite : bool
        Replace an existing file; without it an existing file raises ``FileExistsError``.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.

    Examples
    --------
    >>> save(result, "chinchilla.nc")  # doctest: +SKIP
    PosixPath('chinchilla.nc')
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (CLI: --force) to replace it")
    if isinstance(result, Stack):
        return write_atomic(path, lambda tmp: _write_stack(result, tmp))
    idata = _with_checksums(result.idata)
    return write_atomic(path, lambda tmp: _idata.to_netcdf(idata, tmp))


def _read(path: Path, base_group: str = "/"):
    try:
        return _idata.from_netcdf(path, base_group=base_group)
    except Exception as exc:  # h5py/netCDF raise many types on damaged files
        raise IncompatibleFileError(
            f"{path}: cannot be read as NetCDF ({type(exc).__name__}: {exc}); "
            "the file is truncated, damaged or not a saved fit"
        ) from exc


def load(path: str | Path, *, expect: FitConfig | None = None) -> Fit | Stack:
    """Load a fit or an averaged posterior saved by :func:`save`, checking that it is whole.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`save` (or by ``scaling-forecast fit``).
    expect : FitConfig, optional
        Config the caller expects; a file made with another config (or holding an
        averaged posterior) raises.

    Returns
    -------
    Fit or Stack
        Posterior, config, runs and diagnostics, as when it was fitted; a
        :class:`forecast.averaged.Stack` when the file holds one (every component checked
        as a fit is, and the weights against their checksum).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    IncompatibleFileError
        Not a file of this package, another format version, a config other than
        ``expect``, or contents that fail their stored checksums (truncated or edited).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        root = _idata.root_attrs(path)
    except Exception as exc:  # h5py/netCDF raise many types on damaged files
        raise IncompatibleFileError(
            f"{path}: cannot be read as NetCDF ({type(exc).__name__}: {exc}); "
            "the file is truncated, damaged or not a saved fit"
        ) from exc
    if root.get("kind") == STACK_KIND:
        if expect is not None:
            raise IncompatibleFileError(
                f"{path}: holds an averaged posterior, not one fit of config {expect.config_hash}"
            )
        return _load_stack(path, root)
    return _fit_from(_read(path), str(path), expect)


def _load_stack(path: Path, root: dict) -> Stack:
    if int(root.get("format_version", -1)) != FORMAT_VERSION:
        raise IncompatibleFileError(
            f"{path}: format_version {root.get('format_version')} but this package reads "
            f"{FORMAT_VERSION}"
        )
    try:
        names = json.loads(root["components"])
        table = _idata.dataset_from_netcdf(path, group="stack")
    except Exception as exc:  # noqa: BLE001 - any failure here is a damaged file
        raise IncompatibleFileError(
            f"{path}: the stack's weights cannot be read ({type(exc).__name__}: {exc}); "
            "the file is truncated or damaged"
        ) from exc
    if root.get("stack_sha256") != _dataset_checksum(table):
        raise IncompatibleFileError(
            f"{path}: the checksum of the stack's weights and scores does not match; "
            "the file was edited or damaged"
        )
    stored = json.loads(root.get("components_sha256", "{}"))
    fits = {}
    for name in names:
        idata = _read(path, f"{_COMPONENTS}/{name}")
        where = f"{path} (component {name!r})"
        fits[name] = _fit_from(idata, where, None)
        if stored.get(name) != _component_checksum(idata):
            raise IncompatibleFileError(
                f"{where}: not the component the stack was saved with; the file was edited"
            )
    weights = table["weight"]
    scores = table.drop_vars("weight")
    scores.attrs = dict(table.attrs)
    weights = weights.assign_coords(component=[str(n) for n in weights["component"].values])
    scores = scores.assign_coords(component=weights["component"])
    return Stack(
        components=fits,
        weights=weights,
        method=str(root["method"]),
        seed=int(root["seed"]),
        scores=scores,
    )


def _fit_from(idata, path: str, expect: FitConfig | None) -> Fit:
    """Check a saved fit's attrs and checksums and return the :class:`Fit` it holds."""
    attrs = _idata.attrs(idata)
    if "config" not in attrs or "format_version" not in attrs:
        raise IncompatibleFileError(f"{path}: not a scaling-forecast file (no config attrs)")
    if int(attrs["format_version"]) != FORMAT_VERSION:
        raise IncompatibleFileError(
            f"{path}: format_version {attrs['format_version']} but this package reads "
            f"{FORMAT_VERSION}"
        )
    missing = [
        g for g in ("posterior", "sample_stats", "fit_data") if not _idata.has_group(idata, g)
    ]
    if missing:
        raise IncompatibleFileError(f"{path}: groups {missing} are missing")
    config = FitConfig.from_dict(json.loads(attrs["config"]))
    checks = {
        "config_hash": (attrs.get("config_hash"), config.config_hash),
        "posterior_sha256": (attrs.get("posterior_sha256"), posterior_checksum(idata)),
    }
    runs = runs_from_dataset(_idata.group(idata, "fit_data"))
    checks["data_hash"] = (attrs.get("data_hash"), data_hash(runs))
    if "group_sha256" in attrs:  # files saved before it have the posterior checksum only
        checks["group_sha256"] = (
            json.loads(attrs["group_sha256"]),
            group_checksums(idata),
        )
    for name, (stored, computed) in checks.items():
        if stored != computed:
            if isinstance(stored, dict):  # per group: name the groups that differ
                bad = sorted(
                    g for g in set(stored) | set(computed) if stored.get(g) != computed.get(g)
                )
                raise IncompatibleFileError(
                    f"{path}: the checksums of groups {bad} do not match their contents; "
                    "the file was edited or damaged"
                )
            raise IncompatibleFileError(
                f"{path}: {name} stored {stored!r} but the contents give {computed!r}; "
                "the file was edited or damaged"
            )
    if expect is not None and expect.config_hash != config.config_hash:
        raise IncompatibleFileError(
            f"{path}: made with config {config.config_hash} (law {config.law!r}, priors "
            f"{config.to_dict()['priors']!r}) but config {expect.config_hash} (law "
            f"{expect.law!r}) was expected"
        )
    return Fit(idata=idata, config=config, runs=runs, diagnostics=diagnose(idata))
