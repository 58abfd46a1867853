"""Reading published bulletins back: entries, sections, citations (monitor.learn.published).

The fixtures in tests/data/learn/ copy the style of the real issues (text extracted from PDF: a
blank line after each printed line, pages starting with a space, running headers, page numbers,
footnotes far from their marks, URLs and titles broken across lines), with excerpts of real text.
"""

from __future__ import annotations

import builtins
import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn

from monitor.errors import MonitorError
from monitor.learn import (
    DEFAULT_LABELS,
    Citation,
    PublishedError,
    PublishedIssue,
    parse_published,
    read_published,
)

LEARN = Path(__file__).parent / "data" / "learn"
D = dt.date


def issue(name: str) -> PublishedIssue:
    return read_published(LEARN / name)


def sections(parsed: PublishedIssue) -> list[tuple[str, str | None, str | None]]:
    return [(e.headline, e.section_label, e.section) for e in parsed.entries]


# --- cas, 2024: numbered footnotes ---------------------------------------------------------------


def test_cas_2024_entries_sections_and_front_matter() -> None:
    parsed = issue("cas-2024-style.txt")
    assert parsed.layout == "cas"
    assert parsed.title == "先进制造与新材料动态监测快报"
    assert parsed.issue_label == "2024年第19期"
    assert parsed.period == (D(2024, 10, 8), D(2024, 10, 8))
    assert sections(parsed) == [
        ("欧发布《欧盟先进制造业战略洞察分析报告》", "专题", "feature"),
        ("美白宫发布关键矿物供应链举措总结", "战略规划", "strategy"),
        ("新加坡组建人工智能卓越中心推动制造业创新", "战略规划", "strategy"),  # wrapped
        ("美 NSF 启动半导体未来计划第二期资助", "项目资助", "funding"),
        ("美国防部推动量子技术与微电子创新", "项目资助", "funding"),
    ]
    assert [e.compiler for e in parsed.entries] == ["黄 健", "董金鑫", "尹 伟", "万 勇", "蒿巧利"]
    assert parsed.notes == ()  # every footnote found its mark, every contents line its entry


def test_cas_2024_footnotes_rejoined_and_matched_to_their_marks() -> None:
    first, white_house, singapore, nsf, dod = issue("cas-2024-style.txt").entries
    assert first.citations == (
        Citation(
            title="Advanced manufacturing is key for EU competitiveness",
            url="https://joint-research-centre.ec.europa.eu/jrc-news-and-updates/"
            "advanced-manufacturing-key-eu-competitiveness-2024-09-24_en",
            date=D(2024, 9, 24),  # from the URL: the footnote states no date
            outlet=None,
            footnote=1,
        ),
    )
    (fact_sheet,) = white_house.citations  # its footnote is printed on the next page
    assert fact_sheet.title == (
        "FACT SHEET: Biden-Harris Administration Takes Further Action to Strengthen and Secure "
        "Critical Mineral Supply Chains"
    )
    assert fact_sheet.url == (
        "https://www.whitehouse.gov/briefing-room/statements-releases/2024/09/20/fact-sheet-biden-"
        "harris-administration-takes-further-action-to-strengthen-and-secure-critical-mineral-"
        "supply-chains/"
    )
    assert [c.footnote for c in singapore.citations] == [3]
    assert (singapore.citations[0].url or "").endswith(
        "/new-ai-centre-of-excellence-to-drive-innovation-in-manufacturing"
    )  # rejoined
    assert [(c.footnote, c.title) for c in nsf.citations] == [
        (4, "NSF awards $42.4M in new grants to support the future of semiconductors")
    ]  # footnote 5 is an editor's note, not a source
    assert [c.footnote for c in dod.citations] == [6, 7]
    assert dod.citations[1].title == (
        "Innovative NORDTECH R&D Projects Selected to Receive $30M in Federal Awards from U.S. "
        "Department of Defense"
    )


def test_cas_2024_noise_stays_out_of_entries() -> None:
    parsed = issue("cas-2024-style.txt")
    bodies = "\n".join(e.body for e in parsed.entries)
    assert "动态监测快报" not in bodies  # running headers
    assert "https://" not in bodies and "Biden-Harris" not in bodies  # footnotes
    assert "3 Gordon Murray Group 550" in parsed.entries[-1].body  # a table row, not a footnote
    assert parsed.entries[2].body.startswith("9 月 27 日，新加坡启动")
    assert "推动新加坡制造业的创新3。AIMfg" in parsed.entries[2].body  # rejoined over the page
    assert [e.lead_date for e in parsed.entries] == [
        D(2024, 9, 23),
        D(2024, 9, 20),
        D(2024, 9, 27),
        D(2024, 9, 16),
        D(2024, 9, 17),
    ]


