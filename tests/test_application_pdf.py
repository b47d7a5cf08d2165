"""legal_aid/intake/pdf.py: the application form, checked as text and as an image with poppler."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from statistics import median

import pytest

from legal_aid.eligibility import assess
from legal_aid.intake import pdf as form
from legal_aid.intake.materials import MaterialItem, checklist
from legal_aid.intake.pdf import FontMissingError, render_application_form

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or not form.FONT_REGULAR.is_file(),
    reason="needs poppler-utils and fonts-noto-cjk",
)

# Ends with a sentence found nowhere else, to show nothing of a long text is lost.
LONG_DESCRIPTION = (
    "我在太原的建筑工地上干了八个月的活，包工头一直拖着不给工资，一共欠了三万二千块钱。" * 25
    + "最后这句话说明全文都在表里。"
)
FACTS = {"matter_type": "labor_wages", "region": "shanxi", "migrant_worker": True}


def details(**changes) -> dict:
    base = {
        "name": "王小明",
        "phone": "13812345678",
        "id_number": "11010519491231002X",
        "region": "shanxi",
        "county": "太原市",
        "matter_type": "labor_wages",
        "description": LONG_DESCRIPTION,
        "disability_certificate": None,
        "accessibility_needs": ("voice_call", "large_print"),
        "contact_preference": "wechat",
        "applying_for": "self",
        "applicant_age": 45,
        "guardian": None,
        "deadline_within_7_days": False,
        "urgent_preservation": False,
        "advance_aid": False,
    }
    return {**base, **changes}


def items() -> list[MaterialItem]:
    return checklist("labor_wages", FACTS, assess(FACTS), "shanxi")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[bool, Path]:
    folder = tmp_path_factory.mktemp("forms")
    paths = {}
    for large in (False, True):
        data = render_application_form(
            details(), items(), "FY-2026-000123", large_print=large, today=date(2026, 3, 5)
        )
        paths[large] = folder / f"form-{large}.pdf"
        paths[large].write_bytes(data)
    return paths


def text_of(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def page_count(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))


def word_heights(path: Path) -> list[float]:
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [
        float(m.group(2)) - float(m.group(1))
        for m in re.finditer(r'<word [^>]*yMin="([\d.]+)"[^>]*yMax="([\d.]+)"', bbox)
    ]


def test_it_is_a_pdf(rendered):
    assert rendered[False].read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("large", [False, True])
def test_the_details_are_on_the_form(rendered, large):
    text = text_of(rendered[large])
    flat = compact(text)
    assert "法律援助申请表" in flat
    assert "FY-2026-000123" in flat
    assert "2026年3月5日" in flat
    assert "王小明" in flat
    assert "138 1234 5678" in text  # the phone grouped as people write it
    assert "11010519491231002X" in flat
    assert "山西省太原市" in flat
    assert "劳动报酬与劳动关系" in flat  # the matter's name, not its key
    assert "语音电话、大字" in flat
    assert "微信" in flat
    assert "本人保证以上填写和提供的情况真实" in flat


@pytest.mark.parametrize("large", [False, True])
def test_a_long_description_is_there_in_full(rendered, large):
    flat = compact(text_of(rendered[large]))
    # What comes between the pieces of a text continued on the next page.
    flat = re.sub(r"第\d+页，共\d+页", "", flat).replace("案情简述（续）", "")
    assert compact(LONG_DESCRIPTION) in flat


@pytest.mark.parametrize("large", [False, True])
def test_the_checklist_is_on_the_form(rendered, large):
    flat = compact(text_of(rendered[large]))
    assert "需要准备的材料" in flat
    for item in items():
        assert compact(item.title) in flat
    assert "劳动合同" in flat and "工资条或银行流水" in flat
    assert "诚信承诺" not in flat  # exempt: the migrant worker's income is not checked


@pytest.mark.parametrize("large", [False, True])
def test_the_page_renders_and_is_not_blank(rendered, large, tmp_path):
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "50",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(rendered[large]),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    image = next(tmp_path.glob("p*.png"))
    from PIL import Image  # Pillow comes with fpdf2

    pixels = Image.open(image).convert("L")
    dark = sum(1 for value in pixels.getdata() if value < 128)
    assert dark > 0.005 * pixels.width * pixels.height


def test_large_print_is_larger(rendered):
    normal, large = median(word_heights(rendered[False])), median(word_heights(rendered[True]))
    assert large >= 1.7 * normal
    # 20 pt text: a line of glyphs is at least 20 pt tall in pdftotext's boxes.
    assert min(word_heights(rendered[True])) >= 19.5
    assert page_count(rendered[True]) > page_count(rendered[False])


def test_every_page_keeps_the_table_inside(rendered):
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(rendered[False]), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for page in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', bbox, re.S):
        width, height = float(page.group(1)), float(page.group(2))
        for m in re.finditer(r'xMax="([\d.]+)" yMax="([\d.]+)"', page.group(3)):
            assert float(m.group(1)) <= width and float(m.group(2)) <= height


def test_urgency_guardian_and_landline(tmp_path):
    data = render_application_form(
        details(
            phone="03511234567",
            applying_for="other",
            applicant_age=9,
            guardian={"name": "李梅", "relation": "mother"},
            deadline_within_7_days=True,
            advance_aid=True,
            disability_certificate="11010519491231002X12",
            accessibility_needs=(),
            description="短。",
            region="baotou",
            county="内蒙古自治区/包头市/固阳县",
        ),
        items(),
        "FY-2026-000124",
    )
    path = tmp_path / "form.pdf"
    path.write_bytes(data)
    text = text_of(path)
    flat = compact(text)
    assert "0351 123 4567" in text
    assert "内蒙古自治区包头市固阳县" in flat
    assert "为他人申请（当事人9岁）" in flat and "李梅（母亲）" in flat
    assert "离法定期限不到7天" in flat and "第四十四条" in flat
    assert "11010519491231002X12" in flat
    assert "不需要" in flat


def test_missing_font_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(form, "FONT_REGULAR", tmp_path / "nowhere.ttc")
    with pytest.raises(FontMissingError, match="fonts-noto-cjk"):
        render_application_form(details(), items(), "FY-2026-000125")


def test_details_follow_the_store_shape():
    """The keys the form reads are exactly the ApplicationDetails fields the brief names."""

    @dataclasses.dataclass
    class ApplicationDetails:  # the store's shape, as agreed
        name: str
        phone: str
        id_number: str
        region: str
        county: str | None
        matter_type: str
        description: str
        disability_certificate: str | None
        accessibility_needs: tuple[str, ...]
        contact_preference: str
        applying_for: str
        applicant_age: int | None
        guardian: dict | None
        deadline_within_7_days: bool
        urgent_preservation: bool
        advance_aid: bool

    record = ApplicationDetails(**details(description="短。"))
    assert render_application_form(dataclasses.asdict(record), items(), "R").startswith(b"%PDF")
