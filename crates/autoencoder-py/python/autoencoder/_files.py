"""Table files as data: CSV, NPY, Parquet or Arrow files read by the compiled core as
``ae train`` reads them, whole or (when training) streamed a window at a time."""

from __future__ import annotations

import copy
import os

from . import _core

__all__ = ["Files", "as_files"]


def _column(value, what):
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{what} must be a column name or a 0-based index, got {value!r}")
    if isinstance(value, int) and value < 0:
        raise ValueError(f"{what} must be a column name or a 0-based index, got {value!r}")
    return str(value)


class Files:
    """Rows in table files — CSV, NPY, Parquet or Arrow — to fit on or score, read by
    the library as ``ae train`` reads its files, without going through Python.

    ``path`` is a file, a folder of table files, a glob pattern (``"data/*.parquet"``),
    or a list of them: every path a shard of one table, its rows in order. The
    ``label_column`` and the ``id_column`` are left out of the features, as are
    ``ignore_columns``; ``columns`` names the features (in that order) instead of every
    other column. ``categorical`` names text (or integer) columns to one-hot encode, as
    ``ae train --categorical``: each value of the training rows becomes a 0/1 feature
    ``column=value`` after the others, and the model keeps the values, so that the
    files it reads later (``transform``, ``score_samples`` …) are encoded with them. A
    column is a header name or a 0-based index.

    CSV files are read as ``ae`` reads them: ``header`` is ``"auto"`` (a first line of
    names is told from the numbers after it), ``"yes"`` or ``"no"``; the ``delimiter``
    is told from the first lines (a comma, a tab, a semicolon or a bar) unless given
    (``"tab"``, ``";"`` …); ``decimal=","`` reads numbers written with a decimal comma
    (``1,5``, as European spreadsheets write them, with fields separated by ``;`` or a
    tab), as pandas' ``read_csv(decimal=",")``; ``thousands`` reads a thousands
    separator (``","``, ``"."``, ``"space"`` — with the no-break spaces —,
    ``"'"`` or ``"_"``) where it groups a number's whole part in threes, as pandas'
    ``read_csv(thousands=",")`` reads it (pandas also reads it elsewhere; here
    ``1,23`` is refused, not read as 123).

    ``fit(Files(...))`` trains on the rows without holding them in Python. With
    ``stream=True``, or by default when the rows would take more than ``memory_budget``
    in memory (a number of bytes or a size such as ``"2G"``; half the machine's memory
    unless given), they are streamed from the files: a window of rows at a time,
    shuffled within the window (see ``ae train --stream``); ``stream=False`` reads them
    whole. Either way the model is ``ae train``'s on the same files, bit for bit.
    ``transform``, ``score_samples``, ``decision_function`` and ``detect`` read them a
    part at a time, however large; ``predict``, ``explain`` and ``validation_data``
    read them whole.

    >>> Files("train.parquet", label_column="label")  # doctest: +SKIP
    """

    def __init__(
        self,
        path,
        *,
        label_column=None,
        id_column=None,
        columns=None,
        ignore_columns=(),
        categorical=(),
        stream=None,
        memory_budget=None,
        header="auto",
        delimiter=None,
        decimal=".",
        thousands=None,
    ):
        paths = list(path) if isinstance(path, (list, tuple)) else [path]
        if not paths:
            raise ValueError("Files needs at least one path")
        for p in paths:
            if not isinstance(p, (str, os.PathLike)):
                raise ValueError(f"Files takes paths (str or os.PathLike), got {type(p).__name__}")
        self.paths = [os.fspath(p) for p in paths]
        self.label_column = None if label_column is None else _column(label_column, "label_column")
        self.id_column = None if id_column is None else _column(id_column, "id_column")
        if isinstance(columns, (str, int)):
            columns = [columns]
        self.columns = None if columns is None else [_column(c, "columns") for c in columns]
        if isinstance(ignore_columns, (str, int)):
            ignore_columns = [ignore_columns]
        self.ignore_columns = [_column(c, "ignore_columns") for c in ignore_columns]
        if isinstance(categorical, (str, int)):
            categorical = [categorical]
        self.categorical = [_column(c, "categorical") for c in categorical]
        if stream is not None and not isinstance(stream, bool):
            raise ValueError(f"stream must be True, False or None (chosen by memory_budget), got {stream!r}")
        self.stream = stream
        if memory_budget is not None:
            if isinstance(memory_budget, bool) or not isinstance(memory_budget, (int, str)):
                raise ValueError(f"memory_budget must be a number of bytes or a size such as \"2G\", got {memory_budget!r}")
            if isinstance(memory_budget, int):
                if memory_budget < 1:
                    raise ValueError(f"memory_budget must be at least one byte, got {memory_budget!r}")
                memory_budget = str(memory_budget)
            _core.memory_budget_bytes(memory_budget)  # "lots" refused now, not at the fit
        self.memory_budget = memory_budget
        for name, value in (("header", header), ("delimiter", delimiter), ("decimal", decimal), ("thousands", thousands)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string, got {value!r}")
        self.header, self.delimiter, self.decimal, self.thousands = header, delimiter, decimal, thousands
        self._core()  # the CSV settings checked now, not at the first read

    def _columns(self):
        return {
            "label_column": self.label_column,
            "id_column": self.id_column,
            "columns": self.columns,
            "ignore_columns": self.ignore_columns,
            "categorical": self.categorical,
        }

    def _csv(self):
        return {"header": self.header, "delimiter": self.delimiter, "decimal": self.decimal, "thousands": self.thousands}

    def _with_categorical(self, categorical):
        """These files with ``categorical`` columns one-hot encoded."""
        other = copy.copy(self)
        other.categorical = [_column(c, "categorical") for c in categorical]
        return other

    def _core(self):
        """The files as the compiled core takes them."""
        return _core.TableFiles(self.paths, **self._columns(), **self._csv())

    def read(self):
        """The rows, read whole: a float32 array of rows × features (a missing value
        is NaN)."""
        return self._read()[0]

    def _read(self):
        """``(rows, feature names or None, source)``: the source is the name a model
        file records for the data."""
        return _core.read_files(self._core())

    def __repr__(self):
        shown = self.paths[0] if len(self.paths) == 1 else self.paths
        extra = "".join(
            f", {k}={v!r}"
            for k, v in (*self._columns().items(), ("stream", self.stream), ("memory_budget", self.memory_budget))
            if v not in (None, [])
        ) + "".join(
            f", {k}={v!r}"
            for k, v in self._csv().items()
            if v != {"header": "auto", "delimiter": None, "decimal": ".", "thousands": None}[k]
        )
        return f"Files({shown!r}{extra})"


def as_files(X):
    """``X`` as :class:`Files` when it names table files (a path, a list of paths, or
    :class:`Files` itself), else ``None`` (rows in memory)."""
    if isinstance(X, (str, os.PathLike)):
        return Files(X)
    if isinstance(X, (list, tuple)) and X and all(isinstance(p, (str, os.PathLike)) for p in X):
        # A list of paths: shards of one table (a list of text is never rows, which
        # are lists themselves).
        return Files(list(X))
    return X if isinstance(X, Files) else None
