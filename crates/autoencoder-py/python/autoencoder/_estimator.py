"""The scikit-learn estimator: an autoencoder trained by the library's one call, with
``transform`` (codes), ``inverse_transform`` (decode), ``predict`` (reconstruction) and
``score_samples`` (anomaly scores), each equal bit for bit to ``ae``'s output."""

from __future__ import annotations

import contextlib
import decimal
import json
import numbers
import os
import sys

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._convert import as_rows, frame_names, frame_table, is_frame, whole
from ._files import Files, as_files
from ._peers import as_peers, interrupt_after_epoch, not_ready

#: The settings of ``ae train``, in its order (from the library).
SETTINGS = tuple(_core.setting_names())

#: Settings whose keyword differs from the flag: ``score`` is scikit-learn's method.
KEYWORDS = {"score": "score_kind"}


def keyword(setting: str) -> str:
    """The estimators' keyword for the setting ``setting``."""
    return KEYWORDS.get(setting, setting)


def _json_default(o):
    if isinstance(o, (decimal.Decimal, numbers.Rational)):
        # Decimal("0.01"), Fraction(1, 100): the nearest float, as numpy's numbers are.
        return float(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (tuple, set, frozenset, range)):
        return list(o)
    raise TypeError(f"{type(o).__name__} is not a setting value")


