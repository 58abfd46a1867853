"""The digest as a Word document: built from hand-made views, read back with python-docx and as
raw OOXML parts."""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from lxml import etree

from monitor.digest.docx import clean, render_docx, write_docx
from monitor.digest.view import DigestView, ItemView, Related, SectionView

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
RT_HYPERLINK = f"{R}/hyperlink"
RT_FOOTNOTES = f"{R}/footnotes"
NS = {"w": W, "r": R, "pr": PKG}

HOSTILE_TITLE = "Evil\x00\x07 <script>alert(1)</script> & \x1b\ufffe title"
HOSTILE_CLEAN = "Evil <script>alert(1)</script> & title"


def entry(number: int, headline: str, title: str, url: str, **changes: object) -> ItemView:
    base = ItemView(
        number=number,
        item_id=100 + number,
        headline=headline,
        lead=f"9月{number}日，美国国家科学基金会（NSF）宣布：{headline}。",
        summary=f"Summary of {title}.",
        date=f"2024-09-{number:02d}",
        date_zh=f"9月{number}日",
        date_known=True,
        publisher="美国国家科学基金会（NSF）",
        topics="半导体、先进制造",
        why=("score 0.91", "semiconductors: 'semiconductor*' in title +3.0"),
        score="0.91",
        title=title,
        url=url,
        related=(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


NSF = entry(
    1,
    "美 NSF 投资4240万美元支持未来半导体研究",
    "NSF invests $42.4 million in future semiconductor research",
    "https://new.nsf.gov/news/nsf-invests-42-4-million-future-semiconductor",
    related=(
        Related(
            "美国商务部（DOC）",
            "2024-09-02",
            "CHIPS for America announces research funding",
            "https://www.commerce.gov/news/chips-research",
        ),
    ),
    follow_up="后续报道：该事件此前已由美国商务部（DOC）于2024-09-02发布（见相关报道）",
)
EPSRC = entry(
    2,
    "英 EPSRC 资助先进材料制造中心",
    "New research hubs to transform materials manufacturing",
    "https://www.ukri.org/news/new-research-hubs/",
    publisher="英国工程与自然科学研究理事会（EPSRC）",
    summary="",
)
HOSTILE = entry(
    3,
    "恶意\x0b标题<script>",
    HOSTILE_TITLE,
    "javascript:alert(1)",
    date_known=False,
    topics="",
)
MIT = entry(
    4,
    "MIT 开发新型固态电池电解质",
    "New solid electrolyte could make lithium-metal batteries safer",
    "https://news.mit.edu/2024/solid-electrolyte-0904",
    publisher="麻省理工学院（MIT）",
    topics="电池材料",
)
ENTRIES = (NSF, EPSRC, HOSTILE, MIT)
URLS = {
    NSF.url,
    NSF.related[0].url,
    EPSRC.url,
    MIT.url,
}
VIEW = DigestView(
    title="先进制造与新材料动态监测快报",
    week="2024-W36",
    period="2024-09-02 — 2024-09-08",
    period_zh="2024年9月2日—9月8日",
    count=4,
    sections=(
        SectionView("feature", "专题", (NSF,)),
        SectionView("funding", "项目资助", (EPSRC, HOSTILE)),
        SectionView("research", "研究进展", (MIT,)),
    ),
    highlights=(NSF, MIT),
)
LAYOUTS = ("cas", "zj", "idei")


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def xml(data: bytes, name: str) -> etree._Element:
    return etree.fromstring(parts(data)[name])


def open_docx(data: bytes) -> DocumentObject:
    return Document(io.BytesIO(data))


def texts(doc: DocumentObject) -> list[str]:
    return [p.text for p in doc.paragraphs]


def headings(doc: DocumentObject) -> list[tuple[str, str]]:
    return [
        (p.style.name, p.text)
        for p in doc.paragraphs
        if p.style is not None and p.style.name.startswith("Heading")
    ]


def hyperlink_targets(data: bytes, rels_name: str) -> dict[str, tuple[str, str | None]]:
    """rId → (target, TargetMode) for the hyperlink relationships of one part."""
    rels = xml(data, rels_name)
    return {
        rel.get("Id"): (rel.get("Target"), rel.get("TargetMode"))
        for rel in rels.iterfind("pr:Relationship", NS)
        if rel.get("Type") == RT_HYPERLINK
    }


@pytest.fixture(scope="module", params=LAYOUTS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, bytes]:
    return request.param, render_docx(VIEW, request.param, issue=12)


def test_every_layout_is_a_valid_zip_that_python_docx_opens(rendered: tuple[str, bytes]) -> None:
    _, data = rendered
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert {"[Content_Types].xml", "word/document.xml", "word/styles.xml"} <= set(
            archive.namelist()
        )
    doc = open_docx(data)
    assert doc.core_properties.title == VIEW.title
    section = doc.sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4


def test_title_block_has_title_issue_and_period(rendered: tuple[str, bytes]) -> None:
    _, data = rendered
    paragraphs = open_docx(data).paragraphs
    assert paragraphs[0].text == VIEW.title
    assert paragraphs[0].style is not None and paragraphs[0].style.name == "Title"
    assert "第12期" in paragraphs[1].text
    assert VIEW.period_zh in paragraphs[1].text


def test_without_an_issue_number_the_title_block_has_only_the_period() -> None:
    doc = open_docx(render_docx(VIEW, "cas"))
    assert doc.paragraphs[1].text == VIEW.period_zh


def test_cas_headings_in_order_with_heading_styles() -> None:
    doc = open_docx(render_docx(VIEW, "cas", issue=12))
    assert headings(doc) == [
        ("Heading 1", "专题"),
        ("Heading 2", NSF.headline),
        ("Heading 1", "项目资助"),
        ("Heading 2", EPSRC.headline),
        ("Heading 2", "恶意标题<script>"),
        ("Heading 1", "研究进展"),
        ("Heading 2", MIT.headline),
    ]


def test_cas_contents_list_sections_and_headlines_before_the_body() -> None:
    doc = open_docx(render_docx(VIEW, "cas"))
    lines = texts(doc)
    start = lines.index("本期目录")
    styles = [p.style.name if p.style is not None else "" for p in doc.paragraphs]
    body = styles.index("Heading 1")
    assert lines[start + 1 : start + 8] == [
        "专题",
        NSF.headline,
        "项目资助",
        EPSRC.headline,
        "恶意标题<script>",
        "研究进展",
        MIT.headline,
    ]
    assert body == start + 8  # the body starts after the contents, on a new page
    assert doc.paragraphs[body].paragraph_format.page_break_before


def test_cas_entry_anatomy_lead_summary_topics_attribution_related_follow_up() -> None:
    lines = texts(open_docx(render_docx(VIEW, "cas")))
    at = lines.index(NSF.headline, lines.index("专题", lines.index("本期目录") + 2))
    assert lines[at + 1 : at + 10] == [
        NSF.lead,
        NSF.summary,
        "主题：半导体、先进制造",
        "编译自[2024-09-01]",
        NSF.title,
        NSF.url,
        "相关报道：",
        f"美国商务部（DOC） [2024-09-02] {NSF.related[0].title}",
        NSF.follow_up,
    ]


def test_cas_marks_a_first_seen_date() -> None:
    lines = texts(open_docx(render_docx(VIEW, "cas")))
    assert "编译自[2024-09-03]（首次发现日期）" in lines
    assert "编译自[2024-09-01]" in lines


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_english_title_and_topic_is_in_the_document(layout: str) -> None:
    data = render_docx(VIEW, layout)
    everything = "\n".join(texts(open_docx(data)))
    if layout == "idei":
        everything += "".join(xml(data, "word/footnotes.xml").itertext())
    for item in (NSF, EPSRC, MIT):
        assert item.title in everything
    assert HOSTILE_CLEAN in everything
    assert "主题：电池材料" in everything


@pytest.mark.parametrize("layout", LAYOUTS)
def test_score_and_selection_reasons_are_not_shown(layout: str) -> None:
    data = render_docx(VIEW, layout)
    raw = b"".join(parts(data).values()).decode("utf-8", "replace")
    assert "score 0.91" not in raw
    assert "0.91" not in raw
    assert "入选依据" not in raw
    assert "semiconductor*" not in raw


@pytest.mark.parametrize("layout", ("cas", "zj"))
def test_links_are_external_hyperlink_relationships_to_the_urls(layout: str) -> None:
    data = render_docx(VIEW, layout)
    rels = hyperlink_targets(data, "word/_rels/document.xml.rels")
    assert {target for target, _ in rels.values()} == URLS
    assert {mode for _, mode in rels.values()} == {"External"}
    document = xml(data, "word/document.xml")
    used = {link.get(f"{{{R}}}id") for link in document.iterfind(".//w:hyperlink", NS)}
    assert set(rels) <= used  # every relationship is used by a w:hyperlink


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_javascript_url_is_never_a_link(layout: str) -> None:
    data = render_docx(VIEW, layout)
    for name in parts(data):
        if name.endswith(".rels"):
            assert b"javascript" not in parts(data)[name].lower()


def test_a_javascript_url_is_shown_as_plain_text_in_cas() -> None:
    data = render_docx(VIEW, "cas")
    document = xml(data, "word/document.xml")
    paragraphs = [
        p for p in document.iterfind(".//w:p", NS) if "".join(p.itertext()) == "javascript:alert(1)"
    ]
    assert len(paragraphs) == 1
    assert paragraphs[0].find(".//w:hyperlink", NS) is None


@pytest.mark.parametrize("layout", LAYOUTS)
def test_hostile_text_is_escaped_and_control_characters_are_gone(layout: str) -> None:
    data = render_docx(VIEW, layout)
    for name, blob in parts(data).items():
        if name.endswith(".xml"):
            etree.fromstring(blob)  # still well-formed
            assert b"<script" not in blob
            text = blob.decode("utf-8")
            assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", text), name
    document = parts(data)["word/document.xml"].decode()
    assert "&lt;script&gt;" in document


def test_contents_entries_link_to_bookmarks_on_the_headlines() -> None:
    document = xml(render_docx(VIEW, "cas"), "word/document.xml")
    anchors = [link.get(f"{{{W}}}anchor") for link in document.iterfind(".//w:hyperlink", NS)]
    anchors = [a for a in anchors if a]
    bookmarks = {b.get(f"{{{W}}}name") for b in document.iterfind(".//w:bookmarkStart", NS)}
    assert anchors == ["item_1", "item_2", "item_3", "item_4"]
    assert set(anchors) == bookmarks


def test_zj_has_highlights_then_contents_and_the_outlet_in_parentheses() -> None:
    lines = texts(open_docx(render_docx(VIEW, "zj", issue=3)))
    start = lines.index("本期内容提要")
    assert lines[start + 1 : start + 4] == [NSF.headline, MIT.headline, "本期目录"]
    assert f"{NSF.summary}（{NSF.publisher}）" in lines
    assert f"{EPSRC.lead}（{EPSRC.publisher}）" in lines  # no summary: the lead ends the text
    assert f"原文：[2024-09-01] {NSF.title}" in lines
    assert "编译自[2024-09-01]" not in lines


def test_idei_numbers_entries_without_section_headings() -> None:
    doc = open_docx(render_docx(VIEW, "idei"))
    lines = texts(doc)
    start = lines.index("本期目录")
    numbered = [f"{i.number}. {i.headline}" for i in ENTRIES]
    numbered[2] = "3. 恶意标题<script>"
    assert lines[start + 1 : start + 5] == numbered
    assert headings(doc) == [("Heading 1", text) for text in numbered]
    assert "专题" not in lines


def test_idei_cites_each_entry_in_a_real_footnote() -> None:
    data = render_docx(VIEW, "idei")
    content_types = parts(data)["[Content_Types].xml"].decode()
    assert 'PartName="/word/footnotes.xml"' in content_types
    assert "wordprocessingml.footnotes+xml" in content_types
    rels = xml(data, "word/_rels/document.xml.rels")
    assert [r.get("Target") for r in rels if r.get("Type") == RT_FOOTNOTES] == ["footnotes.xml"]

    footnotes = xml(data, "word/footnotes.xml")
    ids = [int(n.get(f"{{{W}}}id")) for n in footnotes.iterfind("w:footnote", NS)]
    assert ids == [-1, 0, 1, 2, 3, 4]
    document = xml(data, "word/document.xml")
    refs = [int(r.get(f"{{{W}}}id")) for r in document.iterfind(".//w:footnoteReference", NS)]
    assert refs == [1, 2, 3, 4]
    notes = {
        int(n.get(f"{{{W}}}id")): "".join(n.itertext())
        for n in footnotes.iterfind("w:footnote", NS)
    }
    for item in ENTRIES:
        note = notes[item.number]
        title = HOSTILE_CLEAN if item is HOSTILE else item.title
        assert note.count("资料来源：") == 1 + len(item.related)
        assert f"资料来源：{item.publisher} {title}, {item.date}." in note
    related = NSF.related[0]
    assert f"资料来源：{related.publisher} {related.title}, {related.date}." in notes[1]


def test_idei_footnote_urls_are_links_from_the_footnotes_part() -> None:
    data = render_docx(VIEW, "idei")
    rels = hyperlink_targets(data, "word/_rels/footnotes.xml.rels")
    assert {target for target, _ in rels.values()} == URLS
    assert {mode for _, mode in rels.values()} == {"External"}
    assert "word/_rels/document.xml.rels" in parts(data)
    assert not hyperlink_targets(data, "word/_rels/document.xml.rels")
    notes = "".join(xml(data, "word/footnotes.xml").itertext())
    assert "javascript:alert(1)" in notes  # shown, not linked


def test_fonts_are_set_for_chinese_text() -> None:
    styles = xml(render_docx(VIEW, "cas"), "word/styles.xml")
    defaults = styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:rFonts", NS)
    assert defaults is not None
    assert defaults.get(f"{{{W}}}eastAsia") == "SimSun"
    assert defaults.get(f"{{{W}}}eastAsiaTheme") is None
    for style_id in ("Heading1", "Heading2", "Title"):
        fonts = styles.find(f"w:style[@w:styleId='{style_id}']/w:rPr/w:rFonts", NS)
        assert fonts is not None
        assert fonts.get(f"{{{W}}}eastAsia") == "SimHei"
        assert fonts.get(f"{{{W}}}eastAsiaTheme") is None
    lang = styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:lang", NS)
    assert lang is not None and lang.get(f"{{{W}}}eastAsia") == "zh-CN"


def test_an_empty_week_says_so() -> None:
    empty = replace(VIEW, sections=(), highlights=(), count=0)
    lines = texts(open_docx(render_docx(empty, "cas", issue=1)))
    assert lines[-1] == "本周（2024-09-02 — 2024-09-08）没有符合条件的条目。"
    assert "本期目录" not in lines


def test_an_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="supported: cas, zj, idei"):
        render_docx(VIEW, "nature")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain 中文", "plain 中文"),
        ("a\x00b\x1fc\x7f", "abc\x7f"),  # DEL is legal in XML 1.0
        ("tab\tnew\nline\r", "tab\tnew\nline\r"),
        ("lone \ud800 surrogate \ufffe\uffff", "lone  surrogate "),
        ("emoji \U0001f600", "emoji \U0001f600"),
    ],
)
def test_clean_removes_only_what_xml_cannot_hold(text: str, expected: str) -> None:
    assert clean(text) == expected


