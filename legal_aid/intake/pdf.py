"""The 法律援助申请表 as a PDF: the applicant's details, the declaration, the checklist.

A4, Noto Sans CJK SC embedded (fonts-noto-cjk), so the Chinese prints the same
everywhere. Two layouts: the usual two-column table, and large print (20 pt and
up, one column, wide spacing) for people with low vision. Long text wraps, and a
table row taller than the room left on a page continues on the next one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from legal_aid.intake.materials import MaterialItem, checklist_notes, matter_name
from legal_aid.intake.validation import is_landline, is_mobile, phone_grouped
from legal_aid.places import Place, resolve_place
from legal_aid.policy_data import DEFAULT_REGION, PolicyDataError, load_region

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
FONT_REGULAR = FONT_DIR / "NotoSansCJK-Regular.ttc"
FONT_BOLD = FONT_DIR / "NotoSansCJK-Bold.ttc"
# In the Noto Sans CJK collections font 2 is the Simplified Chinese (SC) one.
SIMPLIFIED_CHINESE = 2
FAMILY = "NotoSansCJKSC"

TITLE = "法律援助申请表"
DECLARATION = "本人保证以上填写和提供的情况真实。如有隐瞒或者虚假，愿意承担相应的责任。"

# Shown on the form for the keys the store keeps.
ACCESSIBILITY_NAMES = {
    "voice_call": "语音电话",
    "large_print": "大字",
    "sign_language": "手语",
    "braille": "盲文",
    "home_visit": "上门服务",
}
CONTACT_NAMES = {"phone": "电话", "wechat": "微信", "telegram": "Telegram"}
RELATION_NAMES = {
    "mother": "母亲",
    "father": "父亲",
    "parent": "父母",
    "husband": "丈夫",
    "wife": "妻子",
    "spouse": "配偶",
    "son": "儿子",
    "daughter": "女儿",
    "child": "子女",
    "grandchild": "孙子女",
    "grandparent": "祖父母",
}
# Characters that must not begin a line in Chinese (标点禁则).
NO_LINE_START = "，。、；：？！）》」』”’…%％·"


class FontMissingError(RuntimeError):
    """The Chinese font the form is printed in is not installed."""


@dataclass(frozen=True)
class Layout:
    """Sizes in points (text) and millimetres (spacing)."""

    title_size: float
    body_size: float
    small_size: float
    line_factor: float  # line height as a multiple of the text size
    gap: float  # space between blocks, mm
    label_width: float  # width of the label column; 0 = labels above values
    padding: float

    def line_height(self, size: float) -> float:
        return size * self.line_factor * 25.4 / 72


NORMAL = Layout(
    title_size=20,
    body_size=11,
    small_size=9,
    line_factor=1.5,
    gap=4,
    label_width=40,
    padding=1.8,
)
# Large print: nothing under 20 pt, one column, room between the lines.
LARGE = Layout(
    title_size=30,
    body_size=20,
    small_size=20,
    line_factor=1.6,
    gap=8,
    label_width=0,
    padding=0,
)


# ---- the values as written on the form ---------------------------------------


def _or_none(value: Any, missing: str = "未填写") -> str:
    return str(value).strip() if value not in (None, "") else missing


def _phone_text(phone: str | None) -> str:
    if phone and (is_mobile(phone) or is_landline(phone)):
        return phone_grouped(phone)
    return _or_none(phone)


def _region_name(region: str | None) -> str:
    if not region:
        return ""
    try:
        return load_region("eligibility", region).get("name_zh", region)
    except PolicyDataError:
        return region  # a place name rather than a policy region


def _resolved_county(county: str | None) -> Place | None:
    """The place a county names, given as a name ("固阳县") or a path ("…/包头市/固阳县")."""
    if not county:
        return None
    return resolve_place(county.split("/")[-1].strip())


def _place_text(region: str | None, county: str | None) -> str:
    """ "内蒙古自治区包头市固阳县" from the county, else what was said, else the region."""
    place = _resolved_county(county)
    if place is not None:
        return "".join(place.path)
    if county:
        return "".join(part.strip() for part in county.split("/"))
    name = _region_name(region)
    return name if name and region != DEFAULT_REGION else "未填写"


def _accessibility_text(needs: Sequence[str] | None) -> str:
    if needs is None:
        return "未说明"
    if not needs:
        return "不需要"
    return "、".join(ACCESSIBILITY_NAMES.get(need, need) for need in needs)


def _urgency_text(details: Mapping[str, Any]) -> str:
    parts = []
    if details.get("deadline_within_7_days"):
        parts.append("离法定期限不到7天")
    if details.get("urgent_preservation"):
        parts.append("需要马上申请财产保全、证据保全或者先予执行")
    if details.get("advance_aid"):
        parts.append("可以先行提供法律援助，事后补办手续、补充材料（《法律援助法》第四十四条）")
    return "；".join(parts) if parts else "无"


def _applicant_text(details: Mapping[str, Any]) -> str:
    if details.get("applying_for") != "other":
        return "为本人申请"
    text = "为他人申请"
    age = details.get("applicant_age")
    if age is not None:
        text += f"（当事人{age}岁）"
    guardian = details.get("guardian")
    if guardian:
        relation = guardian.get("relation") or ""
        relation = RELATION_NAMES.get(relation, relation)
        who = _or_none(guardian.get("name"))
        text += f"；监护人或代理人：{who}" + (f"（{relation}）" if relation else "")
    return text


def detail_rows(details: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) for each line of the applicant's table, in the form's order."""
    contact = details.get("contact_preference")
    return [
        ("姓名", _or_none(details.get("name"))),
        ("联系电话", _phone_text(details.get("phone"))),
        ("身份证号码", _or_none(details.get("id_number"))),
        ("所在地区", _place_text(details.get("region"), details.get("county"))),
        (
            "事项类型",
            matter_name(details["matter_type"]) if details.get("matter_type") else "未填写",
        ),
        ("案情简述", _or_none(details.get("description"))),
        ("残疾证号", _or_none(details.get("disability_certificate"), "无")),
        ("无障碍需求", _accessibility_text(details.get("accessibility_needs"))),
        ("联系方式", CONTACT_NAMES.get(contact, _or_none(contact))),
        ("紧急情况", _urgency_text(details)),
        ("是否为他人申请/监护人", _applicant_text(details)),
    ]


