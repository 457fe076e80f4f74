"""The baseline most MLOps templates ship: FastAPI + pydantic + the model's own predict call per request.

    HAR_MODEL_DIR=<bentoml model dir> uvicorn benchmarks.naive_fastapi_app:app --port 8001

Loads the same files as the BentoML service (the model in its family's own
files, normalizer.json, serving.json) so both serve the identical model: a
Keras family through Keras' `model.predict`, another family (MiniRocket)
through its `predict_proba` (whatever runtime the service uses; the ONNX
export is that same model, checked for parity).
"""

import json
import os
from pathlib import Path
from typing import List

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

MODEL_DIR = Path(os.environ["HAR_MODEL_DIR"])
KERAS_FILE = next((p for p in (MODEL_DIR / "family" / "model.keras", MODEL_DIR / "model.keras") if p.exists()), None)
if KERAS_FILE is not None:
    import keras

    keras_model = keras.models.load_model(KERAS_FILE, compile=False)
    predict_normalised = lambda x: keras_model.predict(x, verbose=0)  # noqa: E731
else:
    from har.families import load_model

    predict_normalised = load_model(MODEL_DIR / "family").predict_proba
normalizer = json.loads((MODEL_DIR / "normalizer.json").read_text())
serving = json.loads((MODEL_DIR / "serving.json").read_text())
mean, std = np.array(normalizer["mean"], np.float32), np.array(normalizer["std"], np.float32)
app = FastAPI()


class Request(BaseModel):
    windows: List[List[List[float]]]


@app.post("/predict")
def predict(request: Request) -> dict:
    x = (np.array(request.windows, dtype=np.float32) - mean) / std
    probabilities = predict_normalised(x)
    names = serving["class_names"]
    return {"predictions": [
        {"label": names[int(i)], "probabilities": dict(zip(names, p.tolist(), strict=True)),
         "model_version": serving["model_version"]}
        for i, p in zip(probabilities.argmax(1), probabilities, strict=True)
    ]}
