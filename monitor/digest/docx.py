"""Render a digest view as a Word document (.docx) and write it atomically beside the other formats.

Layouts follow the bulletins the editors publish (see ``monitor/digest/templates``): ``cas`` and
``zj`` group entries under section headings, ``idei`` numbers them and cites each source in a real
Word footnote. python-docx has no API for hyperlinks or footnotes, so both are built here from
OOXML elements: a hyperlink is a ``w:hyperlink`` pointing at an external relationship, footnotes
live in a ``footnotes.xml`` part related to the document.

Text from the web goes in only as text runs (python-docx escapes it), after removing characters
XML cannot hold; only http(s) URLs become links. Scores and selection reasons are not shown.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Mm, Pt, RGBColor
from docx.styles.style import CharacterStyle, ParagraphStyle
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from monitor.digest.render import safe_url, write_atomic
from monitor.digest.view import DigestView, ItemView, Related, SectionView

LAYOUTS = ("cas", "zj", "idei")
LATIN_FONT = "Times New Roman"
BODY_FONT = "SimSun"  # 宋体
HEADING_FONT = "SimHei"  # 黑体
BODY_SIZE = Pt(10.5)  # 五号
ACCENT = RGBColor(0x1A, 0x3D, 0x7C)
GREY = RGBColor(0x55, 0x55, 0x55)
LINK_BLUE = RGBColor(0x05, 0x63, 0xC1)
HYPERLINK_STYLE_ID = "Hyperlink"
FOOTNOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"

_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SEPARATORS = (
    f"<w:footnotes {nsdecls('w', 'r')}>"
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" w:line="240"'
    ' w:lineRule="auto"/></w:pPr><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0"'
    ' w:line="240" w:lineRule="auto"/></w:pPr><w:r><w:continuationSeparator/></w:r></w:p>'
    "</w:footnote></w:footnotes>"
)


def clean(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (control chars, lone surrogates)."""
    return _XML_ILLEGAL.sub("", text)


def one_line(text: str) -> str:
    """Clean text on a single line: for headlines, titles and names."""
    return " ".join(clean(text).split())


