"""The one module that reads catalog YAML (layer 4: adapters).

:func:`load_catalog` parses with ruamel.yaml's round-trip loader (it keeps the line and column
of every node), validates structure with the pydantic models, runs the semantic checks and
the generator check, and raises :class:`~configurator.errors.CatalogError` carrying *every*
problem as ``PATH:LINE:COL: message`` (1-based) pointing at the offending node.

Structural problems are reported all together; the semantic pass needs a structurally valid
catalog, so it runs (and reports all its problems together) once the structure is right.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from configurator.core.catalog.checks import Issue, check
from configurator.core.catalog.model import Catalog
from configurator.core.geometry import registry
from configurator.errors import CatalogError, GeometryError, Problem, RequirementsError

SUFFIXES = (".yaml", ".yml")


def load_catalog(path: str | Path) -> Catalog:
    """Load, validate and compile one catalog file; CatalogError lists every problem."""
    catalog, problems = _load(Path(path))
    if problems:
        raise CatalogError(problems)
    assert catalog is not None
    return catalog


def load_catalog_source(raw: bytes, where: str) -> Catalog:
    """Load a catalog from its file bytes (a stored catalog version; ``where`` names it in
    problems); its content hash is the sha256 of ``raw``, as for the file."""
    catalog, problems = _parse(raw, where)
    if problems:
        raise CatalogError(problems)
    assert catalog is not None
    return catalog


def load_catalogs(directory: str | Path) -> dict[str, Catalog]:
    """Every ``*.yaml`` catalog in ``directory`` by id (sorted by file name).

    Raises CatalogError with the problems of every broken file (and duplicate ids).
    """
    catalogs: dict[str, Catalog] = {}
    problems: list[Problem] = []
    for path in catalog_paths(directory):
        catalog, found = _load(path)
        problems.extend(found)
        if catalog is None:
            continue
        if catalog.id in catalogs:
            other = catalogs[catalog.id].path
            problems.append(
                Problem(str(path), 1, 1, f"catalog id {catalog.id!r} is also used by {other}")
            )
            continue
        catalogs[catalog.id] = catalog
    if problems:
        raise CatalogError(problems)
    return catalogs


def find_catalog(ref: str | Path, directory: str | Path) -> Catalog:
    """A catalog by file path, or by id within ``directory`` (``<id>.yaml`` first)."""
    path = Path(ref)
    if path.suffix in SUFFIXES or path.is_file():
        return load_catalog(path)
    for suffix in SUFFIXES:
        candidate = Path(directory) / f"{ref}{suffix}"
        if candidate.is_file():
            catalog = load_catalog(candidate)
            if catalog.id == str(ref):
                return catalog
    catalogs = load_catalogs(directory)
    if str(ref) not in catalogs:
        known = ", ".join(sorted(catalogs)) or "none"
        raise RequirementsError({"catalog": f"unknown catalog {str(ref)!r} (known: {known})"})
    return catalogs[str(ref)]


def catalog_paths(directory: str | Path) -> list[Path]:
    """The catalog files of ``directory`` (``*.yaml``, ``*.yml``), sorted by name."""
    d = Path(directory)
    if not d.is_dir():
        raise CatalogError([Problem(str(d), 0, 0, "catalog directory does not exist")])
    return sorted(p for p in d.iterdir() if p.suffix in SUFFIXES and p.is_file())


def locate(catalog: Catalog, issues: Sequence[Issue]) -> list[Problem]:
    """``issues`` about a loaded catalog as ``PATH:LINE:COL`` problems (its file re-read)."""
    path = Path(catalog.path) if catalog.path else None
    if path is None:
        return [Problem(catalog.id, 0, 0, _location_prefix(i.loc) + i.message) for i in issues]
    text = path.read_text(encoding="utf-8")
    yaml = YAML(typ="rt")
    locator = _Locator(str(path), yaml.load(text), text)
    return sorted(locator.issue(i) for i in issues)


def check_paths(paths: Iterable[str | Path]) -> dict[Path, list[Problem]]:
    """Problems per file (empty list = the file is fine); never raises for bad files."""
    return {Path(p): _load(Path(p))[1] for p in paths}


# ------------------------------------------------------------------------------ internals


def _load(path: Path) -> tuple[Catalog | None, list[Problem]]:
    where = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(where, 0, 0, f"cannot read catalog: {exc.strerror or exc}")]
    catalog, problems = _parse(raw, where)
    if catalog is not None:
        catalog._path = path
    return catalog, problems


def _parse(raw: bytes, where: str) -> tuple[Catalog | None, list[Problem]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw, exc.start)
        byte = raw[exc.start]
        return None, [Problem(where, line, col, f"catalog is not UTF-8 text (byte 0x{byte:02x})")]
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.allow_duplicate_keys = False
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        what = " ".join(str(s) for s in (exc.context, exc.problem) if s)
        return None, [Problem(where, line, col, f"YAML error: {what or exc}")]
    except YAMLError as exc:  # e.g. a control character (ReaderError: a position, no mark)
        position = getattr(exc, "position", None)
        line, col = _line_col(text, position) if isinstance(position, int) else (0, 0)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return None, [Problem(where, line, col, f"YAML error: {first}")]
    except RecursionError:
        line, col = _line_col(text, _deepest_nesting(text))
        return None, [Problem(where, line, col, "YAML error: nesting is too deep")]
    except ValueError as exc:  # ruamel's int() of a number with thousands of digits
        huge = re.search(r"\d{4000,}", text)
        line, col = _line_col(text, huge.start()) if huge else (0, 0)
        return None, [Problem(where, line, col, f"YAML error: {exc}".split(";")[0])]
    if not isinstance(doc, CommentedMap):
        return None, [Problem(where, 1, 1, "a catalog must be a YAML mapping (key: value lines)")]
    locate = _Locator(where, doc, text)
    try:
        catalog = Catalog.model_validate(_plain(doc))
    except ValidationError as exc:
        return None, locate.validation(exc)
    issues, program = check(catalog)
    problems = [locate.issue(i) for i in issues]
    problems.extend(_generator_problems(catalog, locate))
    if problems:
        return None, sorted(set(problems))
    catalog._content_hash = hashlib.sha256(raw).hexdigest()
    catalog._source = raw
    catalog._program = program
    return catalog, []


def _line_col(text: str | bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character (or byte) offset into ``text``."""
    newline = "\n" if isinstance(text, str) else b"\n"
    line = text.count(newline, 0, offset) + 1
    return line, offset - (text.rfind(newline, 0, offset) + 1) + 1


