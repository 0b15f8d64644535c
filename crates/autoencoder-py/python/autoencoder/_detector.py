"""PyOD's detector interface on the autoencoder: code written for
``pyod.models.auto_encoder.AutoEncoder`` runs with one import changed."""

from __future__ import annotations


import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._estimator import Autoencoder
from ._convert import as_rows
from ._files import as_files


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
        iw_train=None,
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
        micro_batch=None,
        threads=0,
        missing="error",
        categorical=(),
        image_shape=None,
        warm_start=False,
        callback=None,
        verbose=0,
    ):
        # scikit-learn's convention: keep every keyword as given, under its name.
        for name, value in dict(locals()).items():
            if name != "self":
                setattr(self, name, value)

    def _threshold_rule(self):
        c = self.contamination
        if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)) or not (0.0 < float(c) <= 0.5):
            raise ValueError(f"contamination must be a number in (0, 0.5], got {c!r}")
        return f"contamination={float(c)!r}"

    def fit(
        self,
        X,
        y=None,
        *,
        validation_data=None,
        source="X",
        peers=None,
        checkpoint=None,
        checkpoint_every=1,
        resume=False,
        shared_validation=False,
    ):
        """Train on ``X`` (``y`` is ignored, as in PyOD), fit the threshold and score
        the training rows. With ``peers`` (see :meth:`Autoencoder.fit`), the model and
        threshold are fitted on every process's rows together, and each process scores
        its own. ``checkpoint``, ``checkpoint_every``, ``resume`` and
        ``shared_validation`` are :meth:`Autoencoder.fit`'s. With :class:`Files`, the
        rows (this process's share, with ``peers``) are scored a part at a time, however
        large. With ``missing="drop"``, ``decision_scores_`` and ``labels_`` are those of
        the rows kept, the rows the model trained on. Returns ``self``."""
        super().fit(
            X,
            y,
            validation_data=validation_data,
            source=source,
            peers=peers,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            resume=resume,
            shared_validation=shared_validation,
        )
        self.threshold_ = float(self.model_.threshold)
        files = as_files(X)
        if files is not None:
            # This process's rows (all of them unless shared out among peers), read a
            # part at a time: the scores and the library's flags of one pass.
            drop = self.missing == "drop"
            _, scores, flags = self._file_scores(files, rows=self._fitted_rows, drop_missing=drop)
            self.decision_scores_ = scores
            self.labels_ = flags.astype(int)
            return self
        if self.missing == "drop":
            X, _ = as_rows(X, allow_nan=True, allow_empty=peers is not None)
        if peers is not None and len(X) == 0:
            # A process holding no rows has none to score.
            self.decision_scores_ = np.empty(0)
            self.labels_ = np.empty(0, dtype=int)
            return self
        if self.missing == "drop":
            # The rows the model trained on: the library leaves out those with a NaN, as
            # the fit did, and scores and flags the others in one pass.
            _, scores, flags = self.model_.score(X, None, self._threads(), 0, True)
            self.decision_scores_ = scores
            self.labels_ = flags.astype(int)
            return self
        self.decision_scores_ = self.decision_function(X)
        # The library's flags (a NaN score, an overflow, is flagged), as ae detect's.
        self.labels_ = self.detect(X).astype(int)
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
        """1 for rows scoring above ``threshold_`` (outliers; a score that is not a
        number, from a row so far out that its reconstruction overflowed, too), else 0:
        ``ae detect``'s flags."""
        if return_confidence:
            raise ValueError("return_confidence is not supported; use predict_proba")
        check_is_fitted(self, "threshold_")
        return self.detect(X).astype(int)

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
        check_is_fitted(self, "model_")
        if method not in ("linear", "unify"):
            raise ValueError(f"method must be 'linear' or 'unify', got {method!r}")
        # The library scales by the training scores' summary the model keeps, as
        # `ae score --proba` does: the same probabilities from both.
        p = self.model_.outlier_probability(self.decision_function(X), method)
        return np.column_stack([1.0 - p, p])

    def fit_predict(self, X, y=None):
        """``fit(X)``, then the training rows' labels."""
        return self.fit(X).labels_
