"""Search pipeline: model families and hyperparameters, each trial a ZenML step; the best one trained and promoted."""

from zenml import pipeline

from har.config import DataConfig, Schema
from har.search import SearchSpace
from har.training import Recipe
from pipelines.wiring import TRAINING_STEPS, train_and_promote
from steps import ingest_recordings, select_recipe


@pipeline(
    # Dynamic: the number of trials depends on the search space and on the time budget, read between trials.
    dynamic=True,
    depends_on=[ingest_recordings, *TRAINING_STEPS, select_recipe],
)
def search_pipeline(data_dir: str, data_fingerprint: str, data_config: DataConfig, data_schema: Schema,
                    search: SearchSpace, champion: Recipe | None = None) -> None:
    """Wiring only. `search` (configs/search.yaml `parameters.search`) lists the candidates and the budget;
    `champion` is the production version's recipe, re-run on the same folds as the first trial. The chosen
    recipe then goes through the training pipeline's gate, final fit, exports and promotion."""
    sensor_data, ingest_report = ingest_recordings(data_dir, data_fingerprint, data_config, data_schema)
    train_and_promote(sensor_data, ingest_report, data_config, data_schema, search=search, champion=champion)
