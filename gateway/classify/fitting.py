"""One fit of the routing model's textcat: spaCy's update loop, or the same Adam stepping only the
hashed columns a batch touches (`TrainConfig.lazy_folds`: the calibration folds).

spaCy's loop (`fit_dense`) steps the whole weight table after every batch: 2^18 hashed columns x 10
labels, 10 MB that thinc's Adam reads and writes several times over (moments, clipping, weight decay,
the zeroed gradient) for a batch of 32 texts that touches some 7,000 columns. That was two thirds of
a fit. `fit_columns` steps a column only when a batch touches it; the steps it missed meanwhile had a
zero gradient, so they are applied in closed form when it is next touched, and to every column at the
end: its moments decay (beta1^k, beta2^k), its weights shrink by the weight decay (d^k) and move on
their momentum, a geometric tail summed once per fit (`_Tail`).

What is the same: the optimizer spaCy's default training config builds (Adam: learn_rate 0.001,
beta1 0.9, beta2 0.999, eps 1e-8, grad_clip 1.0 per parameter, L2 0.01 as weight decay, no averages),
thinc's bias correction, spaCy's textcat loss (prediction minus truth, through the softmax), the
batches and their order. What differs: in the momentum tail eps is held where thinc lets it grow by
up to a tenth, terms beyond `TAIL_STEPS` (0.9^200) are left out, and floats are summed in another
order. After a few hundred steps the weights are within about 1e-4 of the dense loop's (relative,
tests/test_classify_fitting.py), in about a third of its CPU time. Over thousands of steps such float
differences grow, as training does with any, into a model as different as another seed's: good for
measuring a calibration, not for replacing the model that was measured. Plain numpy without BLAS: a
batch's products are too small for threads to pay.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gateway.classify import parallel
from gateway.melding import DIENST_CODES

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.training import Example


@dataclass(frozen=True)
class FitPlan:
    """The batches of a fit: their size, how many passes, the shuffle's seed; dropout (spaCy's loop)."""

    batch_size: int
    epochs: int
    seed: int
    dropout: float = 0.0


TAIL_STEPS = 200  # a missed step's momentum after 200 more: 0.9^200 = 7e-10 of it
_CHUNK = 65_536  # columns caught up at once at the end

_U32 = np.uint32


def fit(
    nlp: Language, labelled: Sequence[tuple[str, str]], plan: FitPlan, tick: Callable[[], None], *, lazy: bool
) -> None:
    """Fit `nlp`'s textcat on (text, label) pairs; `lazy`: stepping touched columns only, where the
    model is charbow (its features all count 1) and the optimizer one `fit_columns` reproduces."""
    from spacy.training import Example

    docs = [nlp.make_doc(text) for text, _ in parallel.checked(labelled)]
    # Each doc its own reference: the loss reads only the cats.
    for doc, (_, label) in zip(docs, labelled, strict=True):
        doc.cats = {c: float(c == label) for c in DIENST_CODES}
    examples = [Example(doc, doc) for doc in docs]  # `from_dict` would align a copy of every token
    optimizer = nlp.initialize(lambda: examples)
    textcat: Any = nlp.get_pipe("textcat")
    charbow = textcat.model.layers[0].name == "gateway_ngram_features"
    if lazy and charbow and supports(optimizer):
        labels = list(textcat.labels)
        fit_columns(nlp, docs, [labels.index(label) for _, label in labelled], optimizer, plan, tick)
    else:
        fit_dense(nlp, examples, optimizer, plan, tick)


def fit_dense(
    nlp: Language, examples: list[Example], optimizer: Any, plan: FitPlan, tick: Callable[[], None]
) -> None:
    """spaCy's own loop: `nlp.update` for a lone textcat, without its copy of every doc (the textcat never
    changes them); the optimizer step outside `update`, as there, so the weights come out the same."""
    from spacy.util import minibatch

    textcat = nlp.get_pipe("textcat")
    rng, order = random.Random(plan.seed), list(examples)
    for _ in range(plan.epochs):
        rng.shuffle(order)
        for batch in minibatch(order, size=plan.batch_size):
            textcat.update(batch, sgd=None, drop=plan.dropout)  # type: ignore[attr-defined]
            textcat.finish_update(optimizer)  # type: ignore[attr-defined]
            tick()


def murmur_u64(keys: np.ndarray, seed: int) -> np.ndarray:
    """thinc's SparseLinear hash of a uint64 feature key (MurmurHash3 x86 32 over its 8 bytes)."""
    with np.errstate(over="ignore"):
        c1, c2 = _U32(0xCC9E2D51), _U32(0x1B873593)
        h = np.full(keys.shape, seed, dtype=_U32)
        for half in ((keys & np.uint64(0xFFFFFFFF)).astype(_U32), (keys >> np.uint64(32)).astype(_U32)):
            k = _rotl(half * c1, 15) * c2
            h = _rotl(h ^ k, 13) * _U32(5) + _U32(0xE6546B64)
        h ^= _U32(8)
        h ^= h >> _U32(16)
        h *= _U32(0x85EBCA6B)
        h ^= h >> _U32(13)
        h *= _U32(0xC2B2AE35)
        h ^= h >> _U32(16)
    return h


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << _U32(r)) | (x >> _U32(32 - r))


