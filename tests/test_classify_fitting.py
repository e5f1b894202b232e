"""Stepping only the hashed columns a batch touches (gateway/classify/fitting.py) against spaCy's own
loop, which steps every column every time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gateway.classify import fitting
from gateway.classify import model as m
from tests.support.classify import rules, subset, use_few_dev_sets

CONFIG = m.TrainConfig(epochs=3, length=2**14, folds=2, train_on_dev=False)


def _weights(nlp: object) -> tuple[np.ndarray, np.ndarray]:
    layer = nlp.get_pipe("textcat").model.get_ref("output_layer")  # type: ignore[attr-defined]
    return layer.get_param("W").copy(), layer.get_param("b").copy()


def test_the_columns_are_the_ones_thincs_sparse_linear_reads() -> None:
    nlp = m._fit(subset(3), CONFIG, 1777, lambda: None)
    model = nlp.get_pipe("textcat").model  # type: ignore[attr-defined]
    layer = model.get_ref("output_layer")
    length, n_labels = layer.get_dim("length"), layer.get_dim("nO")
    weights = np.random.default_rng(5).standard_normal(n_labels * length).astype("float32")
    layer.set_param("W", weights)
    docs = [nlp.make_doc(row.full_text) for row in subset(2)]
    expected = model.layers[1].predict(model.layers[0].predict(docs))  # thinc's own scores
    columns = fitting._doc_columns(model.layers[0], docs, length)
    table = weights.reshape(n_labels, length)
    ours = np.stack([table[:, cols].sum(axis=1) for cols in columns]) + layer.get_param("b")
    assert np.allclose(ours, expected, atol=1e-3)
    assert all(len(cols) for cols in columns)


def test_stepping_touched_columns_fits_the_weights_spacys_loop_would() -> None:
    rows = subset(12)
    dense = m._fit(rows, CONFIG, 1777, lambda: None)
    lazy = m._fit(rows, CONFIG, 1777, lambda: None, lazy=True)
    (w_dense, b_dense), (w_lazy, b_lazy) = _weights(dense), _weights(lazy)
    assert np.abs(w_dense).max() > 0.01  # a real fit
    assert np.linalg.norm(w_lazy - w_dense) / np.linalg.norm(w_dense) < 1e-3
    assert np.abs(b_lazy - b_dense).max() < 1e-4
    texts = [row.full_text for row in subset(20)[-30:]]
    assert np.abs(m.raw_scores(lazy, texts) - m.raw_scores(dense, texts)).max() < 1e-3
    # and not by chance: another seed's batches give other weights
    other = _weights(m._fit(rows, CONFIG, 7, lambda: None, lazy=True))[0]
    assert np.linalg.norm(other - w_dense) / np.linalg.norm(w_dense) > 1e-2


def test_the_optimizer_it_cannot_reproduce_falls_back_to_spacys_loop() -> None:
    from thinc.api import Adam

    assert fitting.supports(Adam(0.001, L2=0.01, use_averages=False))
    assert not fitting.supports(Adam(0.001, use_averages=True))  # averages of every column
    assert not fitting.supports(Adam(0.001, L2=0.01, L2_is_weight_decay=False, use_averages=False))


def test_only_the_calibration_folds_step_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model that routes is spaCy's loop's, bit for bit, whatever the folds do."""
    use_few_dev_sets(monkeypatch)
    rows = subset(15)
    config = replace(CONFIG, train_on_dev=True)
    lazy_folds = m.train(rows, config, rules(), processes=1)
    dense_folds = m.train(rows, replace(config, lazy_folds=False), rules(), processes=1)
    assert lazy_folds.nlp.get_pipe("textcat").to_bytes() == dense_folds.nlp.get_pipe("textcat").to_bytes()
    assert lazy_folds.version != dense_folds.version  # the configuration names the version
    assert lazy_folds.meta["temperature"] == pytest.approx(dense_folds.meta["temperature"], rel=0.02)
