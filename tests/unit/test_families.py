"""One contract for every registered model family (like aeon's estimator checks).

The windows come from the project's own producers (synthetic recordings ->
ingest -> windowing -> normalizer), kept tiny: 3 subjects, 3 activities,
windows of 32 samples.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from har.families import PORTABLE_SUFFIXES, available_families, get_family, load_model
from har.normalization import fit_normalizer

ACTIVITIES = ["walking", "running", "sitting"]
# Small enough for seconds per fit; every registered family must appear here.
TINY_PARAMS = {
    "cnn_bilstm": {"conv_filters": [8], "lstm_units": 8, "dense_units": 0, "epochs": 8, "batch_size": 16,
                   "learning_rate": 0.01, "early_stopping_patience": 8},
    "resnet1d": {"filters": [8, 16], "epochs": 8, "batch_size": 16, "learning_rate": 0.01,
                 "early_stopping_patience": 8},
    "minirocket": {"n_kernels": 252},
}
FAMILIES = available_families()


@pytest.fixture(scope="module")
def splits(synthetic_windows):
    """Normalised (train, val) WindowedDatasets: subjects s01+s02 train, s03 val."""
    windows = synthetic_windows(ACTIVITIES, seed=1, n_subjects=3, seconds_per_activity=8.0, transition_seconds=0.5)
    train, val = windows.subset(windows.subjects != "s03"), windows.subset(windows.subjects == "s03")
    normalizer = fit_normalizer(train)
    train.X, val.X = normalizer.transform(train.X), normalizer.transform(val.X)
    return train, val


@pytest.fixture(scope="module", params=FAMILIES)
def fitted(request, splits):
    """(family name, fitted model, probabilities on val) once per family."""
    train, val = splits
    model = get_family(request.param)().fit(train, val, TINY_PARAMS[request.param], seed=3)
    return request.param, model, model.predict_proba(val.X)


def test_registry_knows_every_family_and_refuses_unknown():
    assert set(FAMILIES) >= {"cnn_bilstm", "minirocket", "resnet1d"}
    assert set(TINY_PARAMS) == set(FAMILIES), "give every new family tiny test params"
    for name in FAMILIES:
        assert get_family(name).name == name
    with pytest.raises(ValueError, match="unknown model family 'xgboost'.*minirocket"):
        get_family("xgboost")


@pytest.mark.parametrize("name", FAMILIES)
def test_params_are_strict(name):
    family = get_family(name)
    assert family.parse_params(None) == family.Params()
    assert family.parse_params(TINY_PARAMS[name]).seed == family.Params().seed
    with pytest.raises(ValidationError):
        family.parse_params({"no_such_setting": 1})


def test_predict_proba_contract(fitted, splits):
    name, model, proba = fitted
    _, val = splits
    assert proba.shape == (val.n_windows, len(ACTIVITIES)) and proba.dtype == np.float32
    assert np.all(np.isfinite(proba)) and proba.min() >= 0.0 and proba.max() <= 1.0
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    empty = model.predict_proba(val.X[:0])
    assert empty.shape == (0, len(ACTIVITIES)) and empty.dtype == np.float32
    with pytest.raises(ValueError, match="expected windows of shape"):
        model.predict_proba(val.X[:, :16])
    with pytest.raises(ValueError, match="expected windows of shape"):
        model.predict_proba(val.X[0])


def test_learns_the_training_windows(fitted, splits):
    name, model, _ = fitted
    train, _ = splits
    accuracy = (model.predict_proba(train.X).argmax(axis=1) == train.y).mean()
    assert accuracy >= 0.6, f"{name}: training accuracy {accuracy:.2f} (chance 0.33)"


def test_save_load_gives_identical_probabilities_from_portable_files(fitted, splits, tmp_path, monkeypatch):
    name, model, proba = fitted
    _, val = splits
    files = model.save(tmp_path / name)
    assert files and {f.suffix for f in files} <= PORTABLE_SUFFIXES, [f.name for f in files]
    assert (tmp_path / name / "family.json").is_file()
    for file in files:
        assert not file.read_bytes()[:1] == b"\x80", f"{file.name} looks like a pickle"
        if file.suffix == ".npy":
            assert not np.load(file, allow_pickle=False).dtype.hasobject

    with pytest.raises(FileExistsError, match="not empty"):
        model.save(tmp_path / name)  # never mixes with another model's files

    _forbid_fitting(monkeypatch, type(model))
    loaded = load_model(tmp_path / name)
    assert type(loaded) is type(model) and loaded.is_fitted and loaded.warmup_seconds_ > 0
    assert loaded.class_names == model.class_names and loaded.params == model.params
    np.testing.assert_array_equal(loaded.predict_proba(val.X), proba)
    np.testing.assert_array_equal(type(model).load(tmp_path / name, warm_up=False).predict_proba(val.X[:5]),
                                  proba[:5])


def test_fixed_seed_is_deterministic(fitted, splits):
    name, _, proba = fitted
    train, val = splits
    again = get_family(name)().fit(train, val, TINY_PARAMS[name], seed=3)
    np.testing.assert_array_equal(again.predict_proba(val.X), proba)


@pytest.mark.parametrize("name", FAMILIES)
def test_refuses_misuse(name, splits, tmp_path):
    train, val = splits
    model = get_family(name)()
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict_proba(val.X)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.save(tmp_path)
    with pytest.raises(ValueError, match="label"):
        model.fit(_unlabelled(train), val, TINY_PARAMS[name])
    with pytest.raises(ValueError, match="two classes"):
        model.fit(train.subset(train.y == 0), None, TINY_PARAMS[name])
    with pytest.raises(FileNotFoundError, match="family.json"):
        get_family(name).load(tmp_path)


def test_loading_checks_family_and_format(fitted, tmp_path):
    name, model, _ = fitted
    folder = tmp_path / name
    model.save(folder)
    other = next(f for f in FAMILIES if f != name)
    with pytest.raises(ValueError, match=f"holds a '{name}' model, not '{other}'"):
        get_family(other).load(folder)
    info = json.loads((folder / "family.json").read_text())
    (folder / "family.json").write_text(json.dumps({**info, "format_version": 99}))
    with pytest.raises(ValueError, match="format_version 99"):
        load_model(folder)
    (folder / "family.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        load_model(folder)


def test_cnn_bilstm_is_har_modeling_unchanged(splits):
    """Same seed, same weights: the family is `train_model` + `predict_proba`, not a re-implementation."""
    from har.modeling import TrainingConfig, predict_proba, train_model

    train, val = splits
    config = TrainingConfig(**{**TINY_PARAMS["cnn_bilstm"], "epochs": 3, "seed": 5})
    family = get_family("cnn_bilstm")().fit(train, val, config)
    direct, _ = train_model(train.X, train.y, val.X, val.y, len(ACTIVITIES), config, verbose=0)
    np.testing.assert_array_equal(family.predict_proba(val.X), predict_proba(direct, val.X))


def test_minirocket_restores_aeon_transform_and_calibration(splits, tmp_path):
    train, val = splits
    model = get_family("minirocket")().fit(train, val, TINY_PARAMS["minirocket"], seed=0)
    assert model.temperature_source == "val" and model.temperature > 0
    model.save(tmp_path)
    loaded = load_model(tmp_path)
    for before, after in zip(model.transform.parameters, loaded.transform.parameters, strict=True):
        np.testing.assert_array_equal(before, after)
        assert before.dtype == after.dtype
    X = np.ascontiguousarray(val.X.transpose(0, 2, 1))
    np.testing.assert_array_equal(loaded.transform.transform(X), model.transform.transform(X))
    assert loaded.temperature == model.temperature
    info = json.loads((tmp_path / "family.json").read_text())
    info["state"]["aeon_version"] = "0.1.0"
    (tmp_path / "family.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="aeon 0.1.0"):
        load_model(tmp_path)


def test_minirocket_leaves_numpy_global_random_state_alone(splits):
    train, _ = splits
    np.random.seed(123)
    expected = np.random.random_sample()
    np.random.seed(123)
    get_family("minirocket")().fit(train, None, TINY_PARAMS["minirocket"], seed=0)
    assert np.random.random_sample() == expected


def _unlabelled(ds):
    out = ds.subset(np.arange(ds.n_windows))
    out.y = out.y.copy()
    out.y[0] = -1
    return out


def _forbid_fitting(monkeypatch, family) -> None:
    """Loading must rebuild from the files: any fit/refit during load or predict fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("fitted during load/predict")

    monkeypatch.setattr(family, "_fit", refuse)
    if family.name == "minirocket":
        from aeon.transformations.collection.convolution_based import MiniRocket
        from sklearn.linear_model import RidgeClassifierCV

        monkeypatch.setattr(MiniRocket, "_fit", refuse)
        monkeypatch.setattr(RidgeClassifierCV, "fit", refuse)
    else:
        import keras

        monkeypatch.setattr(keras.Model, "fit", refuse)