def render_docx(view: DigestView, layout: str, issue: int | None = None) -> bytes:
    """The digest as a .docx file in the profile's ``layout`` (cas, zj or idei)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r} (supported: {', '.join(LAYOUTS)})")
    doc = _new_document(view)
    _title_block(doc, view, issue)
    if not view.sections:
        doc.add_paragraph(f"本周（{view.period}）没有符合条件的条目。")
    else:
        _contents(doc, view, layout)
        first = len(doc.paragraphs)
        _body(doc, view, layout)
        doc.paragraphs[first].paragraph_format.page_break_before = True
    _outages(doc, view)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def write_docx(data: bytes, directory: Path, week: str, profile: str) -> Path:
    """Write ``{week}.{profile}.docx`` atomically (a temporary file in the same directory)."""
    path = directory / f"{week}.{profile}.docx"
    write_atomic(path, data)
    return path


# --- document, page and styles ---------------------------------------------------------------


def _new_document(view: DigestView) -> DocumentObject:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(25)
    _page_number_footer(doc)
    _styles(doc)
    props = doc.core_properties
    props.title = one_line(view.title)
    props.subject = one_line(view.period_zh)
    props.author = props.last_modified_by = "monitor"
    props.language = "zh-CN"
    return doc


def _page_number_footer(doc: DocumentObject) -> None:
    paragraph = doc.sections[0].footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _set_fonts(rpr: BaseOxmlElement, latin: str, east_asia: str) -> None:
    """Explicit fonts; theme attributes would override them, so they go."""
    fonts = rpr.get_or_add_rFonts()
    for name in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{name}"), None)
    for name in ("ascii", "hAnsi", "cs"):
        fonts.set(qn(f"w:{name}"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def _styles(doc: DocumentObject) -> None:
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}") if defaults is not None else None
    if rpr is not None:
        _set_fonts(rpr, LATIN_FONT, BODY_FONT)
        lang = rpr.find(qn("w:lang"))
        if lang is not None:
            lang.set(qn("w:eastAsia"), "zh-CN")
    normal = _paragraph_style(doc, "Normal", size=BODY_SIZE)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.25
    _heading_styles(doc)
    _paragraph_style(doc, "Summary", size=Pt(10), color=GREY).paragraph_format.left_indent = Pt(21)
    _paragraph_style(doc, "Meta", size=Pt(9), color=GREY)
    _paragraph_style(doc, "Contents Section", size=BODY_SIZE, bold=True)
    _paragraph_style(doc, "Contents Entry", size=BODY_SIZE).paragraph_format.left_indent = Pt(21)
    _paragraph_style(doc, "Contents Numbered", size=BODY_SIZE)
    _paragraph_style(doc, "footnote text", size=Pt(9)).paragraph_format.space_after = Pt(0)
    _character_style(doc, "footnote reference").font.superscript = True
    link = _character_style(doc, "Hyperlink").font
    link.color.rgb, link.underline = LINK_BLUE, True


def _heading_styles(doc: DocumentObject) -> None:
    title = _paragraph_style(doc, "Title", size=Pt(22), color=ACCENT, font=HEADING_FONT)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(6)
    for name, size in (("Heading 1", Pt(16)), ("Heading 2", Pt(12)), ("TOC Heading", Pt(14))):
        style = _paragraph_style(doc, name, size=size, color=ACCENT, font=HEADING_FONT)
        style.paragraph_format.space_before = Pt(12)
        style.paragraph_format.space_after = Pt(6)


def _paragraph_style(
    doc: DocumentObject,
    name: str,
    *,
    size: Pt,
    color: RGBColor | None = None,
    bold: bool | None = None,
    font: str = BODY_FONT,
) -> ParagraphStyle:
    if name in [s.name for s in doc.styles]:
        style = doc.styles[name]
    else:
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles["Normal"]
    assert isinstance(style, ParagraphStyle)
    style.font.size = size
    if color is not None:
        style.font.color.rgb = color
    if bold is not None:
        style.font.bold = bold
    _set_fonts(style.element.get_or_add_rPr(), LATIN_FONT, font)
    return style


def _character_style(doc: DocumentObject, name: str) -> CharacterStyle:
    style = doc.styles.add_style(name, WD_STYLE_TYPE.CHARACTER)
    assert isinstance(style, CharacterStyle)
    return style


def _style_id(doc: DocumentObject, name: str) -> str:
    return str(doc.styles[name].style_id)


# --- title block and contents ------------------------------------------------------------------


def _title_block(doc: DocumentObject, view: DigestView, issue: int | None) -> None:
    doc.add_paragraph(one_line(view.title), style="Title")
    line = doc.add_paragraph()
    line.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if issue is not None:
        line.add_run(f"第{issue}期").bold = True
        line.add_run("\u3000\u3000")
    line.add_run(one_line(view.period_zh))


def _contents(doc: DocumentObject, view: DigestView, layout: str) -> None:
    if layout == "zj":
        doc.add_paragraph("本期内容提要", style="TOC Heading")
        for item in view.highlights:
            _internal_link(doc.add_paragraph(style="Contents Entry"), item, one_line(item.headline))
    doc.add_paragraph("本期目录", style="TOC Heading")
    if layout == "idei":
        for item in _items(view):
            text = f"{item.number}. {one_line(item.headline)}"
            _internal_link(doc.add_paragraph(style="Contents Numbered"), item, text)
        return
    for section in view.sections:
        doc.add_paragraph(one_line(section.label), style="Contents Section")
        for item in section.items:
            _internal_link(doc.add_paragraph(style="Contents Entry"), item, one_line(item.headline))


def _items(view: DigestView) -> Iterable[ItemView]:
    return (item for section in view.sections for item in section.items)


def _anchor(item: ItemView) -> str:
    return f"item_{item.number}"


def _internal_link(paragraph: Paragraph, item: ItemView, text: str) -> None:
    """``text`` as a link to the entry's bookmark (Ctrl+click in Word jumps there)."""
    link = OxmlElement("w:hyperlink")
    link.set(qn("w:anchor"), _anchor(item))
    link.append(paragraph.add_run(text)._r)
    paragraph._p.append(link)