def test_write_docx_writes_week_and_profile_named_file(tmp_path: Path) -> None:
    data = render_docx(VIEW, "cas")
    path = write_docx(data, tmp_path / "digests", "2024-W36", "cas")
    assert path == tmp_path / "digests" / "2024-W36.cas.docx"
    assert path.read_bytes() == data
    again = write_docx(b"second", tmp_path / "digests", "2024-W36", "cas")
    assert again.read_bytes() == b"second"
    assert sorted(p.name for p in (tmp_path / "digests").iterdir()) == ["2024-W36.cas.docx"]


def test_write_docx_failure_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_docx(b"old", tmp_path, "2024-W36", "cas")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_docx(b"new", tmp_path, "2024-W36", "cas")
    assert [p.name for p in tmp_path.iterdir()] == ["2024-W36.cas.docx"]
    assert (tmp_path / "2024-W36.cas.docx").read_bytes() == b"old"


def test_failed_sources_are_listed_at_the_end(rendered: tuple[str, bytes]) -> None:
    from dataclasses import replace

    from monitor.digest.outages import OutageView

    layout, _ = rendered
    outage = OutageView("NSF news", "美国国家科学基金会", "本周3次抓取全部失败（HTTP 503）")
    doc = open_docx(render_docx(replace(VIEW, outages=(outage,)), layout))
    lines = texts(doc)
    heading = lines.index("本周监测异常的信息源")
    assert heading > lines.index(next(t for t in lines if "Materials" in t or "NSF" in t))
    assert "美国国家科学基金会（NSF news）：本周3次抓取全部失败（HTTP 503）" in lines[heading:]
    assert "本周监测异常的信息源" not in texts(open_docx(render_docx(VIEW, layout)))
