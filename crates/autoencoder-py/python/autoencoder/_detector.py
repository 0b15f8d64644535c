"""PyOD's detector interface on the autoencoder: code written for
``pyod.models.auto_encoder.AutoEncoder`` runs with one import changed."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._estimator import Autoencoder


class AnomalyDetector(Autoencoder):
    """An anomaly detector with PyOD's interface: ``fit(X)``, ``decision_function(X)``
    (higher is more anomalous), ``predict(X)`` (1 for outliers), ``predict_proba(X)``,
    and after fitting ``decision_scores_``, ``threshold_`` and ``labels_``.

    contamination : float in (0, 0.5], default 0.1
        The share of outliers expected in the training rows: the threshold is the
        training scores' ``1 - contamination`` quantile (as PyOD's).
    preset : str or None, default "tabular"
        The starting point: ``"tabular"`` (``ae train --preset tabular``: z-scores, a
        four-layer tanh encoder with a √d code, dropout 0.2, robust two-pass training,
        the ``root`` score) or ``None`` for ``ae train``'s plain defaults.

    Every other keyword is :class:`Autoencoder`'s (``ae train``'s settings), which
    override the preset's.

    Unlike :class:`Autoencoder`, ``predict`` returns outlier labels, as in PyOD; the
    reconstructions are ``reconstruct(X)``.
    """

    def __init__(
        self,
        contamination=0.1,
        *,
        layers=None,
        arch=None,
        channels=None,
        kernel_size=None,
        downsample=None,
        batch_norm=False,
        decoder_layers=None,
        activation=None,
        code_activation=None,
        variational=False,
        beta=None,
        kl_warmup=None,
        preset="tabular",
        tied=False,
        dropout=None,
        binarize=False,
        output_activation=None,
        init=None,
        normalize=None,
        loss=None,
        optimizer=None,
        lr=None,
        momentum=None,
        nesterov=False,
        weight_decay=None,
        beta1=None,
        beta2=None,
        eps=None,
        rho=None,
        l1=None,
        l2=None,
        lr_schedule=None,
        clip_norm=None,
        noise=None,
        code_l1=None,
        sparsity=None,
        contractive=None,
        batch_size=None,
        epochs=None,
        validation_split=None,
        no_shuffle=False,
        patience=None,
        min_delta=None,
        no_restore_best=False,
        tolerance=None,
        seed=None,
        score_kind=None,
        trim=None,
        min_steps=None,
        threads=0,
        image_shape=None,
        callback=None,
        verbose=0,
    ):
        self.contamination = contamination
        self.layers = layers
        self.arch = arch
        self.channels = channels
        self.kernel_size = kernel_size
        self.downsample = downsample
        self.batch_norm = batch_norm
        self.decoder_layers = decoder_layers
        self.activation = activation
        self.code_activation = code_activation
        self.variational = variational
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.preset = preset
        self.tied = tied
        self.dropout = dropout
        self.binarize = binarize
        self.output_activation = output_activation
        self.init = init
        self.normalize = normalize
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.rho = rho
        self.l1 = l1
        self.l2 = l2
        self.lr_schedule = lr_schedule
        self.clip_norm = clip_norm
        self.noise = noise
        self.code_l1 = code_l1
        self.sparsity = sparsity
        self.contractive = contractive
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_split = validation_split
        self.no_shuffle = no_shuffle
        self.patience = patience
        self.min_delta = min_delta
        self.no_restore_best = no_restore_best
        self.tolerance = tolerance
        self.seed = seed
        self.score_kind = score_kind
        self.trim = trim
        self.min_steps = min_steps
        self.threads = threads
        self.image_shape = image_shape
        self.callback = callback
        self.verbose = verbose

    def _threshold_rule(self):
        c = self.contamination
        if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)) or not (0.0 < float(c) <= 0.5):
            raise ValueError(f"contamination must be a number in (0, 0.5], got {c!r}")
        return f"contamination={float(c)!r}"

    def fit(self, X, y=None, *, validation_data=None, source="X"):
        """Train on ``X`` (``y`` is ignored, as in PyOD), fit the threshold and score
        the training rows. Returns ``self``."""
        super().fit(X, y, validation_data=validation_data, source=source)
        self.decision_scores_ = self.decision_function(X)
        self.threshold_ = float(self.model_.threshold)
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        self._mu = float(np.mean(self.decision_scores_))
        self._sigma = float(np.std(self.decision_scores_))
        return self

    def _forget(self):
        super()._forget()
        for a in ("decision_scores_", "threshold_", "labels_"):
            if hasattr(self, a):
                delattr(self, a)

    def decision_function(self, X):
        """Each row's anomaly score (the detector's score): higher is more anomalous."""
        return self.score_samples(X)

    def predict(self, X, return_confidence=False):
        """1 for rows scoring above ``threshold_`` (outliers), else 0."""
        if return_confidence:
            raise ValueError("return_confidence is not supported; use predict_proba")
        check_is_fitted(self, "threshold_")
        return (self.decision_function(X) > self.threshold_).astype(int)

    def reconstruct(self, X):
        """The reconstructions of the rows of ``X`` (``Autoencoder.predict``)."""
        return Autoencoder.predict(self, X)

    def predict_proba(self, X, method="linear", return_confidence=False):
        """``(n, 2)``: the probability of each row being normal, then an outlier, as
        PyOD computes it from the training scores: ``"linear"`` scales the scores by
        the training scores' minimum and maximum (clipped to [0, 1]); ``"unify"`` is
        ``erf((s − μ) / (σ√2))`` of the training scores' mean and deviation, clipped."""
        if return_confidence:
            raise ValueError("return_confidence is not supported")
        check_is_fitted(self, "decision_scores_")
        s = self.decision_function(X)
        train = self.decision_scores_
        if method == "linear":
            lo, hi = float(train.min()), float(train.max())
            p = (s - lo) / (hi - lo) if hi > lo else np.zeros_like(s)
        elif method == "unify":
            from scipy.special import erf

            p = erf((s - self._mu) / (self._sigma * np.sqrt(2))) if self._sigma > 0 else np.zeros_like(s)
        else:
            raise ValueError(f"method must be 'linear' or 'unify', got {method!r}")
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def fit_predict(self, X, y=None):
        """``fit(X)``, then the training rows' labels."""
        return self.fit(X).labels_
