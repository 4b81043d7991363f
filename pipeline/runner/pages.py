"""One report as an HTML page: displaCy entities, one block per paragraph
titled with its index and section (``html/<doc_id>.html``)."""

from __future__ import annotations

import html
import warnings
from collections.abc import Iterator, Sequence

from spacy import displacy

from pipeline.annotation.schema import LABELS, Record

COLORS: dict[str, str] = {
    "PROJECT": "#7aecec", "METRIC": "#feca74", "TARGET": "#ff9561", "VALUE": "#aa9cfc",
}

# displaCy's ent renderer is quadratic in the length of one text; very long
# paragraphs (a report pasted as one line) are shown in blocks of this size.
HTML_BLOCK_CHARS = 4000


def _display_blocks(record: Record) -> Iterator[tuple[int, int]]:
    """(start, end) blocks of a paragraph, cut only between entities."""
    spans = sorted((s.start, s.end) for s in record.spans)
    start, k = 0, 0
    while start < len(record.text):
        end = min(start + HTML_BLOCK_CHARS, len(record.text))
        while k < len(spans) and spans[k][1] <= end:
            k += 1
        if k < len(spans) and spans[k][0] < end:  # an entity crosses the cut: cut before it
            end = max(spans[k][0], start + 1) if spans[k][0] > start else spans[k][1]
        yield start, end
        start = end


def render_html(records: Sequence[Record], title: str) -> str:
    """One report as an HTML page: displaCy entities, one block per paragraph."""
    docs = []
    for i, r in enumerate(records):
        for b, (start, end) in enumerate(_display_blocks(r) if r.text else [(0, 0)]):
            docs.append({
                "text": r.text[start:end],
                "ents": [{"start": s.start - start, "end": s.end - start, "label": s.label}
                         for s in r.spans if start <= s.start and s.end <= end],
                "title": html.escape(f"¶{r.meta.get('paragraph', i)} · {r.section or '?'}") if b == 0 else None,
            })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # displaCy warns about paragraphs without entities
        body = displacy.render(docs, style="ent", manual=True, page=False,
                               options={"colors": COLORS, "ents": list(LABELS)})
    legend = " ".join(
        f'<mark style="background: {color}; padding: 0.2em 0.5em">{label}</mark>'
        for label, color in COLORS.items()
    )
    return (
        '<!DOCTYPE html>\n<html lang="zh">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n"
        '<body style="font-family: sans-serif; margin: 2em; max-width: 60em">\n'
        f"<h1>{html.escape(title)}</h1>\n<p>{legend}</p>\n{body}\n</body>\n</html>\n"
    )
