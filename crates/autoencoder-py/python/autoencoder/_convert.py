"""Arrays in: numpy arrays, pandas and polars DataFrames, pyarrow Tables and table
files, as the C-contiguous float32 rows the compiled core reads (without a copy when
they already are such rows)."""

from __future__ import annotations


import numpy as np

from . import _core
from ._files import _column, as_files

__all__ = ["as_rows", "frame_names", "frame_table", "is_frame"]


def _frame_columns(X):
    """``(name, kind, dtype)`` per column for a DataFrame or Table, or None; ``kind`` is
    ``"number"``, ``"decimal"`` or None (neither). A categorical (pandas) or
    dictionary-encoded (pyarrow) column counts as the values it stands for: numbers
    pass, as the `ae` command reads such a column from Parquet, and so does an ``object``
    column of Python numbers (``None`` a missing value). Decimals are pyarrow's
    ``decimal128``, polars' ``Decimal``, pandas' ``ArrowDtype`` of one, and a pandas
    ``object`` column of ``decimal.Decimal`` values (as a database driver returns
    money)."""
    module = _frame_module(X)
    if module == "pandas":
        import pandas as pd

        def kind(dt, column):
            if isinstance(dt, pd.CategoricalDtype):
                dt = dt.categories.dtype
            inferred = pd.api.types.infer_dtype(column, skipna=True) if dt == object else None
            if _is_decimal(dt) or inferred == "decimal":
                return "decimal"
            if pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt):
                return "number"
            # An object column of Python numbers (a column that once held a None, or
            # built from lists): its values, None a missing value.
            if inferred in ("floating", "integer", "mixed-integer-float", "boolean", "empty"):
                return "number"
            return None

        return [(name, kind(dt, X.iloc[:, i]), dt) for i, (name, dt) in enumerate(X.dtypes.items())]
    if module == "polars":

        def kind(dt):
            if _is_decimal(dt):
                return "decimal"
            return "number" if dt.is_numeric() or str(dt) == "Boolean" else None

        return [(name, kind(dt), dt) for name, dt in X.schema.items()]
    if module == "pyarrow":
        import pyarrow as pa

        def kind(t):
            if pa.types.is_dictionary(t):
                t = t.value_type
            if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
                return "number"
            return "decimal" if pa.types.is_decimal(t) else None

        return [(f.name, kind(f.type), f.type) for f in X.schema]
    return None


def _numbers_as_text(X, name, sample=100):
    """Whether the first ``sample`` values of a frame's column ``name`` are texts that
    ``ae`` reads as numbers (for the hint of its refusal; a text column may be
    categories too, so it is not read as numbers unasked)."""
    from . import _core

    module = _frame_module(X)
    try:
        if module == "pandas":
            values = X[name].head(sample).tolist()
        elif module == "polars":
            values = X[name].head(sample).to_list()
        else:
            values = X.column(name).slice(0, sample).to_pylist()
    except Exception:  # a duplicated name, an unusual column: no hint
        return False
    texts = [v for v in values if isinstance(v, str)]
    if not texts or len(texts) < len([v for v in values if v is not None]):
        return False
    try:
        _core.numbers_from_text(texts, 1)
    except ValueError:
        return False
    return True


def _is_decimal(dtype):
    """Whether a column type is a decimal: pyarrow's ``decimal128``, polars' ``Decimal``,
    pandas' ``ArrowDtype`` of one."""
    dtype = getattr(dtype, "pyarrow_dtype", dtype)
    if type(dtype).__module__.split(".")[0] == "pyarrow":
        import pyarrow as pa

        return pa.types.is_decimal(dtype)
    return type(dtype).__module__.split(".")[0] == "polars" and str(dtype).startswith("Decimal")


def _frame_module(X):
    """``"pandas"``, ``"polars"`` or ``"pyarrow"`` for a DataFrame of those or a pyarrow
    Table, else None (a Series too). A polars LazyFrame is refused: it is a query, not
    yet rows."""
    module = type(X).__module__.split(".")[0]
    if module == "polars" and type(X).__name__ == "LazyFrame":
        raise ValueError("a polars LazyFrame is a query, not rows: collect() it first")
    if module == "pandas" and type(X).__name__ == "DataFrame":
        return module
    if module in ("polars", "pyarrow") and hasattr(X, "schema"):
        return module
    return None


def is_frame(X):
    """Whether ``X`` is a DataFrame (pandas, polars) or a pyarrow Table."""
    return _frame_module(X) is not None


def frame_names(X):
    """The column names of a DataFrame or pyarrow Table, as text; ``None`` for anything
    else."""
    module = _frame_module(X)
    if module is None:
        return None
    return [str(name) for name in (X.schema.names if module == "pyarrow" else X.columns)]