def _finite(name: str, value) -> None:
    """Refuse a NaN or infinite number in setting ``name`` (JSON has no way to carry it
    to the core, whose checks would name the setting)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        for v in value:
            _finite(name, v)
    elif isinstance(value, (float, np.floating)) and not np.isfinite(value):
        raise ValueError(f"invalid {keyword(name)}: expected a finite number, got {value}")


def settings_json(values: dict) -> str:
    """The settings given (not ``None``, not ``False``) as the JSON object the core reads."""
    given = {k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items() if v is not None and v is not False}
    for name, value in given.items():
        _finite(name, value)
        try:
            json.dumps(value, default=_json_default)
        except (TypeError, ValueError) as e:
            raise ValueError(f"invalid {keyword(name)}: expected a number, text, switch or list, got {e}") from None
    return json.dumps(given, default=_json_default)


class _Progress:
    """Per-epoch progress: the user's ``callback(epoch, logs)`` and, with ``verbose``, a
    tqdm bar (or a line per epoch on stderr without tqdm)."""

    def __init__(self, callback, verbose):
        self.callback = callback
        self.verbose = verbose
        self.bar = None
        # Set by ``_peers.interrupt_after_epoch``: Ctrl-C stops after the epoch.
        self.stops_on_interrupt = False
        self.interrupted = False
        if verbose:
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(unit="epoch", desc="training", leave=True)
            except ImportError:
                pass

    def __call__(self, epoch, logs):
        if self.verbose:
            if self.bar is not None:
                self.bar.update(1)
                self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k in ("loss", "val_loss")})
            else:
                val = f"  val_loss {logs['val_loss']:.4f}" if "val_loss" in logs else ""
                print(f"epoch {epoch}  loss {logs['loss']:.4f}{val}  {logs['seconds']:.2f}s", file=sys.stderr)
        go_on = self.callback(epoch, logs) if self.callback is not None else None
        # Any false value but None stops (np.False_ from a comparison of numpy numbers).
        return False if self.interrupted or (go_on is not None and not go_on) else None

    def close(self):
        if self.bar is not None:
            self.bar.close()

    @property
    def needed(self):
        return self.callback is not None or self.verbose or self.stops_on_interrupt


class Autoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """An autoencoder, trained as ``ae train`` trains it.

    Every setting of ``ae train`` is a keyword with the flag's name (``-`` written
    ``_``), but ``--score``, which is ``score_kind`` here (``score`` is
    scikit-learn's method). ``None`` (``False`` for a switch) means what ``ae train`` chooses when the
    flag is not given; for a table some defaults depend on the data (for example
    z-scores, a linear output and ``tanh`` when its values leave [0, 1]), exactly as
    in the command, so the same settings, seed and threads give the same model file
    from Python and from ``ae train``. Values are written as on the command line:
    ``layers=(256, 32)`` or ``"256,32"``, ``activation="gelu"``,
    ``noise="gaussian:0.1"``, ``lr_schedule="cosine"``, ``sparsity="0.05:1"``.
    ``docs/python.md`` lists them all; ``ae train --help`` explains each.

    Besides the settings of the model:

    threads : int, default 0
        Threads for training and inference (0: every core). Results are
        bit-identical for the same seed and thread count.
    missing : {"error", "drop", "mean"}, default "error"
        What a NaN in ``X`` (or a missing value in :class:`Files`) is, as ``ae train
        --missing``: an error; ``"drop"``: the row is left out of training (and out of
        the validation rows; ``dropped_rows_`` counts the training rows left out), and
        the model refuses a NaN later, as one trained on complete rows; ``"mean"``: a
        missing value, which the model fills with each feature's mean over the training
        rows, then and in every row it sees later.
    categorical : sequence of column names, default ()
        Text (or integer) columns of a DataFrame (pandas, polars, pyarrow) to one-hot
        encode, as ``ae train --categorical``: each value of the training rows becomes
        a 0/1 feature ``column=value`` after the other columns, and the model keeps the
        values, so that the DataFrames and files it reads later are encoded with them
        (a value it has not seen sets none). The DataFrame is read by the library
        through pyarrow. :class:`Files` name their own ``categorical`` (these apply
        when they name none).
    threshold : str or None
        Fit an anomaly threshold on the training rows, as ``ae train --threshold``:
        ``"contamination=0.05"``, ``"percentile=99"``, ``"sigma=3"`` or ``"value=0.12"``.
    image_shape : tuple (channels, height, width) or None
        The shape of each row's image, for conv models given flat rows (a 4-D array
        ``(n, c, h, w)`` gives its own).
    warm_start : bool, default False
        When the estimator is fitted, ``fit`` starts from ``model_``'s weights
        instead of new ones (``ae train --from``): to fine-tune on other rows, or with
        other training settings (``lr``, ``epochs``, ``iw_train``). The architecture
        and the normaliser stay ``model_``'s (an architecture keyword that differs
        from it is a ``ValueError``); the optimizer starts afresh.
    callback : callable or None
        ``callback(epoch, logs)`` after each epoch, ``logs`` holding ``loss``,
        ``val_loss`` (with validation), ``seconds``, ``rows_per_second`` and ``lr``.
        Returning ``False`` (or any false value but ``None``, such as ``np.False_``)
        stops training after that epoch (the model is complete); raising aborts ``fit``.
    verbose : int, default 0
        1: a progress bar per epoch (tqdm, when installed; else a line on stderr).

    Attributes (after ``fit``)
    ----------
    model_ : autoencoder.Model
        The trained model (``save`` writes its file).
    history_ : dict
        Per-epoch lists, as Keras's ``History.history``: ``loss``, ``val_loss`` (with
        validation), ``lr``, ``seconds``.
    stop_reason_ : str
        Why training stopped: ``epoch_limit``, ``early_stopping``, ``converged`` or
        ``interrupted`` (the callback returned False).
    n_features_in_ : int
        The width of a row.
    feature_names_in_ : ndarray of str
        The column names, when ``X`` was a DataFrame with string column names.

    ``get_feature_names_out()`` names the codes ``autoencoder0`` … (the class name
    and the index, as ``PCA`` names its components), so that
    ``set_output(transform="pandas")`` gives ``transform`` a DataFrame with the
    input's index, in a ``Pipeline`` or ``ColumnTransformer`` too.

    Ctrl-C during ``fit`` raises ``KeyboardInterrupt`` within one gradient step (or
    20 ms) and leaves the estimator unfitted. The GIL is released while the library
    trains or computes, so other Python threads (another model's training) run.
    """

    _flags = frozenset({"batch_norm", "variational", "tied", "binarize", "nesterov", "no_shuffle", "no_restore_best"})

    def __init__(
        self,
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
        preset=None,
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
        threshold=None,
        image_shape=None,
        warm_start=False,
        callback=None,
        verbose=0,
    ):
        # scikit-learn's convention: keep every keyword as given, under its name.
        for name, value in dict(locals()).items():
            if name != "self":
                setattr(self, name, value)

    # ------------------------------------------------------------------ fitting

    def _settings(self) -> dict:
        return {name: getattr(self, keyword(name)) for name in SETTINGS}

    def _threads(self) -> int:
        """``threads``, checked: a whole number ≥ 0 (the core bounds it above)."""
        return whole(self.threads, "threads")

    def _threshold_rule(self):
        t = self.threshold
        if t is not None and not isinstance(t, str):
            raise ValueError(f"threshold must be a rule as text (\"contamination=0.05\", \"percentile=99\", \"sigma=3\", \"value=0.12\"), got {t!r}")
        return t

    def _image_shape(self):
        """``image_shape`` as ``(channels, height, width)``, checked; ``None`` unless given."""
        s = self.image_shape
        if s is None:
            return None
        try:
            parts = tuple(s)
        except TypeError:
            parts = ()
        if len(parts) != 3 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v < 1 << 31 for v in parts):
            raise ValueError(f"image_shape must be (channels, height, width), three whole numbers ≥ 1, got {s!r}")
        return tuple(int(v) for v in parts)

    def _categorical(self):
        """``categorical`` as a list of column names (one name alone is a list of one)."""
        c = self.categorical
        if c is None:
            return []
        if isinstance(c, (str, int)):
            return [c]
        if not isinstance(c, (list, tuple)) or not all(isinstance(v, (str, int)) for v in c):
            raise ValueError(f"categorical must be a column name (or index), or a list of them, got {c!r}")
        return list(c)

    @staticmethod
    def _column_names(X):
        if not is_frame(X):
            return None
        cols = [getattr(c, "name", c) for c in X.columns]
        if cols and all(isinstance(c, str) for c in cols):
            return np.asarray(cols, dtype=object)
        return None

    def _adopt(self, model):
        """Hold ``model`` (read from a file) as if fitted."""
        self._forget()
        self.model_ = model
        self.n_features_in_ = model.input_dim
        self.history_ = {}
        self.stop_reason_ = None

    def _forget(self):
        for a in (
            "model_",
            "history_",
            "stop_reason_",
            "n_features_in_",
            "feature_names_in_",
            "chosen_",
            "streamed_",
            "dropped_rows_",
            "_fitted_rows",
        ):
            if hasattr(self, a):
                delattr(self, a)

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
        """Train on the rows of ``X`` (``y`` is ignored); ``validation_data`` (rows)
        replaces ``validation_split`` for validation. ``source`` is the name the model
        file records for the training data (``ae train`` records the file's path).
        ``X`` may also be a path or :class:`Files`: table files the library reads itself
        (the model is ``ae train``'s on them, and records their path), streamed a
        window at a time when larger than the memory budget (``streamed_`` then holds
        the row count and the window's).

        With ``peers`` and :class:`Files`, every process passes the same files and
        reads only its share of the rows (``mpirun ae train --shard``): an even range of
        them, or its share of every window when streamed (each process's budget then
        holds its share of a window; by default the machine's half shared by all).

        With ``peers`` (an mpi4py communicator, or :class:`MPIPeers` or any object like
        it), this process is one of ``peers.size`` that each call ``fit`` with rows of
        their own, in rank order, and the same keywords: together they fit one model,
        the bytes one process fits on all the rows with the same ``micro_batch`` (32
        unless given). ``validation_data`` is then the whole validation set, on every
        process; with ``shared_validation=True``, this process's part of it, in rank
        order as the rows are (a part may be empty). Every process must make the same
        calls. A ``callback`` that stops training on any process stops every process
        after that epoch, and a process that cannot start (its rows refused, its
        checkpoint unreadable) stops the others with a ``ValueError`` naming it.

        With ``checkpoint`` (a path), a resumable checkpoint is written there, replaced
        atomically, every ``checkpoint_every`` epochs and when a ``callback`` stops
        training (with ``peers``, by the process of rank 0 alone). With
        ``resume=True``, training goes on from that checkpoint (``ae train --resume``):
        the keywords and the rows must be the run's own (a difference is a
        ``ValueError`` naming it), the thread and process counts may differ, and the
        model is the uninterrupted run's, byte for byte. Returns ``self``.

        A fit that raises (its input refused, training diverged or interrupted) leaves
        the estimator as it was: a ``warm_start`` model refused new rows still holds
        its model."""
        start = getattr(self, "model_", None) if self.warm_start else None
        every = whole(checkpoint_every, "checkpoint_every")
        if self.callback is not None and not callable(self.callback):
            raise TypeError(f"callback must be a function of (epoch, logs), got {type(self.callback).__name__}")
        if self.missing not in ("error", "drop", "mean"):
            raise ValueError(f"missing must be \"error\", \"drop\" or \"mean\", got {self.missing!r}")
        # A NaN passes to the core, which fills it or leaves its row out.
        fill = self.missing != "error"
        categorical = self._categorical()
        files = as_files(X)
        if files is not None:
            if categorical and not files.categorical:
                files = files._with_categorical(categorical)
            return self._fit_files(files, validation_data, fill, start, checkpoint, every, resume, peers, shared_validation)
        names = self._column_names(X)
        encodings = None
        # The files this fit reads, which its checkpoint must not replace.
        val_files = as_files(validation_data)
        reads = [] if val_files is None else [("validation_data", val_files.paths)]
        try:
            if categorical:
                # Text columns: the library reads the DataFrame as an Arrow table.
                if not is_frame(X):
                    raise ValueError("categorical names columns of a DataFrame (or of Files); X is not one")
                if peers is not None:
                    raise ValueError(
                        "categorical columns of DataFrames shared among peers would be encoded with each "
                        "process's own values; pass Files, whose values every process reads"
                    )
                X, names, encodings = frame_table(X, categorical)
                names = None if names is None else np.asarray(names, dtype=object)
            X, shape = as_rows(X, allow_nan=fill, allow_empty=peers is not None)
            val = None
            if validation_data is not None:
                # Encoded with the training rows' values, as the model will encode them.
                if encodings is not None and is_frame(validation_data):
                    validation_data, _, _ = frame_table(validation_data, categories=encodings, what="validation_data")
                elif encodings is not None and as_files(validation_data) is not None:
                    validation_data = _core.read_files(as_files(validation_data)._core(), encodings)[0]
                val, _ = as_rows(validation_data, what="validation_data", allow_nan=fill, allow_empty=shared_validation)
                if val.shape[1] != X.shape[1]:
                    raise ValueError(f"validation_data has {val.shape[1]} features, but X has {X.shape[1]}")
        except Exception:
            if peers is not None:
                not_ready(peers)  # the others raise too, rather than wait for this one
            raise
        given_shape = self._image_shape()
        if shape is not None and given_shape is not None and tuple(shape) != given_shape:
            raise ValueError(f"X holds images of {tuple(shape)} (channels, height, width), but image_shape is {given_shape}")
        image_shape = shape or given_shape
        with self._training(peers) as progress:
            model, history, chosen, dropped = _core.fit(
                X,
                settings_json(self._settings()),
                threads=self._threads(),
                threshold=self._threshold_rule(),
                validation=val,
                image_shape=image_shape,
                callback=progress if progress.needed else None,
                source=str(source),
                missing=self.missing,
                start=start,
                peers=as_peers(peers),
                checkpoint=None if checkpoint is None else os.fspath(checkpoint),
                checkpoint_every=every,
                resume=bool(resume),
                shared_validation=bool(shared_validation),
                categories=encodings,
                reads=reads,
            )
        self._learned(model, history, chosen, X.shape[1], names)
        self.dropped_rows_ = dropped
        return self

    @contextlib.contextmanager
    def _training(self, peers):
        """The fit's progress (``callback``, ``verbose``) for the core; with ``peers``,
        Ctrl-C stops every process after the epoch (``interrupt_after_epoch``)."""
        progress = _Progress(self.callback, self.verbose)
        try:
            with interrupt_after_epoch(progress) if peers is not None else contextlib.nullcontext():
                yield progress
        finally:
            progress.close()

    def _fit_files(self, files, validation_data, fill, start, checkpoint, every, resume, peers, shared_validation):
        """:meth:`fit` on :class:`Files`, read (or streamed) by the core; with ``peers``,
        each process reads its share of the rows."""
        val = None
        val_files = as_files(validation_data)
        try:
            if shared_validation:
                raise ValueError(
                    "shared_validation is for rows passed as arrays: with Files, every process passes the whole validation_data"
                )
            if validation_data is not None and val_files is None:
                val, _ = as_rows(validation_data, what="validation_data", allow_nan=fill)
        except Exception:
            if peers is not None:
                not_ready(peers)  # the others raise too, rather than wait for this one
            raise
        with self._training(peers) as progress:
            model, history, chosen, names, width, mine, streamed, dropped = _core.fit_files(
                files._core(),
                settings_json(self._settings()),
                threads=self._threads(),
                threshold=self._threshold_rule(),
                validation=val,
                validation_files=None if val_files is None else val_files._core(),
                image_shape=self._image_shape(),
                callback=progress if progress.needed else None,
                checkpoint=None if checkpoint is None else os.fspath(checkpoint),
                checkpoint_every=every,
                resume=bool(resume),
                missing=self.missing,
                start=start,
                stream=files.stream,
                memory_budget=files.memory_budget,
                peers=as_peers(peers),
            )
        names = None if names is None else np.asarray(names, dtype=object)
        self._learned(model, history, chosen, width, names)
        self.dropped_rows_ = dropped
        if streamed is not None:
            self.streamed_ = {"rows": streamed[0], "window_rows": streamed[1]}
        # This process's rows of the files (all of them unless shared out among peers).
        self._fitted_rows = mine
        return self

    def _learned(self, model, history, chosen, width, names):
        """Set what a finished fit learned, in place of what an earlier fit did (a fit
        that raises — refused, diverged, interrupted — leaves the estimator as it was)."""
        self._forget()
        self.n_features_in_ = width
        if names is not None:
            self.feature_names_in_ = names
        self.model_ = model
        self.chosen_ = chosen
        h = json.loads(history)
        epochs = h["epochs"]
        self.history_ = {"loss": [e["train_loss"] for e in epochs]}
        if any(e.get("val_loss") is not None for e in epochs):
            self.history_["val_loss"] = [e["val_loss"] for e in epochs]
        self.history_["lr"] = [e["lr"] for e in epochs]
        self.history_["seconds"] = [e["seconds"] for e in epochs]
        self.stop_reason_ = h["stop_reason"]

    # --------------------------------------------------------------- inference

    def _check(self, X, width_of="model", what="X"):
        check_is_fitted(self, "model_")
        files = as_files(X)
        if files is not None:
            # Read as the model reads a table: its categorical columns one-hot encoded.
            X = self.model_.read_files(files._core())
        elif is_frame(X):
            cols = frame_names(X)
            if any(c in self.model_.categorical_columns for c in cols):
                # Its text columns, encoded with the model's values by the library.
                X, names, _ = frame_table(X, categories=self.model_.categories)
                cols = names if names is not None else cols
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None and list(cols) != list(fitted):
                raise ValueError(f"The feature names should match those that were passed during fit: {names_differ(list(cols), list(fitted))}")
        X, shape = as_rows(X, what=what, allow_nan=self.model_.fills_missing)
        takes = self.model_.image_shape
        if shape is not None and takes is not None and tuple(shape) != tuple(takes):
            raise ValueError(
                f"{what} holds images of {tuple(shape)} (channels, height, width), but the model takes {tuple(takes)}"
            )
        return X

    @property
    def _n_features_out(self):
        """The code's width: ``get_feature_names_out`` names that many outputs."""
        check_is_fitted(self, "model_")
        return self.model_.code_dim

    def _width_error(self, got, expected):
        return ValueError(
            f"X has {got} features, but {type(self).__name__} is expecting {expected} features as input"
        )

    def transform(self, X):
        """The codes of the rows of ``X`` (``ae encode``), shape ``(n, code_dim)``.
        :class:`Files` (or a path) are encoded a part at a time, however large, as
        ``ae encode --stream``: memory holds one part and the codes."""
        files = as_files(X)
        if files is not None:
            check_is_fitted(self, "model_")
            return self.model_.encode_files(files._core(), self._threads())
        X = self._check(X)
        if X.shape[1] != self.model_.input_dim:
            raise self._width_error(X.shape[1], self.model_.input_dim)
        return self.model_.encode(X, self._threads())

    def inverse_transform(self, X):
        """Rows decoded from codes ``X`` (``ae decode``), shape ``(n, n_features_in_)``."""
        check_is_fitted(self, "model_")
        Z, _ = as_rows(X, image=False)
        if Z.shape[1] != self.model_.code_dim:
            raise self._width_error(Z.shape[1], self.model_.code_dim)
        return self.model_.decode(Z, self._threads())

    def sample(self, n_samples=1, seed=0):
        """``n_samples`` new rows, decoded from codes drawn from the prior with ``seed``
        (``ae generate -n n_samples --seed seed``, bit for bit): a variational model's
        N(0, I); any other model's codes drawn, dimension by dimension, from the
        histograms of its training codes. Shape ``(n_samples, n_features_in_)``. A
        count whose rows would pass half the machine's memory is a ``ValueError``."""
        check_is_fitted(self, "model_")
        n, seed = whole(n_samples, "n_samples", 1), whole(seed, "seed", high=1 << 64)
        return self.model_.sample(n, seed, self._threads())

    def _one_row(self, row, name):
        """``row`` (1-D, a one-row 2-D array or frame) as one row of the model's width."""
        if not is_frame(row):
            try:
                row = np.atleast_2d(np.asarray(row))
            except (TypeError, ValueError) as e:
                raise ValueError(f"{name}: not a row of numbers ({e})") from None
        X = self._check(row, what=name)
        if X.shape != (1, self.model_.input_dim):
            raise ValueError(
                f"{name} must be one row of {self.model_.input_dim} values, got shape {tuple(X.shape)}"
            )
        return X[0]

    def interpolate(self, a, b, steps=10):
        """``steps`` rows decoded from the codes evenly spaced on the straight line from
        the code of row ``a`` to the code of row ``b``, both ends included: ``z(t) =
        (1 − t)·E(a) + t·E(b)`` (``ae interpolate --steps steps``, bit for bit). ``a``
        and ``b`` are one row each (1-D, or 2-D with one row). Shape ``(steps,
        n_features_in_)``; steps whose rows would pass half the machine's memory are a
        ``ValueError``."""
        check_is_fitted(self, "model_")
        steps = whole(steps, "steps", 2)
        a, b = self._one_row(a, "a"), self._one_row(b, "b")
        return self.model_.interpolate(a, b, steps, self._threads())

    def traverse(self, dims=None, steps=9, range=3.0):
        """The decodings of a sweep of each of the first ``dims`` code dimensions
        (default: all, at most 16) over ``steps`` values, the other dimensions at the
        centre, dimension after dimension (``ae traverse``, bit for bit): a variational
        model sweeps ``[−range, range]`` prior standard deviations; any other model its
        training codes' range. Shape ``(dims · steps, n_features_in_)``."""
        check_is_fitted(self, "model_")
        k = self.model_.code_dim
        dims = min(k, 16) if dims is None else whole(dims, "dims", 1)
        steps = whole(steps, "steps", 1)
        if dims > k:
            raise ValueError(f"dims must be at most the code's {k} dimensions, got {dims}")
        if isinstance(range, bool) or not isinstance(range, (int, float, np.integer, np.floating)):
            raise ValueError(f"range must be a number of standard deviations above 0, got {range!r}")
        with np.errstate(over="ignore"):
            r32 = np.float32(range)
        if not (np.isfinite(r32) and r32 > 0):
            raise ValueError(f"range must be a number of standard deviations above 0 that a 32-bit float holds (1.4e-45 to 3.4e38), got {range!r}")
        return self.model_.traverse(dims, steps, float(r32), self._threads())

    def predict(self, X):
        """The reconstructions of the rows of ``X`` (``ae reconstruct``)."""
        X = self._check(X)
        if X.shape[1] != self.model_.input_dim:
            raise self._width_error(X.shape[1], self.model_.input_dim)
        return self.model_.reconstruct(X, self._threads())

    def score_samples(self, X, kind=None, row_offset=0):
        """Each row's anomaly score, as ``ae score`` gives it: higher is more anomalous
        (unlike scikit-learn's outlier detectors, whose ``score_samples`` is higher
        for normal rows). ``kind``: mse, mae, root, standardized or elbo (default: the
        detector's score, else the model's). ``row_offset``: the global index of the
        first row when ``X`` is one part of a larger dataset, so that the elbo score's
        samples, drawn at each row's global index, match the whole's. :class:`Files`
        (or a path) are scored a part at a time, however large, each row at its index
        in the files."""
        files = as_files(X)
        if files is not None:
            if row_offset:
                raise ValueError("row_offset is for arrays: Files number their rows from 0")
            return self._file_scores(files, kind)[1]
        X = self._check(X)
        if X.shape[1] != self.model_.input_dim:
            raise self._width_error(X.shape[1], self.model_.input_dim)
        row_offset = whole(row_offset, "row_offset", high=None)
        if row_offset >= 1 << 63:  # beyond what the core takes; it refuses above 2**62 too
            raise ValueError(f"row_offset is {row_offset}; expected a row index from 0 to 2**62 (every id a 64-bit integer)")
        _, scores, _ = self.model_.score(X, score_kind(kind), self._threads(), row_offset)
        return scores

    def explain(self, X, k=3, kind=None):
        """Why each row of ``X`` scores as it does (``ae score --explain k``): the
        ``(n, k)`` arrays ``features`` (0-based column indices; ``feature_names_in_``
        names them for a DataFrame) and ``contributions``, the features whose terms add
        most to the row's reconstruction score, largest first. A score is the mean over
        features of a per-feature term (``mse``: the squared error in normalised units),
        so a row's ``d`` contributions sum to its score."""
        X = self._check(X)
        if X.shape[1] != self.model_.input_dim:
            raise self._width_error(X.shape[1], self.model_.input_dim)
        _, features, contributions = self.model_.explain(X, whole(k, "k"), score_kind(kind), self._threads())
        return features, contributions

    def detect(self, X):
        """1 for the rows of ``X`` whose score is above the model's threshold (a model
        trained with ``threshold=``), else 0, as ``ae detect`` flags them."""
        check_is_fitted(self, "model_")
        files = as_files(X)
        if files is None:
            X = self._check(X)
            if X.shape[1] != self.model_.input_dim:
                raise self._width_error(X.shape[1], self.model_.input_dim)
        if self.model_.threshold is None:
            raise ValueError("the model has no threshold; fit it with threshold='contamination=0.05' (or percentile=, sigma=, value=)")
        if files is not None:
            return self._file_scores(files)[2]
        _, _, flags = self.model_.score(X, None, self._threads())
        return flags

    def _file_scores(self, files, kind=None, rows=None, drop_missing=False):
        """``(kind, scores, flags)`` of the rows ``rows`` (``(start, end)``; by default
        all) of ``files``, read a part at a time; with ``drop_missing``, of the rows
        without a missing value."""
        check_is_fitted(self, "model_")
        return self.model_.score_files(files._core(), score_kind(kind), self._threads(), rows, drop_missing)

    def evaluate(self, X, *, iw_samples=1000, pca=True, pca_fit=None, binarize=None):
        """What ``ae evaluate --json`` reports of the rows of ``X``, as a dict with its
        keys and numbers (bit for bit; not its timings): ``mse``, ``sse_per_row``,
        ``mae``, ``bce`` (``None`` unless every value lies in [0, 1]) and ``psnr``, in the
        model's normalised units; ``rows``; ``code_mean_activation``;
        ``jacobian_norm`` (a one-layer encoder's, else ``None``); for a variational
        model ``vae``: ``negative_elbo``, ``reconstruction``, ``kl`` and ``nll``, the
        importance-sampled ``−log p(x)`` with ``iw_samples`` draws per row (0 skips it;
        1000, the default, takes a while on many rows); and ``pca``, the same metrics
        of PCA with the code's width, fitted on ``pca_fit`` (rows, or :class:`Files`,
        read a part at a time) or, by default, on ``X`` itself (``pca=False`` leaves it
        out, as does a fit too large for its bounds). ``binarize`` (a seed) binarises the rows
        first, each value ``v`` becoming 1 with probability ``v``, as ``ae evaluate
        --binarize`` does (binarised MNIST, the VAE papers' test set). :class:`Files`
        (or a path) are evaluated a part at a time, however large, as ``ae evaluate
        --stream``, PCA on them in more passes over their parts (2, or 9 for rows wider
        than 1,024 values, whose fit is randomised)."""
        check_is_fitted(self, "model_")
        iw_samples = whole(iw_samples, "iw_samples")
        seed = None if binarize is None else whole(binarize, "binarize (a seed, or None)")
        files = as_files(X)
        fit, fit_files = None, None
        if pca and pca_fit is not None:
            fit_files = as_files(pca_fit)
            fit = None if fit_files is not None else self._check(pca_fit)
            fit_files = None if fit_files is None else fit_files._core()
        on_rows = bool(pca and pca_fit is None)
        if files is not None:
            measures = self.model_.evaluate_files(files._core(), iw_samples, self._threads(), fit, "pca_fit",
                                                  seed, fit_files, on_rows)
        else:
            X = self._check(X)
            if X.shape[1] != self.model_.input_dim:
                raise self._width_error(X.shape[1], self.model_.input_dim)
            measures = self.model_.evaluate(X, iw_samples, self._threads(), fit, "pca_fit", on_rows, seed,
                                            fit_files)
        return json.loads(measures)

    def score(self, X, y=None):
        """Minus the mean anomaly score of ``X`` (higher is better, so that
        ``GridSearchCV`` chooses the model that reconstructs held-out rows best)."""
        return -float(np.mean(self.score_samples(X)))

    # --------------------------------------------------------------- files

    def save(self, path):
        """Write the model file (``ae``'s ``.safetensors`` format) to ``path``,
        atomically."""
        check_is_fitted(self, "model_")
        self.model_.save(os.fsdecode(path))

    def to_onnx(self, path=None, part="all", score=None):
        """The model as an ONNX graph (``ae export``): ``part`` is ``"all"`` (input
        ``x``; outputs ``code``, ``reconstruction``, ``score``), ``"encoder"``,
        ``"decoder"`` (input ``code``), ``"reconstruct"`` or ``"score"``; ``score`` the
        score in the graph (default: the detector's). Returns the bytes, and writes
        them to ``path`` when given. ONNX Runtime's outputs equal ``transform``,
        ``predict`` and ``score_samples`` to 1e-5."""
        check_is_fitted(self, "model_")
        data = self.model_.to_onnx(part, score)
        if path is not None:
            with open(path, "wb") as f:
                f.write(data)
        return data

    def to_torch(self):
        """The model as a PyTorch ``nn.Module`` with the same weights (needs torch):
        ``forward`` reconstructs, ``encode`` and ``decode`` as here."""
        check_is_fitted(self, "model_")
        from ._torch import to_torch

        return to_torch(self.model_.to_bytes())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing == "mean"  # "drop" refuses a NaN after fit
        tags.input_tags.sparse = True  # densified (_convert.dense_of_sparse): the layers are dense
        tags.non_deterministic = False
        if tags.transformer_tags is not None:
            # Codes and reconstructions are float32 whatever the input's dtype.
            tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"allow_nan": self.missing == "mean", "non_deterministic": False, "preserves_dtype": [np.float32]}


def names_differ(got, fitted):
    """How the columns ``got`` differ from the ``fitted`` ones, in a few words: the
    names missing and those not seen in fit, or the first place the order differs."""
    missing = [n for n in fitted if n not in got]
    unseen = [n for n in got if n not in fitted]
    if missing or unseen:
        said = lambda names: ", ".join(repr(n) for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        parts = ([f"missing {said(missing)}"] if missing else []) + ([f"not seen in fit: {said(unseen)}"] if unseen else [])
        return "; ".join(parts)
    if len(got) != len(fitted):
        return f"{len(got)} columns where fit had {len(fitted)} (a name given twice)"
    i = next(i for i, (a, b) in enumerate(zip(got, fitted)) if a != b)
    return f"column {i + 1} is {got[i]!r} where fit had {fitted[i]!r} (the same names in another order)"


def score_kind(kind):
    """``kind`` checked as a score's name (or ``None``: the model's); the core names
    the kinds it knows."""
    if kind is not None and not isinstance(kind, str):
        raise ValueError(f"kind must be a score's name (mse, mae, root, standardized or elbo), got {kind!r}")
    return kind
