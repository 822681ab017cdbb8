"""Where results go and what comes back: bad output locations (a file, under a file,
read-only, empty, a disk that fills mid-write) are one line and leave no partial folder;
folders get ordinary permissions; staging folders of killed writers are cleaned; manifests
hold a SHA-256 of every file, and ``plot`` and ``compare`` refuse a folder that does not
match them."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli

from sim import folder as folder_module
from sim import staging
from sim.folder import FolderInvalid, verify_folder
from sim.schema import PROJECT_ROOT

RUN = ["run", "sprint_race", "--users", "500", "--months", "3", "--set", "run.startups=500"]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small run with its plots, written by the command line."""
    out = tmp_path_factory.mktemp("runs")
    code, stdout, err = cli([*RUN, "--out", str(out)])
    assert code == 0, err
    return Path(stdout.strip().splitlines()[-1].removeprefix("results: "))


def copy_of(folder: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(folder, tmp_path / folder.name))


def assert_one_line(code: int, err: str, expected_code: int, *texts: str) -> None:
    assert code == expected_code, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for text in texts:
        assert text in err, f"{text!r} not in {err!r}"


# ---------------------------------------------------------------------------- locations


def test_out_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "results.txt"
    target.write_text("not a folder")
    code, _, err = cli([*RUN, "--no-plots", "--out", str(target)])
    assert_one_line(code, err, 2, str(target), "is a file")
    assert target.read_text() == "not a folder"


def test_out_under_a_file(tmp_path: Path) -> None:
    target = tmp_path / "results.txt"
    target.write_text("not a folder")
    code, _, err = cli([*RUN, "--no-plots", "--out", str(target / "deeper" / "still")])
    assert_one_line(code, err, 2, "lies under", str(target))


@pytest.mark.parametrize("command", ["ensemble", "sweep"])
def test_multi_run_commands_check_out_first(command: str, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("")
    extra = ["--param", "kill_line.runway_months=3,6"] if command == "sweep" else []
    code, _, err = cli([command, "sprint_race", "--users", "500", "--months", "3", *extra,
                        "--workers", "1", "--quiet", "--out", str(target)])  # fmt: skip
    assert_one_line(code, err, 2, "is a file")


def test_read_only_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # root may write anywhere, so the refusal is what is checked here, by a denied access
    monkeypatch.setattr(staging.os, "access", lambda path, mode: False)
    code, _, err = cli([*RUN, "--no-plots", "--out", str(tmp_path / "ro")])
    assert_one_line(code, err, 2, "not writable")
    assert not list((tmp_path / "ro").iterdir())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_for_real(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, err = cli([*RUN, "--no-plots", "--out", str(locked)])
    assert_one_line(code, err, 2, "not writable")


def test_empty_out_in_a_real_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", *RUN, "--out", ""],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert_one_line(done.returncode, done.stderr, 2, "--out", "empty path")
    assert not any(tmp_path.iterdir())


def test_a_disk_that_fills_mid_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(folder_module, "write_resolved", full)
    code, _, err = cli([*RUN, "--no-plots", "--out", str(tmp_path)])
    assert_one_line(code, err, 1, "No space left on device", "nothing was kept")
    assert not list((tmp_path / "sprint_race").iterdir())  # no partial, no staging folder


def test_folders_get_ordinary_permissions(run_folder: Path) -> None:
    expected = 0o777 & ~staging._umask()
    for path in (run_folder, run_folder / "plots"):
        assert path.stat().st_mode & 0o777 == expected, oct(path.stat().st_mode)


def test_staging_of_a_killed_writer_is_cleaned(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    parent = tmp_path / "sprint_race"
    parent.mkdir()
    stale = parent / f"{staging.STAGING}{gone.pid}-20260101-000000.abc"
    live = parent / f"{staging.STAGING}{os.getpid()}-20260101-000000.def"
    for path in (stale, live):
        path.mkdir()
        (path / "firms.parquet").write_bytes(b"half")
    code, _, err = cli([*RUN, "--no-plots", "--out", str(tmp_path)])
    assert code == 0, err
    assert not stale.exists()  # its writer is dead
    assert live.exists()  # its writer (this process) may still be writing


# ---------------------------------------------------------------------------- integrity


def test_manifest_holds_a_checksum_of_every_file(run_folder: Path) -> None:
    manifest = json.loads((run_folder / "manifest.json").read_text())
    files = {
        p.relative_to(run_folder).as_posix()
        for p in run_folder.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert set(manifest["sha256"]) == files
    assert any(name.startswith("plots/") for name in files)
    assert {"firms.parquet", "market.parquet", "resolved.toml"} <= files
    assert verify_folder(run_folder)["scenario"] == "sprint_race"


@pytest.mark.parametrize("command", ["plot", "compare"])
def test_an_altered_table_is_refused(command: str, run_folder: Path, tmp_path: Path) -> None:
    altered = copy_of(run_folder, tmp_path)
    table = altered / "market.parquet"
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF
    table.write_bytes(bytes(data))
    code, _, err = cli([command, str(altered)])
    assert_one_line(code, err, 2, "market.parquet", "does not match its SHA-256")


def test_a_missing_table_is_refused(run_folder: Path, tmp_path: Path) -> None:
    broken = copy_of(run_folder, tmp_path)
    (broken / "firms.parquet").unlink()
    code, _, err = cli(["plot", str(broken)])
    assert_one_line(code, err, 2, "firms.parquet is missing")


def test_a_corrupt_manifest_is_refused(run_folder: Path, tmp_path: Path) -> None:
    broken = copy_of(run_folder, tmp_path)
    (broken / "manifest.json").write_text('{"scenario": "sprint_race", "seed": ')
    for command in ("plot", "compare"):
        code, _, err = cli([command, str(broken)])
        assert_one_line(code, err, 2, "manifest.json is unreadable")


def test_an_unreadable_table_without_checksums_is_one_line(
    run_folder: Path, tmp_path: Path
) -> None:
    # a folder written before manifests held checksums: the damage shows when it is read
    old = copy_of(run_folder, tmp_path)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["sha256"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    (old / "firms.parquet").write_bytes(b"PAR1 truncated")
    code, _, err = cli(["plot", str(old)])
    assert_one_line(code, err, 2, "firms.parquet is unreadable")


def test_redrawn_plots_keep_the_folder_verifiable(run_folder: Path, tmp_path: Path) -> None:
    redrawn = copy_of(run_folder, tmp_path)
    code, _, err = cli(["plot", str(redrawn)])
    assert code == 0, err
    manifest = verify_folder(redrawn)
    for name, digest in manifest["sha256"].items():
        assert folder_module.sha256_of(redrawn / name) == digest


def test_verify_names_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(FolderInvalid, match="no such folder"):
        verify_folder(tmp_path / "nowhere")
    with pytest.raises(FolderInvalid, match=r"no manifest\.json"):
        verify_folder(tmp_path)


def test_compare_with_an_unknown_metric_lists_the_columns(run_folder: Path, capsys) -> None:
    from sim.cli import main

    with pytest.raises(SystemExit) as caught:  # a usage error, as argparse gives it
        main(["compare", str(run_folder), "--metric", "nope"])
    err = capsys.readouterr().err
    assert_one_line(caught.value.code, err, 2, "--metric", "invalid choice: 'nope'", "share")
