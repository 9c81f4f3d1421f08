"""Newspaper pages out of order: join a cut sentence to its continuation.

A work report printed across pages arrives as blocks in the wrong order: a
task ends mid-sentence (``…专项整治三``) and its continuation (``年行动,…``,
maybe followed by the next numbered items) stands elsewhere. A continuation
is joined to a cut task only when exactly one cut task fits it; otherwise
both stay flagged.
"""

from __future__ import annotations

from pipelines.parse.outline import Node, ends_sentence


def _cut_tasks(roots: list[Node]) -> list[Node]:
    out: list[Node] = []

    def visit(node: Node) -> None:
        if node.is_item and not node.children and node.style != "page":
            last = node.lines_simplified[-1] if node.lines_simplified else node.first_line
            if not ends_sentence(last):
                out.append(node)
        for child in node.children:
            visit(child)

    for root in roots:
        if "continues_elsewhere" not in root.flags:
            visit(root)
    return out


def _fits(block: Node, cut: Node) -> bool:
    """A block whose first item is N continues a cut task numbered N-1 of the same style."""
    first = next((c for c in block.children if c.is_item), None)
    if first is None:
        return True  # nothing to contradict it; decided by elimination
    return (
        first.style == cut.style
        and first.label.isdigit()
        and cut.label.isdigit()
        and int(first.label) == int(cut.label) + 1
    )


def join_page_fragments(roots: list[Node]) -> list[Node]:
    """Join continuation blocks to the cut task they finish, where that is unambiguous."""
    blocks = [r for r in roots if r.style == "page" and "continues_elsewhere" in r.flags and r.lines_simplified]
    cuts = _cut_tasks(roots)
    joined: set[int] = set()
    changed = True
    while changed:  # numbered matches first; each join can make another unique
        changed = False
        for block in blocks:
            if id(block) in joined:
                continue
            candidates = [c for c in cuts if _fits(block, c)]
            if len(candidates) != 1:
                continue
            cut = candidates[0]
            _join(block, cut)
            joined.add(id(block))
            cuts.remove(cut)
            changed = True
    return [r for r in roots if id(r) not in joined]


def _join(block: Node, cut: Node) -> None:
    # The sentence continues: no line break between the two halves.
    if len(cut.lines) == 1:
        cut.first_line += block.lines_simplified[0]
    cut.lines[-1] += block.lines[0]
    cut.lines_simplified[-1] += block.lines_simplified[0]
    cut.lines += block.lines[1:]
    cut.lines_simplified += block.lines_simplified[1:]
    cut.flags.append("joined_across_pages")
    parent = cut.parent
    siblings = parent.children if parent is not None else []
    at = siblings.index(cut) + 1 if parent is not None else 0
    for child in block.children:
        child.parent = parent
        siblings.insert(at, child)
        at += 1