def _deepest_nesting(text: str, limit: int = 100) -> int:
    """Offset where flow brackets first nest ``limit`` deep (0 if they never do)."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch in "[{") - (ch in "]}")
        if depth >= limit:
            return i
    return 0


def _generator_problems(catalog: Catalog, locate: _Locator) -> list[Problem]:
    try:
        declared = registry.parameters_of(catalog.generator)
    except GeometryError as exc:
        return [locate.issue(Issue(("generator",), str(exc)))]
    problems = []
    have = list(catalog.parameters)
    missing = [p for p in declared if p not in catalog.parameters]
    if missing:
        problems.append(
            locate.issue(
                Issue(
                    ("parameters", "<key>"),
                    f"generator {catalog.generator!r} also needs parameter(s) {', '.join(missing)}",
                )
            )
        )
    for name in have:
        if name not in declared:
            problems.append(
                locate.issue(
                    Issue(
                        ("parameters", name, "<key>"),
                        f"generator {catalog.generator!r} does not take parameter {name!r} "
                        f"(it takes {', '.join(declared)})",
                    )
                )
            )
    return problems


def _plain(node: Any) -> Any:
    """ruamel round-trip nodes -> plain dict/list/str/int/float/bool."""
    if isinstance(node, CommentedMap):
        return {_plain(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    if type(node).__name__ == "ScalarBoolean" or isinstance(node, bool):
        return bool(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


class _Locator:
    """Maps a ``loc`` path (keys and indices) to the 1-based position of a YAML node."""

    def __init__(self, path: str, doc: CommentedMap, text: str = ""):
        self.path = path
        self.doc = doc
        self.lines = text.splitlines()

    def position(self, loc: Sequence[Any]) -> tuple[tuple[int, int], Any, int]:
        """((line, col), the node found, how many loc items matched)."""
        node: Any = self.doc
        pos = (0, 0)  # 0-based
        matched = 0
        want_key = False
        for item in loc:
            if item in ("<key>", "[key]"):
                want_key = True
                continue
            if isinstance(node, CommentedMap):
                key = _find_key(node, item)
                if key is _MISSING:
                    continue  # a union tag or a missing field: stay on the parent
                key_pos = node.lc.key(key)
                child = node[key]
                value_pos = node.lc.value(key)
                pos = key_pos if isinstance(child, CommentedMap | CommentedSeq) else value_pos
                node_key_pos = key_pos
                node = child
                matched += 1
                want_key = False
                self._last_key_pos = node_key_pos
            elif isinstance(node, CommentedSeq) and isinstance(item, int) and 0 <= item < len(node):
                pos = node.lc.item(item)
                node = node[item]
                matched += 1
                self._last_key_pos = pos
            else:
                continue
        if want_key and matched:
            pos = self._last_key_pos
        if pos == (0, 0) and not matched:
            return (1, 1), node, 0
        return (pos[0] + 1, pos[1] + 1), node, matched

    def issue(self, issue: Issue) -> Problem:
        (line, col), node, _ = self.position(issue.loc)
        if issue.offset is not None and issue.loc[-1:] != ("<key>",):
            line, col = self._inside_scalar(line, col, node, issue.offset)
        return Problem(self.path, line, col, _location_prefix(issue.loc) + issue.message)

    def _inside_scalar(
        self, line: int, col: int, node: Any, offset: tuple[int, int]
    ) -> tuple[int, int]:
        """Map (line, col) within an expression's text to the file, following YAML folding."""
        dline, dcol = offset
        if not self.lines or line < 1:
            return line, col
        if isinstance(node, LiteralScalarString | FoldedScalarString):
            segments = self._block_segments(line)
            if isinstance(node, LiteralScalarString):
                if dline - 1 < len(segments):
                    seg_line, seg_col, _ = segments[dline - 1]
                    return seg_line, seg_col + dcol - 1
                return line, col
        else:
            quoted = isinstance(node, DoubleQuotedScalarString | SingleQuotedScalarString)
            first = self.lines[line - 1][col - 1 + (1 if quoted else 0) :]
            segments = [(line, col + (1 if quoted else 0), first)]
            for i in range(line, min(line + 200, len(self.lines))):
                stripped = self.lines[i].lstrip()
                segments.append((i + 1, len(self.lines[i]) - len(stripped) + 1, stripped))
        # folded text: lines joined by one space; walk the character offset through them
        rest = dcol - 1
        for _ in range(dline - 1):  # an explicit newline inside (rare): skip a segment
            segments = segments[1:] or segments
        for seg_line, seg_col, seg_text in segments:
            if rest <= len(seg_text.rstrip()):
                return seg_line, seg_col + rest
            rest -= len(seg_text.rstrip()) + 1
        return line, col

    def _block_segments(self, header_line: int) -> list[tuple[int, int, str]]:
        """Content lines of a block scalar whose indicator is on ``header_line`` (1-based)."""
        segments: list[tuple[int, int, str]] = []
        indent = None
        for i in range(header_line, len(self.lines)):
            raw = self.lines[i]
            if not raw.strip():
                continue
            lead = len(raw) - len(raw.lstrip())
            if indent is None:
                indent = lead
            elif lead < indent:
                break
            segments.append((i + 1, indent + 1, raw[indent:]))
        return segments

    def validation(self, exc: ValidationError) -> list[Problem]:
        """One Problem per pydantic error; union branches merged to the most specific."""
        groups: dict[tuple, list[tuple[int, tuple[int, int], str]]] = {}
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if err.get("type") == "extra_forbidden":
                loc = (*loc, "<key>")
            (line, col), _node, matched = self.position(loc)
            message = _location_prefix(_matched_items(self, loc)) + _message(err)
            cut = _first_unmatched(self, loc)
            union = err.get("type") != "missing" and cut < len(loc) and loc[cut] != "<key>"
            # union branches share the prefix up to where they diverge: keep the deepest
            key = ("union", loc[:cut]) if union else ("plain", loc, message)
            groups.setdefault(key, []).append((matched, (line, col), message))
        problems: list[Problem] = []
        for errs in groups.values():
            best = max(m for m, _, _ in errs)
            by_pos: dict[tuple[int, int], list[str]] = {}
            for m, pos, msg in errs:
                if m == best and msg not in by_pos.setdefault(pos, []):
                    by_pos[pos].append(msg)
            for (line, col), msgs in by_pos.items():
                text = msgs[0] if len(msgs) == 1 else _either(msgs)
                problems.append(Problem(self.path, line, col, text))
        return sorted(set(problems))