# --- cas, 2020: 编译自 blocks --------------------------------------------------------------------


def test_cas_2020_compiled_from_blocks() -> None:
    parsed = issue("cas-2020-style.txt")
    assert parsed.layout == "cas"
    assert (parsed.title, parsed.issue_label, parsed.period) == (
        "先进制造与新材料动态监测快报",
        "2020年第18期",
        None,
    )
    assert sections(parsed) == [
        ("欧行动计划保障关键原材料安全供应和可持续发展", "专题", "feature"),
        ("美发布 2020 版机器人路线图", "战略规划", "strategy"),
        ("美 NSF 推出 3D 打印混凝土项目", "项目资助", "funding"),
        ("长春应化所在新型半导体激光器研究中取得重要进展", "研究进展", "research"),
        ("新型二维材料可提高晶体管传输电流", "研究进展", "research"),
    ]  # the publisher's page at the end (address, telephone) is no entry
    first = parsed.entries[0]
    assert [(c.title, c.url, c.date) for c in first.citations] == [
        (
            "Commission announces actions to make Europe's raw materials supply more secure and "
            "sustainable",
            "https://ec.europa.eu/commission/presscorner/detail/en/IP_20_1542",
            D(2020, 9, 3),
        ),
        (
            None,
            "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:52020DC0474",
            D(2020, 9, 3),
        ),
    ]  # the PDF's copies of the link targets at the page end are not cited twice


def test_cas_2020_broken_titles_urls_and_recommenders() -> None:
    _, robots, concrete, changchun, purdue = issue("cas-2020-style.txt").entries
    assert robots.compiler == "王 轩 万 勇"  # the （沈阳自动化所 推荐） line names no compiler
    assert robots.citations[0].url == (
        "https://www.cccblog.org/2020/09/09/robotics-roadmap-for-us-robotics-from-internet-to-"
        "robotics-2020-edition/?utm_source=feedblitz&utm_medium=FeedBlitzRss&utm_campaign=cccblog"
    )
    assert concrete.citations[0].title == (
        "AccelNet: 3D Concrete Printing Network (3DConcrete) - Accelerating Progress in Concrete "
        "Additive Manufacturing"
    )
    assert changchun.citations == (
        Citation(
            title="Stable room-temperature continuous-wave lasing in quasi-2D perovskite films",
            url=None,
            date=None,
            outlet="Nature",
            kind="paper",
        ),
    )  # the stray copy of the NSF link inside its text is neither cited nor kept as text
    assert "https://" not in changchun.body and "可能需要将其除去" in changchun.body
    assert purdue.citations[0].url == (
        "https://www.purdue.edu/newsroom/releases/2020/Q3/purdue-2-dimensional-nanomaterial-shows-"
        "promise-for-high-speed-electronics,-quantum-devices-and-defense-tools.html"
    )
    assert purdue.citations[0].title == (
        "Purdue 2-dimensional nanomaterial shows promise for high-speed electronics, quantum "
        "devices and defense tools"
    )
    assert (purdue.citations[0].date, purdue.compiler) == (D(2020, 9, 2), "冯瑞华")


def test_cas_2020_publisher_page_without_contacts_is_no_entry() -> None:
    text = (LEARN / "cas-2020-style.txt").read_text(encoding="utf-8")
    cut = text[: text.index("地    址")]  # the publisher's page, but no address or telephone
    assert [e.headline for e in parse_published(cut).entries] == [
        e.headline for e in issue("cas-2020-style.txt").entries
    ]


# --- zj: contents and outlets --------------------------------------------------------------------


def test_zj_headlines_from_contents_and_sections() -> None:
    parsed = issue("zj-style.txt")
    assert (parsed.layout, parsed.title, parsed.issue_label, parsed.period) == (
        "zj",
        "新材料监测快报",
        "2021.02",
        None,
    )
    assert sections(parsed) == [
        ("工信部：物以“稀”为贵，稀土不能卖出“土”价格", "科技战略", "strategy"),
        ("拜登下令评估美国供应链风险", "科技战略", "strategy"),
        ("新冠疫情对科技金属供应的影响", "观点评述", None),
        ("美国加紧打造稀土供应链，媒体称至少需要十年", "观点评述", None),
        ("安世半导体 12寸晶圆厂将于 2022年 7月投产", "名企快讯", "industry"),
        ("消息称中芯国际获 14NM许可，国产半导体扩产能见度进一步提升", "名企快讯", "industry"),
        ("日本用 AI研制新材料", "前沿研究", "research"),
    ]


