"""Attach each TARGET / VALUE to the METRIC or PROJECT it belongs to.

Spec rule 3: a TARGET or VALUE belongs to a METRIC or PROJECT in the same
sentence. :func:`link_spans` finds that head with a few rules, per sentence
(:func:`pipeline.text.structure.split_sentences`), over the spans in text order:

1. **Counted noun after its count** (D13, spec "counted categories"): a bare
   count (``9个``, ``36个``, ``1到2个``, no change word) directly followed by a
   METRIC, with nothing but a short attribute in between (no punctuation, no
   other span: ``[9个][贫困县]``, ``[1到2个]具有发展标杆效应的[5A级精品景区]``),
   or directly by a PROJECT (``[7家][乡镇养老院升级改造]``), belongs to it; so
   does any quantity without a change word that directly precedes a head
   (``续建[100公里][健康绿道]``, ``新建[10]“[一刻钟社区服务圈]”``) unless a head
   directly precedes the quantity too.
2. **分别 lists** (D8): ``[A][x]，[B][y]，分别[增长p]、[q]`` and
   ``[A]、[B]分别[下降p]、[q]`` give the i-th quantity after 分别 to the i-th of
   the heads it distributes over, when the numbers match. ``[城乡低保标准]分别
   [增长48%]、[65%]`` (one head right before 分别) stays with that head.
3. **Coordinated heads sharing one quantity**: ``[细颗粒物年均浓度]、
   [常住人口规模]控制[达到市级要求]`` links the quantity to each head of the
   run (all METRIC or all PROJECT, joined by 、/和/及/与), when it is the only
   quantity after them.
4. **Nearest preceding head** otherwise, which also carries a shared METRIC
   over a list of quantities (``[国家高新技术企业][89家]、累计[达1717家]``,
   ``[A]分别[达到45.4%]、[47.8%]，高于全省[22.7]和[28.8个百分点]``).
5. **Nearest following head** when no head precedes the quantity in its
   sentence.

The batch runner applies it to each paragraph's predicted spans
(:func:`pipeline.runner.records.records_from_doc`); :func:`link_accuracy`
scores it against gold links.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pipeline.annotation.schema import HEAD_LABELS, TAIL_LABELS, Link
from pipeline.annotation.scores import prf
from pipeline.text.structure import is_list_join, split_sentences

__all__ = ["link_spans", "link_accuracy"]

# Counted-thing units: a bare count with one of these can precede its noun.
_COUNT = re.compile(
    r"^(?:[\d.]+|[一二两三四五六七八九十百千]+)(?:[余多])?(?:[万亿])?(?:[余多])?"
    r"(?:(?:—|－|-|–|~|～|到|至)[\d.]+)?"
    r"(?:个|家|项|条|座|所|处|件|套|栋|辆|部|台|名|户|类|个类别|批|种|大|只|间|宗|场)(?:以上|左右)?$"
)
# What may stand between a count and the noun it counts.
_COUNT_GAP = re.compile(r"^[^，,、。；;：:！？!?“”\"（）()]{0,16}$")
_QUOTES = "“”‘’\"'"
# A quantity that starts with its number (no change word before it).
_NO_VERB = re.compile(r"^(?:约|近|超)?[\d一二两三四五六七八九十百千]")


def _unquoted(gap: str) -> str:
    return "".join(ch for ch in gap if ch not in _QUOTES)


def _label(span: Any) -> str:
    return span.label if isinstance(getattr(span, "label", None), str) else span.label_


def _bounds(span: Any) -> tuple[int, int]:
    if hasattr(span, "start_char"):
        return span.start_char, span.end_char
    return span.start, span.end


def link_spans(text: str, spans: Sequence[Any]) -> list[Link]:
    """Links ``(head, tail)`` (indices into ``spans``) for the TARGET/VALUE spans
    of one paragraph ``text``; ``spans`` are objects with ``start``/``end``/
    ``label`` (annotation spans) or spaCy spans, in any order."""
    bounds = [_bounds(span) for span in spans]
    items = sorted(range(len(spans)), key=lambda k: bounds[k])
    links: list[Link] = []
    i = 0  # one sweep over sentences and sorted spans: linear in both
    for s0, s1 in split_sentences(text):
        while i < len(items) and bounds[items[i]][0] < s0:
            i += 1  # starts before this sentence (crosses a sentence end)
        inside = []
        while i < len(items) and bounds[items[i]][0] < s1:
            if bounds[items[i]][1] <= s1:
                inside.append(items[i])
            i += 1
        links.extend(_link_sentence(text, spans, inside))
    return sorted(links, key=lambda link: (link.tail, link.head))


def _link_sentence(text: str, spans: Sequence[Any], order: list[int]) -> list[Link]:
    labels = [_label(spans[k]) for k in order]
    bounds = [_bounds(spans[k]) for k in order]
    heads = [i for i, lab in enumerate(labels) if lab in HEAD_LABELS]
    if not heads:
        return []
    head_of: dict[int, int] = {}

    def gap(i: int, j: int) -> str:
        return text[bounds[i][1]:bounds[j][0]]

    # 1. a count (or a bare quantity) followed by the noun it counts
    for i, lab in enumerate(labels):
        if lab not in TAIL_LABELS or i + 1 >= len(order) or labels[i + 1] not in HEAD_LABELS:
            continue
        surface = text[bounds[i][0]:bounds[i][1]]
        between = gap(i, i + 1)
        tight = _unquoted(between) == ""
        if _COUNT.match(surface) and _COUNT_GAP.match(between) and (labels[i + 1] == "METRIC" or tight):
            head_of[i] = i + 1
        elif _NO_VERB.match(surface) and tight and not (
                i > 0 and labels[i - 1] in HEAD_LABELS and gap(i - 1, i) == ""):
            head_of[i] = i + 1  # [100公里][健康绿道], [75][有路无灯道路亮化工程], [10]“[…服务圈]”

    # 2. 分别 lists
    for m in re.finditer("分别", text):
        pos = m.start()
        if not bounds or pos < bounds[0][0] or pos > bounds[-1][1]:
            continue
        after = [i for i, b in enumerate(bounds) if b[0] >= m.end()]
        group: list[int] = []
        for i in after:
            if labels[i] not in TAIL_LABELS:
                break
            if group and not is_list_join(_unquoted(gap(group[-1], i)), commas=True):
                break
            if not group and re.search(r"[，,、；;]", text[m.end():bounds[i][0]]):
                break
            group.append(i)
        if len(group) < 2:
            continue
        before = [i for i, b in enumerate(bounds) if b[1] <= pos]
        if not before:
            continue
        targets = _distribution(text, labels, bounds, before, pos, len(group))
        if targets:
            for tail, head in zip(group, targets):
                head_of.setdefault(tail, head)

    # 3. one quantity after coordinated heads belongs to each of them
    shared: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        if lab not in TAIL_LABELS or i in head_of or i < 2 or labels[i - 1] not in HEAD_LABELS:
            continue
        if re.search(r"[，,、；;：:]", gap(i - 1, i)):
            continue
        if i + 1 < len(labels) and labels[i + 1] in TAIL_LABELS:
            continue  # several quantities: not one shared by the heads
        run = [i - 1]
        k = i - 2
        while k >= 0 and labels[k] == labels[i - 1] and \
                is_list_join(_unquoted(gap(k, run[0]))):
            run.insert(0, k)
            k -= 1
        if len(run) >= 2:
            shared[i] = run

    # 4./5. nearest preceding head, else nearest following
    for i, lab in enumerate(labels):
        if lab not in TAIL_LABELS or i in head_of or i in shared:
            continue
        preceding = [h for h in heads if h < i]
        following = [h for h in heads if h > i]
        if preceding:
            head_of[i] = preceding[-1]
        elif following:
            head_of[i] = following[0]
    links = [Link(order[h], order[t]) for t, h in head_of.items()]
    links += [Link(order[h], order[t]) for t, hs in shared.items() for h in hs]
    return links


def _distribution(text: str, labels: list[str], bounds: list[tuple[int, int]], before: list[int],
                  pos: int, n: int) -> list[int] | None:
    """The ``n`` heads a 分别 at ``pos`` distributes over, or None (one shared head)."""
    last = before[-1]
    if labels[last] in HEAD_LABELS:
        # [A]、[B]分别…: a run of heads joined by 、/和 right before 分别
        run = [last]
        k = last - 1
        while k >= 0 and labels[k] in HEAD_LABELS and \
                is_list_join(_unquoted(text[bounds[k][1]:bounds[run[0]][0]]), commas=True):
            run.insert(0, k)
            k -= 1
        return run if len(run) == n else None
    # [A][x]，[B][y]，分别…: the last n heads, each followed by its own quantity
    heads = [i for i in before if labels[i] in HEAD_LABELS]
    if len(heads) < n:
        return None
    chosen = heads[-n:]
    limits = chosen[1:] + [len(labels)]
    for a, stop in zip(chosen, limits):
        if not any(labels[i] in TAIL_LABELS for i in before if a < i < stop):
            return None
    return chosen


# --------------------------------------------------------------------------- evaluation


def link_accuracy(records: Sequence[Any]) -> dict[str, float | int]:
    """The linker against the gold ``links`` of ``records`` (gold spans as input).

    ``accuracy``: share of gold-linked tails whose predicted head is the gold
    head; ``precision``/``recall`` over (head, tail) pairs, counted only in
    records that have gold links.
    """
    tails = correct = tp = n_pred = n_gold = 0
    for r in records:
        if not r.links:
            continue
        gold = {(link.head, link.tail) for link in r.links}
        pred = {(link.head, link.tail) for link in link_spans(r.text, r.spans)}
        gold_head: dict[int, set[int]] = {}
        for h, t in gold:
            gold_head.setdefault(t, set()).add(h)
        pred_head: dict[int, set[int]] = {}
        for h, t in pred:
            pred_head.setdefault(t, set()).add(h)
        for t, hs in gold_head.items():
            tails += 1
            correct += pred_head.get(t) == hs
        pred_on_gold_tails = {(h, t) for h, t in pred if t in gold_head}
        tp += len(pred_on_gold_tails & gold)
        n_pred += len(pred_on_gold_tails)
        n_gold += len(gold)
    scores = prf(tp, n_pred, n_gold)
    return {
        "tails": tails,
        "accuracy": correct / tails if tails else 0.0,
        "precision": scores["precision"],
        "recall": scores["recall"],
    }
