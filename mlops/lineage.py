"""What a model version came from, through ZenML's lineage (runs, steps and their input artifacts)."""

from __future__ import annotations

from typing import Any, Tuple


def training_inputs(version: Any) -> Tuple[Any, Any]:
    """The recordings (`sensor_data`) and ingest report a model version was trained on, as artifact versions.

    Not `version.get_artifact("sensor_data")`: batch runs (inference, drift on a folder) configured with the
    production version link their own `sensor_data` to it. The run that produced the version's
    `train_windows` windowed exactly one `sensor_data` (a training run's ingest, or a retraining run's merge)
    and validated one ingest report.
    """
    from zenml.client import Client

    run = Client().get_pipeline_run(version.get_artifact("train_windows").producer_pipeline_run_id)
    return (run.steps["window_recordings"].inputs["sensor_data"][0],
            run.steps["validate_sensor_data"].inputs["ingest_report"][0])
