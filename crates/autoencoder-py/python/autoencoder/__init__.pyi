"""Type stubs of the autoencoder package (see docs/python.md)."""

from os import PathLike
from typing import Any, Callable, Literal, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

__version__: str
SETTINGS: tuple[str, ...]

Widths = Union[Sequence[int], str, int]
Activation = Literal["relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus", "linear"]
Callback = Callable[[int, dict[str, float]], Optional[bool]]

class Model:
    """A trained model, as a model file holds it."""
    @staticmethod
    def load(path: Union[str, PathLike[str]]) -> Model: ...
    @staticmethod
    def from_bytes(data: bytes) -> Model: ...
    def to_bytes(self) -> bytes: ...
    def save(self, path: Union[str, PathLike[str]]) -> None: ...
    def encode(self, x: NDArray[np.float32], threads: int = 0) -> NDArray[np.float32]: ...
    def decode(self, z: NDArray[np.float32], threads: int = 0) -> NDArray[np.float32]: ...
    def reconstruct(self, x: NDArray[np.float32], threads: int = 0) -> NDArray[np.float32]: ...
    def sample(self, n: int, seed: int = 0, threads: int = 0) -> NDArray[np.float32]: ...
    def interpolate(
        self, a: NDArray[np.float32], b: NDArray[np.float32], steps: int, threads: int = 0
    ) -> NDArray[np.float32]: ...
    def traverse(self, dims: int, steps: int, range: float, threads: int = 0) -> NDArray[np.float32]: ...
    def evaluate(
        self,
        x: NDArray[np.float32],
        iw_samples: int = 1000,
        threads: int = 0,
        pca_fit: Optional[NDArray[np.float32]] = None,
        pca_source: str = "pca_fit",
        pca_on_rows: bool = False,
        binarize: Optional[int] = None,
        pca_files: Any = None,
    ) -> str: ...
    def evaluate_files(
        self,
        files: Any,
        iw_samples: int = 1000,
        threads: int = 0,
        pca_fit: Optional[NDArray[np.float32]] = None,
        pca_source: str = "pca_fit",
        binarize: Optional[int] = None,
        pca_files: Any = None,
        pca_on_rows: bool = False,
    ) -> str: ...
    def score(
        self,
        x: NDArray[np.float32],
        kind: Optional[str] = None,
        threads: int = 0,
        row_offset: int = 0,
    ) -> tuple[str, NDArray[np.float64], Optional[NDArray[np.uint8]]]: ...
    def explain(
        self, x: NDArray[np.float32], k: int, kind: Optional[str] = None, threads: int = 0
    ) -> tuple[str, NDArray[np.int64], NDArray[np.float64]]: ...
    def outlier_probability(
        self, scores: NDArray[np.float64], method: Literal["linear", "unify"] = "linear"
    ) -> NDArray[np.float64]: ...
    def to_onnx(self, part: str = "all", kind: Optional[str] = None) -> bytes: ...
    def describe(self) -> str: ...
    def config_json(self) -> str: ...
    @property
    def input_dim(self) -> int: ...
    @property
    def code_dim(self) -> int: ...
    @property
    def image_shape(self) -> Optional[tuple[int, int, int]]: ...
    @property
    def fills_missing(self) -> bool: ...
    @property
    def categorical_columns(self) -> list[str]: ...
    @property
    def categories(self) -> Any: ...
    @property
    def threshold(self) -> Optional[float]: ...
    @property
    def score_kind(self) -> str: ...
    @property
    def parameters(self) -> int: ...

class MPIPeers:
    comm: Any
    rank: int
    size: int
    def __init__(self, comm: Any = None) -> None: ...
    def all_gather(self, mine: NDArray[Any], counts: Sequence[int]) -> NDArray[Any]: ...
    def all_to_all(
        self, send: NDArray[np.float32], send_counts: Sequence[int], recv_counts: Sequence[int]
    ) -> NDArray[np.float32]: ...

Column = Union[str, int]

