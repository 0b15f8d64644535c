"""Autoencoders trained fast and reproducibly, from Python.

- :class:`Autoencoder`: a scikit-learn estimator (``fit``, ``transform`` → codes,
  ``inverse_transform``, ``predict`` → reconstructions, ``score_samples``).
- :class:`AnomalyDetector`: PyOD's detector interface (``decision_function``,
  ``predict``, ``predict_proba``, ``decision_scores_``, ``threshold_``, ``labels_``).
- :func:`load` reads a model file written by ``ae train`` (or by ``save``).
- :class:`Model`: a trained model, as a model file holds it.
- :mod:`autoencoder.probe`: how good codes are as features (kNN, logistic regression,
  k-means agreement), as ``ae evaluate --probe`` measures them.
- :class:`Files`: table files (CSV, NPY, Parquet, Arrow; folders and globs of them)
  to fit on without holding the rows in Python, streamed when larger than memory.
- :class:`MPIPeers`: processes (mpi4py) that each hold rows of their own and fit one
  model together, ``fit(X_part, peers=...)``, the bytes of one process.

The same settings, seed and threads give the same model file as ``ae train``; the
outputs equal ``ae encode``, ``ae reconstruct`` and ``ae score`` bit for bit.
"""

import os as _os

from . import probe
from ._core import Model, __version__
from ._detector import AnomalyDetector
from ._estimator import SETTINGS, Autoencoder
from ._files import Files
from ._peers import MPIPeers

__all__ = ["Autoencoder", "AnomalyDetector", "Files", "Model", "MPIPeers", "load", "probe", "SETTINGS", "__version__"]


def load(path) -> Autoencoder:
    """A fitted :class:`Autoencoder` holding the model file at ``path`` (as ``ae train``
    or ``save`` wrote it); with the file's detector, ``detect`` flags outliers. Its
    keyword settings are the defaults: the model is the file's, and fitting again
    trains anew from those keywords. Raises ``FileNotFoundError`` for a missing file
    and ``ValueError`` for one that is not a model file."""
    est = Autoencoder()
    est._adopt(Model.load(_os.fsdecode(path)))
    return est
