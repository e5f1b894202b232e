"""The spaCy pieces of the routing model: a tokenizer that normalizes as the rules do, and the
`charbow` architecture (spaCy's bag of words plus character n-grams of every word).

spaCy is imported inside the functions: importing this module (and `gateway.classify.model`)
stays cheap for commands that never load a model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gateway.classify.rules import mark_places, normalized

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

MAX_CHARS = 8000  # as the rules: only the start of a very long text is read

# --------------------------------------------------------------------------- text preparation


def join_subject(text: str, subject: str | None) -> str:
    """Subject and body as one text, as the rules read them (a sentence break in between)."""
    if subject and subject.strip():
        return f"{subject} .\n{text}"
    return text


def prepare(text: str) -> list[str]:
    """The words the model sees: the rules' normalization, so both layers read the same text; a
    word after a preposition of place is marked ("@lantaarnpaal"), as the rules discount it."""
    return mark_places(normalized(text[:MAX_CHARS])).split()


class NormalizingTokenizer:
    """A spaCy tokenizer that normalizes first; the saved pipeline then takes raw text."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        from spacy.tokens import Doc

        return Doc(self.vocab, words=prepare(text))

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        for text in texts:
            yield self(text)

    # Nothing to store: the normalization is code (MODEL_FORMAT versions it).
    def to_bytes(self, **_: Any) -> bytes:
        return b""

    def from_bytes(self, _data: bytes, **_: Any) -> NormalizingTokenizer:
        return self

    def to_disk(self, path: str | Path, **_: Any) -> None:
        Path(path).write_text("gateway normalizing tokenizer\n", encoding="utf-8")

    def from_disk(self, _path: str | Path, **_: Any) -> NormalizingTokenizer:
        return self


# --------------------------------------------------------------------------- the charbow architecture

# Per character range: word (its ORTH hash) -> hashes of its character n-grams. Words repeat a
# lot, so each is split once; cleared when full so that a long-running worker stays bounded.
_CHAR_CACHES: dict[tuple[int, int], dict[int, Any]] = {}
_CHAR_CACHE_MAX = 300_000


def _char_keys(word: str, lo: int, hi: int) -> Any:
    """Hashes of the character n-grams of "<word>" ("#" keeps them apart from word keys)."""
    from spacy.strings import hash_string

    # A marked word (a place, an aside: "@lantaarnpaal") has n-grams of its own, apart from the
    # subject's: place words generalize among themselves without voting for their dienst.
    prefix = "@#" if word[:1] == "@" else "#"
    word = word.lstrip("@")
    if len(word) < 3:  # short words are covered by the word features
        return np.zeros((0,), dtype="uint64")
    w = f"<{word}>"
    grams = {hash_string(prefix + w[i : i + n]) for n in range(lo, hi + 1) for i in range(len(w) - n + 1)}
    return np.fromiter(sorted(grams), dtype="uint64", count=len(grams))


def _ngram_features(ngram_size: int, char_min: int, char_max: int) -> Any:
    """Docs -> (keys, values, lengths) for SparseLinear: word n-grams plus character n-grams.

    A key that occurs twice is listed twice with value 1, which the linear layer sums exactly as
    one key with value 2 (spaCy's extractor counts with np.unique; that sort costs more here).
    """
    from spacy.attrs import ORTH
    from thinc.api import Model

    def forward(model: Any, docs: Sequence[Doc], is_train: bool) -> tuple[Any, Callable[[Any], list[Any]]]:
        ops = model.ops
        cache = _CHAR_CACHES.setdefault((char_min, char_max), {})
        if len(cache) > _CHAR_CACHE_MAX:
            cache.clear()
        arrays: list[Any] = []
        lengths: list[int] = []
        for doc in docs:
            words = doc.to_array(ORTH).astype("uint64", copy=False)
            parts = [words] + [ops.ngrams(n, words) for n in range(2, min(ngram_size, len(words)) + 1)]
            if char_max:
                strings = doc.vocab.strings
                for key in words.tolist():
                    grams = cache.get(key)
                    if grams is None:
                        grams = cache[key] = _char_keys(strings[key], char_min, char_max)
                    parts.append(grams)
            lengths.append(sum(len(p) for p in parts))
            arrays.extend(parts)
        keys = np.concatenate(arrays) if arrays else np.zeros((0,), dtype="uint64")
        vals = np.ones((len(keys),), dtype="float32")
        return (keys, vals, np.asarray(lengths, dtype="int32")), lambda d_out: []

    return Model("gateway_ngram_features", forward)


def build_charbow(
    exclusive_classes: bool, ngram_size: int, char_min: int, char_max: int, length: int, nO: int | None = None
) -> Any:
    """spaCy's TextCatBOW with character n-grams added to its features (same output layer)."""
    from spacy.ml.models.textcat import resize_and_set_ref, resize_linear_weighted
    from thinc.api import Logistic, SparseLinear_v2, chain, resizable, softmax_activation

    fill = {"b": 0, "W": 0}
    sparse = SparseLinear_v2(nO=nO, length=2 ** (length - 1).bit_length())
    layer = resizable(sparse, resize_layer=partial(resize_linear_weighted, fill_defaults=fill))
    output = softmax_activation() if exclusive_classes else Logistic()
    model = chain(_ngram_features(ngram_size, char_min, char_max), layer, output)
    if nO is not None:
        model.set_dim("nO", nO)
    model.set_ref("output_layer", sparse)
    model.attrs["multi_label"] = not exclusive_classes
    model.attrs["resize_output"] = partial(resize_and_set_ref, resizable_layer=layer)
    return model


_REGISTERED = False


def register_spacy_functions() -> None:
    """Make the tokenizer and the architecture known to spaCy (needed to build or load a model)."""
    global _REGISTERED
    if _REGISTERED:
        return
    import spacy

    @spacy.registry.tokenizers("gateway.NormalizingTokenizer.v1")
    def _tokenizer() -> Callable[[Language], NormalizingTokenizer]:
        return lambda nlp: NormalizingTokenizer(nlp.vocab)

    spacy.registry.architectures("gateway.TextCatCharBOW.v1", func=build_charbow)
    _REGISTERED = True
