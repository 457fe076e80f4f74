"""Deployment pipeline: the production model version, packaged as a Bento and served over HTTP."""

from zenml import Model, get_pipeline_context, pipeline
from zenml.client import Client

from har.config import Schema
from steps import deploy_model, package_model


def _exported(model: Model, name: str) -> bool:
    """Whether the pipeline's model version has the artifact `name` (versions trained before the exports do not)."""
    try:
        return Client().get_model_version(model.name, model.version).get_artifact(name) is not None
    except KeyError:  # no such version: the required artifacts' loading reports it when the step starts
        return False


@pipeline(enable_cache=False)
def deployment_pipeline(data_schema: Schema) -> None:
    """Wiring only. `configs/deploy.yaml` pins the model to its `production` version; its ONNX export, when it
    has one, is served by ONNX Runtime (package_model falls back to Keras without it). `data_schema` is the
    dataset profile's, as in training: it gives the units the service converts from."""
    model = get_pipeline_context().model
    exports = {"onnx_model": model.get_artifact("onnx_float32")} if _exported(model, "onnx_float32") else {}
    bento = package_model(
        model.get_artifact("trained_model"), model.get_artifact("normalizer"), model.get_artifact("test_windows"),
        data_schema, **exports,
    )
    deploy_model(bento)
