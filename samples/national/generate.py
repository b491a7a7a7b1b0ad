#!/usr/bin/env python3
"""Rebuild the sample national code tables in samples/national/.

The generated files are committed next to this script; a user never needs to run it.
Run it only to change the samples:

    pip install openpyxl xlwt        # xlrd too, for --check
    python3 samples/national/generate.py [--shared DIR] [--check]

Inputs
------
* Diagnoses and procedures are real rows of the shared national lists
  (``shared/national-codes/diagnoses/*.tsv`` and ``procedures/*.tsv``, plus the diagnosis
  crosswalk). They are read only when that folder is present: ``--shared DIR``, else
  ``$YIBAO_SHARED_NATIONAL``, else ``<repo>/../shared/national-codes``, else
  ``/work/shared/national-codes``. When none exists, the diagnosis and procedure files are
  left as they are and only the other families are rebuilt.
* Drugs, consumables, service items and 中药饮片 come from the constants in this script
  (real codes where public ones were found, otherwise codes constructed to the verified
  structures; see README.md and docs/NATIONAL-TABLES.md).

Output is deterministic: the same inputs give byte-identical files (fixed timestamps in the
xlsx packages, fixed row order, CRLF line ends in the CSVs).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXED_TIME = dt.datetime(2024, 7, 1, 0, 0, 0)

# --------------------------------------------------------------------------------------
# Output files (names are referenced by README.md and by tests: keep them stable)
# --------------------------------------------------------------------------------------
DRUG_V1 = "drug_20240101.xlsx"
DRUG_V2 = "drug_20240701.xlsx"
HERB = "drug_herbal_pieces.csv"
DIAG_V1 = "diagnosis_2.0.xls"
DIAG_V2 = "diagnosis_2.0.1.csv"
PROC = "procedure_2.0.csv"
SERVICE = "service_gbk.csv"
CONSUMABLE = "consumable.xlsx"


# ======================================================================================
# Shared helpers
# ======================================================================================
def gs1_check_digit(body: str) -> str:
    """GS1 mod-10 check digit: weights 3,1,3,1... from the rightmost body digit."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


def benweima(enterprise5: str, product5: str) -> str:
    """药品本位码: 86 + 9 + enterprise(5) + product(5) + check digit."""
    body = "869" + enterprise5 + product5
    assert len(body) == 13 and body.isdigit(), body
    return body + gs1_check_digit(body)


# The published example checks out: 86900483000019 (地喹氯铵含片).
assert benweima("00483", "00001") == "86900483000019"


def write_csv(path: Path, header, rows, encoding="utf-8", bom=False):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    data = buf.getvalue().encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)