def supports(optimizer: Any) -> bool:
    """What `fit_columns` reproduces: Adam with decoupled weight decay, no averages, no RAdam."""
    return bool(
        optimizer.b1 > 0
        and optimizer.b2 > 0
        and not optimizer.use_radam
        and optimizer.averages is None
        and (optimizer.L2 == 0 or optimizer.L2_is_weight_decay)
        and isinstance(optimizer.learn_rate, float)
    )


@dataclass(frozen=True)
class _Adam:
    lr: float
    b1: float
    b2: float
    eps: float
    decay: float  # a step's weight decay factor, 1 - lr * L2
    clip: float

    @classmethod
    def of(cls, optimizer: Any) -> _Adam:
        lr = float(optimizer.learn_rate)
        return cls(
            lr, optimizer.b1, optimizer.b2, optimizer.eps, 1.0 - lr * optimizer.L2, optimizer.grad_clip
        )

    def rates(self, steps: int) -> np.ndarray:
        """rates[t]: thinc's bias-corrected step size at update t (1-based; [0] unused)."""
        t = np.arange(steps + 1, dtype="float64")
        t[0] = 1
        return self.lr * np.sqrt(1.0 - self.b2**t) / (1.0 - self.b1**t)


class _Tail:
    """How far a column's weights move on their momentum over the k steps after its last one at s:
    sum over j = 1..k of rate[s+j] * (b1 / sqrt(b2))^j * decay^(k-j+1), times its last m / (sqrt(v) + eps)."""

    def __init__(self, adam: _Adam, steps: int) -> None:
        self.rates = rates = adam.rates(steps + TAIL_STEPS)  # the steps' own too: [1..steps]
        q = adam.b1 / math.sqrt(adam.b2) / adam.decay
        j = np.arange(1, TAIL_STEPS + 1)
        sums = np.cumsum(rates[np.arange(steps + 1)[:, None] + j[None, :]] * q ** j[None, :], axis=1)
        self.sums = np.concatenate([np.zeros((steps + 1, 1)), sums], axis=1)  # [s, 0]: no step missed
        self.logs = np.log([adam.decay, adam.b1, adam.b2])
        self.adam = adam

    def catch_up(self, state: np.ndarray, last: np.ndarray, now: int) -> None:
        """`state` (columns x [weights, m, v] x labels, in place) from each column's `last` step to `now`."""
        k = now - last
        f = np.exp(k.astype("float64")[:, None] * self.logs)  # decay^k, b1^k, b2^k
        move = (f[:, 0] * self.adam.decay * self.sums[last, np.minimum(k, TAIL_STEPS)]).astype("float32")
        f32 = f.astype("float32")
        weights, m, v = state[:, 0], state[:, 1], state[:, 2]
        weights *= f32[:, 0:1]
        weights -= move[:, None] * (m / (np.sqrt(v) + self.adam.eps))
        m *= f32[:, 1:2]
        v *= f32[:, 2:3]


