"""A document's text as HTML with its entities (by label) and quotes (with their speaker) marked, as spaCy's
displaCy shows entities: pure, on the rows of the entities and quotes tables.

Spans of one kind never overlap each other, but an entity may sit inside a quote or across its edge, and a
speaker's mention is often an entity too: the text is cut at every span edge and each piece is wrapped in the
spans covering it (quote outside, then speaker, then entity), a span's label shown after its last piece.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from pipeline.web.charts import label_colour

ORDER = {"quote": 0, "speaker": 1, "entity": 2}  # nesting, outermost first


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # quote, speaker, entity
    label: str  # what is shown after it: PERSON, "— Clara Hoffmann"...
    href: str | None = None
    title: str = ""


def spans(
    entities: Sequence[Mapping[str, Any]],
    quotes: Sequence[Mapping[str, Any]],
    link: Callable[[str], str] | None = None,
) -> list[Span]:
    """Spans of the names among the entities and of each quote and its speaker's mention; link(query) is the
    URL of a query's attention chart (none in a static file)."""
    found, speakers = [], set()
    for e in entities:
        if not e.get("is_name", True):
            continue
        query = f'entity:"{e["canonical_key"]}"'
        found.append(
            Span(
                e["start_char"],
                e["end_char"],
                "entity",
                e["label"],
                link(query) if link else None,
                e["canonical"] or "",
            )
        )
    for q in quotes:
        speaker = q.get("speaker_canonical") or q.get("speaker")
        kind = f" ({q['kind']})" if q.get("kind") else ""
        who = speaker or "no speaker found"
        found.append(Span(q["start_char"], q["end_char"], "quote", f"— {who}{kind}", None, f"said by {who}"))
        where = (q.get("speaker_start_char"), q.get("speaker_end_char"))
        if None not in where and where not in speakers:  # one mark for a mention that speaks several quotes
            speakers.add(where)
            query = f'speaker:"{speaker}"'
            found.append(
                Span(
                    q["speaker_start_char"],
                    q["speaker_end_char"],
                    "speaker",
                    "speaker",
                    link(query) if link and speaker else None,
                    speaker or "",
                )
            )
    return found


def marked(text: str, found: Sequence[Span]) -> str:
    """The text as HTML (escaped; paragraphs kept by the page's white-space: pre-wrap), spans wrapped. The
    innermost linked span's words are the link (anchors never nest); each span's label follows its last piece."""
    valid = [s for s in found if 0 <= s.start < s.end <= len(text)]
    edges = sorted({0, len(text), *(s.start for s in valid), *(s.end for s in valid)})
    out = []
    for begin, end in zip(edges, edges[1:], strict=False):
        covering = sorted(
            (s for s in valid if s.start <= begin and end <= s.end), key=lambda s: (ORDER[s.kind], s.start)
        )
        piece, linked = escape(text[begin:end]), False
        for span in reversed(covering):  # innermost first
            if span.href and not linked:
                piece, linked = f'<a href="{escape(span.href)}">{piece}</a>', True
            piece = wrap(span, piece, last=span.end == end)
        out.append(piece)
    return "".join(out)


def wrap(span: Span, inner: str, last: bool) -> str:
    title = f' title="{escape(span.title)}"' if span.title else ""
    if span.kind == "quote":
        tag = f'<span class="tag">{escape(span.label)}</span>' if last else ""
        return f'<q class="quote"{title}>{inner}{tag}</q>'
    tag = f'<span class="tag">{escape(span.label)}</span>' if last else ""
    extra = (
        f' data-label="{escape(span.label)}" style="--c:{label_colour(span.label)}"' if span.kind == "entity" else ""
    )
    return f'<mark class="{span.kind}"{extra}{title}>{inner}{tag}</mark>'
