"""Training pipeline: raw recordings -> validated windows -> tracked, evaluated, promoted model."""

from zenml import pipeline

from har.config import DataConfig, Schema
from pipelines.wiring import TRAINING_STEPS, train_and_promote
from steps import ingest_recordings


@pipeline(
    # Dynamic: on the docker stack the whole run is one container (ZenML's local Docker orchestrator runs a
    # dynamic pipeline inline), instead of ~10 s of container start, imports and exit per step; on the local
    # stack it runs in-process as before. `depends_on` lists the steps so that the run config's
    # `steps.<name>:` sections apply to them. Steps run in call order and a failing step ends the run.
    dynamic=True,
    depends_on=[ingest_recordings, *TRAINING_STEPS],
)
def training_pipeline(data_dir: str, data_fingerprint: str, data_config: DataConfig, data_schema: Schema) -> None:
    """Wiring only; every stage lives in `steps/`. Model and step parameters come from `configs/train.yaml`."""
    sensor_data, ingest_report = ingest_recordings(data_dir, data_fingerprint, data_config, data_schema)
    train_and_promote(sensor_data, ingest_report, data_config, data_schema)