def frame_table(X, categorical=(), categories=None, what="X"):
    """A DataFrame's (or a pyarrow Table's) rows as the library reads an Arrow table, so
    that its text columns are one-hot encoded as ``ae train --categorical`` encodes
    them: the columns ``categorical`` with the values the rows hold, or every column
    of ``categories`` (a model's encodings, ``Model.categories``) with its values,
    and its decimal columns read as ``ae`` reads them in a Parquet file. Returns
    ``(rows, feature names, encodings)``. The table passes to the library as Arrow IPC
    bytes, which needs pyarrow."""
    try:
        import pyarrow as pa
    except ImportError:
        raise ValueError(
            f"{what}: a DataFrame's text or decimal columns are read through pyarrow; pip install pyarrow"
        ) from None
    module = type(X).__module__.split(".")[0]
    if module == "pandas":
        table = pa.Table.from_pandas(X, preserve_index=False)
    elif module == "polars":
        table = X.to_arrow()
    else:
        table = X
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    columns = _core.TableFiles([], categorical=[_column(c, "categorical") for c in categorical])
    return _core.read_arrow_ipc(sink.getvalue().to_pybytes(), columns, what, categories)


def _frame_to_numpy(X):
    module = type(X).__module__.split(".")[0]
    if module == "pyarrow":
        import pyarrow as pa

        # Column by column: a Table's columns may be chunked, or dictionary-encoded.
        plain = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in X.columns]
        cols = [np.asarray(c.to_numpy(), dtype=np.float32) for c in plain]
        if not cols:
            return np.empty((X.num_rows, 0), dtype=np.float32)
        return np.ascontiguousarray(np.column_stack(cols))
    rows = X.to_numpy()
    if module == "pandas" and rows.dtype == object:
        # Nullable columns (Int64, Float64, boolean): pd.NA is a missing value, NaN.
        rows = X.to_numpy(dtype=np.float64, na_value=np.nan)
    return rows


def _first_non_finite(X):
    bad = np.argwhere(~np.isfinite(X))[0]
    return int(bad[0]), int(bad[1])


