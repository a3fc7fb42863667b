"""HTML -> PDF with WeasyPrint, one part at a time, fetching nothing outside the project.

Laying out and drawing a 40-page handout takes WeasyPrint half a minute, so a page is cut into
parts (cut), each part's PDF is cached by its HTML (layout), and the parts are joined (join): a
prose edit lays out one chapter again, not the book. Within a part, figures and formulas are
drawn once each and stamped onto the boxes they take (stamps), so laying a chapter out again
does not draw them again. What must count across parts is filled in afterwards (document): the
contents page is laid out last, once every anchor's page is known, and page numbers come from
one pass over empty pages laid over the parts. The PDF is tagged (PDF/UA-1) for screen readers:
WeasyPrint tags each part, and what topicgen does after it keeps one valid structure tree (tags).

The modules import one way: part (shared leaf), cut and tags; then stamps; then layout and
join; then document, which this package's names come from.
"""

from topicgen.publish.pdf.document import html_to_pdf
from topicgen.publish.pdf.layout import Layout

__all__ = ["Layout", "html_to_pdf"]