def test_zj_outlets_in_parentheses() -> None:
    entries = issue("zj-style.txt").entries
    outlets = [[c.outlet for c in e.citations] for e in entries]
    assert outlets == [
        ["澎湃新闻"],
        ["新华网"],
        ["Nature", "上海有色网（Shanghai Metals Market）"],  # glued after a wide gap; 来源：
        ["环球时报"],
        [],  # lost its outlet: the contents still tell where the next entry starts
        ["品玩"],
        ["日本经济新闻网"],
    ]
    assert {c.kind for e in entries for c in e.citations} == {"outlet"}
    assert entries[2].body.endswith("保持供应的流动变得越来越重要。")
    assert entries[0].lead_date == D(2021, 3, 1)  # year from the issue label


# --- idei: numbered entries, 资料来源 footnotes --------------------------------------------------


def test_idei_numbered_entries_and_sources() -> None:
    parsed = issue("idei-style.txt")
    assert (parsed.layout, parsed.title, parsed.issue_label) == (
        "idei",
        "国外产业动态",
        "2024年第3期",
    )
    assert parsed.period == (D(2024, 3, 18), D(2024, 3, 18))
    assert sections(parsed) == [
        ("美国发布《国家先进制造业战略》实施进展报告", None, None),
        ("欧盟启动关键原材料战略项目遴选", None, None),  # its sub-point "3." is no entry
        ("日本经济产业省修订半导体与数字产业战略", None, None),
    ]
    assert [e.citations for e in parsed.entries] == [
        (
            Citation(
                "National Strategy for Advanced Manufacturing: Progress Report",
                None,
                D(2024, 2, 28),
                None,
                footnote=1,
            ),
        ),
        (
            Citation(
                "Commission launches first call for strategic projects under the Critical Raw "
                "Materials Act",
                "https://ec.europa.eu/commission/presscorner/detail/en/ip_24_1601",
                D(2024, 3, 22),
                None,
                footnote=2,
            ),
        ),
        (
            Citation(
                "半導体・デジタル産業戦略を改定しました",
                None,
                D(2024, 3, 5),
                "日本经济产业省",
                footnote=3,
            ),
        ),
    ]


@pytest.mark.parametrize(
    ("stated", "day"),
    [
        ("September 16, 2024", D(2024, 9, 16)),
        ("Sept. 16, 2024", D(2024, 9, 16)),
        ("16 September 2024", D(2024, 9, 16)),
        ("2024-09-16", D(2024, 9, 16)),
        ("2024/9/16", D(2024, 9, 16)),
        ("2024年9月16日", D(2024, 9, 16)),
        ("2024-02-30", None),  # no such day: the text stays in the title
    ],
)
def test_source_footnote_dates(stated: str, day: dt.date | None) -> None:
    text = (
        "1. 美国国家科学基金会资助半导体研究1\n"
        "9 月 16 日，美国国家科学基金会宣布资助。\n"
        f"1 资料来源：新闻 NSF awards $42.4M for semiconductors, {stated}.\n"
    )
    (entry,) = parse_published(text).entries
    (citation,) = entry.citations
    assert citation.date == day
    assert citation.title == (
        "NSF awards $42.4M for semiconductors"
        if day
        else f"NSF awards $42.4M for semiconductors, {stated}"
    )


# --- robustness ----------------------------------------------------------------------------------


def _summary(parsed: PublishedIssue) -> list[tuple[Any, ...]]:
    return [(e.headline, e.section, e.citations) for e in parsed.entries]


@pytest.mark.parametrize(
    "name", ["cas-2024-style.txt", "cas-2020-style.txt", "zj-style.txt", "idei-style.txt"]
)
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: "\n".join(x for x in t.split("\n") if x.strip()), id="no-blanks"),
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda t: "\n".join(x.strip() for x in t.split("\n")), id="no-page-spaces"),
        pytest.param(
            lambda t: "\n".join(
                "\f" + x.strip() if x.startswith(" ") else x for x in t.split("\n")
            ),
            id="form-feeds",
        ),
    ],
)
def test_same_result_from_other_extractions(name: str, change: Any) -> None:
    text = (LEARN / name).read_text(encoding="utf-8")
    assert _summary(parse_published(change(text))) == _summary(parse_published(text))