def save_xlsx_deterministic(wb, path: Path):
    """openpyxl stamps the current time into docProps and the zip entries: fix both."""
    wb.properties.creator = "yibao samples/national/generate.py"
    wb.properties.lastModifiedBy = "yibao"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    raw = io.BytesIO()
    wb.save(raw)
    raw.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl writes modified = now regardless of the property
                data = re.sub(
                    rb"<dcterms:modified([^>]*)>[^<]*</dcterms:modified>",
                    rb"<dcterms:modified\1>2024-07-01T00:00:00Z</dcterms:modified>",
                    data,
                )
            zi = zipfile.ZipInfo(info.filename, date_time=(2024, 7, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zout.writestr(zi, data)
    path.write_bytes(out.getvalue())


# ======================================================================================
# Drugs — 医保药品分类与代码 (西药/中成药), two versions, xlsx
# ======================================================================================
# Sample enterprises (names are obviously fictitious: 示例/样例/示范/演示/样本).
# (5-digit enterprise code, name, 2-digit province code for 批准文号)
ENTERPRISES = {
    "E1": ("10231", "江苏示例药业有限公司", "32"),
    "E2": ("20417", "浙江样例制药股份有限公司", "33"),
    "E3": ("30652", "广东示范药业有限公司", "44"),
    "E4": ("40188", "山东演示制药有限公司", "37"),
    "E5": ("50926", "四川样本药业有限公司", "51"),
    "E6": ("61304", "北京示例生物制药有限公司", "11"),
    "E7": ("72015", "湖北示范中药股份有限公司", "42"),
    "E8": ("80533", "吉林样例中药有限公司", "22"),
    "E9": ("91742", "上海演示医药有限公司", "31"),
    "E10": ("13579", "河南示例制药有限公司", "41"),
}

# 剂型码 (4 chars) used for constructed 西药 codes. A001 (片) and A002 (含片) occur in real codes;
# the other letters follow the dosage letters seen in public 12-char rule codes
# (B…注射, E…胶囊, X…口服混悬, P…散): the 3 digits after the letter are constructed.
DOSAGE = {
    "A001": ("片剂", "片剂"),
    "A002": ("含片", "片剂"),
    "B001": ("注射液", "注射剂"),
    "B002": ("注射用无菌粉末", "注射剂"),
    "E001": ("胶囊剂", "胶囊剂"),
    "X001": ("口服混悬剂", "混悬剂"),
    "P001": ("散剂", "散剂"),
}

# 西药 rows. prefix10 = X + ATC level 4 (5) + 通用名码 (4): every prefix below is real
# (public rule file, see docs/NATIONAL-TABLES.md); 剂型码, 规格包装码 and 企业码 are constructed.
# (key, prefix10, 医保药品名称, 注册名称, 剂型码, 规格, 包装材质, 最小包装数量, 最小制剂单位,
#  最小包装单位, enterprise, 甲乙类)
X_ROWS = [
    ("x01", "XJ01DHM046", "美罗培南", "注射用美罗培南", "B002", "0.5g", "管制注射剂瓶", 1, "瓶", "瓶", "E1", "乙"),
    ("x02", "XJ01DHM046", "美罗培南", "注射用美罗培南", "B002", "0.25g", "管制注射剂瓶", 1, "瓶", "瓶", "E2", "乙"),
    ("x03", "XJ01MAM122", "莫西沙星", "盐酸莫西沙星片", "A001", "0.4g", "铝塑泡罩", 3, "片", "盒", "E3", "乙"),
    ("x04", "XJ01MAM122", "莫西沙星", "盐酸莫西沙星氯化钠注射液", "B001", "250ml:0.4g", "玻璃输液瓶", 1, "瓶", "瓶", "E4", "乙"),
    ("x05", "XJ01XXL070", "利奈唑胺", "利奈唑胺片", "A001", "0.6g", "铝塑泡罩", 10, "片", "盒", "E5", "乙"),
    ("x06", "XJ01XXL070", "利奈唑胺", "利奈唑胺葡萄糖注射液", "B001", "300ml:0.6g", "聚烯烃多层共挤输液袋", 1, "袋", "袋", "E1", "乙"),
    ("x07", "XA02BCF721", "伏诺拉生", "富马酸伏诺拉生片", "A001", "20mg", "铝塑泡罩", 14, "片", "盒", "E9", "乙"),
    ("x08", "XC09DXS255", "沙库巴曲缬沙坦", "沙库巴曲缬沙坦钠片", "A001", "100mg", "铝塑泡罩", 14, "片", "盒", "E9", "乙"),
    ("x09", "XC09DXS255", "沙库巴曲缬沙坦", "沙库巴曲缬沙坦钠片", "A001", "200mg", "铝塑泡罩", 14, "片", "盒", "E9", "乙"),
    ("x10", "XC09CAA352", "阿齐沙坦", "阿齐沙坦片", "A001", "20mg", "铝塑泡罩", 7, "片", "盒", "E2", "乙"),
    ("x11", "XB01ACX010", "西洛他唑", "西洛他唑片", "A001", "50mg", "铝塑泡罩", 24, "片", "盒", "E4", "乙"),
    ("x12", "XB01ACX010", "西洛他唑", "西洛他唑片", "A001", "0.1g", "铝塑泡罩", 12, "片", "盒", "E10", "乙"),
    ("x13", "XB01ACB040", "贝前列素", "贝前列素钠片", "A001", "20μg", "铝塑泡罩", 10, "片", "盒", "E6", "乙"),
    ("x14", "XN07XXB093", "吡拉西坦", "吡拉西坦片", "A001", "0.4g", "铝塑泡罩", 24, "片", "盒", "E10", "乙"),
    ("x15", "XN07XXB093", "吡拉西坦", "吡拉西坦注射液", "B001", "20ml:4g", "安瓿", 1, "支", "支", "E3", "乙"),
    ("x16", "XN06BXB181", "胞磷胆碱", "胞磷胆碱钠胶囊", "E001", "0.1g", "铝塑泡罩", 24, "粒", "盒", "E5", "乙"),
    ("x17", "XN06BXB181", "胞磷胆碱", "胞磷胆碱钠注射液", "B001", "2ml:0.25g", "安瓿", 10, "支", "盒", "E4", "乙"),
    ("x18", "XA05BAM076", "门冬氨酸鸟氨酸", "门冬氨酸鸟氨酸注射液", "B001", "10ml:5g", "安瓿", 5, "支", "盒", "E2", "乙"),
    ("x19", "XA16AXW071", "乌司他丁", "注射用乌司他丁", "B002", "10万单位", "管制注射剂瓶", 1, "瓶", "瓶", "E6", "乙"),
    ("x20", "XJ05AFE013", "恩替卡韦", "恩替卡韦片", "A001", "0.5mg", "铝塑泡罩", 7, "片", "盒", "E1", "甲"),
    ("x21", "XJ05AFE013", "恩替卡韦", "恩替卡韦片", "A001", "1mg", "铝塑泡罩", 7, "片", "盒", "E1", "甲"),
    ("x22", "XJ05AFE013", "恩替卡韦", "恩替卡韦分散片", "A001", "0.5mg", "铝塑泡罩", 14, "片", "盒", "E8", "甲"),
    ("x23", "XJ01DIF005", "法罗培南", "法罗培南钠片", "A001", "0.2g", "铝塑泡罩", 6, "片", "盒", "E3", "乙"),
    ("x24", "XJ01DIF005", "法罗培南", "法罗培南钠胶囊", "E001", "0.1g", "铝塑泡罩", 12, "粒", "盒", "E10", "乙"),
    ("x25", "XJ01XAT037", "替考拉宁", "注射用替考拉宁", "B002", "0.2g", "管制注射剂瓶", 1, "瓶", "瓶", "E6", "乙"),
    ("x26", "XA04AAT122", "托烷司琼", "盐酸托烷司琼注射液", "B001", "5ml:5mg", "安瓿", 1, "支", "支", "E4", "乙"),
    ("x27", "XA04AAT122", "托烷司琼", "盐酸托烷司琼胶囊", "E001", "5mg", "铝塑泡罩", 6, "粒", "盒", "E5", "乙"),
    ("x28", "XL04AXB209", "吡非尼酮", "吡非尼酮片", "A001", "0.2g", "高密度聚乙烯瓶", 56, "片", "瓶", "E9", "乙"),
    ("x29", "XN02CCZ076", "佐米曲普坦", "佐米曲普坦片", "A001", "2.5mg", "铝塑泡罩", 6, "片", "盒", "E2", "乙"),
    ("x30", "XC04AFY101", "胰激肽原酶", "胰激肽原酶肠溶片", "A001", "120单位", "铝塑泡罩", 24, "片", "盒", "E8", "乙"),
    ("x31", "XJ01CRP018", "哌拉西林舒巴坦", "注射用哌拉西林钠舒巴坦钠", "B002", "2.5g", "管制注射剂瓶", 1, "瓶", "瓶", "E10", "乙"),
    ("x32", "XJ05AXA011", "阿比多尔", "盐酸阿比多尔片", "A001", "0.1g", "铝塑泡罩", 12, "片", "盒", "E3", "乙"),
    ("x33", "XJ05AXA011", "阿比多尔", "盐酸阿比多尔胶囊", "E001", "0.1g", "铝塑泡罩", 12, "粒", "盒", "E7", "乙"),
    ("x34", "XB02BXK018", "卡络磺钠", "注射用卡络磺钠", "B002", "20mg", "管制注射剂瓶", 1, "瓶", "瓶", "E5", "乙"),
    ("x35", "XJ01DET084", "头孢匹罗", "注射用硫酸头孢匹罗", "B002", "1.0g", "管制注射剂瓶", 1, "瓶", "瓶", "E2", "乙"),
    ("x36", "XA12BAM074", "门冬氨酸钾镁", "门冬氨酸钾镁片", "A001", "0.158g:0.14g", "铝塑泡罩", 36, "片", "盒", "E4", "乙"),
    ("x37", "XA12BAM074", "门冬氨酸钾镁", "门冬氨酸钾镁注射液", "B001", "10ml", "安瓿", 5, "支", "盒", "E1", "乙"),
    ("x38", "XN07XXA364", "氨吡啶", "氨吡啶缓释片", "A001", "10mg", "铝塑泡罩", 28, "片", "盒", "E9", "乙"),
    ("x39", "XL01XEN092", "尼洛替尼", "尼洛替尼胶囊", "E001", "150mg", "铝塑泡罩", 28, "粒", "盒", "E6", "乙"),
    ("x40", "XJ01CAA040", "阿莫西林", "阿莫西林胶囊", "E001", "0.25g", "铝塑泡罩", 24, "粒", "盒", "E10", "甲"),
    ("x41", "XJ01CAA040", "阿莫西林", "阿莫西林胶囊", "E001", "0.5g", "铝塑泡罩", 24, "粒", "盒", "E3", "甲"),
    ("x42", "XC10AXA333", "阿利西尤单抗", "阿利西尤单抗注射液", "B001", "75mg(1ml)/支", "预充式注射器", 1, "支", "盒", "E6", "乙"),
    ("x43", "XA10AED356", "德谷胰岛素", "德谷胰岛素注射液", "B001", "3ml:300单位(笔芯)", "笔芯", 1, "支", "盒", "E9", "乙"),
    ("x44", "XA10BJS279", "司美格鲁肽", "司美格鲁肽注射液", "B001", "1.5ml:2mg(预填充注射笔)", "预填充注射笔", 1, "支", "盒", "E9", "乙"),
    ("x45", "XL01XCT181", "特瑞普利单抗", "特瑞普利单抗注射液", "B001", "240mg(6ml)/瓶", "西林瓶", 1, "瓶", "瓶", "E6", "乙"),
    ("x46", "XV03AEH113", "环硅酸锆钠", "环硅酸锆钠散", "P001", "5g", "复合膜袋", 3, "袋", "盒", "E2", "乙"),
    ("x47", "XJ02ACB206", "泊沙康唑", "泊沙康唑口服混悬液", "X001", "40mg/ml(105ml)", "高密度聚乙烯瓶", 1, "瓶", "瓶", "E1", "乙"),
    ("x48", "XJ02ACB206", "泊沙康唑", "泊沙康唑注射液", "B001", "16.7ml:300mg", "西林瓶", 1, "瓶", "瓶", "E4", "乙"),
    ("x49", "XA05BAM076", "门冬氨酸鸟氨酸", "门冬氨酸鸟氨酸注射液", "B001", "10ml:2.5g", "安瓿", 5, "支", "盒", "E7", "乙"),
    ("x50", "XJ01MAM122", "莫西沙星", "盐酸莫西沙星片", "A001", "0.4g", "铝塑泡罩", 6, "片", "盒", "E10", "乙"),
    ("x51", "XN07XXB093", "吡拉西坦", "吡拉西坦胶囊", "E001", "0.2g", "铝塑泡罩", 48, "粒", "盒", "E8", "乙"),
    ("x52", "XB01ACB040", "贝前列素", "贝前列素钠片", "A001", "40μg", "铝塑泡罩", 10, "片", "盒", "E7", "乙"),
    ("x53", "XJ01DHM046", "美罗培南", "注射用美罗培南", "B002", "1.0g", "管制注射剂瓶", 1, "瓶", "瓶", "E5", "乙"),
    ("x54", "XC09CAA352", "阿齐沙坦", "阿齐沙坦片", "A001", "40mg", "铝塑泡罩", 7, "片", "盒", "E3", "乙"),
    ("x55", "XA16AXW071", "乌司他丁", "注射用乌司他丁", "B002", "5万单位", "管制注射剂瓶", 1, "瓶", "瓶", "E2", "乙"),
    ("x56", "XJ01XXL070", "利奈唑胺", "利奈唑胺干混悬剂", "X001", "100mg/5ml(30ml)", "高密度聚乙烯瓶", 1, "瓶", "瓶", "E8", "乙"),
]

# 中成药 rows. prefix11 = Z + class (5) + 通用名码 (5): every prefix below is real (public rule
# file); the 20-char code adds 规格包装码 (4, constructed) + 企业码 (5, constructed).
# (key, prefix11, 医保药品名称 = 注册名称, 注册剂型, 规格, 包装材质, 最小包装数量, 最小制剂单位,
#  最小包装单位, enterprise, 甲乙类)
Z_ROWS = [
    ("z01", "ZA06CAJ0740", "金花清感颗粒", "颗粒剂", "每袋装5g", "复合膜袋", 6, "袋", "盒", "E6", "乙"),
    ("z02", "ZA09FAB0150", "百令片", "片剂", "每片重0.44g", "铝塑泡罩", 36, "片", "盒", "E2", "乙"),
    ("z03", "ZA09FAN0099", "宁心宝胶囊", "胶囊剂", "每粒装0.25g", "铝塑泡罩", 30, "粒", "盒", "E7", "乙"),
    ("z04", "ZA12AAB0505", "八味芪龙颗粒", "颗粒剂", "每袋装6g", "复合膜袋", 9, "袋", "盒", "E8", "乙"),
    ("z05", "ZA16DAS0427", "肾康栓", "栓剂", "每粒重3g", "PVC/PE复合膜", 5, "粒", "盒", "E5", "乙"),
    ("z06", "ZA16GAH0014", "海昆肾喜胶囊", "胶囊剂", "每粒装0.22g", "铝塑泡罩", 18, "粒", "盒", "E8", "乙"),
    ("z07", "ZC01AAC0062", "参莲胶囊", "胶囊剂", "每粒装0.5g", "铝塑泡罩", 24, "粒", "盒", "E7", "乙"),
    ("z08", "ZC01AAC0488", "慈丹胶囊", "胶囊剂", "每粒装0.27g", "铝塑泡罩", 40, "粒", "盒", "E2", "乙"),
    ("z09", "ZC02AAK0038", "康力欣胶囊", "胶囊剂", "每粒装0.5g", "铝塑泡罩", 36, "粒", "盒", "E5", "乙"),
    ("z10", "ZC02AAQ0107", "芪珍胶囊", "胶囊剂", "每粒装0.3g", "铝塑泡罩", 24, "粒", "盒", "E8", "乙"),
    ("z11", "ZC02AAS0475", "生白颗粒", "颗粒剂", "每袋装10g", "复合膜袋", 9, "袋", "盒", "E7", "乙"),
    ("z12", "ZE02AAS0815", "双丹明目胶囊", "胶囊剂", "每粒装0.5g", "铝塑泡罩", 36, "粒", "盒", "E1", "乙"),
    ("z13", "ZG02AAG0401", "归芪活血胶囊", "胶囊剂", "每粒装0.45g", "铝塑泡罩", 36, "粒", "盒", "E10", "乙"),
    ("z14", "ZA04BAX0061", "夏桑菊颗粒", "颗粒剂", "每袋装10g", "复合膜袋", 20, "袋", "盒", "E3", "甲"),
    ("z15", "ZA06CAJ0740", "金花清感颗粒", "颗粒剂", "每袋装5g", "复合膜袋", 9, "袋", "盒", "E7", "乙"),
    ("z16", "ZA09FAB0150", "百令片", "片剂", "每片重0.44g", "铝塑泡罩", 72, "片", "盒", "E2", "乙"),
    ("z17", "ZC02AAS0475", "生白颗粒", "颗粒剂", "每袋装10g", "复合膜袋", 6, "袋", "盒", "E5", "乙"),
    ("z18", "ZA09FAN0099", "宁心宝胶囊", "胶囊剂", "每粒装0.25g", "铝塑泡罩", 60, "粒", "盒", "E4", "乙"),
    ("z19", "ZC02AAK0038", "康力欣胶囊", "胶囊剂", "每粒装0.5g", "铝塑泡罩", 24, "粒", "盒", "E10", "乙"),
    ("z22", "ZC01AAC0062", "参莲胶囊", "胶囊剂", "每粒装0.5g", "铝塑泡罩", 36, "粒", "盒", "E3", "乙"),
]

# Real full codes found in public data (docs/NATIONAL-TABLES.md). Only what the sources show is
# filled in; unknown cells stay empty.
REAL_DRUGS = [
    {   # code, name, 批准文号, 本位码 from shared/domain/legacy-data.md
        "key": "r01", "code": "XA01ABD075A002010100483", "name": "地喹氯铵含片", "form": "含片",
        "approval": "国药准字H20067255", "bwm": "86900483000019", "yb_name": "地喹氯铵",
    },
    {   # HIS seed data: 阿莫西林片
        "key": "r02", "code": "XJ01CAA040A001010405611", "name": "阿莫西林片", "form": "片剂",
        "yb_name": "阿莫西林",
    },
    {   # HIS code sample; name inferred from the shared 通用名码+剂型码 of r02
        "key": "r03", "code": "XJ01CAA040A001010102699", "name": "阿莫西林片", "form": "片剂",
        "yb_name": "阿莫西林",
    },
    {   # pharmacy POS data: 夏桑菊颗粒, 10g*28袋, 广州白云山明兴制药有限公司, 国药准字Z44022217
        "key": "r04", "code": "ZA04BAX0061020300423", "name": "夏桑菊颗粒", "form": "颗粒剂",
        "spec": "每袋装10g", "qty": 28, "unit_min": "袋", "unit_pack": "盒",
        "enterprise": "广州白云山明兴制药有限公司", "approval": "国药准字Z44022217", "yb_name": "夏桑菊颗粒",
    },
]

# v2 (20240701) changes
DRUG_RETIRED = ["x12", "x24", "z16", "x50"]           # absent from 总表 v2, listed in 变更 as 停用
DRUG_RENAMED = {                                         # key -> new 注册名称 in v2
    "x30": "胰激肽原酶肠溶片(Ⅱ)",
    "x36": "门冬氨酸钾镁片(薄膜衣)",
    "z04": "八味芪龙颗粒(无蔗糖)",
}
# Added in v2: same shape as X_ROWS / Z_ROWS. x60 replaces the retired x50 (enterprise change)
# and names it under 曾用码.
X_ADDED = [
    ("x57", "XJ05AFE013", "恩替卡韦", "恩替卡韦片", "A001", "0.5mg", "铝塑泡罩", 28, "片", "盒", "E4", "甲"),
    ("x58", "XA10BJS279", "司美格鲁肽", "司美格鲁肽注射液", "B001", "3ml:3mg(预填充注射笔)", "预填充注射笔", 1, "支", "盒", "E9", "乙"),
    ("x59", "XA02BCF721", "伏诺拉生", "富马酸伏诺拉生片", "A001", "10mg", "铝塑泡罩", 14, "片", "盒", "E9", "乙"),
    ("x60", "XJ01MAM122", "莫西沙星", "盐酸莫西沙星片", "A001", "0.4g", "铝塑泡罩", 6, "片", "盒", "E9", "乙"),
]
Z_ADDED = [
    ("z20", "ZA06CAJ0740", "金花清感颗粒", "颗粒剂", "每袋装5g", "复合膜袋", 12, "袋", "盒", "E1", "乙"),
    ("z21", "ZC02AAQ0107", "芪珍胶囊", "胶囊剂", "每粒装0.3g", "铝塑泡罩", 36, "粒", "盒", "E3", "乙"),
]
FORMER_CODE_OF = {"x60": "x50"}   # 曾用码 in v2


def _pack_code(i: int) -> str:
    """规格包装码 (4 digits, constructed): 01..09 x 01..06, varied per row."""
    return f"{(i // 6) % 9 + 1:02d}{i % 6 + 1:02d}"


def build_drug_rows():
    """Return {key: row-dict} for every drug row of either version (constructed + real)."""
    rows = {}
    product_seq = {}

    def next_product(ent5: str) -> str:
        product_seq[ent5] = product_seq.get(ent5, 0) + 1
        return f"{product_seq[ent5] * 7 + 10:05d}"

    def approval(kind: str, prov: str, i: int) -> str:
        # H + province (2) + 6 digits, or H20 + yy + 4 digits (新批准); Z + province + 6 digits
        if kind == "Z":
            return f"国药准字Z{prov}{20000 + i * 37:06d}"
        if kind == "S":
            return f"国药准字S20{(15 + i) % 24:02d}{1000 + i * 13:04d}"
        if i % 3 == 0:
            return f"国药准字H20{(10 + i) % 24:02d}{3000 + i * 11:04d}"
        return f"国药准字H{prov}{21000 + i * 53:06d}"

    for i, (key, prefix, yb, name, dcode, spec, mat, qty, umin, upack, ent, jyl) in enumerate(X_ROWS + X_ADDED):
        ent5, ent_name, prov = ENTERPRISES[ent]
        code = prefix + dcode + _pack_code(i) + ent5
        assert len(code) == 23, code
        biologic = any(w in name for w in ("单抗", "胰岛素", "鲁肽"))
        rows[key] = {
            "code": code, "name": name, "trade": "", "reg_form": DOSAGE[dcode][0],
            "form": DOSAGE[dcode][0], "reg_spec": spec, "spec": spec, "material": mat,
            "qty": qty, "unit_min": umin, "unit_pack": upack, "enterprise": ent_name,
            "holder": ent_name, "producer": ent_name,
            "approval": approval("S" if biologic else "H", prov, i),
            "bwm": benweima(ent5, next_product(ent5)), "yb_name": yb, "jyl": jyl,
            "yb_form": DOSAGE[dcode][1], "remark": "",
        }
    for i, (key, prefix, name, form, spec, mat, qty, umin, upack, ent, jyl) in enumerate(Z_ROWS + Z_ADDED):
        ent5, ent_name, prov = ENTERPRISES[ent]
        code = prefix + _pack_code(i + 3) + ent5
        assert len(code) == 20, code
        rows[key] = {
            "code": code, "name": name, "trade": "", "reg_form": form, "form": form,
            "reg_spec": spec, "spec": spec, "material": mat, "qty": qty, "unit_min": umin,
            "unit_pack": upack, "enterprise": ent_name, "holder": ent_name, "producer": ent_name,
            "approval": approval("Z", prov, i), "bwm": benweima(ent5, next_product(ent5)),
            "yb_name": name, "jyl": jyl, "yb_form": form, "remark": "",
        }
    for r in REAL_DRUGS:
        rows[r["key"]] = {
            "code": r["code"], "name": r["name"], "trade": "", "reg_form": r["form"],
            "form": r["form"], "reg_spec": r.get("spec", ""), "spec": r.get("spec", ""),
            "material": "", "qty": r.get("qty", ""), "unit_min": r.get("unit_min", ""),
            "unit_pack": r.get("unit_pack", ""), "enterprise": r.get("enterprise", ""),
            "holder": "", "producer": r.get("enterprise", ""), "approval": r.get("approval", ""),
            "bwm": r.get("bwm", ""), "yb_name": r["yb_name"], "jyl": "", "yb_form": "",
            "remark": "真实代码（公开来源）",
        }
    for field in ("code", "bwm", "approval"):
        vals = [r[field] for r in rows.values() if r[field]]
        assert len(vals) == len(set(vals)), f"duplicate {field}"
    for r in rows.values():
        assert r["approval"] == "" or re.fullmatch(r"国药准字[HZS]\d{8}", r["approval"]), r["approval"]
    return rows


def drug_version_keys():
    base = [k for k, *_ in X_ROWS] + [k for k, *_ in Z_ROWS] + [r["key"] for r in REAL_DRUGS]
    v1 = list(base)
    added = [k for k, *_ in X_ADDED] + [k for k, *_ in Z_ADDED]
    v2 = [k for k in base if k not in DRUG_RETIRED] + added
    return v1, v2, added


# v1 layout: 注册剂型/实际剂型/注册规格/实际规格 (the columns HIS vendors mirror from the
# 2021-2024 tables); v2 layout: 注册剂型/剂型/注册规格/规格 + 曾用码 (the 2025 template).
DRUG_HEADER_V1 = [
    "药品代码", "数据来源", "注册名称", "商品名称", "注册剂型", "实际剂型", "注册规格", "实际规格",
    "包装材质", "最小包装数量", "最小制剂单位", "最小包装单位", "药品企业", "上市药品持有人",
    "批准文号", "原批准文号", "药品本位码", "分包装企业名称", "生产企业", "市场状态",
    "医保药品名称", "甲乙类", "医保剂型", "编号", "备注",
]
DRUG_HEADER_V2 = [
    "药品代码", "数据来源", "注册名称", "商品名称", "注册剂型", "剂型", "注册规格", "规格", "包装材质",
    "最小包装数量", "最小制剂单位", "最小包装单位", "药品企业", "分包装企业名称", "生产企业",
    "批准文号", "原批准文号", "药品本位码", "上市药品持有人", "市场状态", "医保药品名称",
    "2023版甲乙类", "医保剂型", "编号", "备注", "曾用码",
]
DRUG_CHANGE_HEADER = [
    "药品代码", "数据来源", "本期变更", "状态", "注册名称", "商品名称", "注册剂型", "剂型",
    "注册规格", "规格", "包装材质", "最小包装数量", "最小制剂单位", "最小包装单位", "药品企业",
    "分包装企业名称", "生产企业", "批准文号", "原批准文号", "药品本位码", "上市药品持有人",
    "市场状态", "医保药品名称", "2023版甲乙类", "医保剂型", "编号", "备注", "曾用码",
]


def _drug_cells(header, r, number, former=""):
    m = {
        "药品代码": r["code"], "数据来源": "", "注册名称": r["name"], "商品名称": r["trade"],
        "注册剂型": r["reg_form"], "实际剂型": r["form"], "剂型": r["form"],
        "注册规格": r["reg_spec"], "实际规格": r["spec"], "规格": r["spec"],
        "包装材质": r["material"], "最小包装数量": r["qty"], "最小制剂单位": r["unit_min"],
        "最小包装单位": r["unit_pack"], "药品企业": r["enterprise"], "上市药品持有人": r["holder"],
        "批准文号": r["approval"], "原批准文号": "", "药品本位码": r["bwm"], "分包装企业名称": "",
        "生产企业": r["producer"], "市场状态": "", "医保药品名称": r["yb_name"],
        "甲乙类": r["jyl"], "2023版甲乙类": r["jyl"], "医保剂型": r["yb_form"],
        "编号": number, "备注": r["remark"], "曾用码": former, "本期变更": "", "状态": "",
    }
    return [m[h] for h in header]


def _sheet(wb, title, header, rows, title_text=None):
    from openpyxl.styles import Alignment, Font
    ws = wb.create_sheet(title)
    r0 = 1
    if title_text:
        ws.cell(row=1, column=1, value=title_text).font = Font(bold=True, size=14)
        ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        r0 = 2
    for c, h in enumerate(header, 1):
        cell = ws.cell(row=r0, column=c, value=h)
        cell.font = Font(bold=True)
    for i, row in enumerate(rows):
        for c, v in enumerate(row, 1):
            if v == "":
                continue
            ws.cell(row=r0 + 1 + i, column=c, value=v)
    ws.freeze_panes = ws.cell(row=r0 + 1, column=1)
    return ws


def generate_drugs(out: Path):
    from openpyxl import Workbook
    rows = build_drug_rows()
    v1, v2, added = drug_version_keys()

    # v1: one sheet 总表（N）, merged title row, header on row 2
    wb = Workbook()
    wb.remove(wb.active)
    data = [_drug_cells(DRUG_HEADER_V1, rows[k], f"{n + 1:06d}") for n, k in enumerate(v1)]
    _sheet(wb, f"总表（{len(v1)}）", DRUG_HEADER_V1, data,
           title_text="国家医保药品分类与代码数据库（样例，2024年1月）")
    save_xlsx_deterministic(wb, out / DRUG_V1)

    # v2: 总表（N）, 新增（n）, 变更（n）
    former = {k: rows[v]["code"] for k, v in FORMER_CODE_OF.items()}
    v2_rows = {}
    for k in v2:
        r = dict(rows[k])
        if k in DRUG_RENAMED:
            r["name"] = DRUG_RENAMED[k]
        v2_rows[k] = r
    wb = Workbook()
    wb.remove(wb.active)
    number = {k: f"{n + 1:06d}" for n, k in enumerate(v1 + added)}
    data = [_drug_cells(DRUG_HEADER_V2, v2_rows[k], number[k], former.get(k, "")) for k in v2]
    _sheet(wb, f"总表（{len(v2)}）", DRUG_HEADER_V2, data,
           title_text="国家医保药品分类与代码数据库（样例，2024年7月）")
    new_hdr = [h for h in DRUG_HEADER_V2 if h not in ("数据来源", "曾用码")]
    data = [_drug_cells(new_hdr, v2_rows[k], number[k]) for k in added]
    _sheet(wb, f"新增（{len(added)}）", new_hdr, data,
           title_text="本期新增药品代码（样例）")
    changes = []
    for k in [k for k in v1 if k in DRUG_RENAMED]:
        cells = _drug_cells(DRUG_CHANGE_HEADER, v2_rows[k], number[k])
        cells[2], cells[3] = "注册名称", "正常"
        changes.append(cells)
    for k in DRUG_RETIRED:
        cells = _drug_cells(DRUG_CHANGE_HEADER, rows[k], number[k])
        cells[2], cells[3] = "停用", "停用"
        changes.append(cells)
    _sheet(wb, f"变更（{len(changes)}）", DRUG_CHANGE_HEADER, changes,
           title_text="本期变更药品代码（样例）")
    save_xlsx_deterministic(wb, out / DRUG_V2)
    return rows, v1, v2, added


# ---------------------------------------------------------------- 中药饮片 (UTF-8 CSV)
HERB_HEADER = ["中药饮片代码", "中药饮片名称", "药材名称", "炮制方法", "功效分类", "药材科来源",
               "药材种来源", "药用部位", "性味与归经", "功能与主治", "用法与用量", "标准名称来源", "标准页码"]
# T511702879 哈士蟆 is a real code (HIS seed data); the others are constructed to the same
# T + 9 digits shape, which is itself unverified.
HERB_ROWS = [
    ["T511702879", "哈士蟆", "哈士蟆", "净制", "补虚药", "蛙科", "中国林蛙", "干燥全体", "", "", "", "", ""],
    ["T000100011", "黄芪", "黄芪", "切制", "补虚药", "豆科", "蒙古黄芪", "根", "", "", "", "", ""],
    ["T000100028", "炙黄芪", "黄芪", "蜜炙", "补虚药", "豆科", "蒙古黄芪", "根", "", "", "", "", ""],
    ["T000200035", "当归", "当归", "切制", "补虚药", "伞形科", "当归", "根", "", "", "", "", ""],
    ["T000300042", "甘草片", "甘草", "切制", "补虚药", "豆科", "甘草", "根和根茎", "", "", "", "", ""],
    ["T000300059", "炙甘草", "甘草", "蜜炙", "补虚药", "豆科", "甘草", "根和根茎", "", "", "", "", ""],
    ["T000400066", "金银花", "金银花", "净制", "清热药", "忍冬科", "忍冬", "花蕾或带初开的花", "", "", "", "", ""],
    ["T000500073", "茯苓", "茯苓", "切制", "利水渗湿药", "多孔菌科", "茯苓", "菌核", "", "", "", "", ""],
]


def generate_herbs(out: Path):
    write_csv(out / HERB, HERB_HEADER, HERB_ROWS, encoding="utf-8")


# ======================================================================================
# Consumables — 医保医用耗材分类与代码 (xlsx, header on row 1)
# ======================================================================================
CONSUMABLE_HEADER = [
    "耗材代码", "一级分类\n（学科、品类）", "二级分类（用途、品目）", "三级分类（部位、功能、品种）",
    "医保通用名", "耗材材质", "规格（特征、参数）", "耗材企业", "注册备案号", "单件产品名称", "规格型号数",
]
# Category cells are 'NN-名称' as published (the public importers split them on '-').
# Category names are from memory (unverified); codes, companies and registrations are constructed.
CONS_CLASSES = {
    "010101": ("01-血管介入治疗类材料", "01-血管介入诊断材料", "01-导管"),
    "010201": ("01-血管介入治疗类材料", "02-血管介入治疗材料", "01-支架"),
    "020101": ("02-非血管介入治疗类材料", "01-消化介入材料", "01-支架"),
    "030101": ("03-骨科材料", "01-关节置换材料", "01-髋关节"),
    "030301": ("03-骨科材料", "03-脊柱材料", "01-椎弓根螺钉"),
    "060101": ("06-眼科材料", "01-晶状体", "01-人工晶状体"),
    "140101": ("14-基础卫生材料", "01-注射穿刺器械", "01-注射器"),
    "140201": ("14-基础卫生材料", "02-敷料", "01-纱布"),
}
CONS_GENERICS = [
    # (class6, 通用名码3, 医保通用名, 材质, 规格(特征、参数), 单件产品名称)
    ("010101", "001", "造影导管", "聚氨酯", "直头、弯头", "血管造影导管"),
    ("010101", "002", "导引导丝", "镍钛合金", "0.035英寸", "血管介入导丝"),
    ("010201", "001", "冠状动脉药物洗脱支架", "钴铬合金", "雷帕霉素涂层", "冠状动脉雷帕霉素洗脱支架系统"),
    ("010201", "003", "外周血管支架", "镍钛合金", "自膨式", "外周自膨式支架系统"),
    ("020101", "001", "胆道支架", "镍钛合金", "覆膜", "胆道覆膜支架"),
    ("030101", "001", "髋关节假体-股骨柄", "钛合金", "生物型", "髋关节假体股骨柄"),
    ("030101", "002", "髋关节假体-髋臼杯", "钛合金", "生物型", "髋关节假体髋臼杯"),
    ("030301", "001", "椎弓根螺钉", "钛合金", "多轴", "脊柱内固定系统椎弓根螺钉"),
    ("060101", "001", "人工晶状体", "疏水性丙烯酸酯", "非球面", "非球面人工晶状体"),
    ("140101", "001", "一次性使用无菌注射器", "聚丙烯", "带针", "一次性使用无菌注射器带针"),
    ("140201", "001", "医用脱脂纱布", "棉", "非无菌", "医用脱脂纱布块"),
]
CONS_COMPANIES = [
    ("11023", "北京示例医疗器械有限公司", "京"), ("32107", "江苏样例医疗科技股份有限公司", "苏"),
    ("44059", "广东示范医疗用品有限公司", "粤"), ("33081", "浙江演示医疗器械有限公司", "浙"),
]


def consumable_rows():
    rows = []
    n = 0
    for gi, (cls, gen, name, mat, feat, product) in enumerate(CONS_GENERICS):
        variants = 4 if gi < 7 else 3
        for v in range(variants):
            ent5, company, short = CONS_COMPANIES[(gi + v) % len(CONS_COMPANIES)]
            feature5 = f"{(gi * 7 + v * 3) % 97 + 1:03d}{v + 1:02d}"
            code = "C" + cls + gen + feature5 + ent5
            assert len(code) == 20 and code[1:].isdigit(), code
            c1, c2, c3 = CONS_CLASSES[cls]
            low_risk = cls.startswith("14")
            if low_risk and gen == "001" and cls == "140201":
                reg = f"{short}械备{2015 + v}{n:04d}"
            else:
                cat = "3" if cls[:2] in ("01", "02", "03", "06") else "2"
                reg = f"国械注准{2018 + (n % 6)}{cat}{(13 + gi) % 70:02d}{1000 + n * 17:04d}"
            rows.append([code, c1, c2, c3, name, mat, f"{feat}；型号{v + 1}", company, reg,
                         product, str(3 + (n * 5) % 40)])
            n += 1
    codes = [r[0] for r in rows]
    assert len(codes) == len(set(codes))
    return rows


def generate_consumables(out: Path):
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    wb = Workbook()
    ws = wb.active
    ws.title = "医用耗材分类与代码"
    for c, h in enumerate(CONSUMABLE_HEADER, 1):
        cell = ws.cell(row=1, column=c, value=h)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
    rows = consumable_rows()
    for i, row in enumerate(rows):
        for c, v in enumerate(row, 1):
            ws.cell(row=2 + i, column=c, value=v)
    save_xlsx_deterministic(wb, out / CONSUMABLE)
    return rows


# ======================================================================================
# Medical service items — 医疗服务项目分类与代码 (GBK CSV)
# ======================================================================================
SERVICE_HEADER = ["项目代码", "项目名称", "项目内涵", "除外内容", "计价单位", "说明", "有效标志"]
# Real 15-digit codes with names exactly as found (jdzwq/MediModel rule seed, see the docs).
# 项目内涵/除外内容/计价单位/说明 are not known from public evidence and stay empty.
SERVICE_ROWS = [
    ("001102000040000", "门急诊留观诊查费"), ("001201000100000", "气管切开护理"),
    ("001201000000100", "护理费(波动式气垫床预防褥疮)"), ("001208000020000", "肠内高营养治疗"),
    ("001209000010000", "胃肠减压"), ("001214000010001", "引流管冲洗(更换引流装置)"),
    ("001215000020000", "清洁灌肠"), ("001216000010100", "导尿(留置导尿)"),
    ("002101030130000", "上消化道造影"), ("002101030160000", "口服法小肠造影"),
    ("002101030200000", "静脉胆道造影"), ("002101030220000", "经皮经肝胆道造影(PTC)"),
    ("002103000030000", "脑池X线计算机体层(CT)含气造影"), ("002105000010000", "红外热象检查"),
    ("002202010010000", "单脏器B超检查"), ("002202020020000", "经直肠B超检查"),
    ("002202030020000", "小肠充盈及排空功能检查"), ("002203010020000", "浅表器官彩色多普勒超声检查"),
    ("002203020050000", "腹部大血管彩色多普勒超声"), ("002203020070000", "双肾及肾血管彩色多普勒超声"),
    ("002203020080000", "左肾静脉“胡桃夹”综合征检查"), ("002203020110000", "腔内彩色多普勒超声检查"),
    ("002206000090000", "负荷超声心动图"), ("002206000100000", "左心功能测定"),
    ("002302000060000", "甲状腺静态显象"), ("003103000010000", "普通视力检查"),
    ("003103000050300", "视野检查(普通视野计)"), ("003103000070000", "验光"),
    ("003103000400000", "角膜地形图检查"), ("003104010010000", "听性脑干反应"),
    ("003104010100000", "声导抗测听"), ("003104010440000", "导管法咽鼓管吹张"),
    ("003107020160000", "心脏电复律术"), ("003110000310000", "膀胱灌注"),
    ("003401000120100", "超短波短波治疗(小功率超短波和短波)"), ("003401000230600", "牵引(悬吊治疗)"),
    ("004300000010100", "普通针刺(体针)"), ("004300000160100", "电针(普通电针)"),
    ("004400000010100", "灸法(艾条灸)"), ("004500000020000", "颈椎病推拿治疗"),
]
SERVICE_RETIRED = {"002105000010000", "002302000060000"}   # 有效标志 0 in the sample


def generate_services(out: Path):
    rows = [[c, n, "", "", "", "", "0" if c in SERVICE_RETIRED else "1"] for c, n in SERVICE_ROWS]
    for c, _ in SERVICE_ROWS:
        assert len(c) == 15 and c.isdigit(), c
    write_csv(out / SERVICE, SERVICE_HEADER, rows, encoding="gbk")
    return rows


# ======================================================================================
# Diagnoses — 医保疾病诊断分类与代码 (ICD-10 医保版), two versions (xls + CSV)
# ======================================================================================
ICD10_CHAPTERS = [
    ("1", "A00", "B99", "某些传染病和寄生虫病"),
    ("2", "C00", "D48", "肿瘤"),
    ("3", "D50", "D89", "血液及造血器官疾病和涉及免疫机制的某些疾患"),
    ("4", "E00", "E90", "内分泌、营养和代谢疾病"),
    ("5", "F00", "F99", "精神和行为障碍"),
    ("6", "G00", "G99", "神经系统疾病"),
    ("7", "H00", "H59", "眼和附器疾病"),
    ("8", "H60", "H95", "耳和乳突疾病"),
    ("9", "I00", "I99", "循环系统疾病"),
    ("10", "J00", "J99", "呼吸系统疾病"),
    ("11", "K00", "K93", "消化系统疾病"),
    ("12", "L00", "L99", "皮肤和皮下组织疾病"),
    ("13", "M00", "M99", "肌肉骨骼系统和结缔组织疾病"),
    ("14", "N00", "N99", "泌尿生殖系统疾病"),
    ("15", "O00", "O99", "妊娠、分娩和产褥期"),
    ("16", "P00", "P96", "起源于围生期的某些情况"),
    ("17", "Q00", "Q99", "先天性畸形、变形和染色体异常"),
    ("18", "R00", "R99", "症状、体征和临床与实验室异常所见，不可归类在他处者"),
    ("19", "S00", "T98", "损伤、中毒和外因的某些其他后果"),
    ("20", "V01", "Y98", "疾病和死亡的外因"),
    ("21", "Z00", "Z99", "影响健康状态和与保健机构接触的因素"),
    ("22", "U00", "U99", "用于特殊目的的编码"),
]
DIAG_HEADER = ["章", "章代码范围", "章的名称", "节代码范围", "节名称", "类目代码", "类目名称",
               "亚目代码", "亚目名称", "诊断代码", "诊断名称"]
DIAG_COMMON_N = 294           # rows in both versions
DIAG_PER_CHAPTER = 12
DIAG_PAIRS = 12               # dagger/asterisk pairs
DIAG_BARE_PAIRS = 4           # pairs whose asterisk part is a bare category (A01.002+G01*)
# Renamed: code -> name in v1 (v2 carries the real name from the shared list)
DIAG_RENAMED_V1 = {
    "A00.900x002": "轻型霍乱",
    "C34.100x003": "左上肺恶性肿瘤",
    "C34.900x001": "肺癌",
    "E11.900": "Ⅱ型糖尿病",
    "I10.x00x002": "高血压病",
}
DIAG_RETIRED_N = 6            # crosswalk source codes in v1 only, replaced by their targets in v2
DIAG_ADDED_PLAIN_N = 2        # further real rows added in v2


def read_tsv(path: Path):
    with path.open(encoding="utf-8") as f:
        return [r for r in csv.DictReader(f, delimiter="\t")]


def _chapter_of(code: str):
    cat = code[:3]
    for ch in ICD10_CHAPTERS:
        if ch[1] <= cat <= ch[2]:
            return ch
    raise ValueError(code)


def _stride(seq, k):
    if k >= len(seq):
        return list(seq)
    return [seq[i * len(seq) // k] for i in range(k)]


def select_diagnoses(shared: Path):
    rows = read_tsv(next((shared / "diagnoses").glob("*.tsv")))
    names = {r["code"]: r["name"] for r in rows}
    order = [r["code"] for r in rows]
    xw = read_tsv(next((shared / "crosswalks").glob("diagnoses-*.tsv")))

    # retired/added pairs: source not in the national list, target in it; spread over the list
    cand = []
    seen_t = set()
    for r in xw:
        s, t = r["source_code"], r["target_code"]
        if s != t and s not in names and t in names and t not in seen_t and "+" not in s:
            cand.append((s, t))
            seen_t.add(t)
    retired_pairs = _stride(cand, DIAG_RETIRED_N)
    reserved = {t for _, t in retired_pairs}

    common = []
    chosen = set()

    def take(c):
        if c not in chosen and c not in reserved:
            chosen.add(c)
            common.append(c)

    for c in DIAG_RENAMED_V1:
        assert c in names, c
        take(c)
    for ch in ICD10_CHAPTERS:
        in_ch = [c for c in order if "+" not in c and ch[1] <= c[:3] <= ch[2]]
        sevens = [c for c in in_ch if len(c) == 7]
        elevens = [c for c in in_ch if len(c) == 11]
        for c in _stride(sevens, DIAG_PER_CHAPTER // 2) + _stride(elevens, DIAG_PER_CHAPTER // 2):
            take(c)
    pairs = [c for c in order if "+" in c]
    bare = [c for c in pairs if re.search(r"\+[A-Z]\d\d\*$", c)]
    full = [c for c in pairs if c not in bare]
    for c in _stride(full, DIAG_PAIRS) + _stride(bare, DIAG_BARE_PAIRS):
        take(c)
    rest = [c for c in order if c not in chosen and c not in reserved]
    for c in _stride(rest, DIAG_COMMON_N - len(common) + 10):
        if len(common) >= DIAG_COMMON_N:
            break
        take(c)
    assert len(common) == DIAG_COMMON_N, len(common)
    rest = [c for c in order if c not in chosen and c not in reserved]
    added_plain = _stride(rest[len(rest) // 3:], DIAG_ADDED_PLAIN_N)

    sort_key = {c: i for i, c in enumerate(order)}
    common.sort(key=lambda c: sort_key[c])
    return names, sort_key, common, retired_pairs, added_plain


def _diag_row(code, name, names):
    ch = _chapter_of(code)
    cat = code[:3]
    sub = code[:5]
    cat_name = names.get(cat + ".x00", "")
    sub_name = "" if sub.endswith("x") else names.get(sub + "00", "")
    return [ch[0], f"{ch[1]}-{ch[2]}", ch[3], "", "", cat, cat_name,
            "" if sub.endswith("x") else sub, sub_name, code, name]


def generate_diagnoses(out: Path, shared: Path):
    import xlwt
    names, sort_key, common, retired_pairs, added_plain = select_diagnoses(shared)
    v1_codes = common + [s for s, _ in retired_pairs]
    v1_name = {c: DIAG_RENAMED_V1.get(c, names[c]) for c in common}
    for s, t in retired_pairs:
        v1_name[s] = names[t]          # the concept's name, under its former code
    # sort v1 by the position of the code (or its replacement) in the national list
    pos = dict(sort_key)
    for s, t in retired_pairs:
        pos[s] = sort_key[t] - 0.5
    v1_codes.sort(key=lambda c: pos[c])
    v2_codes = sorted(common + [t for _, t in retired_pairs] + added_plain, key=lambda c: sort_key[c])

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("疾病诊断分类与代码")
    bold = xlwt.easyxf("font: bold on")
    for c, h in enumerate(DIAG_HEADER):
        ws.write(0, c, h, bold)
    for i, code in enumerate(v1_codes, 1):
        for c, v in enumerate(_diag_row(code, v1_name[code], names)):
            ws.write(i, c, v)
    buf = io.BytesIO()
    wb.save(buf)
    (out / DIAG_V1).write_bytes(buf.getvalue())

    write_csv(out / DIAG_V2, DIAG_HEADER,
              [_diag_row(c, names[c], names) for c in v2_codes], encoding="utf-8")
    return {
        "v1": v1_codes, "v2": v2_codes,
        "retired": [s for s, _ in retired_pairs],
        "added": sorted([t for _, t in retired_pairs] + added_plain, key=lambda c: sort_key[c]),
        "pairs": retired_pairs,
        "renamed": {c: (DIAG_RENAMED_V1[c], names[c]) for c in DIAG_RENAMED_V1},
    }


# ======================================================================================
# Procedures — 医保手术操作分类与代码 (ICD-9-CM-3 医保版), UTF-8 CSV with BOM
# ======================================================================================
# Chapter layout of ICD-9-CM-3 (categories 00-99). The Chinese chapter names are not taken from
# the national file (inferred wording).
ICD9_CHAPTERS = [
    ("0", "00", "00", "操作和介入，不可归类在他处"),
    ("1", "01", "05", "神经系统手术"),
    ("2", "06", "07", "内分泌系统手术"),
    ("3", "08", "16", "眼手术"),
    ("3A", "17", "17", "其他各类诊断性和治疗性操作"),
    ("4", "18", "20", "耳手术"),
    ("5", "21", "29", "鼻、口、咽手术"),
    ("6", "30", "34", "呼吸系统手术"),
    ("7", "35", "39", "心血管系统手术"),
    ("8", "40", "41", "血液和淋巴系统手术"),
    ("9", "42", "54", "消化系统手术"),
    ("10", "55", "59", "泌尿系统手术"),
    ("11", "60", "64", "男性生殖器官手术"),
    ("12", "65", "71", "女性生殖器官手术"),
    ("13", "72", "75", "产科操作"),
    ("14", "76", "84", "肌肉骨骼系统手术"),
    ("15", "85", "86", "体被系统手术"),
    ("16", "87", "99", "各种诊断性和治疗性操作"),
]
PROC_HEADER = ["章", "章代码范围", "章的名称", "类目代码", "类目名称", "亚目代码", "亚目名称",
               "细目代码", "细目名称", "手术操作代码", "手术操作名称"]
PROC_N = 200
PROC_FORCE = ["86.700x0013", "86.700x0014"]     # the two NN.NN0xNNNN codes


def generate_procedures(out: Path, shared: Path):
    rows = read_tsv(next((shared / "procedures").glob("*.tsv")))
    names = {r["code"]: r["name"] for r in rows}
    order = [r["code"] for r in rows]
    chosen = []
    seen = set()

    def take(c):
        if c not in seen:
            seen.add(c)
            chosen.append(c)

    for c in PROC_FORCE:
        take(c)
    eights = [c for c in order if len(c) == 8]
    for c in _stride(eights, 6):
        take(c)
    for ch in ICD9_CHAPTERS:
        in_ch = [c for c in order if ch[1] <= c[:2] <= ch[2] and len(c) != 8]
        for c in _stride([c for c in in_ch if len(c) == 7], 5) + _stride([c for c in in_ch if len(c) == 11], 5):
            take(c)
    rest = [c for c in order if c not in seen]
    for c in _stride(rest, PROC_N):
        if len(chosen) >= PROC_N:
            break
        take(c)
    assert len(chosen) == PROC_N
    pos = {c: i for i, c in enumerate(order)}
    chosen.sort(key=lambda c: pos[c])

    def chapter(code):
        for ch in ICD9_CHAPTERS:
            if ch[1] <= code[:2] <= ch[2]:
                return ch
        raise ValueError(code)

    out_rows = []
    for c in chosen:
        ch = chapter(c)
        cat, sub, det = c[:2], c[:4], c[:5]
        out_rows.append([ch[0], ch[1] if ch[1] == ch[2] else f"{ch[1]}-{ch[2]}", ch[3], cat, "",
                         sub, "", det, names.get(det + "00", ""), c, names[c]])
    write_csv(out / PROC, PROC_HEADER, out_rows, encoding="utf-8", bom=True)
    return chosen


# ======================================================================================
# Self-check: read the files back and print the figures README.md states
# ======================================================================================
def check(out: Path):
    import openpyxl
    import xlrd

    def xlsx_sheets(p):
        wb = openpyxl.load_workbook(p, read_only=True)
        res = {}
        for ws in wb.worksheets:
            res[ws.title] = [list(r) for r in ws.iter_rows(values_only=True)]
        return res

    def table(rows, code_h, name_h):
        for i, r in enumerate(rows):
            if code_h in r and name_h in r:
                ci, ni = r.index(code_h), r.index(name_h)
                return {x[ci]: x[ni] for x in rows[i + 1:] if x[ci]}
        raise SystemExit(f"header {code_h} not found")

    d1 = xlsx_sheets(out / DRUG_V1)
    d2 = xlsx_sheets(out / DRUG_V2)
    t1 = table(next(v for k, v in d1.items() if k.startswith("总表")), "药品代码", "注册名称")
    t2 = table(next(v for k, v in d2.items() if k.startswith("总表")), "药品代码", "注册名称")
    diff("drug", t1, t2)
    for v in (t1, t2):
        for code in v:
            assert len(code) in (20, 23), code
    for sheets in (d1, d2):
        rows = next(v for k, v in sheets.items() if k.startswith("总表"))
        hdr = next(r for r in rows if "药品本位码" in r)
        bi = hdr.index("药品本位码")
        for r in rows[rows.index(hdr) + 1:]:
            if r[bi]:
                assert gs1_check_digit(r[bi][:13]) == r[bi][13], r[bi]
    wb = xlrd.open_workbook(out / DIAG_V1)
    sh = wb.sheet_by_index(0)
    g1 = table([sh.row_values(i) for i in range(sh.nrows)], "诊断代码", "诊断名称")
    with (out / DIAG_V2).open(encoding="utf-8") as f:
        g2 = table([r for r in csv.reader(f)], "诊断代码", "诊断名称")
    diff("diagnosis", g1, g2)
    with (out / PROC).open(encoding="utf-8-sig") as f:
        print("procedure rows", len(table([r for r in csv.reader(f)], "手术操作代码", "手术操作名称")))
    with (out / SERVICE).open(encoding="gbk") as f:
        print("service rows", len(table([r for r in csv.reader(f)], "项目代码", "项目名称")))
    with (out / HERB).open(encoding="utf-8") as f:
        print("herbal rows", len(table([r for r in csv.reader(f)], "中药饮片代码", "中药饮片名称")))
    c = xlsx_sheets(out / CONSUMABLE)
    rows = next(iter(c.values()))
    print("consumable rows", len(table(rows, "耗材代码", "医保通用名")))
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"total size {total} bytes")


def diff(label, a, b):
    added = sorted(set(b) - set(a))
    retired = sorted(set(a) - set(b))
    renamed = sorted(c for c in set(a) & set(b) if a[c] != b[c])
    print(f"{label}: v1 {len(a)} rows, v2 {len(b)} rows; added {len(added)} {added}; "
          f"retired {len(retired)} {retired}; renamed {len(renamed)} {renamed}")


# ======================================================================================
def find_shared(arg):
    cands = []
    if arg:
        cands.append(Path(arg))
    if os.environ.get("YIBAO_SHARED_NATIONAL"):
        cands.append(Path(os.environ["YIBAO_SHARED_NATIONAL"]))
    cands += [REPO.parent / "shared" / "national-codes", Path("/work/shared/national-codes")]
    for c in cands:
        if (c / "diagnoses").is_dir() and (c / "procedures").is_dir():
            return c
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", help="the shared national-codes folder (diagnoses/, procedures/, crosswalks/)")
    ap.add_argument("--out", default=str(HERE), help="output folder (default: this script's folder)")
    ap.add_argument("--check", action="store_true", help="only read the files back and print the figures")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.check:
        check(out)
        return
    generate_drugs(out)
    generate_herbs(out)
    generate_consumables(out)
    generate_services(out)
    shared = find_shared(args.shared)
    if shared is None:
        print("shared national-codes not found: diagnosis and procedure files left as they are",
              file=sys.stderr)
    else:
        generate_diagnoses(out, shared)
        generate_procedures(out, shared)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