def fit_columns(
    nlp: Language,
    docs: Sequence[Any],
    truth: Sequence[int],
    optimizer: Any,
    plan: FitPlan,
    tick: Callable[[], None],
) -> None:
    """Fit the textcat's sparse linear layer on `docs` (label indices in `truth`, the textcat's label
    order), stepping touched columns only; the result is written into the layer's W and b. Dropout
    is not applied: the charbow model has no layer it acts on."""
    model = nlp.get_pipe("textcat").model  # type: ignore[attr-defined]
    sparse = model.get_ref("output_layer")
    length, n_labels = sparse.get_dim("length"), sparse.get_dim("nO")
    columns = _doc_columns(model.layers[0], docs, length)
    adam = _Adam.of(optimizer)
    steps = plan.epochs * math.ceil(len(docs) / plan.batch_size)
    tail = _Tail(adam, steps)
    state = np.zeros((length, 3, n_labels), dtype="float32")  # a column's weights, m, v side by side
    last = np.zeros((length,), dtype=np.int64)
    bias = np.zeros((3, n_labels), dtype="float32")
    labels = np.asarray(truth)
    slot = np.zeros((length,), dtype=np.int64)
    rng, order, t = random.Random(plan.seed), list(range(len(docs))), 0
    for _ in range(plan.epochs):
        rng.shuffle(order)  # the permutation spaCy's loop draws for its examples
        for start in range(0, len(order), plan.batch_size):
            batch = order[start : start + plan.batch_size]
            t += 1
            used, at, doc_of = _touched([columns[i] for i in batch], slot)
            rows = state[used]
            tail.catch_up(rows, last[used], t - 1)
            d_weights, d_bias = _gradients(rows[:, 0], bias[0], at, doc_of, labels[batch])
            rate = float(tail.rates[t])
            _adam_step(adam, rows, _clipped(d_weights, adam.clip), rate)
            _adam_step(adam, bias[None], _clipped(d_bias, adam.clip)[None], rate)
            state[used] = rows
            last[used] = t
            tick()
    for lo in range(0, length, _CHUNK):
        tail.catch_up(state[lo : lo + _CHUNK], last[lo : lo + _CHUNK], steps)
    sparse.set_param("W", np.ascontiguousarray(state[:, 0].T).ravel())  # SparseLinear: label-major
    sparse.set_param("b", bias[0].copy())


def _doc_columns(features: Any, docs: Sequence[Any], length: int) -> list[np.ndarray]:
    """Each doc's hashed columns, once per fit (spaCy's loop extracts them every epoch): a feature key
    counts in two columns, as thinc's SparseLinear (without v1 indexing) reads it."""
    out: list[np.ndarray] = []
    for start in range(0, len(docs), 512):
        keys, _values, lengths = features.predict(list(docs[start : start + 512]))  # values: all 1
        both = np.stack(
            [(murmur_u64(keys, seed) % _U32(length)).astype(np.int32) for seed in (0, 1)], axis=1
        ).ravel()
        ends = np.cumsum(lengths) * 2
        out.extend(np.split(both, ends[:-1]))
    return out


def _touched(batch: list[np.ndarray], slot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The batch's distinct columns, each occurrence's index among them, and each occurrence's doc.
    `slot` is scratch of the table's length (a sort would cost more)."""
    cols = np.concatenate(batch)
    position = np.arange(len(cols))
    slot[cols] = position  # the last occurrence of a column wins its slot
    first = slot[cols] == position
    used = cols[first]
    at = (np.cumsum(first) - 1)[slot[cols]]
    doc_of = np.repeat(np.arange(len(batch)), [len(c) for c in batch])
    return used, at, doc_of


def _gradients(
    weights: np.ndarray, bias: np.ndarray, at: np.ndarray, doc_of: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """spaCy's textcat loss (probabilities minus truth) back through the softmax, for the batch's columns."""
    n_docs, n_labels = len(labels), len(bias)
    scores = np.zeros((n_docs, n_labels), dtype="float32")
    _sum_rows(scores, doc_of, weights[at])
    scores += bias
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    d_probs = probs.copy()
    d_probs[np.arange(n_docs), labels] -= 1.0
    d_scores = probs * d_probs
    d_scores -= probs * d_scores.sum(axis=1, keepdims=True)
    flat = (at[:, None] * n_labels + np.arange(n_labels)).ravel()
    d_weights = np.bincount(flat, weights=d_scores[doc_of].ravel(), minlength=len(weights) * n_labels)
    return d_weights.reshape(len(weights), n_labels).astype("float32"), d_scores.sum(axis=0)


def _sum_rows(out: np.ndarray, doc_of: np.ndarray, rows: np.ndarray) -> None:
    """out[d] += the rows of doc d (doc_of ascending)."""
    if not len(rows):
        return
    starts = np.flatnonzero(np.r_[True, doc_of[1:] != doc_of[:-1]])
    out[doc_of[starts]] += np.add.reduceat(rows, starts, axis=0)


def _clipped(gradient: np.ndarray, threshold: float) -> np.ndarray:
    norm = float(np.sqrt(np.dot(gradient.ravel(), gradient.ravel())))
    return gradient * (threshold / norm) if threshold and norm >= threshold else gradient


def _adam_step(adam: _Adam, rows: np.ndarray, gradient: np.ndarray, rate: float) -> None:
    """thinc's Adam step and weight decay on `rows` (n x [weights, m, v] x labels), in place."""
    weights, m, v = rows[:, 0], rows[:, 1], rows[:, 2]
    m *= adam.b1
    m += (1 - adam.b1) * gradient
    v *= adam.b2
    v += (1 - adam.b2) * (gradient * gradient)
    weights -= rate * (m / (np.sqrt(v) + adam.eps))
    weights *= adam.decay
