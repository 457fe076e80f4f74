"""Expected outcomes end in a few lines that say what to do, with a documented exit code; no traceback.

Each case runs `python run.py` for real (real ZenML store and pipeline runs).
The failure block is what the CLI prints from its `Error (...)` line on.
"""

import shutil

import pytest
import yaml

from har.outcomes import ExitCode
from tests.integration.conftest import ROOT, run_cli

pytestmark = pytest.mark.integration
MAX_LINES = 15


def _failure(result, code: ExitCode) -> list[str]:
    """The failure block, after checking the exit code and that no traceback was printed."""
    output = result.stdout + result.stderr
    assert result.returncode == int(code), output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    lines = result.stderr.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"Error ({code.meaning}, exit code {int(code)})"))
    block = lines[start:]
    assert len(block) <= MAX_LINES, "\n".join(block)
    return block


def test_bad_data_is_a_short_data_error(trained_run, tiny_data, tiny_config, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_data, bad)
    recording = sorted(p for p in bad.iterdir() if p.is_dir())[1]
    (recording / "gyroscope.csv").write_text("timestamp;x;y;z\n1;2;3;4\n")
    result = run_cli("--pipeline", "train", "--config", str(tiny_config), "--data-dir", str(bad))
    block = _failure(result, ExitCode.BAD_DATA)
    assert any(recording.name in line and "gyroscope.csv" in line and "delimiter" in line for line in block)
    assert len((result.stdout + result.stderr).strip().splitlines()) <= MAX_LINES + 5  # the whole output is short


def test_failed_quality_gate_is_its_own_exit_code(trained_run, tiny_data, tiny_config, tmp_path):
    config = yaml.safe_load(tiny_config.read_text())
    config["steps"]["check_quality_gate"]["parameters"]["min_macro_f1"] = 1.01  # unreachable
    path = tmp_path / "gate.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_cli("--pipeline", "train", "--config", str(path), "--data-dir", str(tiny_data))
    block = _failure(result, ExitCode.GATE_FAILED)
    assert "Quality gate failed" in block[0] and "1.0100" in block[0] and "CV macro-F1" in block[0]
    assert any("min_macro_f1" in line for line in block)
    assert "train_model has started" not in result.stdout + result.stderr  # the gate comes before the final fit


def test_drift_alert_is_its_own_exit_code(trained_run, tiny_data, tmp_path):
    shifted = tmp_path / "shifted"
    for recording in sorted(p for p in tiny_data.iterdir() if p.is_dir())[:2]:
        shutil.copytree(recording, shifted / recording.name)
        path = shifted / recording.name / "accelerometer.csv"
        lines = path.read_text().splitlines()
        rows = [line.split(",") for line in lines[1:]]
        path.write_text("\n".join([lines[0]] + [",".join([r[0]] + [f"{float(v) * 1.6:.5f}" for v in r[1:]])
                                                for r in rows]) + "\n")
    config = yaml.safe_load((ROOT / "configs" / "drift.yaml").read_text())
    config["steps"]["act_on_drift"]["parameters"]["on_drift"] = "alert"
    path = tmp_path / "drift.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_cli("--pipeline", "drift", "--config", str(path), "--data-dir", str(shifted))
    block = _failure(result, ExitCode.DRIFT)
    assert "Data drift detected" in block[0]


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["--pipeline", "inference", "--data-dir", "/nonexistent/recordings"], ExitCode.BAD_DATA, "does not exist"),
        (["--pipeline", "drift"], ExitCode.USAGE, "needs --data-dir"),
        (["--pipeline", "deploy", "--model", "no-such-model"], ExitCode.NO_MODEL, "no model named"),
        (["--dataset", "no-such-dataset"], ExitCode.USAGE, "no dataset profile named"),
    ],
)
def test_wrong_arguments_fail_before_any_run(trained_run, args, code, words):
    result = run_cli(*args)
    block = _failure(result, code)
    assert words in block[0]
    assert "Initiating a new run" not in result.stdout + result.stderr


def test_empty_data_dir_fails_before_any_run(trained_run, tmp_path):
    result = run_cli("--pipeline", "inference", "--data-dir", str(tmp_path))
    block = _failure(result, ExitCode.BAD_DATA)
    assert "contains no recordings" in block[0]
    assert "Initiating a new run" not in result.stdout + result.stderr


def test_config_typo_names_file_and_key(trained_run, tmp_path):
    config = yaml.safe_load((ROOT / "configs" / "train.yaml").read_text())
    config["steps"]["cross_validate_model"]["parameters"]["recipe"]["params"]["n_kernelz"] = 3
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(config))
    block = _failure(run_cli("--pipeline", "train", "--config", str(path)), ExitCode.USAGE)
    assert str(path) in block[0] and "n_kernelz" in "\n".join(block)


def test_debug_shows_the_traceback(trained_run):
    result = run_cli("--pipeline", "deploy", "--model", "no-such-model", "--debug")
    assert result.returncode == int(ExitCode.NO_MODEL)
    assert "Error (model not found" in result.stderr and "Traceback" in result.stderr


def _break(folder, kind: str) -> str:
    """Give one recording one defect of a class the ingest unit tests cover; returns the expected words."""
    acc = folder / "accelerometer.csv"
    lines = acc.read_text().splitlines()
    if kind == "delimiter":
        acc.write_text("\n".join(line.replace(",", ";") for line in lines) + "\n")
        return "delimiter"
    if kind == "not a number":
        fields = lines[5].split(",")
        fields[1] = "abc"
        lines[5] = ",".join(fields)
    elif kind == "duplicate":
        lines[7] = lines[6]
    elif kind == "range":
        fields = lines[9].split(",")
        fields[3] = "99"
        lines[9] = ",".join(fields)
    elif kind == "missing labels":
        (folder / "labels.csv").unlink()
        return "labels.csv"
    elif kind == "unknown activity":
        labels = (folder / "labels.csv").read_text().splitlines()
        labels[1] = ",".join(labels[1].split(",")[:2] + ["jogging"])
        (folder / "labels.csv").write_text("\n".join(labels) + "\n")
        return "unknown activity 'jogging'"
    acc.write_text("\n".join(lines) + "\n")
    return {"not a number": "is not a number", "duplicate": "duplicate timestamp", "range": "plausible range"}[kind]


def test_every_bad_input_class_is_listed_in_one_short_failure(trained_run, tiny_data, tiny_config, tmp_path):
    bad = tmp_path / "many-bad"
    shutil.copytree(tiny_data, bad)
    recordings = sorted(p for p in bad.iterdir() if p.is_dir())
    kinds = ["delimiter", "not a number", "duplicate", "range", "missing labels", "unknown activity"]
    expected = [_break(recording, kind) for recording, kind in zip(recordings * 2, kinds, strict=False)]
    result = run_cli("--pipeline", "train", "--config", str(tiny_config), "--data-dir", str(bad))
    block = "\n".join(_failure(result, ExitCode.BAD_DATA))
    for words in expected:
        assert words in block, (words, block)
