"""Run hygiene without a pipeline: launchers, stale-run judgement, empty versions, partial files, promotion order."""

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import psutil
import pytest

from mlops.deployments import MARKER_ENV, end_processes, marked_processes
from mlops.files import clean_stale_partials, partial_prefix
from mlops.runs import Launcher, is_abandoned_version, read_launchers, stale_run_ids

ROOT = Path(__file__).resolve().parents[2]


def _launcher(started, ended=None, alive=False):
    return Launcher(Path("x"), 1, started, ended, alive)


@pytest.mark.parametrize(
    "launchers, expected",
    [
        ([], []),  # not started through run.py: left alone
        ([_launcher(100, alive=True)], []),
        ([_launcher(100)], ["r"]),  # its only possible launcher died
        ([_launcher(100), _launcher(50, alive=True)], []),  # a live launcher could have started it
        ([_launcher(100, ended=150)], []),  # that launcher ended before the run was created
        ([_launcher(300)], []),  # started after the run
    ],
)
def test_a_run_is_stale_only_when_every_possible_launcher_is_dead(launchers, expected):
    assert stale_run_ids([("r", 200.0)], launchers) == expected


def test_launcher_killed_with_sigkill_reads_as_dead_and_a_live_one_as_alive(tmp_path):
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from mlops.runs import register_launcher; "
            "register_launcher(__import__('pathlib').Path(sys.argv[2])); print('ready', flush=True); time.sleep(60)")
    children = [subprocess.Popen([sys.executable, "-c", code, str(ROOT), str(tmp_path)], stdout=subprocess.PIPE,
                                 text=True) for _ in range(2)]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    children[0].kill()
    children[0].wait()
    try:
        launchers = {launcher.pid: launcher for launcher in read_launchers(tmp_path)}
        assert launchers[children[0].pid].alive is False and launchers[children[0].pid].ended is not None
        assert launchers[children[1].pid].alive is True and launchers[children[1].pid].ended is None
    finally:
        children[1].kill()
        children[1].wait()


def _version(stage=None):
    return SimpleNamespace(stage=stage)


@pytest.mark.parametrize(
    "version, statuses, has_model, abandoned",
    [
        (_version(), ["failed"], False, True),
        (_version(), ["failed", "stopped"], False, True),
        (_version(), ["failed", "running"], False, False),  # a run still creating it
        (_version(), [], False, False),  # no run: made by hand
        (_version(stage="staging"), ["failed"], False, False),
        (_version(), ["failed"], True, False),  # failed at the quality gate: holds a model, kept
        (_version(), ["completed"], False, False),
    ],
)
def test_only_versions_of_failed_runs_without_a_model_are_abandoned(version, statuses, has_model, abandoned):
    assert is_abandoned_version(version, statuses, lambda: has_model) is abandoned


def test_stale_partials_are_removed_and_a_live_writers_are_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    dead_partial = tmp_path / f"run.pid{dead.pid}.abc.partial"
    mine = tmp_path / f"{partial_prefix('run')}def.partial"
    old_unnamed = tmp_path / "tmp123.partial"
    recent_unnamed = tmp_path / "tmp456.partial"
    export = tmp_path / "run.csv"
    for path in (dead_partial, mine, old_unnamed, recent_unnamed, export):
        path.write_text("x")
    os.utime(old_unnamed, (time.time() - 7200, time.time() - 7200))
    removed = clean_stale_partials(tmp_path, max_age_s=3600)
    assert sorted(removed) == sorted([dead_partial, old_unnamed])
    assert mine.exists() and recent_unnamed.exists() and export.exists()


def test_orphaned_marked_process_in_its_own_session_is_found_and_ended():
    """Like a BentoML worker whose daemon was killed: own session, marker in its environment."""
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True,
                              env={**os.environ, MARKER_ENV: "test-deployment-id"})
    try:
        deadline = time.monotonic() + 10
        while orphan.pid not in marked_processes("test-deployment-id") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marked_processes("test-deployment-id") == {orphan.pid: "test-deployment-id"}
        assert end_processes([orphan.pid], timeout=5) == [orphan.pid]
        orphan.wait(5)
        assert not psutil.pid_exists(orphan.pid) or psutil.Process(orphan.pid).status() == psutil.STATUS_ZOMBIE
    finally:
        orphan.kill()


def test_promotion_records_data_config_before_changing_the_stage():
    """A crash between the two must not leave a production version without its data_config."""
    from steps.promotion import promote_model as module

    calls = []
    model = mock.Mock(name="model", version="2", id="new")
    model.name = "m"
    model.set_stage.side_effect = lambda *a, **k: calls.append("set_stage")
    context = SimpleNamespace(model=model)
    client = mock.Mock()
    client.get_model_version.side_effect = KeyError("no production")
    with mock.patch.object(module, "get_step_context", return_value=context), \
            mock.patch.object(module, "Client", return_value=client), \
            mock.patch.object(module, "log_metadata", side_effect=lambda **k: calls.append("log_metadata")), \
            mock.patch.object(module, "_versions_page", return_value="page"):
        decision, _ = module.promote_model.entrypoint(
            cv_report=SimpleNamespace(mean=lambda metric: 0.9, family="minirocket"),
            evaluation_report=SimpleNamespace(macro_f1=0.9),
            data_config=SimpleNamespace(model_dump=lambda: {"rate": 50}))
    assert decision["promoted"] is True
    assert calls == ["log_metadata", "set_stage"]


def test_service_log_is_capped_while_writers_keep_appending(tmp_path):
    from mlops.files import cap_log_file

    log = tmp_path / "service.log"
    writer = open(log, "a", buffering=1)  # O_APPEND, like the deployment daemon's stdout
    for i in range(2000):
        writer.write(f"line {i:05d} " + "x" * 80 + "\n")
    assert log.stat().st_size > 100_000
    assert cap_log_file(log, max_bytes=50_000)
    writer.write("after rotation\n")
    writer.close()
    assert log.read_text() == "after rotation\n"  # appended at the new end, no hole of zeros
    kept = (tmp_path / "service.log.1").read_text()
    assert len(kept) <= 50_000 and kept.rstrip().endswith("line 01999 " + "x" * 80)
    assert not cap_log_file(log, max_bytes=50_000)


def test_containerized_deployment_gets_the_api_keys_of_the_deploying_shell(tmp_path, monkeypatch):
    from mlops.bentoml_flavor import _container_environment

    monkeypatch.delenv("HAR_API_KEYS", raising=False)
    monkeypatch.delenv("HAR_API_KEYS_FILE", raising=False)
    assert "HAR_API_KEYS" not in _container_environment()
    keys = tmp_path / "keys"
    keys.write_text("from-file\n")
    monkeypatch.setenv("HAR_API_KEYS", "a,b")
    monkeypatch.setenv("HAR_API_KEYS_FILE", str(keys))
    monkeypatch.setenv("HAR_METRICS_AUTH", "1")
    environment = _container_environment()
    assert set(filter(None, environment["HAR_API_KEYS"].split(","))) == {"a", "b", "from-file"}
    assert environment["HAR_METRICS_AUTH"] == "1" and environment["BENTOML_DO_NOT_TRACK"] == "true"
