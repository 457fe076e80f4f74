"""Model families: interchangeable classifiers behind one contract (`ModelFamily`).

    from har.families import get_family
    model = get_family("minirocket")().fit(train, val, params={"n_kernels": 2_000}, seed=42)
    proba = model.predict_proba(X_normalised)          # (n, n_classes) float32
    model.save(folder); same = load_model(folder)      # .keras / .npy / .json only

Registered: `cnn_bilstm` (har.modeling's 1D-CNN + BiLSTM), `resnet1d` (Wang et
al. 2017 residual CNN), `minirocket` (aeon MiniRocket + ridge). Keras and aeon
are imported on first use, so importing this package stays cheap.

Every family also gives `export_graph()`: a Keras model computing its
`predict_proba`, which `har.export` converts to ONNX and LiteRT (MiniRocket's
is built from its fitted arrays, `_minirocket_graph.py`), and `fit_summary()` /
`refit_params()`: what a cross-validation fold learned that the final fit on all
training subjects, without validation windows, needs (`har.training`).
"""

from har.families._base import (
    FAMILY_FILE,
    FORMAT_VERSION,
    PORTABLE_SUFFIXES,
    ModelFamily,
    read_family_info,
)
from har.families._cnn_bilstm import CnnBiLstm
from har.families._minirocket import MiniRocketParams, MiniRocketRidge
from har.families._registry import available_families, get_family, load_model, register_family
from har.families._resnet1d import ResNet1D, ResNet1DParams, build_resnet1d

__all__ = [
    "FAMILY_FILE",
    "FORMAT_VERSION",
    "PORTABLE_SUFFIXES",
    "CnnBiLstm",
    "MiniRocketParams",
    "MiniRocketRidge",
    "ModelFamily",
    "ResNet1D",
    "ResNet1DParams",
    "available_families",
    "build_resnet1d",
    "get_family",
    "load_model",
    "read_family_info",
    "register_family",
]