def test_entry_without_its_compiler_ends_at_a_dated_lead() -> None:
    text = (
        " 项 目 资 助\n"
        "美 NSF 启动半导体未来计划第二期资助\n"
        "9 月 16 日，美国国家科学基金会（NSF）宣布资助5。\n"
        "资助的主题仍为三个。\n"
        "英拟建 3D 纳米超材料研究中心\n"
        "9 月 26 日，英国工程与自然科学研究理事会（EPSRC）发布资助公告6。\n"
        "（万 勇）\n"
        "5 NSF awards $42.4M in new grants to support the future of semiconductors.\n"
        "https://new.nsf.gov/news/nsf-awards-42-4m-new-grants-support-future-semiconductors\n"
        "6 3D Nanoscale Metamaterials Hub for a Sustainable Future.\n"
        "https://www.ukri.org/opportunity/3d-nanoscale-metamaterials-hub-for-a-sustainable-future/\n"
    )
    parsed = parse_published(text)
    assert [e.headline for e in parsed.entries] == [
        "美 NSF 启动半导体未来计划第二期资助",
        "英拟建 3D 纳米超材料研究中心",
    ]
    assert [[c.footnote for c in e.citations] for e in parsed.entries] == [[5], [6]]


def test_footnote_without_a_mark_goes_to_the_entry_printed_there() -> None:
    text = (
        " 研 究 进 展\n"
        "一步法冶金新方法生产因瓦合金\n"
        "德国马普学会可持续材料研究所开发出一步法冶金新方法。\n"
        "（冯瑞华）\n"
        "1 Innovating alloy production: a single step from ores to sustainable metals.\n"
        "https://www.mpie.de/4990781/one-step-metallurgy?c=2914286\n"
        "可在室温下收集能量的新型有机热电设备\n"
        "日本九州大学团队开发出一种新的有机热电设备2。\n"
        "（冯瑞华）\n"
        "2 New organic thermoelectric device that can harvest energy at room temperature.\n"
        "https://www.kyushu-u.ac.jp/en/researches/view/299/\n"
    )
    parsed = parse_published(text)
    assert [[c.footnote for c in e.citations] for e in parsed.entries] == [[1], [2]]
    assert parsed.notes == ("footnote 1: no mark found, placed by its position",)


def test_numbers_that_are_not_footnote_marks() -> None:
    text = (
        " 行 业 观 察\n"
        "英 Dealroom 发布 2024 年电动汽车电池技术报告\n"
        "中国新能源汽车的销量现已占到新车总销量的50%，增长了1.5 倍，\n"
        "第 1 期报告发布于去年，新一期报告发布于今年1。\n"
        "（董金鑫）\n"
        "1 Electric vehicle battery tech in the UK 2024.\n"
        "https://dealroom.co/guides/fbc-uk-battery-study-2024\n"
    )
    parsed = parse_published(text)
    assert parsed.notes == ()  # the mark was found after 今年, not in 50%, 1.5 or 第 1 期
    assert parsed.entries[0].citations[0].footnote == 1


def test_labels_map_sections() -> None:
    text = (LEARN / "zj-style.txt").read_text(encoding="utf-8")
    labels = {"科技战略": "strategy", "观点评述": "strategy", "前沿研究": "research"}
    parsed = parse_published(text, labels)
    assert [(e.section_label, e.section) for e in parsed.entries][:4:2] == [
        ("科技战略", "strategy"),
        ("观点评述", "strategy"),
    ]
    assert parsed.entries[4].section_label == "名企快讯" and parsed.entries[4].section is None
    assert DEFAULT_LABELS["地方动态"] == "industry" and "观点评述" not in DEFAULT_LABELS


def test_a_label_only_the_caller_knows_is_a_section() -> None:
    text = "专题报道\n欧盟发布关键原材料法案\n9 月 3 日，欧盟委员会发布法案。\n（冯瑞华）\n" + (
        "冯瑞华 编译自[2020-09-03]\nCritical Raw Materials Act\nhttps://ec.europa.eu/crma\n"
    )
    (entry,) = parse_published(text, {"专题报道": "feature"}).entries
    assert (entry.section_label, entry.section) == ("专题报道", "feature")
    assert entry.citations[0].url == "https://ec.europa.eu/crma"


