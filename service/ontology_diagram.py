"""A diagram of the ontology's main classes and how they relate, drawn as SVG from the ontology itself.

Each tree of our classes (by rdfs:subClassOf, or the named class of a defined class's intersection) is one
box, its subclasses indented under the root; an object property is an arrow from its domain's row to its
range's row. Boxes are placed in columns by a small layered layout (longest path, then barycentre
ordering), so the picture follows the ontology when it changes: nothing here is drawn by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

CHAR_WIDTH = 6.8  # px per character at FONT_SIZE, a generous estimate for sans-serif
FONT_SIZE = 12
ROW = 20  # px per row of a box
INDENT = 14  # px per subclass level
PAD = 10
COLUMN_GAP = 150  # room between columns for arrows and their labels
BOX_GAP = 28
MARGIN = 20


@dataclass(frozen=True)
class DiagramModel:
    classes: Mapping[str, str]  # our classes: IRI -> label
    parents: Mapping[str, Sequence[str]]  # IRI -> its superclasses (ours or outside)
    relations: Sequence[tuple[str | None, str, str, str]]  # (domain or None, label, range, property IRI)
    outside_labels: Mapping[str, str]  # outside classes: IRI -> short name (prov:Activity)
    href: Callable[[str], str]  # where a class's name links to
    title: str = "Classes and relations"
    description: str = ""
    no_domain_note: str = "value of"  # prefix for properties without a domain, listed in their range's box


@dataclass
class Box:
    key: str
    rows: list[tuple[str, int]]  # (class IRI, depth)
    notes: list[str] = field(default_factory=list)  # outside superclasses, properties without a domain
    outside: bool = False
    column: int = 0
    x: float = 0
    y: float = 0
    width: float = 0

    @property
    def height(self) -> float:
        return (len(self.rows) + len(self.notes)) * ROW + PAD

    def row_y(self, iri: str) -> float:
        index = next(i for i, (row, _) in enumerate(self.rows) if row == iri)
        return self.y + PAD / 2 + index * ROW + ROW / 2


def _trees(model: DiagramModel) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """Each class's primary parent among our classes (None for a root) and each class's children."""
    primary: dict[str, str | None] = {}
    for iri in model.classes:
        ours = sorted(
            (p for p in model.parents.get(iri, ()) if p in model.classes and p != iri), key=lambda p: model.classes[p]
        )
        primary[iri] = ours[0] if ours else None
    for iri in model.classes:  # break any cycle in the chosen parents
        seen = {iri}
        parent = primary[iri]
        while parent is not None:
            if parent in seen:
                primary[iri] = None
                break
            seen.add(parent)
            parent = primary[parent]
    children: dict[str, list[str]] = {iri: [] for iri in model.classes}
    for iri, parent in primary.items():
        if parent is not None:
            children[parent].append(iri)
    for kids in children.values():
        kids.sort(key=lambda c: model.classes[c].lower())
    return primary, children


def _boxes(model: DiagramModel) -> tuple[list[Box], dict[str, Box]]:
    primary, children = _trees(model)
    boxes: list[Box] = []
    box_of: dict[str, Box] = {}
    roots = sorted((iri for iri, parent in primary.items() if parent is None), key=lambda c: model.classes[c].lower())
    for root in roots:
        box = Box(root, [])
        stack = [(root, 0)]
        while stack:
            iri, depth = stack.pop()
            box.rows.append((iri, depth))
            box_of[iri] = box
            stack.extend((child, depth + 1) for child in reversed(children[iri]))
        outside = sorted(model.outside_labels.get(p, p) for p in model.parents.get(root, ()) if p not in model.classes)
        if outside:
            box.notes.append("⊑ " + ", ".join(outside))
        boxes.append(box)
    for _, _, target, _ in model.relations:
        if target not in box_of and target in model.outside_labels:
            box = Box(target, [(target, 0)], outside=True)
            boxes.append(box)
            box_of[target] = box
    undomained: dict[str, list[str]] = {}
    for source, label, target, _ in model.relations:
        if source is None and target in box_of:
            undomained.setdefault(target, []).append(label)
    for target, labels in undomained.items():
        box_of[target].notes.append(f"{model.no_domain_note}: " + ", ".join(sorted(set(labels))))
    return boxes, box_of


def _label(model: DiagramModel, iri: str) -> str:
    return model.classes.get(iri) or model.outside_labels.get(iri, iri)


def _layers(boxes: list[Box], edges: list[tuple[Box, Box]]) -> None:
    """Columns by longest path over the box graph, its cycles broken where a depth-first search closes them."""
    targets: dict[str, list[Box]] = {box.key: [] for box in boxes}
    for source, target in edges:
        if source is not target:
            targets[source.key].append(target)
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    order: list[Box] = []
    forward: set[tuple[str, str]] = set()

    def visit(box: Box) -> None:
        state[box.key] = 1
        for target in targets[box.key]:
            if state.get(target.key) == 1:
                continue  # a back edge: left out of the layering
            forward.add((box.key, target.key))
            if target.key not in state:
                visit(target)
        state[box.key] = 2
        order.append(box)

    indegree = {box.key: 0 for box in boxes}
    for source, target in edges:
        if source is not target:
            indegree[target.key] += 1
    for box in sorted(boxes, key=lambda b: (indegree[b.key], b.key)):
        if box.key not in state:
            visit(box)
    order.reverse()  # a topological order of the forward edges
    for box in order:
        for target in targets[box.key]:
            if (box.key, target.key) in forward:
                target.column = max(target.column, box.column + 1)
    # A box that only points onwards moves up to just before its nearest target, shortening its arrows.
    has_incoming = {t.key for s, t in edges if s is not t and (s.key, t.key) in forward}
    for box in order[::-1]:
        nexts = [t.column for t in targets[box.key] if (box.key, t.key) in forward]
        if box.key not in has_incoming and nexts:
            box.column = min(nexts) - 1


def _order(boxes: list[Box], edges: list[tuple[Box, Box]]) -> list[list[Box]]:
    """Boxes per column, ordered by the barycentre of their neighbours (a few sweeps each way)."""
    count = max(box.column for box in boxes) + 1
    columns: list[list[Box]] = [[] for _ in range(count)]
    for box in boxes:
        columns[box.column].append(box)
    neighbours: dict[str, list[Box]] = {box.key: [] for box in boxes}
    for source, target in edges:
        if source is not target:
            neighbours[source.key].append(target)
            neighbours[target.key].append(source)
    for sweep in range(6):
        sequence = range(1, count) if sweep % 2 == 0 else range(count - 2, -1, -1)
        for index in sequence:
            position = {b.key: i for column in columns for i, b in enumerate(column)}

            centres = {box.key: _barycentre(box, index, position, neighbours) for box in columns[index]}
            columns[index].sort(key=lambda box: centres[box.key])
    return columns


def _barycentre(box: Box, column: int, position: Mapping[str, int], neighbours: Mapping[str, list[Box]]) -> float:
    near = [position[n.key] for n in neighbours[box.key] if abs(n.column - column) == 1]
    return sum(near) / len(near) if near else position[box.key]


def _place(columns: list[list[Box]], model: DiagramModel) -> tuple[float, float]:
    x: float = MARGIN
    heights = [sum(b.height for b in column) + BOX_GAP * (len(column) - 1) for column in columns]
    total = max(heights)
    for column, height in zip(columns, heights, strict=True):
        width = 0.0
        for box in column:
            texts = [
                depth * INDENT + len(_label(model, iri)) * CHAR_WIDTH * (1.12 if depth == 0 else 1.0)  # bold roots
                for iri, depth in box.rows
            ]
            texts += [len(note) * CHAR_WIDTH * 0.9 for note in box.notes]
            box.width = max(texts) + 2 * PAD
            width = max(width, box.width)
        y = MARGIN + (total - height) / 2
        for box in column:
            box.x, box.y = x, y
            y += box.height + BOX_GAP
        x += width + COLUMN_GAP
    return x - COLUMN_GAP + MARGIN, total + 2 * MARGIN


def _curve(source: Box, y1: float, target: Box, y2: float) -> tuple[str, tuple[float, float]]:
    """A cubic Bézier from one row to another, and its midpoint (for the label)."""
    if target.column > source.column:
        x1, x2 = source.x + source.width, target.x
        bend = (x2 - x1) / 2
        c1, c2 = x1 + bend, x2 - bend
    elif target.column < source.column:
        x1, x2 = source.x, target.x + target.width
        c1, c2 = x1 - 60, x2 + 60
    else:  # same column (or the same box): a loop on the right
        x1, x2 = source.x + source.width, target.x + target.width
        c1 = c2 = max(x1, x2) + 70
    mid = (0.125 * x1 + 0.375 * c1 + 0.375 * c2 + 0.125 * x2, (y1 + y2) / 2)
    return f"M{x1:.1f},{y1:.1f} C{c1:.1f},{y1:.1f} {c2:.1f},{y2:.1f} {x2:.1f},{y2:.1f}", mid


def render_svg(model: DiagramModel, standalone: bool = False) -> str:
    boxes, box_of = _boxes(model)
    links: dict[tuple[str, str], list[str]] = {}
    for source, label, target, _ in model.relations:
        if source in box_of and target in box_of:
            links.setdefault((source, target), []).append(label)
    edges = [(box_of[s], box_of[t]) for s, t in links]
    _layers(boxes, edges)
    width, height = _place(_order(boxes, edges), model)

    out: list[str] = []
    placed: list[tuple[float, float, float, float]] = []
    labels: list[str] = []
    for (source, target), names in sorted(links.items()):
        sbox, tbox = box_of[source], box_of[target]
        path, (mx, my) = _curve(sbox, sbox.row_y(source), tbox, tbox.row_y(target))
        out.append(f'<path class="relation" d="{path}" marker-end="url(#arrow)"/>')
        text = ", ".join(sorted(set(names)))
        w, h = len(text) * CHAR_WIDTH * 0.92 + 8, FONT_SIZE + 4
        x, y = mx - w / 2, my - h / 2
        for _ in range(8):  # nudge a label down until it overlaps no other
            if not any(x < px + pw and px < x + w and y < py + ph and py < y + h for px, py, pw, ph in placed):
                break
            y += h
        placed.append((x, y, w, h))
        labels.append(
            f'<rect class="label-bg" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="3"/>'
            f'<text class="relation-label" x="{x + w / 2:.1f}" y="{y + h - 5:.1f}">{escape(text)}</text>'
        )
    for box in boxes:
        css = "box outside" if box.outside else "box"
        out.append(
            f'<rect class="{css}" x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
            f'height="{box.height:.1f}" rx="4"/>'
        )
        for index, (iri, depth) in enumerate(box.rows):
            y = box.y + PAD / 2 + index * ROW + ROW / 2
            x = box.x + PAD + depth * INDENT
            if depth:
                out.append(f'<path class="tree" d="M{x - 9:.1f},{y - ROW + 6:.1f} V{y:.1f} H{x - 2:.1f}"/>')
            weight = ' font-weight="700"' if depth == 0 else ""
            out.append(
                f'<a href="{escape(model.href(iri))}"><text x="{x:.1f}" y="{y + 4:.1f}"{weight}>'
                f"{escape(_label(model, iri))}</text></a>"
            )
        for index, note in enumerate(box.notes):
            y = box.y + PAD / 2 + (len(box.rows) + index) * ROW + ROW / 2
            out.append(f'<text class="note" x="{box.x + PAD:.1f}" y="{y + 4:.1f}">{escape(note)}</text>')
    style = (
        ".box{fill:#fff;stroke:#0b5c8c;stroke-width:1.5}.box.outside{fill:#f3f6f9;stroke:#8a96a6;stroke-dasharray:4 3}"
        ".relation{fill:none;stroke:#4f5b6b;stroke-width:1.2}.tree{fill:none;stroke:#8a96a6}"
        ".label-bg{fill:#fff;fill-opacity:.9}.relation-label{text-anchor:middle;fill:#083f61;font-style:italic}"
        ".note{fill:#4f5b6b;font-size:11px}text{fill:#1d2430}a text{fill:#0b5c8c}"
        "a:hover text{text-decoration:underline}"
    )
    header = '<?xml version="1.0" encoding="UTF-8"?>\n' if standalone else ""
    return (
        f'{header}<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" aria-labelledby="diagram-title" aria-describedby="diagram-desc" '
        f'font-family="system-ui, sans-serif" font-size="{FONT_SIZE}">'
        f'<title id="diagram-title">{escape(model.title)}</title>'
        f'<desc id="diagram-desc">{escape(model.description)}</desc>'
        f"<style>{style}</style>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4f5b6b"/></marker></defs>'
        + "".join(out)
        + "".join(labels)
        + "</svg>"
    )
