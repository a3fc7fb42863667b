"""The tagged PDF's structure tree (PDF/UA-1): what WeasyPrint tags, mended where topicgen
draws or joins on its own.

WeasyPrint tags each part it lays out: headings, paragraphs, lists, tables, links, and each
inline <svg> as a Figure whose /Alt is the SVG's <title>. Two steps of topicgen's would break
that tree, and WeasyPrint leaves two things PDF/UA asks otherwise (running heads hang from
no parent: untag_margins; a link's annotation may sit under a child of the Link: nest_links),
so they are mended here:
- a drawing stamped over its placeholder (see stamps) is drawn outside any marked content. The
  placeholder is titled with its own name, which finds its Figure again; the stamp is drawn as
  marked content of that Figure (a new MCID), which takes the drawing's real alt text and, for
  a formula, the structure type Formula.
- joining parts (see join) copies pages, not structure trees: the joined tree is one Document
  holding each part's elements in reading order, with each part's parent-tree keys moved past
  the previous part's (each part names its table-header cells apart: unique_header_ids).
"""

from __future__ import annotations

import re
from html import unescape

from topicgen.svg import svg_title

ARIA_LABEL = re.compile(r"""<svg\b[^>]*?\saria-label\s*=\s*(["'])(.*?)\1""", re.S | re.I)
FORMULA = re.compile(r"<svg\b[^>]*\sdata-mathra-version=", re.I)
"""topicgen's formulas are typeset by mathra, which marks its SVGs."""


def alt_text(svg: str) -> str:
    """What a screen reader says for `svg`: its <title> (a formula's spoken form, a figure's
    alt text), else its aria-label, else nothing."""
    if title := svg_title(svg):
        return " ".join(title.split())
    if label := ARIA_LABEL.search(svg):
        return " ".join(unescape(label.group(2)).split())
    return ""


def structure_type(svg: str) -> str:
    return "Formula" if FORMULA.search(svg) else "Figure"


def placeholder_figures(pdf, prefix: str) -> dict[str, object]:
    """Each Figure element whose /Alt starts with `prefix` (a placeholder's title), by that
    /Alt. Figures own marked content, so the parent tree lists them all."""
    from pikepdf import Array, Name, NumberTree

    root = pdf.Root.get(Name.StructTreeRoot)
    if root is None:
        return {}
    found = {}
    for _, owners in NumberTree(root.ParentTree).items():
        for owner in owners if isinstance(owners, Array) else [owners]:
            alt = None if owner is None else owner.get(Name.Alt)  # None: see untag_margins
            if alt is not None and owner.get(Name.S) == Name.Figure \
                    and str(alt).startswith(prefix):
                found[str(alt)] = owner
    return found


def tag_drawing(pdf, page, figure, svg: str) -> str:
    """Make the stamp of `svg` onto `page` part of its placeholder's `figure` element: the
    element gets the drawing's alt text and type, and a new marked-content id on `page`.
    Returns the marked-content operator that opens the stamp's drawing (closed by EMC)."""
    from pikepdf import Name, String

    kind = structure_type(svg)
    figure.S = Name(f"/{kind}")
    figure.Alt = String(alt_text(svg))
    return f"/{kind} <</MCID {own_marked_id(pdf, page, figure)}>> BDC"


def own_marked_id(pdf, page, element) -> int:
    """A new marked-content id on `page`, which `element` owns (the parent tree says so)."""
    from pikepdf import Array, Name, NumberTree

    owners = NumberTree(pdf.Root.StructTreeRoot.ParentTree)[int(page.obj.StructParents)]
    mcid = len(owners)
    owners.append(element)
    if not isinstance(element.get(Name.K), Array):
        element.K = Array([] if Name.K not in element else [element.K])
    element.K.append(mcid)
    return mcid


MARKED_CONTENT = re.compile(rb"/(\w+)\s*<<\s*/MCID\s+(\d+)\s*>>\s*BDC")
"""Where WeasyPrint opens a tagged piece of content (its text is hex glyph codes, so this
never matches inside a string)."""


def untag_margins(pdf) -> None:
    """What WeasyPrint draws in page margins (topicgen's running heads) it tags with elements
    that hang from no parent: below PDF 2.0 it cannot tag them as artifacts. A screen reader
    should skip a running head, and PDF/UA wants every tagged piece of content in the tree,
    so those pieces become artifacts and their elements go."""
    from pikepdf import Array, Name, NumberTree

    root = pdf.Root.get(Name.StructTreeRoot)
    if root is None:
        return
    document = root.K[0]
    in_tree = {kid.objgen: True for kid in document.K}

    def reachable(element) -> bool:
        climbed = []
        while element.objgen not in in_tree and element.P.objgen != document.objgen:
            climbed.append(element.objgen)
            element = element.P
        found = in_tree.setdefault(element.objgen, False)
        in_tree.update(dict.fromkeys(climbed, found))
        return found

    parent_tree = NumberTree(root.ParentTree)
    for page in pdf.pages:
        owners = parent_tree[int(page.obj.StructParents)]
        margins = {mcid for mcid, owner in enumerate(owners) if not reachable(owner)}
        if not margins:
            continue
        for mcid in margins:
            owners[mcid] = None
        def artifact(match: re.Match, margins: set[int] = margins) -> bytes:
            return b"/Artifact BMC" if int(match.group(2)) in margins else match.group(0)

        contents = page.obj.Contents
        for stream in contents if isinstance(contents, Array) else [contents]:
            stream.write(MARKED_CONTENT.sub(artifact, stream.read_bytes()))