# --- files ---------------------------------------------------------------------------------------


def test_gb18030_text_file(tmp_path: Path) -> None:
    path = tmp_path / "bulletin.txt"
    path.write_bytes((LEARN / "zj-style.txt").read_text(encoding="utf-8").encode("gb18030"))
    assert _summary(read_published(path)) == _summary(issue("zj-style.txt"))


def test_markdown_file(tmp_path: Path) -> None:
    path = tmp_path / "bulletin.md"
    path.write_text(
        "# 国外产业动态\n\n**2024年第3期**\n\n"
        "## 1. 美国发布《国家先进制造业战略》实施进展报告[^1]\n\n"
        "2024 年 2 月 28 日，美国国家科学技术委员会发布报告。\n\n"
        "[^1]: 资料来源：美国白宫 新闻 National Strategy for Advanced Manufacturing, "
        "2024-02-28. <https://www.whitehouse.gov/ostp/news-updates/2024/02/28/progress/>\n",
        encoding="utf-8",
    )
    parsed = read_published(path)
    assert (parsed.layout, parsed.title, parsed.issue_label) == (
        "idei",
        "国外产业动态",
        "2024年第3期",
    )
    (entry,) = parsed.entries
    assert entry.headline == "美国发布《国家先进制造业战略》实施进展报告"
    assert entry.citations == (
        Citation(
            "National Strategy for Advanced Manufacturing",
            "https://www.whitehouse.gov/ostp/news-updates/2024/02/28/progress/",
            D(2024, 2, 28),
            "美国白宫",
            footnote=1,
        ),
    )


def _footnote_reference(note_id: int) -> Any:
    run, rpr, style, ref = (
        OxmlElement(t) for t in ("w:r", "w:rPr", "w:vertAlign", "w:footnoteReference")
    )
    style.set(qn("w:val"), "superscript")
    rpr.append(style)
    run.append(rpr)
    ref.set(qn("w:id"), str(note_id))
    run.append(ref)
    return run


def _add_footnotes(doc: Any, notes: dict[int, list[str]]) -> None:
    paragraphs = {
        note_id: "".join(
            f'<w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>' for text in texts
        )
        for note_id, texts in notes.items()
    }
    xml = (
        f"<w:footnotes {nsdecls('w')}>"
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        + "".join(f'<w:footnote w:id="{i}">{body}</w:footnote>' for i, body in paragraphs.items())
        + "</w:footnotes>"
    )
    content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
    part = XmlPart(PackURI("/word/footnotes.xml"), content_type, parse_xml(xml), doc.part.package)
    doc.part.relate_to(part, RT.FOOTNOTES)


def _hyperlink(doc: Any, paragraph: Any, text: str, url: str) -> None:
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), doc.part.relate_to(url, RT.HYPERLINK, is_external=True))
    run, shown = OxmlElement("w:r"), OxmlElement("w:t")
    shown.text = text
    run.append(shown)
    link.append(run)
    paragraph._p.append(link)