def _bookmark(run: Run, item: ItemView) -> None:
    """Mark ``run`` as the target of the contents entry for ``item``."""
    start, end = OxmlElement("w:bookmarkStart"), OxmlElement("w:bookmarkEnd")
    start.set(qn("w:id"), str(item.number))
    start.set(qn("w:name"), _anchor(item))
    end.set(qn("w:id"), str(item.number))
    run._r.addprevious(start)
    run._r.addnext(end)


# --- entries -----------------------------------------------------------------------------------


def _outages(doc: DocumentObject, view: DigestView) -> None:
    """The sources that failed or went quiet this week: for the editors to check by hand."""
    if not view.outages:
        return
    doc.add_heading("本周监测异常的信息源", level=1)
    doc.add_paragraph(
        "以下信息源本周抓取失败或没有动态，其内容可能未能收入本期，请编辑核查：", style="Meta"
    )
    for outage in view.outages:
        doc.add_paragraph(
            f"{one_line(outage.publisher)}（{one_line(outage.name)}）：{one_line(outage.problem)}",
            style="Meta",
        )


def _body(doc: DocumentObject, view: DigestView, layout: str) -> None:
    if layout == "idei":
        notes = _Footnotes(doc)
        for item in _items(view):
            _idei_entry(doc, item, notes)
        return
    for section in view.sections:
        _section(doc, section, layout)


def _section(doc: DocumentObject, section: SectionView, layout: str) -> None:
    doc.add_heading(one_line(section.label), level=1)
    for item in section.items:
        _headline(doc, item, level=2, text=one_line(item.headline))
        last = _text(doc, item)
        if layout == "zj":
            last.add_run(f"（{one_line(item.publisher)}）")
            _topics(doc, item)
            _source_line(doc, f"原文：[{item.date}] ", item.title, item.url)
        else:
            _topics(doc, item)
            _cas_attribution(doc, item)
        _related(doc, item.related)
        _follow_up(doc, item)


def _headline(doc: DocumentObject, item: ItemView, level: int, text: str) -> Paragraph:
    heading = doc.add_heading(level=level)
    _bookmark(heading.add_run(text), item)
    return heading


def _text(doc: DocumentObject, item: ItemView) -> Paragraph:
    """Lead and summary; returns the last paragraph written."""
    last = doc.add_paragraph(clean(item.lead))
    last.paragraph_format.first_line_indent = BODY_SIZE * 2
    if item.summary:
        last = doc.add_paragraph(clean(item.summary), style="Summary")
    return last


def _topics(doc: DocumentObject, item: ItemView) -> None:
    if item.topics:
        doc.add_paragraph(f"主题：{one_line(item.topics)}", style="Meta")


def _follow_up(doc: DocumentObject, item: ItemView) -> None:
    if item.follow_up:
        doc.add_paragraph(clean(item.follow_up), style="Meta")


def _cas_attribution(doc: DocumentObject, item: ItemView) -> None:
    credit = doc.add_paragraph(f"编译自[{item.date}]")
    if not item.date_known:
        credit.add_run("（首次发现日期）")
    credit.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    title = doc.add_paragraph(one_line(item.title))
    for paragraph in (credit, title):  # the attribution stays together on one page
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.paragraph_format.keep_with_next = bool(item.url)
    if item.url:
        _link_or_text(doc.add_paragraph(), item.url, item.url)