def nest_links(pdf) -> None:
    """WeasyPrint gives the annotation of a link's child element (the section number in a
    contents entry) to that child's element; PDF/UA wants each link annotation held by a
    Link element, so it moves up to the Link around it."""
    from pikepdf import Dictionary, Name, NumberTree

    root = pdf.Root.get(Name.StructTreeRoot)
    if root is None:
        return
    parent_tree = NumberTree(root.ParentTree)
    for page in pdf.pages:
        for annotation in page.obj.get(Name.Annots, []):
            if Name.StructParent not in annotation:
                continue
            holder = parent_tree[int(annotation.StructParent)]
            link = holder
            while link.get(Name.S) != Name.Link and link.get(Name.Type) == Name.StructElem:
                link = link.P
            if link is holder or link.get(Name.S) != Name.Link:
                continue
            reference = next(kid for kid in holder.K if isinstance(kid, Dictionary)
                             and kid.get(Name.Type) == Name.OBJR
                             and kid.Obj.objgen == annotation.objgen)
            holder.K.remove(reference)
            link.K.append(reference)
            parent_tree[int(annotation.StructParent)] = link


def describe_links(pdf, words: list[list[str]]) -> None:
    """Give each link annotation its words as the Contents a screen reader announces
    ("Figure 4"), where WeasyPrint wrote its target's id ("fig-decay"). `words`: per page,
    what each of its links says, in the order WeasyPrint added their annotations."""
    from pikepdf import Name, String

    for page, said in zip(pdf.pages, words, strict=True):
        links = [annotation for annotation in page.obj.get(Name.Annots, [])
                 if annotation.get(Name.Subtype) == Name.Link]
        if len(links) != len(said):  # not the links WeasyPrint was given: leave its ids
            continue
        for annotation, text in zip(links, said, strict=True):
            if text:
                annotation.Contents = String(text)


def merge_structure(joined, sources: list) -> None:
    """One structure tree for `joined`, whose pages are the pages of the tagged PDFs `sources`
    in order (copied from them before this is called, so each element's /Pg and link /Obj are
    the copies)."""
    from pikepdf import Array, Dictionary, Name, NumberTree

    document = joined.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document,
                                               K=Array()))
    root = joined.make_indirect(Dictionary(Type=Name.StructTreeRoot, K=Array([document])))
    document.P = root
    parent_tree = NumberTree.new(joined)
    first_page = next_key = 0
    for source in sources:
        pages = joined.pages[first_page:first_page + len(source.pages)]
        first_page += len(source.pages)
        source_root = source.Root.get(Name.StructTreeRoot)
        if source_root is None:
            continue
        keys = []
        for key, owners in NumberTree(source_root.ParentTree).items():
            keys.append(key)
            parent_tree[next_key + key] = (
                Array([owner and joined.copy_foreign(owner) for owner in owners])
                if isinstance(owners, Array) else joined.copy_foreign(owners))
        for page in pages:
            if Name.StructParents in page.obj:
                page.obj.StructParents = next_key + int(page.obj.StructParents)
            for annotation in page.obj.get(Name.Annots, []):
                if Name.StructParent in annotation:
                    annotation.StructParent = next_key + int(annotation.StructParent)
        next_key += max(keys, default=-1) + 1
        for top in source_root.K[0].K:
            element = joined.copy_foreign(top)
            element.P = document
            document.K.append(element)
    root.ParentTree = parent_tree.obj
    root.ParentTreeNextKey = next_key
    joined.Root.StructTreeRoot = root
    joined.Root.MarkInfo = Dictionary(Marked=True)
    joined.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)


def unique_header_ids(pdf, prefix: str) -> None:
    """WeasyPrint names a table's header cells by its own object numbers, which repeat from
    part to part: each /ID, and each data cell's /Headers naming one, gets `prefix` (one per
    part) so that they stay unique in the joined PDF."""
    from pikepdf import Array, Dictionary, Name, String

    root = pdf.Root.get(Name.StructTreeRoot)
    stack = [] if root is None else list(root.K)
    while stack:
        element = stack.pop()
        if Name.ID in element:
            element.ID = String(prefix + str(element.ID))
        attributes = element.get(Name.A)
        if isinstance(attributes, Dictionary) and Name.Headers in attributes:
            attributes.Headers = Array([String(prefix + str(header))
                                        for header in attributes.Headers])
        stack += [kid for kid in element.get(Name.K, [])
                  if isinstance(kid, Dictionary) and kid.get(Name.Type) == Name.StructElem]