def test_docx_with_word_footnotes_and_hyperlinks(tmp_path: Path) -> None:
    doc = Document()
    doc.add_paragraph("先进制造与新材料动态监测快报")
    doc.add_paragraph("2024年第19期")
    doc.add_paragraph("战略规划")
    doc.add_paragraph("美白宫发布关键矿物供应链举措总结")
    lead = doc.add_paragraph("9 月 20 日，美国白宫总结了过去四年以来关键矿物供应链举措")
    lead._p.append(_footnote_reference(7))  # Word shows it as 1: the first reference
    lead.add_run("。")
    doc.add_paragraph("（董金鑫）")
    doc.add_paragraph("项目资助")
    doc.add_paragraph("美 NSF 推出 3D 打印混凝土项目")
    doc.add_paragraph("9 月 3 日，美国国家科学基金会（NSF）为 3D 打印混凝土项目提供资助。")
    doc.add_paragraph("黄 健 编译自[2020-09-03]")
    doc.add_paragraph("AccelNet: 3D Concrete Printing Network (3DConcrete)")
    _hyperlink(
        doc,
        doc.add_paragraph(),
        "原文链接",
        "https://www.nsf.gov/awardsearch/showAward?AWD_ID=2020095",
    )
    _add_footnotes(
        doc,
        {
            7: [
                " FACT SHEET: Biden-Harris Administration Takes Further Action to Strengthen and "
                "Secure Critical Mineral Supply Chains.",
                "https://www.whitehouse.gov/briefing-room/statements-releases/2024/09/20/fact-sheet/",
            ]
        },
    )
    path = tmp_path / "issue.docx"
    doc.save(str(path))

    parsed = read_published(path)
    assert (parsed.layout, parsed.title, parsed.issue_label) == (
        "cas",
        "先进制造与新材料动态监测快报",
        "2024年第19期",
    )
    white_house, concrete = parsed.entries
    assert white_house.citations == (
        Citation(
            "FACT SHEET: Biden-Harris Administration Takes Further Action to Strengthen and Secure "
            "Critical Mineral Supply Chains",
            "https://www.whitehouse.gov/briefing-room/statements-releases/2024/09/20/fact-sheet/",
            D(2024, 9, 20),
            None,
            footnote=1,
        ),
    )
    assert (concrete.section, concrete.citations[0].url) == (
        "funding",
        "https://www.nsf.gov/awardsearch/showAward?AWD_ID=2020095",
    )
    assert concrete.citations[0].title == "AccelNet: 3D Concrete Printing Network (3DConcrete)"


def _pdf(pages: list[list[str]]) -> bytes:
    """A PDF printing each page's lines in the predefined CJK font STSong-Light (not embedded)."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, below
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H"
        b" /DescendantFonts [4 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo"
        b" << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 5 0 R >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [0 -200 1000 900]"
        b" /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
    ]
    kids = []
    for lines in pages:
        ops = [
            f"BT /F1 10 Tf 40 {800 - 14 * n} Td <{line.encode('utf-16-be').hex()}> Tj ET"
            for n, line in enumerate(lines)
        ]
        stream = "\n".join(ops).encode()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R"
            b" /Resources << /Font << /F1 3 0 R >> >> >>" % len(objects)
        )
        kids.append(len(objects))
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _pages(name: str) -> list[list[str]]:
    """The fixture's printed lines, a new page at each line starting with a space."""
    pages: list[list[str]] = [[]]
    for line in (LEARN / name).read_text(encoding="utf-8").split("\n"):
        if line.startswith(" ") and pages[-1]:
            pages.append([])
        if line.strip():
            pages[-1].append(line.strip())
    return pages


@pytest.mark.skipif(importlib.util.find_spec("pdfminer") is None, reason="pdfminer.six missing")
def test_pdf_reads_like_its_text(tmp_path: Path) -> None:
    path = tmp_path / "issue.pdf"
    path.write_bytes(_pdf(_pages("cas-2024-style.txt")))
    assert read_published(path) == issue("cas-2024-style.txt")


def test_pdf_without_pdfminer_says_to_extract_text_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_pdfminer(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pdfminer"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pdfminer)
    path = tmp_path / "issue.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    with pytest.raises(PublishedError, match=r"pdfminer\.six.*extract the text first"):
        read_published(path)


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n\n \r\n", "empty"),
        (bytes(range(256)) * 40, "not text"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(200)) * 10, "not text"),
        (b"Meeting notes\nNothing here is a bulletin.\n", "unknown format"),
    ],
)
def test_unreadable_files(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bulletin.txt"
    path.write_bytes(data)
    with pytest.raises(PublishedError, match=message) as raised:
        read_published(path)
    assert str(path) in str(raised.value)
    assert isinstance(raised.value, MonitorError)


def test_a_bulletin_without_citations() -> None:
    with pytest.raises(PublishedError, match=r"no citations found in 2 entries \(layout 'cas'\)"):
        issue("no-citations.txt")


def test_missing_file_and_broken_docx(tmp_path: Path) -> None:
    with pytest.raises(PublishedError, match="cannot read the file"):
        read_published(tmp_path / "absent.txt")
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(PublishedError, match=r"not a Word \.docx document"):
        read_published(broken)


def test_a_description_of_the_formats_is_no_bulletin() -> None:
    text = (
        "## 1. CAS profile (default): 先进制造与新材料动态监测快报\n"
        '- Item anatomy: then the attribution: compiler and "编译自[YYYY-MM-DD]" (the source\'s '
        "publication date), the original English title, and the URL.\n"
    )
    with pytest.raises(PublishedError):
        parse_published(text)