class Files:
    """Table files (CSV, NPY, Parquet, Arrow; folders and globs of them) as rows."""

    paths: list[str]
    label_column: Optional[str]
    id_column: Optional[str]
    columns: Optional[list[str]]
    ignore_columns: list[str]
    categorical: list[str]
    stream: Optional[bool]
    memory_budget: Optional[str]
    def __init__(
        self,
        path: Union[str, PathLike[str], Sequence[Union[str, PathLike[str]]]],
        *,
        label_column: Optional[Column] = None,
        id_column: Optional[Column] = None,
        columns: Optional[Union[Column, Sequence[Column]]] = None,
        ignore_columns: Union[Column, Sequence[Column]] = (),
        categorical: Union[Column, Sequence[Column]] = (),
        stream: Optional[bool] = None,
        memory_budget: Union[int, str, None] = None,
        header: Literal["auto", "yes", "no"] = "auto",
        delimiter: Optional[str] = None,
        decimal: str = ".",
        thousands: Optional[str] = None,
    ) -> None: ...
    def read(self) -> NDArray[np.float32]: ...

Rows = Union[ArrayLike, Files, str, PathLike[str]]

class Autoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """An autoencoder trained as `ae train` trains it; every setting a keyword."""

    model_: Model
    history_: dict[str, list[float]]
    stop_reason_: Optional[str]
    n_features_in_: int
    streamed_: dict[str, int]
    dropped_rows_: int
    feature_names_in_: NDArray[np.object_]
    chosen_: list[str]
    def __init__(
        self,
        *,
        layers: Widths | None = None,
        arch: Literal["dense", "conv"] | None = None,
        channels: Widths | None = None,
        kernel_size: int | None = None,
        downsample: Literal["stride", "pool"] | None = None,
        batch_norm: bool = False,
        decoder_layers: Widths | None = None,
        activation: Activation | None = None,
        code_activation: Activation | None = None,
        variational: bool = False,
        beta: float | None = None,
        kl_warmup: int | None = None,
        iw_train: int | None = None,
        preset: Literal["tabular"] | None = None,
        tied: bool = False,
        dropout: float | None = None,
        binarize: bool = False,
        output_activation: Activation | None = None,
        init: Literal["glorot_uniform", "glorot_normal", "he_uniform", "he_normal"] | None = None,
        normalize: Literal["none", "minmax", "zscore"] | None = None,
        loss: Literal["mse", "bce", "mae"] | None = None,
        optimizer: Literal["sgd", "adam", "adamw", "rmsprop"] | None = None,
        lr: float | None = None,
        momentum: float | None = None,
        nesterov: bool = False,
        weight_decay: float | None = None,
        beta1: float | None = None,
        beta2: float | None = None,
        eps: float | None = None,
        rho: float | None = None,
        l1: float | None = None,
        l2: float | None = None,
        lr_schedule: str | None = None,
        clip_norm: float | None = None,
        noise: str | None = None,
        code_l1: float | None = None,
        sparsity: str | None = None,
        contractive: float | None = None,
        batch_size: int | None = None,
        epochs: int | None = None,
        validation_split: float | None = None,
        no_shuffle: bool = False,
        patience: int | None = None,
        min_delta: float | None = None,
        no_restore_best: bool = False,
        tolerance: float | None = None,
        seed: int | None = None,
        score_kind: Literal["mse", "mae", "root", "standardized", "elbo"] | None = None,
        trim: float | None = None,
        min_steps: int | None = None,
        micro_batch: int | None = None,
        threads: int = 0,
        missing: Literal["error", "drop", "mean"] = "error",
        categorical: Union[str, Sequence[str]] = (),
        threshold: Optional[str] = None,
        image_shape: Optional[tuple[int, int, int]] = None,
        warm_start: bool = False,
        callback: Optional[Callback] = None,
        verbose: int = 0,
    ) -> None: ...
    def fit(
        self,
        X: Rows,
        y: Any = None,
        *,
        validation_data: Optional[Rows] = None,
        source: str = "X",
        peers: Optional[Any] = None,
        checkpoint: Optional[Union[str, PathLike[str]]] = None,
        checkpoint_every: int = 1,
        resume: bool = False,
        shared_validation: bool = False,
    ) -> Autoencoder: ...
    def transform(self, X: Rows) -> NDArray[np.float32]: ...
    def inverse_transform(self, X: ArrayLike) -> NDArray[np.float32]: ...
    def sample(self, n_samples: int = 1, seed: int = 0) -> NDArray[np.float32]: ...
    def interpolate(self, a: ArrayLike, b: ArrayLike, steps: int = 10) -> NDArray[np.float32]: ...
    def traverse(
        self, dims: Optional[int] = None, steps: int = 9, range: float = 3.0
    ) -> NDArray[np.float32]: ...
    def predict(self, X: Rows) -> NDArray[np.float32]: ...
    def score_samples(
        self, X: Rows, kind: Optional[str] = None, row_offset: int = 0
    ) -> NDArray[np.float64]: ...
    def explain(
        self, X: Rows, k: int = 3, kind: Optional[str] = None
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]: ...
    def detect(self, X: Rows) -> NDArray[np.uint8]: ...
    def evaluate(
        self,
        X: Rows,
        *,
        iw_samples: int = 1000,
        pca: bool = True,
        pca_fit: Optional[Rows] = None,
        binarize: Optional[int] = None,
    ) -> dict[str, Any]: ...
    def score(self, X: Rows, y: Any = None) -> float: ...
    def save(self, path: Union[str, bytes, PathLike[str]]) -> None: ...
    def to_torch(self) -> Any: ...
    def to_onnx(
        self, path: Union[str, PathLike[str], None] = None, part: str = "all", score: Optional[str] = None
    ) -> bytes: ...