# ---- drawing ------------------------------------------------------------------


def _check_fonts() -> None:
    for path in (FONT_REGULAR, FONT_BOLD):
        if not Path(path).is_file():
            raise FontMissingError(
                f"找不到中文字体文件 {path}，无法生成申请表 PDF。"
                "请安装 fonts-noto-cjk（Debian/Ubuntu：sudo apt-get install fonts-noto-cjk）。"
            )


class _Form(FPDF):
    def __init__(self, layout: Layout) -> None:
        super().__init__(format="A4", unit="mm")
        self.layout = layout
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)
        self.add_font(FAMILY, "", str(FONT_REGULAR), collection_font_number=SIMPLIFIED_CHINESE)
        self.add_font(FAMILY, "B", str(FONT_BOLD), collection_font_number=SIMPLIFIED_CHINESE)
        self.set_lang("zh-CN")
        self.set_title(TITLE)
        self.set_creator("法援助手")
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FAMILY, "", self.layout.small_size if self.layout is LARGE else 8)
        self.cell(0, 6, f"第 {self.page_no()} 页，共 {{nb}} 页", align="C")

    @property
    def text_width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    @property
    def bottom(self) -> float:
        return self.h - self.b_margin

    def wrap(self, text: str, width: float) -> list[str]:
        """The text broken into lines that fit `width`, no line starting with 。，."""
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            lines += self._wrap_paragraph(paragraph, width)
        return lines

    def _wrap_paragraph(self, paragraph: str, width: float) -> list[str]:
        lines: list[str] = self.multi_cell(width, 5, paragraph, dry_run=True, output="LINES")
        for i in range(1, len(lines)):
            if lines[i][:1] in NO_LINE_START and len(lines[i - 1]) > 1:
                # Take the last character of the line above along with the mark.
                carried = lines[i - 1][-1]
                lines[i - 1] = lines[i - 1][:-1]
                rest = carried + "".join(lines[i:])
                return lines[:i] + self._wrap_paragraph(rest, width)
        return lines or [""]

    def write_lines(self, lines: Sequence[str], x: float, y: float, line_height: float) -> None:
        for index, line in enumerate(lines):
            self.set_xy(x, y + index * line_height)
            self.cell(0, line_height, line)

    def paragraph(self, text: str, size: float, bold: bool = False, after: float = 0) -> None:
        """Text across the page, breaking onto new pages as it needs."""
        self.set_font(FAMILY, "B" if bold else "", size)
        height = self.layout.line_height(size)
        for line in self.wrap(text, self.text_width):
            if self.get_y() + height > self.bottom:
                self.add_page()
            self.set_x(self.l_margin)
            self.cell(self.text_width, height, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(self.get_y() + after)


def _table_row(pdf: _Form, label: str, value: str) -> None:
    """One bordered row; a value too long for the page continues in a new row (续)."""
    layout = pdf.layout
    pdf.set_font(FAMILY, "", layout.body_size)
    height = layout.line_height(layout.body_size)
    pad = layout.padding
    value_x = pdf.l_margin + layout.label_width
    value_width = pdf.text_width - layout.label_width
    value_lines = pdf.wrap(value, value_width - 2 * pad)
    first = True
    while value_lines or first:
        pdf.set_font(FAMILY, "B", layout.body_size)
        label_lines = pdf.wrap(label if first else f"{label}（续）", layout.label_width - 2 * pad)
        room = int((pdf.bottom - pdf.get_y() - 2 * pad) // height)
        needed = min(max(len(label_lines), 1), max(len(value_lines), 1))
        if room < needed:
            pdf.add_page()
            continue
        chunk, value_lines = value_lines[:room], value_lines[room:]
        rows = max(len(chunk), min(len(label_lines), room))
        top, row_height = pdf.get_y(), rows * height + 2 * pad
        pdf.rect(pdf.l_margin, top, layout.label_width, row_height)
        pdf.rect(value_x, top, value_width, row_height)
        pdf.write_lines(label_lines[:rows], pdf.l_margin + pad, top + pad, height)
        pdf.set_font(FAMILY, "", layout.body_size)
        pdf.write_lines(chunk, value_x + pad, top + pad, height)
        pdf.set_xy(pdf.l_margin, top + row_height)
        first = False


def _stacked_row(pdf: _Form, label: str, value: str) -> None:
    """Large print: the label on its own line, the value under it, a rule after."""
    size = pdf.layout.body_size
    if pdf.get_y() + 2 * pdf.layout.line_height(size) > pdf.bottom:
        pdf.add_page()  # never leave a label alone at the foot of a page
    pdf.paragraph(f"{label}：", size, bold=True)
    pdf.paragraph(value, size, after=pdf.layout.gap / 2)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.set_y(pdf.get_y() + pdf.layout.gap / 2)


def _heading(pdf: _Form, text: str) -> None:
    layout = pdf.layout
    size = layout.body_size + (2 if layout is NORMAL else 4)
    if pdf.get_y() + 3 * layout.line_height(size) > pdf.bottom:
        pdf.add_page()
    pdf.set_y(pdf.get_y() + layout.gap)
    pdf.paragraph(text, size, bold=True, after=layout.gap / 2)


def _header(pdf: _Form, reference: str, today: date) -> None:
    layout = pdf.layout
    pdf.set_font(FAMILY, "B", layout.title_size)
    pdf.cell(
        pdf.text_width,
        layout.line_height(layout.title_size),
        TITLE,
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_y(pdf.get_y() + layout.gap / 2)
    dated = f"申请日期：{today.year}年{today.month}月{today.day}日"
    if layout is LARGE:
        pdf.paragraph(f"登记编号：{reference}", layout.body_size)
        pdf.paragraph(dated, layout.body_size)
    else:
        pdf.paragraph(f"登记编号：{reference}　　　　{dated}", layout.body_size)


def _declaration(pdf: _Form, details: Mapping[str, Any]) -> None:
    layout = pdf.layout
    _heading(pdf, "申请人声明")
    pdf.paragraph(DECLARATION, layout.body_size, after=layout.gap)
    signer = "申请人（或代理人）" if details.get("applying_for") == "other" else "申请人"
    signature = f"{signer}签名（或按手印）：________________"
    dated = "日期：______年____月____日"
    if layout is LARGE:
        pdf.paragraph(signature, layout.body_size, after=layout.gap)
        pdf.paragraph(dated, layout.body_size)
    else:
        pdf.paragraph(f"{signature}　　　{dated}", layout.body_size)


def _checklist(pdf: _Form, items: Sequence[MaterialItem], region: str) -> None:
    layout = pdf.layout
    _heading(pdf, "需要准备的材料")
    for number, item in enumerate(items, start=1):
        pdf.paragraph(f"{number}. {item.title}", layout.body_size, bold=True)
        pdf.paragraph(item.detail, layout.small_size if layout is NORMAL else layout.body_size)
        if item.citation:
            pdf.paragraph(f"依据：{item.citation}", layout.small_size)
        pdf.set_y(pdf.get_y() + layout.gap / 2)
    for text, citation in checklist_notes(region):
        note = f"{text}（{citation}）" if citation else text
        pdf.paragraph(note, layout.small_size)


def _policy_region(details: Mapping[str, Any]) -> str:
    """The region whose materials notes apply: the store's region key, else the county's."""
    region = details.get("region")
    if region:
        return region
    place = _resolved_county(details.get("county"))
    return place.policy_region if place is not None else DEFAULT_REGION


def render_application_form(
    details: Mapping[str, Any],
    checklist: list[MaterialItem],
    reference: str,
    large_print: bool = False,
    today: date | None = None,
) -> bytes:
    """The application form as PDF bytes.

    `details` has the fields of the store's ApplicationDetails
    (`dataclasses.asdict` shape); `checklist` is materials.checklist(...).
    Raises FontMissingError when fonts-noto-cjk is not installed.
    """
    _check_fonts()
    layout = LARGE if large_print else NORMAL
    pdf = _Form(layout)
    pdf.add_page()
    _header(pdf, reference, today or date.today())
    _heading(pdf, "申请人情况")
    draw_row = _stacked_row if large_print else _table_row
    for label, value in detail_rows(details):
        draw_row(pdf, label, value)
    _declaration(pdf, details)
    _checklist(pdf, checklist, _policy_region(details))
    return bytes(pdf.output())
