from __future__ import annotations

import os
import shutil

import h5py
import numpy as np
import pytest

from forecast import FitConfig, IncompatibleFileError, load, save
from forecast.fit import _idata


def test_round_trip_is_exact(small_fit, tmp_path):
    path = save(small_fit, tmp_path / "fit.nc")
    again = load(path)
    assert again.config == small_fit.config
    assert again.config.config_hash == small_fit.config.config_hash
    for name in small_fit.posterior.data_vars:
        np.testing.assert_array_equal(
            again.posterior[name].values, small_fit.posterior[name].values
        )
    assert list(again.runs.columns) == list(small_fit.runs.columns)
    np.testing.assert_array_equal(again.runs["loss"].values, small_fit.runs["loss"].values)
    assert list(again.runs["group"]) == list(small_fit.runs["group"])
    assert again.diagnostics.attrs["divergences"] == small_fit.diagnostics.attrs["divergences"]
    # nothing left behind by the atomic write
    assert sorted(os.listdir(tmp_path)) == ["fit.nc"]


def test_plain_arviz_opens_the_file(small_fit, tmp_path):
    import arviz as az

    path = save(small_fit, tmp_path / "fit.nc")
    idata = az.from_netcdf(path)
    assert "posterior" in idata.groups() and "log_likelihood" in idata.groups()
    assert idata.attrs["law"] == "chinchilla"
    np.testing.assert_array_equal(
        idata.posterior["alpha"].values, small_fit.posterior["alpha"].values
    )


def test_mismatched_config_raises(small_fit, tmp_path):
    path = save(small_fit, tmp_path / "fit.nc")
    other = FitConfig(law="chinchilla", priors="besiroglu2024", groups="group")
    with pytest.raises(IncompatibleFileError, match="expected"):
        load(path, expect=other)
    assert load(path, expect=small_fit.config).config == small_fit.config


def test_existing_file_is_not_overwritten(small_fit, tmp_path):
    path = save(small_fit, tmp_path / "fit.nc")
    with pytest.raises(FileExistsError, match="overwrite"):
        save(small_fit, path)
    save(small_fit, path, overwrite=True)


def test_tampered_posterior_is_detected(small_fit, tmp_path):
    path = save(small_fit, tmp_path / "fit.nc")
    tampered = tmp_path / "tampered.nc"
    shutil.copy(path, tampered)
    with h5py.File(tampered, "r+") as handle:
        handle["posterior"]["alpha"][0, 0] = 0.123
    with pytest.raises(IncompatibleFileError, match="posterior_sha256"):
        load(tampered)


def test_truncated_file_is_detected(small_fit, tmp_path):
    path = save(small_fit, tmp_path / "fit.nc")
    data = path.read_bytes()
    broken = tmp_path / "broken.nc"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(IncompatibleFileError, match="broken.nc"):
        load(broken)


def test_a_flipped_byte_in_any_group_is_refused_on_load(small_fit, tmp_path):
    """Issue 17: a byte flipped in log_likelihood loaded fine, then az.loo raised OSError."""
    path = save(small_fit, tmp_path / "fit.nc")
    with h5py.File(path, "r") as handle:
        chunk = handle["log_likelihood"]["log_loss"].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[chunk.byte_offset + chunk.size // 2] ^= 0xFF  # the middle of the stored chunk
    damaged = tmp_path / "damaged.nc"
    damaged.write_bytes(bytes(data))
    with pytest.raises(IncompatibleFileError, match="damaged.nc") as info:
        load(damaged)
    print(info.value)


def test_edited_log_likelihood_is_detected(small_fit, tmp_path):
    """A valid write to a group other than the posterior is caught by its checksum."""
    path = save(small_fit, tmp_path / "fit.nc")
    with h5py.File(path, "r+") as handle:
        handle["log_likelihood"]["log_loss"][0, 0, 0] += 1.0
    with pytest.raises(IncompatibleFileError, match="log_likelihood") as info:
        load(path)
    print(info.value)


def test_not_a_fit_file(tmp_path):
    import xarray as xr

    path = tmp_path / "other.nc"
    xr.Dataset({"x": ("a", [1.0])}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(IncompatibleFileError):
        load(path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.nc")


def test_saved_attrs_name_the_versions(small_fit, tmp_path):
    path = save(small_fit, tmp_path / "fit.nc")
    attrs = _idata.attrs(load(path).idata)
    for key in (
        "format_version",
        "package_version",
        "config",
        "config_hash",
        "seed",
        "law",
        "data_hash",
        "posterior_sha256",
        "versions",
    ):
        assert key in attrs, key
