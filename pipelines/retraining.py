"""Retraining pipeline: the production version's recordings + new labelled ones -> a new version -> (re)deploy."""

from zenml import pipeline
from zenml.client import Client
from zenml.enums import ModelStages

from har.config import DataConfig, Schema
from mlops.lineage import training_inputs
from pipelines.wiring import TRAINING_STEPS, train_and_promote
from steps import decide_retraining, deploy_model, ingest_recordings, merge_recordings, package_model


@pipeline(
    # Dynamic, like training (one container per run on the docker stack); the first step decides whether the
    # run goes on, and a promoted version is deployed in the same run when the config says so.
    dynamic=True,
    depends_on=[ingest_recordings, decide_retraining, merge_recordings, *TRAINING_STEPS, package_model,
                deploy_model],
)
def retraining_pipeline(model_name: str, data_dir: str, data_fingerprint: str, data_config: DataConfig,
                        data_schema: Schema, redeploy: bool = False) -> None:
    """Wiring only. The production version's training recordings and ingest report (artifacts found through the
    Model Control Plane and lineage, not paths) are merged with the new labelled recordings of `data_dir`,
    ingested with the production version's data settings (`data_config`: its serving contract).
    `configs/retrain.yaml` (extending `configs/train.yaml`) sets the decision's policy, `redeploy` and the
    deployment's settings. `model_name` is the run's model (a dynamic pipeline's function has no pipeline
    context to read it from)."""
    production = Client().get_model_version(model_name, ModelStages.PRODUCTION)
    new_data, new_report = ingest_recordings(data_dir, data_fingerprint, data_config, data_schema)
    retrain = decide_retraining(new_report, production.get_artifact("drift_verdict"))
    if not retrain.load():
        return
    production_data, production_report = training_inputs(production)
    sensor_data, ingest_report = merge_recordings(production_data, production_report, new_data, new_report)
    trained = train_and_promote(sensor_data, ingest_report, data_config, data_schema)
    if redeploy and trained["promotion_decision"].load()["promoted"]:
        bento = package_model(trained["trained_model"], trained["serving_config"], trained["onnx_model"])
        deploy_model(bento)
