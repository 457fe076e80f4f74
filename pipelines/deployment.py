"""Deployment pipeline: the production model version, packaged as a Bento and served over HTTP."""

from zenml import get_pipeline_context, pipeline

from steps import deploy_model, package_model


@pipeline(enable_cache=False)
def deployment_pipeline() -> None:
    """Wiring only. `configs/deploy.yaml` pins the model to its `production` version."""
    model = get_pipeline_context().model
    bento = package_model(
        model.get_artifact("trained_model"), model.get_artifact("normalizer"), model.get_artifact("test_windows")
    )
    deploy_model(bento)