# ------------------------------------------------ every family: exported, stored and served as it predicts
def _raw(splits):
    """Raw windows and a (non-identity) normaliser that turns them back into the fixture's normalised val."""
    from har.types import ChannelNormalizer

    _, val = splits
    n = len(val.channel_names)
    normalizer = ChannelNormalizer(list(val.channel_names), np.linspace(-0.5, 0.5, n).tolist(),
                                   np.linspace(0.5, 2.0, n).tolist())
    raw = (val.X * np.asarray(normalizer.std, np.float32) + np.asarray(normalizer.mean, np.float32))
    return raw.astype(np.float32), normalizer


# |ONNX - own| probability: float32 graphs of float64 (ridge) or other-kernel (conv) arithmetic; MiniRocket's
# thresholded features can flip where a float32 convolution output meets a bias (one 1/n step of one feature).
EXPORT_TOLERANCE = 2e-3


def test_every_family_exports_a_graph_that_agrees_with_it(fitted, splits):
    from har import export as ex

    name, model, _ = fitted
    raw, normalizer = _raw(splits)
    assert model.exportable, f"{name}: every family must run on a watch (export_graph)"
    onnx = ex.to_onnx(model.export_graph(), normalizer)
    exported = ex.predict(ex.ONNX, onnx, raw)
    own = model.predict_proba(normalizer.transform(raw))
    assert (exported.argmax(1) == own.argmax(1)).all()
    assert float(np.abs(exported - own).max()) < EXPORT_TOLERANCE, name


