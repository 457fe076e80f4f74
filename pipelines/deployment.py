"""Deployment pipeline: the production model version, packaged as a Bento and served over HTTP."""

from zenml import Model, get_pipeline_context, pipeline
from zenml.client import Client

from steps import deploy_model, package_model


def _has_artifact(model: Model, name: str) -> bool:
    """Whether the pipeline's model version has the artifact `name`."""
    try:
        return Client().get_model_version(model.name, model.version).get_artifact(name) is not None
    except KeyError:  # no such version: the required artifacts' loading reports it when the step starts
        return False


@pipeline(enable_cache=False)
def deployment_pipeline() -> None:
    """Wiring only. `configs/deploy.yaml` pins the model to its `production` version; its `serving_config`
    artifact (made by training) says how it is served, its ONNX export (when it has one) is what ONNX Runtime
    serves."""
    model = get_pipeline_context().model
    exports = {"onnx_model": model.get_artifact("onnx_float32")} if _has_artifact(model, "onnx_float32") else {}
    bento = package_model(model.get_artifact("trained_model"), model.get_artifact("serving_config"), **exports)
    deploy_model(bento)
