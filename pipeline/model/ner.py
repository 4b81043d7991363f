"""The ``govreport_ner`` spaCy component: a Hugging Face token classifier on a Doc.

The component runs per paragraph (``doc.spans["paragraphs"]``, or the whole
Doc as one paragraph of section ``doc._.section``). Each paragraph becomes
model pieces (:func:`pipeline.model.tokenization.encode`, scheme ``subword`` or
``char``), cut into overlapping windows of at most ``max_length`` model
positions. A window is ``[CLS] [SECTION] pieces... [SEP]``: the section marker
(``[REVIEW]``, ``[PLAN]`` or ``[OTHER]``, added to the tokenizer as special
tokens) tells the model whether a quantity is a TARGET or a VALUE; it is left
out when ``section_context`` is false. Each piece takes its prediction from
the window where it is most central, so long paragraphs are neither
truncated nor double-counted. IOB2 piece tags become character spans (edges
trimmed to the project's annotation rules unless ``style_rules`` is false, as
for a benchmark's labels) set as
``doc.ents`` and as the span group ``doc.spans["entities"]`` with
``span._.score`` (mean of the pieces' top probabilities).

``pipe()`` batches windows across the Docs of a minibatch, sorted by length.
Inference runs under ``torch.inference_mode()`` in the precision of the
``dtype`` setting (:mod:`pipeline.model.precision`): ``auto`` is bfloat16 where the CPU
has native bfloat16 instructions and int8 elsewhere; ``float32`` (the precision
of published scores), ``bfloat16`` and ``int8`` can be set explicitly.

``nlp.to_disk()`` writes ``model/`` (safetensors), ``tokenizer/`` and ``cfg`` (and
``transitions.json`` for a model trained with a CRF layer, decoding ``crf``:
:mod:`pipeline.model.crf`); ``spacy.load()`` restores it without network access.

``nlp.pipe(texts, n_process=N)`` works: spaCy forks N workers on Linux, and a
forked process that used the parent's OpenMP thread pool hangs on its first
parallel operation, so each forked process runs torch on one thread
(:func:`_one_thread_after_fork`); the N processes share the cores.

Public API: :func:`make_ner` (factory ``govreport_ner``), :class:`TransformerNER`,
:func:`load_base_model`, :func:`predict_records`, :func:`pad_batch`,
:data:`SECTION_MARKERS`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence

import torch
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from pipeline.annotation.schema import Record, Span
from pipeline.model import precision
from pipeline.model.decoding import DECODERS, decode, snap_to_words
from pipeline.model.crf import TRANSITIONS_FILE, load_transitions, save_transitions
from pipeline.model.settings import DEFAULTS, NERSettings
from pipeline.text.docs import make_char_doc, paragraphs, set_entities, set_paragraphs
from pipeline.text.structure import infer_section
from pipeline.model.tokenization import (
    SCHEMES,
    CharVocab,
    Encoding,
    bio_labels,
    encode,
    owner_window,
    sentence_starts,
    sentence_windows,
    tags_to_spans,
    windows,
)

FACTORY = "govreport_ner"
# Inference batches are padded to a multiple of this many positions: a few batch shapes
# instead of one per window length, so oneDNN's cache of compiled kernels (one entry per
# shape met; bfloat16 ones are large) stays small over a long run: ~6% more positions than
# batches padded to their longest window (32: ~11%, 8: ~2.5%; 12 seed reports, v0.3 and the student);
# make run's peak memory, 74 reports, bf16 on Zen 4: 1.41 GB unpadded, 0.79 GB with 16 (README).
PAD_MULTIPLE = 16


def _one_thread_after_fork() -> None:
    """In a forked child: one intra-op torch thread (see the module doc)."""
    torch.set_num_threads(1)


os.register_at_fork(after_in_child=_one_thread_after_fork)

SECTION_MARKERS: dict[str, str] = {"review": "[REVIEW]", "plan": "[PLAN]", "other": "[OTHER]"}
"""Section -> marker token put after ``[CLS]`` when ``section_context`` is on."""


class ModelNotReady(RuntimeError):
    """The component has no model yet: call ``initialize()`` or load it from disk."""


def load_base_model(path: str | Path, labels: Sequence[str]):
    """``(model, tokenizer)``: a token-classification head for IOB2 ``labels`` on
    the base encoder ``path`` (a folder, or a built-in name such as ``e5-small``),
    through :mod:`pipeline.model.encoders.loading` (raises its ``ModelLoadError``
    when the folder is missing or corrupt). A trained pipeline folder gives its
    component's fine-tuned weights (float32), head and tokenizer: the start of a
    distilled student (:mod:`pipeline.model.distillation`)."""
    from pipeline.model.encoders.loading import load_token_classifier, load_tokenizer

    component = Path(path) / FACTORY
    if (component / "cfg").is_file():
        return _trained_component_model(component, bio_labels(labels))
    tokenizer = load_tokenizer(path)
    model = load_token_classifier(path, bio_labels(labels))
    return model, tokenizer


def _load_component_files(path: Path):
    """``(model, tokenizer)`` that :meth:`TransformerNER.to_disk` wrote to ``path``
    (``model/`` in its stored dtype, ``tokenizer/``); a missing or broken file raises
    ``ModelLoadError`` naming it."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from pipeline.model.encoders.loading import ModelLoadError, check_model_folder

    tok_dir, model_dir = path / "tokenizer", path / "model"
    tok_json = tok_dir / "tokenizer.json"
    if not tok_json.is_file():
        raise ModelLoadError(f"{tok_json}: missing (the component's tokenizer)")
    check_model_folder(model_dir, tokenizer=False)  # clear errors naming the broken file
    try:
        tokenizer = AutoTokenizer.from_pretrained(tok_dir, local_files_only=True)
    except Exception as err:
        raise ModelLoadError(f"{tok_dir}: cannot load the tokenizer "
                             f"({type(err).__name__}: {err})") from err
    try:
        model = AutoModelForTokenClassification.from_pretrained(model_dir, local_files_only=True)
    except Exception as err:
        raise ModelLoadError(f"{model_dir}: cannot load the model "
                             f"({type(err).__name__}: {err})") from err
    return model, tokenizer