class AnomalyDetector(Autoencoder):
    """PyOD's detector interface: decision_function, predict (labels), predict_proba."""

    decision_scores_: NDArray[np.float64]
    threshold_: float
    labels_: NDArray[np.int_]
    def __init__(
        self,
        contamination: float = 0.1,
        *,
        layers: Widths | None = None,
        arch: Literal["dense", "conv"] | None = None,
        channels: Widths | None = None,
        kernel_size: int | None = None,
        downsample: Literal["stride", "pool"] | None = None,
        batch_norm: bool = False,
        decoder_layers: Widths | None = None,
        activation: Activation | None = None,
        code_activation: Activation | None = None,
        variational: bool = False,
        beta: float | None = None,
        kl_warmup: int | None = None,
        iw_train: int | None = None,
        preset: Literal["tabular"] | None = "tabular",
        tied: bool = False,
        dropout: float | None = None,
        binarize: bool = False,
        output_activation: Activation | None = None,
        init: Literal["glorot_uniform", "glorot_normal", "he_uniform", "he_normal"] | None = None,
        normalize: Literal["none", "minmax", "zscore"] | None = None,
        loss: Literal["mse", "bce", "mae"] | None = None,
        optimizer: Literal["sgd", "adam", "adamw", "rmsprop"] | None = None,
        lr: float | None = None,
        momentum: float | None = None,
        nesterov: bool = False,
        weight_decay: float | None = None,
        beta1: float | None = None,
        beta2: float | None = None,
        eps: float | None = None,
        rho: float | None = None,
        l1: float | None = None,
        l2: float | None = None,
        lr_schedule: str | None = None,
        clip_norm: float | None = None,
        noise: str | None = None,
        code_l1: float | None = None,
        sparsity: str | None = None,
        contractive: float | None = None,
        batch_size: int | None = None,
        epochs: int | None = None,
        validation_split: float | None = None,
        no_shuffle: bool = False,
        patience: int | None = None,
        min_delta: float | None = None,
        no_restore_best: bool = False,
        tolerance: float | None = None,
        seed: int | None = None,
        score_kind: Literal["mse", "mae", "root", "standardized", "elbo"] | None = None,
        trim: float | None = None,
        min_steps: int | None = None,
        micro_batch: int | None = None,
        threads: int = 0,
        missing: Literal["error", "drop", "mean"] = "error",
        categorical: Union[str, Sequence[str]] = (),
        image_shape: Optional[tuple[int, int, int]] = None,
        warm_start: bool = False,
        callback: Optional[Callback] = None,
        verbose: int = 0,
    ) -> None: ...
    def fit(
        self,
        X: Rows,
        y: Any = None,
        *,
        validation_data: Optional[Rows] = None,
        source: str = "X",
        peers: Optional[Any] = None,
        checkpoint: Optional[Union[str, PathLike[str]]] = None,
        checkpoint_every: int = 1,
        resume: bool = False,
        shared_validation: bool = False,
    ) -> AnomalyDetector: ...
    def decision_function(self, X: Rows) -> NDArray[np.float64]: ...
    def predict(self, X: Rows, return_confidence: bool = False) -> NDArray[np.int_]: ...  # type: ignore[override]
    def predict_proba(
        self, X: Rows, method: Literal["linear", "unify"] = "linear", return_confidence: bool = False
    ) -> NDArray[np.float64]: ...
    def reconstruct(self, X: Rows) -> NDArray[np.float32]: ...
    def fit_predict(self, X: Rows, y: Any = None) -> NDArray[np.int_]: ...

def load(path: Union[str, bytes, PathLike[str]]) -> Autoencoder: ...
