"""README "Your own watch data", run as written: the commands and the profile are read from the README.

A 25 Hz watch export with real-world quirks (one combined file, ISO times, m/s^2
and deg/s, 10 s recordings, dropouts, unlabelled stretches, the user's own label
words, 6 people) goes from a folder to a served model under its own name, a
/predict_stream request in m/s^2 gets the right label, then inference and drift
run on new people.
"""

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml
from zenml.client import Client
from zenml.enums import ModelStages

from tests.integration.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SECTION = "## Your own watch data"
TUTORIAL_DATA = "/tmp/my-watch"


def tutorial() -> dict:
    """The section's bash commands (in order) and its profile YAML, as a reader sees them."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    text = readme[start:end if end != -1 else None]
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)
    commands = [line.strip() for kind, body in blocks if kind == "bash" for line in body.splitlines()
                if line.strip() and not line.strip().startswith("#")]
    profiles = [body for kind, body in blocks if kind == "yaml"]
    assert len(profiles) == 1, "the tutorial shows one dataset profile"
    return {"commands": commands, "profile": profiles[0], "text": text}


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    """Run every command of the tutorial once; yields each command's result by its first words."""
    data = tmp_path_factory.mktemp("my-watch")
    steps = tutorial()
    assert f"Save this as `{TUTORIAL_DATA}/my_watch.yaml`" in steps["text"]
    assert steps["commands"][0] == f"DATA={TUTORIAL_DATA}"
    assert _port_free(3000), "the tutorial serves on port 3000, which is taken on this machine"
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `python` is the project's
    env["DATA"] = str(data)
    results = {}
    try:
        for command in steps["commands"][1:]:
            if command.startswith("python run.py --pipeline train"):  # the reader saved the profile by now
                (data / "my_watch.yaml").write_text(steps["profile"])
            result = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True,
                                    timeout=900)
            results[command] = result
            allowed = (0, 5) if "--pipeline drift" in command else (0,)
            assert result.returncode in allowed, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        yield {"data": data, "results": results}
    finally:
        stop = subprocess.run([sys.executable, "run.py", "--stop-deployments", "--dataset",
                               str(data / "my_watch.yaml")], cwd=ROOT, env=env, capture_output=True, text=True)
        assert stop.returncode == 0, stop.stdout + stop.stderr


def _result(walkthrough, prefix: str) -> subprocess.CompletedProcess:
    matches = [r for c, r in walkthrough["results"].items() if c.startswith(prefix)]
    assert matches, f"the tutorial has no command starting with {prefix!r}"
    return matches[0]


def test_training_promotes_the_datasets_own_model_and_reports_what_it_tolerated(walkthrough):
    result = _result(walkthrough, "python run.py --pipeline train")
    assert "Model 'my-watch-classifier' version 1 is now production" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    version = Client().get_model_version("my-watch-classifier", ModelStages.PRODUCTION)
    assert version.run_metadata["data_config"]["sampling_rate_hz"] == 25
    run = Client().get_pipeline_run(version.pipeline_runs[next(iter(version.pipeline_runs))].id) \
        if hasattr(version, "pipeline_runs") else None
    report = (run or Client().get_pipeline("training_pipeline").runs[0]).steps["validate_sensor_data"] \
        .outputs["data_quality_report"][0].load()
    messages = [str(issue) for issue in report.issues]
    assert any("gap of" in m for m in messages), messages[:5]  # the 1.4 s dropouts: warnings with a position
    assert report.passed
    assert any(item.recording.endswith("_03") for item in report.skipped) or any(
        "shorter" in m or "skipped" in m for m in messages)


def test_a_stream_in_its_own_units_gets_the_right_label(walkthrough):
    request = json.loads((walkthrough["data"] / "request.json").read_text())
    assert request["units"] == {"accelerometer": "m/s^2", "gyroscope": "deg/s"}
    curl = next(c for c in walkthrough["results"] if c.startswith("curl"))
    answer = json.loads(walkthrough["results"][curl].stdout)
    recording = shlex.split(next(c for c in walkthrough["results"] if "stream_request.py" in c))[2]
    labels = pd.read_csv(Path(recording.replace("$DATA", str(walkthrough["data"]))) / "labels.csv")
    names = yaml.safe_load(tutorial()["profile"])["schema"]["labels"]["activity_names"]
    truth = Counter(names.get(label, label) for label in labels["label"]).most_common(1)[0][0]
    predicted = Counter(p["label"] for p in answer["predictions"]).most_common(1)[0][0]
    assert predicted == truth, answer["predictions"]
    assert answer["model_version"] == "1"


def test_inference_and_drift_run_on_new_people(walkthrough):
    inference = _result(walkthrough, "python run.py --pipeline inference")
    written = re.search(r"window predictions written to (\S+) ", inference.stdout)
    assert written and Path(written.group(1)).is_file(), inference.stdout[-2000:]
    drift = _result(walkthrough, "python run.py --pipeline drift")
    if drift.returncode == 5:
        assert "Data drift detected" in drift.stderr and "Traceback" not in drift.stderr
        assert len(drift.stderr.strip().splitlines()) <= 15
    else:
        assert "Drift check done" in drift.stdout