def dense_of_sparse(X, what="X", budget=None):
    """A scipy sparse matrix or array as dense float32 rows: each stored value rounded
    once to float32, as a dense array of the same values is (so a model fitted on the
    one is the model fitted on the other, byte for byte), the others 0. The network's
    layers are dense, so its rows are too; a matrix whose dense rows would pass
    ``budget`` bytes (by default the machine's budget, half its memory) raises
    ``ValueError`` before anything is allocated, saying how large they would be."""
    from . import _core

    if X.ndim != 2:
        raise ValueError(f"{what}: expected a 2-D sparse matrix of rows × features, got {X.ndim}-D of shape {X.shape}")
    n, d = X.shape
    need = 4 * n * d
    limit, shown = _core.machine_memory_budget() if budget is None else (budget, _core.human_bytes(budget))
    if need > limit:
        raise ValueError(
            f"{what}: a sparse matrix of {n} × {d} is {_core.human_bytes(need)} as the dense float32 rows the model "
            f"reads, more than the memory budget of {shown}; give fewer rows at a time"
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{what}: a sparse matrix of dtype {X.dtype}; expected real numbers")
    return X.astype(np.float32).toarray()


def _overflows(v) -> bool:
    try:
        float(v)
    except OverflowError:
        return True
    except (TypeError, ValueError):
        pass
    return False


def _numbers_of_objects(X, what):
    """An array of strings or of Python objects as float32 values of its shape. Texts
    (``str``, ``bytes``, a ``Decimal`` by its digits) are read as ``ae`` reads a CSV
    field, rounded once (not through float64, which rounds twice); a missing value's
    text, ``None`` and ``pd.NA`` are NaN. Other objects (floats, ints, bools) convert
    as numpy converts them. Raises ``ValueError`` naming the row and column of a text
    that is not a number, ``TypeError`` for an object that is none (a dict)."""
    import decimal

    from . import _core

    flat = X.reshape(-1).tolist()
    cols = int(np.prod(X.shape[1:])) if X.ndim >= 2 else 1
    texts, others = [None] * len(flat), []
    for i, v in enumerate(flat):
        if isinstance(v, str):
            texts[i] = v
        elif isinstance(v, bytes):
            texts[i] = v.decode("utf-8", "replace")
        elif isinstance(v, decimal.Decimal):
            texts[i] = str(v)
        elif v is None or type(v).__name__ == "NAType":
            texts[i] = ""
        else:
            others.append(i)
    values = _core.numbers_from_text(texts, cols, what)
    if others:
        try:
            values[others] = np.asarray([flat[i] for i in others], dtype=np.float64)
        except OverflowError:
            # An int past a float's range (10**400).
            i = next(i for i in others if _overflows(flat[i]))
            raise ValueError(f"{what}: row {i // cols + 1}, column {i % cols + 1} is an integer too large for a 32-bit float (at most ±3.4e38)") from None
        except (TypeError, ValueError) as e:
            raise type(e)(f"{what}: holds values that are not numbers (dtype {X.dtype}): {e}") from None
    return values.reshape(X.shape)


def whole(value, name: str, low: int = 0, high: int | None = 1 << 63) -> int:
    """``value`` as an int when it is a whole number ≥ ``low`` and below ``high`` (an
    int or a numpy integer, not a bool, a float or text; by default below 2**63, what
    the core's counts hold; ``None``: no bound, for a caller that says its own), else a
    ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be a whole number ≥ {low}, got {value!r}")
    if high is not None and value >= high:
        said = f"2**{high.bit_length() - 1}" if high & (high - 1) == 0 else str(high)
        raise ValueError(f"{name} must be a whole number below {said}, got {value!r}")
    return int(value)


def as_rows(X, what: str = "X", image: bool = True, allow_nan: bool = False, allow_empty: bool = False):
    """``X`` as C-contiguous float32 rows, and the image shape ``(c, h, w)`` when ``X``
    is a 4-D array of images ``(n, c, h, w)`` (else ``None``). With ``allow_nan``, NaN
    (a missing value) passes; infinity never does. With ``allow_empty``, no rows pass
    (one process's part of rows shared out).

    Raises ``ValueError`` with a one-line message for what cannot be rows of numbers:
    a non-numeric DataFrame column (named), strings or objects, complex numbers, NaN or
    infinity (the first one's row and column named), fewer than 2 or more than 4
    dimensions, 3 dimensions (ambiguous: give ``(n, c, h, w)`` for images), or no rows.
    A path, or :class:`Files`, is read whole (a file that cannot be read raises
    ``FileNotFoundError``, ``OSError`` or ``ValueError`` naming it).
    """
    files = as_files(X)
    if files is not None:
        X = files.read()
    if hasattr(X, "toarray") and type(X).__module__.startswith("scipy.sparse"):
        X = dense_of_sparse(X, what)
    columns = _frame_columns(X)
    if columns is not None:
        other = [(name, kind, dtype) for name, kind, dtype in columns if kind != "number"]
        if other and all(kind == "decimal" for _, kind, _ in other):
            # Decimal columns (money, from a database) read as `ae` reads them in a
            # Parquet file: each value's nearest float32, a null a missing value.
            X, _, _ = frame_table(X, what=what)
        else:
            for name, _, dtype in [c for c in other if c[1] is None]:
                hint = "select the numeric columns"
                if _numbers_as_text(X, name):
                    hint = "its values are numbers written as text: convert it to numbers (pandas.to_numeric, or cast it)"
                raise ValueError(f"{what}: column {name!r} is {dtype}, not numeric; {hint}")
            X = _frame_to_numpy(X)
    if hasattr(X, "__array__") or isinstance(X, (list, tuple)):
        try:
            X = np.asarray(X)
        except ValueError as e:  # ragged lists
            raise ValueError(f"{what}: not an array of rows of equal length ({e})") from None
    else:
        raise ValueError(f"{what}: expected an array of rows (numpy, pandas, polars or pyarrow), got {type(X).__name__}")
    if X.dtype.kind in "OUST":
        X = _numbers_of_objects(X, what)
    if X.dtype.kind == "c":
        raise ValueError(f"{what}: Complex data not supported; expected real numbers")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{what}: dtype {X.dtype} is not numeric; expected numbers")
    image_shape = None
    if X.ndim == 4 and image:
        n, c, h, w = X.shape
        image_shape = (int(c), int(h), int(w))
        X = X.reshape(n, c * h * w)
    elif X.ndim != 2:
        hint = " (images: give (n, channels, height, width))" if X.ndim == 3 and image else ""
        if X.ndim == 1:
            hint = "; Reshape your data either using X.reshape(-1, 1) if it has a single feature or X.reshape(1, -1) if it is a single row"
        raise ValueError(f"{what}: expected a 2-D array of rows × features{hint}, got {X.ndim}-D of shape {X.shape}")
    if X.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{what}: has 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
    if X.shape[1] == 0:
        raise ValueError(f"{what}: has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
    given = X
    with np.errstate(over="ignore"):  # a value past float32's range is named below
        X = np.ascontiguousarray(X, dtype=np.float32)
    if not X.flags.aligned:
        # A view of a buffer at an odd offset: the core reads aligned floats.
        X = X.copy()
    if allow_nan:
        if np.isinf(X).any():
            r, c = np.argwhere(np.isinf(X))[0]
            raise ValueError(f"{what}: row {r + 1}, column {c + 1} is {_given(given, X, r, c)}; expected finite numbers or NaN (missing)")
    # min/max propagate NaN and show infinities without allocating a mask.
    elif X.size and not (np.isfinite(X.min()) and np.isfinite(X.max())):
        r, c = _first_non_finite(X)
        hint = ""
        if np.isnan(X[r, c]):
            hint = "; a NaN is a missing value: fit with missing=\"mean\" to fill it with the feature's training mean"
        raise ValueError(f"{what}: row {r + 1}, column {c + 1} is {_given(given, X, r, c)}; expected finite numbers (no NaN or infinity){hint}")
    return X, image_shape


def _given(given, X, r, c):
    """The value at row ``r``, column ``c`` as the caller gave it: a finite number too
    large for float32 (infinite once cast) is named as such."""
    try:
        v = given[r, c]
        finite = np.isfinite(v)
    except (TypeError, ValueError, IndexError):
        return X[r, c]
    if finite and np.isinf(X[r, c]):
        return f"{v}, too large for a 32-bit float (at most ±3.4e38)"
    return X[r, c]