def _matched_items(locator: _Locator, loc: tuple) -> list[Any]:
    """The items of ``loc`` that name real YAML nodes (union tags dropped)."""
    node: Any = locator.doc
    out: list[Any] = []
    for item in loc:
        if isinstance(node, CommentedMap) and _find_key(node, item) is not _MISSING:
            node = node[_find_key(node, item)]
            out.append(item)
        elif isinstance(node, CommentedSeq) and isinstance(item, int) and 0 <= item < len(node):
            node = node[item]
            out.append(item)
    return out


def _first_unmatched(locator: _Locator, loc: tuple) -> int:
    node: Any = locator.doc
    for i, item in enumerate(loc):
        if isinstance(node, CommentedMap) and _find_key(node, item) is not _MISSING:
            node = node[_find_key(node, item)]
        elif isinstance(node, CommentedSeq) and isinstance(item, int) and 0 <= item < len(node):
            node = node[item]
        else:
            return i
    return len(loc)


_MISSING = object()


def _find_key(node: CommentedMap, item: Any) -> Any:
    if item in node:
        return item
    for k in node:  # keys read as numbers (2.7) but validated as labels ("2.7")
        if str(k) == str(item):
            return k
    return _MISSING


def _location_prefix(loc: Sequence[Any]) -> str:
    parts = [str(x) for x in loc if x not in ("<key>", "[key]")]
    return f"{'.'.join(parts)}: " if parts else ""


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return f"missing required key {err['loc'][-1]!r}"
    msg = str(err["msg"])
    for old, new in (
        ("Input should be", "must be"),
        ("String should", "must"),
        ("Dictionary should", "must"),
        ("List should", "must"),
        ("Value should", "must"),
        ("Tuple should", "must"),
    ):
        if msg.startswith(old):
            return new + msg[len(old) :]
    return msg


def _either(msgs: list[str]) -> str:
    head, sep, _ = msgs[0].rpartition(": ")
    prefix = head + sep
    parts = [m.removeprefix(prefix).removeprefix("must be ").strip() for m in msgs]
    return prefix + "must be " + ", or ".join(parts)