def _trained_component_model(component: Path, tags: Sequence[str]):
    """The fine-tuned ``(model, tokenizer)`` of a saved component, the model in
    float32 (for training); its tags must be ``tags``."""
    from pipeline.model.encoders.loading import ModelLoadError

    model, tokenizer = _load_component_files(component)
    trained = [model.config.id2label[i] for i in sorted(model.config.id2label)]
    if trained != list(tags):
        raise ModelLoadError(f"{component}: trained with tags {trained}, not {list(tags)}")
    return model.float(), tokenizer


@dataclass
class Window:
    """One model input: ``input_ids`` covering pieces ``[start, end)`` of a paragraph,
    the first piece at position ``prefix`` (after ``[CLS]`` and the marker)."""

    input_ids: list[int]
    start: int
    end: int
    prefix: int


class TransformerNER:
    """spaCy component wrapping a token-classification transformer (see module doc)."""

    def __init__(self, nlp: Language, name: str = FACTORY, settings: NERSettings | None = None) -> None:
        settings = settings if settings is not None else NERSettings()
        if settings.scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {settings.scheme!r} (expected one of {', '.join(SCHEMES)})")
        self.name = name
        self.vocab = nlp.vocab
        self.base_model = settings.base_model
        self.labels = list(settings.labels)
        self.scheme = settings.scheme
        self.section_context = settings.section_context
        self.max_length = settings.max_length
        self.stride = settings.stride
        self.sentence_windows = settings.sentence_windows
        self.batch_size = settings.batch_size
        self.dtype = settings.dtype
        self.style_rules = settings.style_rules
        if settings.decoding not in DECODERS:
            raise ValueError(f"unknown decoding {settings.decoding!r} (expected one of {', '.join(DECODERS)})")
        self.decoding = settings.decoding
        self.min_score = check_min_score(settings.min_score, self.labels)
        precision.resolve_precision(self.dtype)  # fail early on an unknown value
        self.model = None  # the weights (what to_disk saves)
        self.runner = None  # the module inference calls: the model, or its int8 copy
        self.tokenizer = None
        self.crf = None  # learned tag transitions (pipeline.model.crf), for decoding = "crf"
        self.progress: Callable[[int, int], None] | None = None
        """Called as ``progress(windows_done, windows_total)`` after each forward
        pass of :meth:`window_probs` (the batch runner shows progress inside a
        long report with it); ``None``: not called."""
        self._char_vocab: CharVocab | None = None

    # ------------------------------------------------------------------ model

    @property
    def settings(self) -> NERSettings:
        """The component's current settings (what ``cfg`` saves)."""
        return NERSettings(**{name: getattr(self, name) for name in NERSettings.names()})

    @property
    def tags(self) -> list[str]:
        return bio_labels(self.labels)

    @property
    def n_special(self) -> int:
        """Model positions per window that are not paragraph pieces."""
        return 2 + int(self.section_context)

    def initialize(self, get_examples: Callable | None = None, *, nlp: Language | None = None) -> None:
        """Load ``base_model`` with a fresh classification head (spaCy's ``nlp.initialize()``)."""
        if self.base_model is None:
            raise ModelNotReady(f"{self.name}: no base_model configured to initialize from")
        model, tokenizer = load_base_model(self.base_model, self.labels)
        self.set_model(model, tokenizer)

    def set_model(self, model, tokenizer, *, cast: bool = True) -> None:
        """Install ``model`` and ``tokenizer``, adding the section markers if needed.

        With ``cast`` the model is put in eval mode and the inference precision
        (``dtype``; int8 runs a quantized copy); training passes ``cast=False``
        to keep its float32 weights and run them as they are.
        """
        if self.section_context:
            missing = [m for m in SECTION_MARKERS.values() if m not in tokenizer.get_vocab()]
            if missing:
                tokenizer.add_tokens(missing, special_tokens=True)
        if model.get_input_embeddings().num_embeddings < len(tokenizer):
            model.resize_token_embeddings(len(tokenizer))
        if model.config.num_labels != len(self.tags):
            raise ValueError(f"model has {model.config.num_labels} labels, expected {len(self.tags)}")
        limit = getattr(model.config, "max_position_embeddings", None)
        if limit is not None and self.max_length > limit:
            raise ValueError(f"max_length {self.max_length} exceeds the model's {limit} positions")
        self.model, self.tokenizer = model, tokenizer
        self._char_vocab = CharVocab(tokenizer) if self.scheme == "char" else None
        self.runner = model
        if cast:
            self.model, self.runner = precision.prepare(model, self.dtype)

    @property
    def precision(self) -> str:
        """The precision inference runs in (``dtype`` with ``auto`` resolved)."""
        return precision.resolve_precision(self.dtype)

    def _require_model(self) -> None:
        if self.model is None or self.tokenizer is None:
            raise ModelNotReady(f"{self.name}: no model; call initialize() or load it from disk")

    # ------------------------------------------------------------------ features

    def encode(self, text: str) -> Encoding:
        """``text`` as model pieces with character ranges (the configured scheme)."""
        self._require_model()
        return encode(text, self.tokenizer, self.scheme, self._char_vocab)

    def windows(self, encoding: Encoding, section: str | None, text: str | None = None) -> list[Window]:
        """The model inputs for one paragraph (``text``, encoded as ``encoding``):
        windows of its pieces that overlap by ``stride`` pieces, or with
        ``sentence_windows`` windows of whole sentences that do not overlap
        (:func:`~pipeline.model.tokenization.sentence_windows`; needs ``text``)."""
        tok = self.tokenizer
        cls_id = tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id
        sep_id = tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id
        head = [cls_id]
        if self.section_context:
            marker = SECTION_MARKERS.get(section or "other", SECTION_MARKERS["other"])
            head.append(tok.convert_tokens_to_ids(marker))
        size = self.max_length - self.n_special
        stride = min(self.stride, size - 1)
        if self.sentence_windows:
            if text is None:
                raise ValueError("sentence_windows needs the paragraph's text")
            spans = sentence_windows(len(encoding), size, stride, sentence_starts(text, encoding.offsets))
        else:
            spans = windows(len(encoding), size, stride)
        return [Window(head + encoding.ids[start:end] + [sep_id], start, end, len(head))
                for start, end in spans]

    # ------------------------------------------------------------------ inference

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc], batch_size=1)))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int | None = None) -> Iterator[Doc]:
        for docs in minibatch(stream, size=batch_size or self.batch_size):
            self.set_annotations(docs, self.predict(docs))
            yield from docs

    def predict(self, docs: Sequence[Doc]) -> list[list[tuple[int, int, str, float]]]:
        """Scored character spans ``(start, end, label, score)`` for each Doc."""
        self._require_model()
        paras = []  # (doc index, char offset, text, encoding, windows)
        for d, doc in enumerate(docs):
            for para in paragraphs(doc):
                text = para.text
                enc = self.encode(text)
                if any(s < e for s, e in enc.offsets):  # something to tag
                    paras.append((d, para.start_char, text, enc, self.windows(enc, para.label_, text)))
        transitions = self._transitions()
        probs = self.window_probs([w for p in paras for w in p[-1]])
        result: list[list[tuple[int, int, str, float]]] = [[] for _ in docs]
        k = 0
        for d, offset, text, enc, wins in paras:
            rows = _owned_rows(probs[k:k + len(wins)], wins, len(enc))
            k += len(wins)
            chosen, scores = decode(rows.numpy(), self.tags, self.decoding,
                                    mask=[s < e for s, e in enc.offsets], transitions=transitions)
            tags = [self.tags[i] for i in chosen]
            for s, e, label, score in self._spans(text, enc, tags, scores):
                result[d].append((s + offset, e + offset, label, score))
        return result

    def _transitions(self):
        """The learned transition scores when decoding with them (``crf``), else ``None``."""
        if self.decoding != "crf":
            return None
        if self.crf is None:
            raise ModelNotReady(f"{self.name}: decoding 'crf' needs learned transitions "
                                f"({TRANSITIONS_FILE} of a model trained with decoding = \"crf\")")
        return self.crf.to_numpy()

    def _spans(self, text: str, enc: Encoding, tags: list[str], scores: list[float]):
        """The paragraph's character spans from its piece tags: whole Latin words and
        numbers, the project's edge rules when ``style_rules``, no overlaps, none below
        its label's ``min_score``."""
        rules = self.style_rules  # the project's span-edge rules (not a benchmark's)
        spans = []
        for s, e, label, score in tags_to_spans(enc.offsets, tags, scores, text if rules else None):
            s, e = snap_to_words(text, s, e)
            if rules and label in QUANTITY_LABELS:
                s = _skip_adverb(text, s, e)
            if spans and s < spans[-1][1]:  # widened into the previous span: keep the likelier
                if score <= spans[-1][3]:
                    continue
                spans.pop()
            spans.append((s, e, label, score))
        # the final spans below their label's minimum score go (what evaluate --tune-min-score
        # simulates on the same spans: pipeline.evaluation.thresholds.drop_below)
        return [sp for sp in spans if sp[3] >= self.min_score.get(sp[2], 0.0)]

    def window_batches(self, wins: Sequence[Window]) -> list[list[int]]:
        """The forward passes :meth:`window_probs` makes: indices into ``wins``,
        shortest windows first, ``batch_size`` at a time."""
        order = sorted(range(len(wins)), key=lambda i: len(wins[i].input_ids))
        return [list(b) for b in minibatch(order, size=self.batch_size)]

    def padded_positions(self, wins: Sequence[Window]) -> int:
        """Model positions :meth:`window_probs` runs over ``wins``, padding included."""
        return sum(len(b) * padded_width(max(len(wins[i].input_ids) for i in b),
                                         multiple=PAD_MULTIPLE, limit=self.max_length)
                   for b in self.window_batches(wins))

    def window_probs(self, wins: Sequence[Window]) -> list[torch.Tensor]:
        """Label probabilities (float32, one row per position) for each window,
        run in batches of windows of similar length, padded to a multiple of
        :data:`PAD_MULTIPLE` positions."""
        out: list[torch.Tensor | None] = [None] * len(wins)
        pad_id = self.tokenizer.pad_token_id or 0
        runner = self.runner
        was_training = runner.training
        runner.eval()
        done = 0
        with torch.inference_mode():
            for batch in self.window_batches(wins):
                ids, mask = pad_batch([wins[i].input_ids for i in batch], pad_id,
                                      multiple=PAD_MULTIPLE, limit=self.max_length)
                logits = runner(input_ids=ids, attention_mask=mask).logits
                probs = logits.float().softmax(-1)
                for row, i in enumerate(batch):
                    out[i] = probs[row, : len(wins[i].input_ids)]
                done += len(batch)
                if self.progress is not None:
                    self.progress(done, len(wins))
        runner.train(was_training)
        return out  # type: ignore[return-value]

    def set_annotations(self, docs: Sequence[Doc], spans: Sequence[list]) -> None:
        for doc, doc_spans in zip(docs, spans):
            set_entities(doc, _token_spans(doc, doc_spans))

    # ------------------------------------------------------------------ serialization

    def cfg(self) -> dict:
        """The saved settings (``cfg`` next to the weights)."""
        return self.settings.config()

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Write ``model/`` (safetensors, current dtype), ``tokenizer/``, ``cfg`` and,
        for a model with learned transitions, ``transitions.json``."""
        self._require_model()
        if not getattr(self.runner, "saveable", True):
            raise ValueError(f"{self.name}: an ensemble cannot be saved (distil it into one model)")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path / "model")
        self.tokenizer.save_pretrained(path / "tokenizer")
        if self.crf is not None:
            save_transitions(self.crf, path)
        else:
            (path / TRANSITIONS_FILE).unlink(missing_ok=True)
        (path / "cfg").write_text(json.dumps(self.cfg(), ensure_ascii=False, indent=2), encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> TransformerNER:
        """Load what :meth:`to_disk` wrote (local files only).

        ``labels``, ``scheme``, ``section_context`` and ``style_rules`` come
        from ``cfg`` (they must match the weights and training data); window, batch and dtype settings come from the
        pipeline config, so ``spacy.load(path, config=...)`` can override them.
        """
        from pipeline.model.encoders.loading import ModelLoadError

        path = Path(path)
        cfg_path = path / "cfg"
        try:
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
            labels, scheme, section_context = cfg["labels"], cfg["scheme"], cfg["section_context"]
        except FileNotFoundError:
            raise ModelLoadError(f"{cfg_path}: missing (the component's settings)") from None
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
            raise ModelLoadError(f"{cfg_path}: corrupt component settings "
                                 f"({type(err).__name__}: {err})") from err
        self.labels = list(labels)
        self.scheme = scheme
        self.section_context = section_context
        self.style_rules = bool(cfg.get("style_rules", True))  # models saved before it existed
        model, tokenizer = _load_component_files(path)
        self.crf = load_transitions(path, self.tags)
        if self.decoding == "crf" and self.crf is None:
            raise ModelLoadError(f"{path / TRANSITIONS_FILE}: missing (decoding 'crf' needs the "
                                 "transitions of a model trained with decoding = \"crf\")")
        self.set_model(model, tokenizer)
        return self


def _token_spans(doc: Doc, spans: Iterable[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """Character spans as token spans: the same numbers on a one-token-per-character
    Doc, else expanded to whole tokens (overlaps after expansion dropped)."""
    if len(doc) == len(doc.text):
        return list(spans)
    out: list[tuple[int, int, str, float]] = []
    last_end = 0
    for s, e, label, score in sorted(spans):
        span = doc.char_span(s, e, alignment_mode="expand")
        if span is not None and len(span) and span.start >= last_end:
            out.append((span.start, span.end, label, score))
            last_end = span.end
    return out


@Language.factory(FACTORY, default_config=DEFAULTS.config())
def make_ner(
    nlp: Language,
    name: str,
    base_model: Optional[str],
    labels: List[str],
    scheme: str,
    section_context: bool,
    max_length: int,
    stride: int,
    batch_size: int,
    dtype: str,
    style_rules: bool,
    decoding: str = DEFAULTS.decoding,
    sentence_windows: bool = DEFAULTS.sentence_windows,
    min_score: Dict[str, float] = {},  # noqa: B006 (spaCy passes the config's value)
) -> TransformerNER:
    """Factory of ``govreport_ner`` (settings and defaults: :class:`NERSettings`).
    The model is loaded by ``initialize()`` (from ``base_model``) or by
    ``from_disk()``, never at construction."""
    return TransformerNER(nlp, name, NERSettings(
        base_model=base_model, labels=list(labels), scheme=scheme,
        section_context=section_context, max_length=max_length, stride=stride,
        batch_size=batch_size, dtype=dtype, style_rules=style_rules, decoding=decoding,
        sentence_windows=sentence_windows, min_score=dict(min_score)))


def check_min_score(min_score: dict, labels: Sequence[str]) -> dict[str, float]:
    """``min_score`` as ``{label: float}``; a label the component does not have or a
    score outside [0, 1] raises ``ValueError`` naming it."""
    out = {}
    for label, value in dict(min_score).items():
        if label not in labels:
            raise ValueError(f"min_score: unknown label {label!r} (labels: {', '.join(labels)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"min_score[{label!r}] = {value!r}: expected a number from 0 to 1")
        out[label] = float(value)
    return out


def _owned_rows(window_probs: Sequence[torch.Tensor], wins: Sequence[Window], n: int) -> torch.Tensor:
    """``(n, tags)`` probabilities of a paragraph's ``n`` pieces, each row from the
    window that owns the piece (:func:`owner_window`)."""
    owner = owner_window(n, [(w.start, w.end) for w in wins])
    parts, i = [], 0
    while i < n:  # each window owns one contiguous run of pieces
        w_idx, j = owner[i], i
        while j < n and owner[j] == w_idx:
            j += 1
        w = wins[w_idx]
        parts.append(window_probs[w_idx][w.prefix + i - w.start: w.prefix + j - w.start])
        i = j
    return torch.cat(parts)


def padded_width(longest: int, *, multiple: int = 1, limit: int | None = None) -> int:
    """``longest`` rounded up to a ``multiple``, never past ``limit`` nor below ``longest``."""
    width = -(-longest // multiple) * multiple
    return width if limit is None else max(longest, min(width, limit))


def pad_batch(rows: Sequence[Sequence[int]], pad_value: int, *, multiple: int = 1,
              limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences of ids as one right-padded ``(ids, attention_mask)`` pair of long
    tensors (inference windows here, training windows and their labels in
    :mod:`pipeline.model.training`). The width is the longest row rounded up to a
    ``multiple`` (never past ``limit``, nor below the longest row)."""
    width = padded_width(max(len(r) for r in rows), multiple=multiple, limit=limit)
    ids = torch.full((len(rows), width), pad_value, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask


# Spec rule 2: adverbs before a change word stay outside a TARGET/VALUE. A
# subword piece can hold adverb and verb together (同比增长), so a predicted
# span may start with one; it is cut off here.
QUANTITY_LABELS = ("TARGET", "VALUE")
LEADING_ADVERBS = ("同比", "累计", "年均", "分别", "动态", "力争", "确保")


def _skip_adverb(text: str, start: int, end: int) -> int:
    for adverb in LEADING_ADVERBS:
        if text.startswith(adverb, start) and end - start > len(adverb):
            return start + len(adverb)
    return start


def predict_records(
    nlp: Language,
    records: Iterable[Record],
    batch_size: int = 32,
    section_of: Callable[[Record], str | None] | None = None,
) -> list[Record]:
    """Run ``nlp`` over annotation records; copies of them with predicted, scored
    spans (and no links). A record's section is ``section_of(record)`` if given,
    else ``meta["section"]``, else inferred from the text."""
    records = list(records)
    docs = []
    for r in records:
        doc = make_char_doc(nlp.vocab, r.text)
        doc._.section = (section_of(r) if section_of else r.section) or infer_section(r.text)
        # One paragraph per record, with its section: the structure component keeps it.
        set_paragraphs(doc, [(0, len(doc), doc._.section)])
        doc._.doc_id = r.doc_id
        docs.append(doc)
    out = []
    for r, doc in zip(records, nlp.pipe(docs, batch_size=batch_size)):
        spans = [Span(e.start_char, e.end_char, e.label_, e._.score) for e in doc.ents]
        out.append(Record(id=r.id, text=r.text, spans=spans, doc_id=r.doc_id, meta=dict(r.meta)))
    return out
