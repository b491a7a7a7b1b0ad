"""Write a drug table of N rows in the published layout (sheet 总表（N）, a merged title row, the
2025 headers) for the import benchmark. Codes follow the verified 23-character 西药 structure and
are unique; names and attributes are synthetic.

usage: python3 make_drug_table.py N OUT.xlsx
"""
import sys

from openpyxl import Workbook

HEADERS = ["药品代码", "注册名称", "剂型", "规格", "包装材质", "最小包装数量", "最小制剂单位",
           "最小包装单位", "药品企业", "批准文号", "药品本位码", "甲乙类"]
CLASSES = ["A01AB", "A02BC", "A10BA", "B01AC", "C08CA", "C10AA", "J01CA", "J01DD", "N02BE", "R03BA"]
FORMS = ["A001", "A002", "B001", "B002", "C001"]


def gs1(body):
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(f"总表（{n}）")
    ws.append(["国家医保药品分类与代码（基准库）"])
    ws.append(HEADERS)
    for i in range(n):
        cls = CLASSES[i % len(CLASSES)]
        name_code = "%s%03d" % ("ABCDEFGHJKLMNPQRSTWXYZ"[(i // 10) % 22], (i // 220) % 1000)
        form = FORMS[(i // 220000) % len(FORMS)]
        spec = "%04d" % (i % 10000)
        ent = "%05d" % ((i * 7919) % 100000)
        code = f"X{cls}{name_code}{form}{spec}{ent}"
        body = "869" + ent + "%05d" % (i % 100000)
        ws.append([code, f"合成药品{i}片", "片剂", "0.25g", "铝塑", 24, "片", "盒", f"合成制药{ent}",
                   f"国药准字H2{i % 10000000:07d}", body + gs1(body), "乙类"])
    wb.save(out)


if __name__ == "__main__":
    main()