@pytest.mark.parametrize("runtime", ["onnx", "native"])
def test_every_family_is_served_as_it_predicts_in_process(fitted, splits, runtime):
    """Skew test per family and runtime: packaged as package_model does (BentoML model store), loaded as the
    service loads it (`Predictor`), raw windows in."""
    import bentoml

    from har import export as ex
    from har.serving import Predictor, ServingConfig
    from mlops.bento import export_model

    name, model, _ = fitted
    raw, normalizer = _raw(splits)
    _, val = splits
    config = ServingConfig(model_name=f"skew-{name.replace('_', '-')}", model_version="1",
                           class_names=list(ACTIVITIES), channel_names=list(val.channel_names), window_size=32,
                           step=16, sample_rate_hz=50.0, merge_tolerance_ms=50.0, runtime=runtime, family=name,
                           normalizer_mean=list(normalizer.mean), normalizer_std=list(normalizer.std))
    onnx = ex.to_onnx(model.export_graph(), normalizer) if runtime == "onnx" else None
    folder = bentoml.models.get(export_model(model, config, onnx_model=onnx)).path
    predictor = Predictor(folder, max_batch=16)
    assert predictor.runtime.name == runtime and predictor.config.family == name
    served = predictor.predict_proba(raw)  # 3 calls of up to 16 windows
    own = model.predict_proba(normalizer.transform(raw))
    np.testing.assert_allclose(served, own, atol=EXPORT_TOLERANCE if runtime == "onnx" else 1e-5, rtol=0)


def test_every_family_round_trips_through_its_materializer(fitted, splits, store, uri):
    from zenml.enums import ArtifactType, VisualizationType

    from materializers.model_family_materializer import ModelFamilyMaterializer

    name, model, proba = fitted
    _, val = splits
    assert ModelFamilyMaterializer.ASSOCIATED_ARTIFACT_TYPE == ArtifactType.MODEL
    ModelFamilyMaterializer(uri=uri, artifact_store=store).save(model)
    assert "family.json" in os.listdir(uri)
    (Path(uri) / "planted.pkl").write_bytes(b"\x80\x04not read")  # only .keras/.npy/.json are ever read
    loaded = ModelFamilyMaterializer(uri=uri, artifact_store=store).load(object)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict_proba(val.X), proba)
    materializer = ModelFamilyMaterializer(uri=uri, artifact_store=store)
    assert materializer.extract_metadata(model)["family"] == name
    visualizations = materializer.save_visualizations(model)
    assert list(visualizations.values()) == [VisualizationType.HTML]
    assert name in Path(next(iter(visualizations))).read_text()
    os.remove(Path(uri) / "family.json")
    with pytest.raises(FileNotFoundError, match="family.json: missing"):
        ModelFamilyMaterializer(uri=uri, artifact_store=store).load(object)
