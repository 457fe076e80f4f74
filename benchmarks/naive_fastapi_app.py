"""The baseline most MLOps templates ship: FastAPI + pydantic + Keras `model.predict` per request.

    HAR_MODEL_DIR=<bentoml model dir> uvicorn benchmarks.naive_fastapi_app:app --port 8001

Loads the same files as the BentoML service (model.keras, normalizer.json,
serving.json) so both serve the identical model, here through the Keras
family's own `model.predict` (whatever runtime the service uses; the ONNX
export is that same model, checked for parity).
"""

import json
import os
from pathlib import Path
from typing import List

import keras
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

MODEL_DIR = Path(os.environ["HAR_MODEL_DIR"])
model = keras.models.load_model(MODEL_DIR / "model.keras", compile=False)
normalizer = json.loads((MODEL_DIR / "normalizer.json").read_text())
serving = json.loads((MODEL_DIR / "serving.json").read_text())
mean, std = np.array(normalizer["mean"], np.float32), np.array(normalizer["std"], np.float32)
app = FastAPI()


class Request(BaseModel):
    windows: List[List[List[float]]]


@app.post("/predict")
def predict(request: Request) -> dict:
    x = (np.array(request.windows, dtype=np.float32) - mean) / std
    probabilities = model.predict(x, verbose=0)
    names = serving["class_names"]
    return {"predictions": [
        {"label": names[int(i)], "probabilities": dict(zip(names, p.tolist(), strict=True)),
         "model_version": serving["model_version"]}
        for i, p in zip(probabilities.argmax(1), probabilities, strict=True)
    ]}
