"""One notice: cleaned lines in, rows for every table out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mypy_extensions import mypyc_attr

from pipelines.clean.notice import CleanedNotice
from pipelines.parse.assignments import FIRST_LISTED_LEADS, Clause, extract_clauses, has_cut_bracket
from pipelines.parse.glossary import extract_glossary
from pipelines.parse.metadata import extract_metadata
from pipelines.parse.outline import HEADING_MAX, Node, ends_sentence, parse_outline, split_heading
from pipelines.parse.targets import extract_targets
from pipelines.parse.units import UnitRef, notice_region, resolve

# A row is a tuple of the table's values in the order of the table's model in
# schemas/tables.py (pipelines.combine.records names them): a notice yields
# thousands of rows, and a tuple is built for a fraction of what a dict with the
# same keys costs (the clean and parse stages ran ~6 % faster for it).
Row = tuple[Any, ...]

# "二、张三副市长牵头重点工作": a heading that groups tasks under a leader.
LEADER_HEADING = re.compile(
    r"^(?P<leader>[\u4e00-\u9fff]{1,6}?(?:同志)?(?:常务)?副?(?:省长|市长|州长|县长|区长|秘书长|书记))(?:牵头|负责|分管|联系)"
)
INHERITED_FLAGS = ("section_missing", "continues_elsewhere", "page_jump")
# Zero-padded sequence numbers of section and task ids ("001"): an f-string with
# a format spec goes through str.format, a few percent of the whole parse.
_SEQ = tuple(f"{i:03d}" for i in range(1000))


def _seq(n: int) -> str:
    """``f"{n:03d}"``, from a table for the usual sizes."""
    return _SEQ[n] if 0 <= n < 1000 else f"{n:03d}"


def _leader(title: str | None) -> str | None:
    """The leader a heading groups its tasks under (张三副市长), if it names one."""
    # Every leader LEADER_HEADING matches ends on 长 or 书记: two substring
    # tests spare the regex call for almost every heading.
    if not title or not ("长" in title or "书记" in title):
        return None
    m = LEADER_HEADING.match(title)
    return m.group("leader") if m else None


# Pickled between runs (the per-partition store): a plain class, also when compiled.
@mypyc_attr(native_class=False)
@dataclass
class ParsedNotice:
    """The rows one notice contributes to each table (tuples in the models' column order), and what looked wrong."""

    notice_id: str
    rows: dict[str, list[Row]]

    @property
    def warnings(self) -> list[str]:
        """The messages of this notice's rows in the ``warnings`` table."""
        return [message for *_, message in self.rows.get("warnings", [])]  # a row ends on its message (warn)


@dataclass(frozen=True)
class SourceInfo:
    """What ingest knows about the file a notice came from."""

    notice_id: str
    file_name: str
    raw_sha256: str
    encoding: str
    raw_text: str


FLAG_TEXT = {
    "cut_off": "text ends mid-sentence (cut off in the source)",
    "bracket_cut_off": "assignment bracket cut off; units after the cut are unknown",
    "page_jump": "follows a page jump (上接/下转); its heading is on another page",
    "section_missing": "numbered item with no heading above it",
    "continues_elsewhere": "paragraph continues a sentence cut on another page",
    "joined_across_pages": "text joined across a page break",
}


def _original_tail(node_line: str, simp_line: str, simp_tail: str) -> str:
    """The original-script text matching ``simp_tail`` at the end of a line."""
    if len(node_line) == len(simp_line):
        return node_line[len(simp_line) - len(simp_tail) :]
    return node_line  # OpenCC changed the length: keep the whole original line


def _node_texts(node: Node, whole: bool) -> tuple[str, str]:
    """(original, simplified) text of a node: after the marker, plus continuations."""
    if not node.lines:
        return "", ""
    if whole and len(node.lines) == 1:
        # Most tasks: one line, taken whole (a bare heading needs a second line).
        first_s = node.first_line
        return (_original_tail(node.lines[0], node.lines_simplified[0], first_s) if first_s else ""), first_s
    _title, rest = split_heading(node.first_line)
    # A bare heading ("一、主要目标") is the section's title, not the task's text.
    bare_heading = not rest and "。" not in node.first_line and len(node.lines) > 1
    first_s = node.first_line if whole and not bare_heading else rest
    first_o = _original_tail(node.lines[0], node.lines_simplified[0], first_s) if first_s else ""
    if len(node.lines) == 1:
        return first_o, first_s  # most items are one line: nothing to join
    parts_o = [first_o] if first_o else []
    parts_s = [first_s] if first_s else []
    parts_o += node.lines[1:]
    parts_s += node.lines_simplified[1:]
    return "\n".join(parts_o), "\n".join(parts_s)


def _target_rows(text_s: str, section_id: str | None, task_id: str | None) -> list[Row]:
    """Target rows read from one task's (or one section intro's) simplified text."""
    owner = task_id or section_id
    return [
        (
            f"{owner}:{t.start}",
            task_id,
            section_id,
            t.metric,
            t.value,
            t.value_max,
            t.unit,
            t.qualifier,
            t.year,
            t.span,
            t.start,
        )
        for t in extract_targets(text_s)
    ]


def _bracket_cut_off(found: list[Clause], text_s: str) -> bool:
    """A task's units were cut off: a cut assignment bracket, parsed or not."""
    if text_s.rfind("(") <= text_s.rfind(")"):
        # Every "(" before the last ")" pairs up, so no bracket runs to the end
        # of the text: nothing was cut (the usual case, decided in C).
        return False
    return any(c.cut_off for c in found) or has_cut_bracket(text_s)


def _is_task(node: Node) -> bool:
    """Numbered items without numbered children are tasks; so are leaf sections with text."""
    if node.style in ("attachment", "page"):
        return False
    if node.is_item:
        return not (node.children and any(child.is_item for child in node.children))
    return not node.children and bool(_node_texts(node, whole=True)[1].strip())


def _add_alias(units: dict[str, dict[str, Any]], ref: UnitRef, unit_raw: str) -> None:
    """Record ``unit_raw`` as a spelling of ``ref``, opening its registry row on first sight."""
    entry = units.get(ref.unit_id)
    if entry is None:
        entry = units[ref.unit_id] = {
            "unit_id": ref.unit_id,
            "name": ref.name,
            "aliases": set(),
            "region": ref.region,
            "level": ref.level,
            "kind": ref.kind,
        }
    entry["aliases"].add(unit_raw)


def parse_notice(source: SourceInfo, cleaned: CleanedNotice) -> ParsedNotice:
    """All rows of one notice. Pure: no I/O, no Dagster."""
    nid = source.notice_id
    lines, simplified = cleaned.lines, cleaned.lines_simplified
    meta = extract_metadata(simplified, lines, source.raw_text)
    where = notice_region(meta.region, meta.admin_level)
    glossary, glossary_lines = extract_glossary(simplified)
    outline = parse_outline(lines, simplified, skip=glossary_lines)
    warning_rows: list[Row] = []
    joined = "\n".join(simplified)
    # The substring test (C, fast) spares most notices the regex scan.
    first_listed = "第一位" in joined and bool(FIRST_LISTED_LEADS.search(joined))

    def warn(kind: str, message: str, task_id: str | None = None) -> None:
        row = (nid, task_id, kind, message)
        if row not in warning_rows:
            warning_rows.append(row)

    sections: list[Row] = []
    tasks: list[Row] = []
    assignments: list[Row] = []
    targets: list[Row] = []
    units: dict[str, dict[str, Any]] = {}  # unit_id → its registry entry, aliases gathered as a set
    # A notice names the same units over and over: resolve each spelling once.
    unit_ids: dict[str, str] = {}
    unknown: set[str] = set()  # spellings of no recognised unit form
    section_ids: dict[int, str] = {}

    def register(unit_raw: str) -> str:
        """Resolve a spelling seen for the first time; its registry id."""
        ref = resolve(unit_raw, where)
        _add_alias(units, ref, unit_raw)
        if ref.kind == "other":
            unknown.add(unit_raw)
        unit_ids[unit_raw] = ref.unit_id
        return ref.unit_id

    def section_of(node: Node) -> str | None:
        parent = node.parent
        while parent is not None and id(parent) not in section_ids:
            parent = parent.parent
        return section_ids.get(id(parent)) if parent is not None else None

    # A goals paragraph before the first heading (2020年…主要预期目标:地区生产总值增长7.5%左右…)
    # holds the plan's headline targets: it becomes a section that is its own task.
    intro_nodes = []
    for i in outline.body_intro:
        if extract_targets(simplified[i]):
            head, sep, _ = simplified[i].partition(":")
            title = head if sep and len(head) <= HEADING_MAX else "导语"
            node = Node("intro", 0, "", "导语", simplified[i], i, [lines[i]], [simplified[i]])
            intro_nodes.append((node, title))
    paged = any(n.style == "page" for n in outline.roots)
    for node, title in intro_nodes:
        sid = nid + ":s" + _seq(len(sections) + 1)
        sections.append((sid, nid, None, 1, None, title, node.lines[0], len(sections), None))
        targets += _target_rows(node.lines_simplified[0], sid, None)
    for node in outline.walk():
        task = _is_task(node)
        if not (task and node.is_item) and id(node) not in section_ids:
            # Every heading is a section; a leaf section is also its own task.
            sid = nid + ":s" + _seq(len(sections) + 1)
            title, _ = (node.first_line, "") if node.style in ("attachment", "page") else split_heading(node.first_line)
            intro_o, intro_s = _node_texts(node, whole=False)
            sections.append(
                (
                    sid,
                    nid,
                    section_of(node),
                    node.depth,
                    node.marker,
                    title or node.marker,
                    (intro_o or None) if not task else None,
                    len(sections),
                    _leader(title),
                )
            )
            section_ids[id(node)] = sid
            if not task and intro_s:
                targets += _target_rows(intro_s, sid, None)
        if not task:
            continue
        text_o, text_s = _node_texts(node, whole=True)
        tid = nid + ":t" + _seq(len(tasks) + 1)
        flags = list(node.flags)
        ancestor = node.parent
        while ancestor is not None:
            if ancestor.flags:  # most nodes carry none
                flags += [f for f in ancestor.flags if f in INHERITED_FLAGS]
            ancestor = ancestor.parent
        if paged and not ends_sentence(text_s):
            flags.append("cut_off")
        found = extract_clauses(text_s, first_listed_leads=first_listed)
        if _bracket_cut_off(found, text_s):
            flags.append("bracket_cut_off")
        if len(flags) > 1:
            flags = list(dict.fromkeys(flags))
        for flag in flags:
            warn(flag, f"{tid} (task {node.label}): {FLAG_TEXT[flag]}", tid)
        section_id = section_ids.get(id(node)) or section_of(node)
        tasks.append(
            (tid, nid, section_id, node.label, text_o, text_s, len(tasks), not node.is_item, ";".join(flags) or None)
        )
        for clause in found:
            clause_no, pairs, deadline, span, _start, _cut_off = clause
            # One comprehension, not an append per row: tens of thousands of rows
            # per run. A unit seen before costs one dict lookup; ``register``
            # runs once per spelling per notice, in the order they are written.
            assignments += [
                (
                    tid,
                    clause_no,
                    unit_raw,
                    None if role == "leader" else (unit_ids.get(unit_raw) or register(unit_raw)),
                    role,
                    deadline,
                    span,
                )
                for unit_raw, role in pairs
            ]
            if unknown:  # rare: most notices name every unit in a recognised form
                for unit_raw, role in pairs:
                    if role != "leader" and unit_raw in unknown:
                        warn("unknown_unit", f"{tid} (task {node.label}): unit form not recognised: {unit_raw}", tid)
        targets += _target_rows(text_s, section_id, tid)
    if outline.stray_lines:
        # Short unpunctuated lines (slogans, captions, adverts) are left out of
        # tasks; say how many, so nothing disappears silently.
        warn("stray_text", f"{outline.stray_lines} short line(s) without punctuation left out of the tasks")
    if meta.declared_task_count is not None and meta.declared_task_count != len(tasks):
        warn(
            "declared_count_mismatch", f"the notice declares {meta.declared_task_count} tasks; {len(tasks)} were parsed"
        )

    notice = (
        nid,
        source.file_name,
        meta.title,
        meta.issuer,
        meta.doc_number,
        meta.region,
        meta.admin_level,
        meta.doc_type,
        meta.published_date,
        cleaned.script,
        source.encoding,
        source.raw_sha256,
        meta.declared_task_count,
        len(sections),
        len(tasks),
        len(assignments),
        sum(cleaned.removed.values()),
        len(warning_rows),
    )
    unit_rows = [
        (u["unit_id"], u["name"], "|".join(sorted(u["aliases"])), u["region"], u["level"], u["kind"])
        for u in units.values()
    ]
    return ParsedNotice(
        nid,
        {
            "notices": [notice],
            "sections": sections,
            "tasks": tasks,
            "assignments": assignments,
            "units": unit_rows,
            "targets": targets,
            "glossary": [(nid, t, d) for t, d in glossary],
            "warnings": warning_rows,
        },
    )