def _related(doc: DocumentObject, related: tuple[Related, ...]) -> None:
    if related:
        doc.add_paragraph("相关报道：", style="Meta").paragraph_format.keep_with_next = True
    for r in related:
        _source_line(doc, f"{one_line(r.publisher)} [{r.date}] ", r.title, r.url)


def _source_line(doc: DocumentObject, prefix: str, title: str, url: str) -> None:
    paragraph = doc.add_paragraph(style="Meta")
    paragraph.add_run(one_line(prefix))
    paragraph.add_run(" ")
    _link_or_text(paragraph, url, title)


def _link_or_text(paragraph: Paragraph, url: str, text: str) -> Run | None:
    """A clickable link for an http(s) ``url``; anything else is shown as plain text."""
    target = safe_url(url)
    if not target:
        return paragraph.add_run(one_line(text)) if text else None
    rid = paragraph.part.relate_to(target, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rid)
    run = paragraph.add_run(one_line(text if text != url else target))
    run._r.get_or_add_rPr().style = HYPERLINK_STYLE_ID
    link.append(run._r)
    paragraph._p.append(link)
    return run


# --- idei: numbered entries with footnotes -----------------------------------------------------


def _idei_entry(doc: DocumentObject, item: ItemView, notes: _Footnotes) -> None:
    heading = _headline(doc, item, level=1, text=f"{item.number}. {one_line(item.headline)}")
    sources = [(item.publisher, item.title, item.date, item.url)]
    sources += [(r.publisher, r.title, r.date, r.url) for r in item.related]
    notes.cite(heading, sources)
    _text(doc, item)
    _topics(doc, item)
    _follow_up(doc, item)


class _Footnotes:
    """The document's footnotes part, created with its separator footnotes (ids -1 and 0)."""

    def __init__(self, doc: DocumentObject) -> None:
        self._doc = doc
        self._element = parse_xml(_SEPARATORS)
        package = doc.part.package
        assert package is not None
        self.part = XmlPart(PackURI("/word/footnotes.xml"), FOOTNOTES_CT, self._element, package)
        doc.part.relate_to(self.part, RT.FOOTNOTES)
        self._next = 1
        self._ref_style = _style_id(doc, "footnote reference")
        self._text_style = _style_id(doc, "footnote text")

    def cite(self, paragraph: Paragraph, sources: list[tuple[str, str, str, str]]) -> int:
        """Put a footnote mark at the end of ``paragraph``; the note cites each source in turn.

        A source is (publisher, title, date, url).
        """
        number, self._next = self._next, self._next + 1
        paragraph._p.append(self._mark("w:footnoteReference", number))
        note = OxmlElement("w:footnote")
        note.set(qn("w:id"), str(number))
        self._element.append(note)
        for index, (publisher, title, day, url) in enumerate(sources):
            p = Paragraph(self._paragraph(note), self.part)
            if index == 0:
                p._p.append(self._mark("w:footnoteRef", None))
            lead = " " if index == 0 else ""
            p.add_run(f"{lead}资料来源：{one_line(publisher)} {one_line(title)}, {day}. ")
            _link_or_text(p, url, url)
        return number

    def _paragraph(self, note: BaseOxmlElement) -> BaseOxmlElement:
        p = OxmlElement("w:p")
        ppr = OxmlElement("w:pPr")
        style = OxmlElement("w:pStyle")
        style.set(qn("w:val"), self._text_style)
        ppr.append(style)
        p.append(ppr)
        note.append(p)
        return p

    def _mark(self, tag: str, number: int | None) -> BaseOxmlElement:
        run, rpr, style, mark = (OxmlElement(t) for t in ("w:r", "w:rPr", "w:rStyle", tag))
        style.set(qn("w:val"), self._ref_style)
        rpr.append(style)
        run.append(rpr)
        if number is not None:
            mark.set(qn("w:id"), str(number))
        run.append(mark)
        return run
