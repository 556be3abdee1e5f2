"""Word pools for the synthetic 泵阀共富贷 source data (合成数据词库).

Plain data, no logic: surnames, given-name characters, enterprise-name parts, the towns of
永嘉县, certification types and the region codes used in resident IDs. Weights are relative
(they are normalised where drawn). Every name built from these pools is fictional; any
likeness to a real person or enterprise is a coincidence of common words.
"""

from __future__ import annotations

# fmt: off

# Common surnames, weighted towards those frequent in 温州 (Wenzhou).
SURNAMES: tuple[tuple[str, float], ...] = (
    ("陈", 9.0), ("林", 6.0), ("王", 6.0), ("黄", 5.0), ("张", 5.0), ("李", 4.5), ("周", 4.0),
    ("郑", 4.0), ("潘", 3.0), ("叶", 3.0), ("金", 2.5), ("朱", 2.5), ("徐", 2.5), ("吴", 2.5),
    ("胡", 2.0), ("谢", 2.0), ("杨", 2.0), ("刘", 2.0), ("赵", 1.5), ("蔡", 1.5), ("孙", 1.2),
    ("戴", 1.2), ("余", 1.2), ("郭", 1.0), ("何", 1.0), ("高", 1.0), ("夏", 1.0), ("项", 1.0),
    ("池", 0.8), ("麻", 0.8), ("邵", 0.8), ("卢", 0.8), ("董", 0.8), ("程", 0.8), ("施", 0.8),
    ("季", 0.6), ("姜", 0.6), ("应", 0.6), ("方", 0.6), ("翁", 0.6), ("厉", 0.5), ("苏", 0.5),
    ("薛", 0.5), ("鲍", 0.5), ("章", 0.5), ("包", 0.5), ("缪", 0.4), ("阮", 0.4), ("谷", 0.3),
    ("钱", 0.3), ("严", 0.3), ("吕", 0.3),
)

# Given-name characters; a given name has one or two of them.
MALE_GIVEN = (
    "伟", "强", "军", "杰", "涛", "斌", "勇", "俊", "磊", "明", "建", "华", "平", "国", "海", "波",
    "峰", "辉", "超", "刚", "林", "鹏", "飞", "亮", "永", "志", "文", "新", "良", "成", "德", "忠",
    "卫", "东", "荣", "兵", "浩", "宇", "晨", "博", "航", "锋", "松", "振", "胜", "益", "乐", "洪",
)
FEMALE_GIVEN = (
    "丽", "芳", "燕", "娟", "敏", "静", "霞", "红", "玲", "艳", "萍", "婷", "雪", "琴", "慧", "洁",
    "倩", "颖", "佳", "欣", "怡", "蕾", "晶", "秀", "英", "梅", "琳", "妍", "露", "云", "素", "月",
    "珍", "莉", "芬", "瑶", "璐", "菲", "薇", "雅", "春", "爱", "美", "彩", "晓", "悦", "茜", "丹",
)
# Share of one-character given names (the rest have two).
SINGLE_CHAR_GIVEN_SHARE = 0.3

# Enterprise names: <prefix><brand><industry>有限公司 / 股份有限公司.
NAME_PREFIXES: tuple[tuple[str, float], ...] = (
    ("永嘉县", 0.35), ("温州", 0.25), ("浙江", 0.25), ("永嘉", 0.15),
)
# Joint-stock companies mostly register under the province.
JOINT_STOCK_PREFIXES: tuple[tuple[str, float], ...] = (("浙江", 0.7), ("温州", 0.2), ("永嘉县", 0.1))
BRAND_CHARS = (
    "瑞", "泰", "鑫", "华", "宏", "达", "盛", "恒", "丰", "源", "利", "通", "诚", "信", "德", "隆",
    "昌", "安", "正", "欣", "凯", "博", "远", "禾", "森", "晟", "展", "腾", "科", "创", "力", "龙",
    "海", "江", "东", "新", "美", "精", "工", "特", "强", "铭", "卓", "越", "汇", "联", "合", "众",
    "顺", "兴", "宇", "星", "光", "明", "佳", "伟", "豪", "锦", "祥", "福", "康", "固", "中", "一",
)
INDUSTRY_WORDS = (
    "泵阀", "阀门", "泵业", "阀业", "流体设备", "流体控制", "管道设备", "机械", "阀门制造", "泵阀科技",
    "流体科技", "管件",
)
LIMITED_SUFFIX = "有限公司"
JOINT_STOCK_SUFFIX = "股份有限公司"

# Addresses: 浙江省温州市永嘉县<town>[<park>]<road><number>号. The pump-valve cluster sits around 瓯北.
ADDRESS_PREFIX = "浙江省温州市永嘉县"
TOWNS: tuple[tuple[str, float], ...] = (
    ("瓯北街道", 0.32), ("东瓯街道", 0.12), ("黄田街道", 0.10), ("三江街道", 0.10), ("桥头镇", 0.08),
    ("桥下镇", 0.08), ("乌牛街道", 0.07), ("南城街道", 0.04), ("江北街道", 0.03), ("北城街道", 0.03),
    ("东城街道", 0.03),
)
INDUSTRIAL_PARKS: tuple[tuple[str, float], ...] = (
    ("", 0.55), ("阀门工业区", 0.15), ("泵阀工业园", 0.12), ("工业园区", 0.10), ("科技园", 0.08),
)
ROAD_NAMES = (
    "阀门路", "泵业路", "工业路", "兴业路", "创业路", "振兴路", "发展大道", "纬一路", "纬二路", "经一路",
    "经二路", "园区路", "江滨路", "双塔路", "楠江路", "罗浮大街", "东瓯大道", "港头路", "浦西路", "塘头路",
)
STREET_NUMBER_MAX = 999

# Certifications (资质认证): (type, base probability, earliest issue year, certificate cycle in years or 0).
# The probability grows with the enterprise's size; the issue date falls in the current cycle.
CERTIFICATIONS: tuple[tuple[str, float, int, int], ...] = (
    ("专精特新", 0.07, 2012, 3),
    ("高新技术企业", 0.14, 2008, 3),
    ("ISO9001", 0.50, 1994, 3),
    ("浙江制造", 0.05, 2014, 0),
    ("省级企业技术中心", 0.03, 1995, 0),
    ("ISO14001", 0.22, 1997, 3),
    ("ISO45001", 0.14, 2018, 3),
    ("特种设备生产许可证", 0.18, 2003, 4),
    ("API 6D", 0.06, 2000, 3),
    ("CE认证", 0.10, 2000, 5),
    ("科技型中小企业", 0.14, 2017, 1),
    ("专精特新小巨人", 0.01, 2019, 3),
)

TAX_CREDIT_GRADES = ("A", "B", "M", "C", "D")
TAX_GRADE_ABOVE_SCALE = (0.55, 0.35, 0.04, 0.05, 0.01)
TAX_GRADE_BELOW_SCALE = (0.28, 0.50, 0.12, 0.07, 0.03)
# Taxpayers set up in the last evaluation years are mostly graded M (新设立).
TAX_GRADE_NEW_TAXPAYER_M_SHARE = 0.6

ENV_CREDIT_COLORS = ("绿", "蓝", "黄", "红")
ENV_CREDIT_WEIGHTS = (0.45, 0.40, 0.12, 0.03)

REFORM_STAGES = ("未启动", "推进中", "已完成股改", "已上市")

GENDERS = ("男", "女")

# Home regions for resident IDs (GB 11643 address codes), with the code in force for each range of
# birth years: python-stdnum accepts an address code only if it existed in the birth year, so a person
# born before 1981 in 永嘉 carries the old 温州地区 code 332422. (home, weight, ((code, first, last), ...)).
HOME_REGIONS: tuple[tuple[str, float, tuple[tuple[str, int, int], ...]], ...] = (
    ("永嘉县", 0.65, (("332422", 0, 1980), ("330324", 1981, 9999))),
    ("乐清", 0.08, (("332426", 0, 1980), ("330323", 1981, 1992), ("330382", 1993, 9999))),
    ("鹿城区", 0.07, (("330320", 0, 1982), ("330302", 1983, 9999))),
    ("平阳县", 0.05, (("332425", 0, 1980), ("330326", 1981, 9999))),
    ("苍南县", 0.04, (("332425", 0, 1980), ("330327", 1981, 9999))),
    ("文成县", 0.04, (("332424", 0, 1980), ("330328", 1981, 9999))),
    ("泰顺县", 0.04, (("332427", 0, 1980), ("330329", 1981, 9999))),
    ("桐庐县", 0.03, (("330122", 0, 9999),)),
)

# Mobile number prefixes (号段) of the three carriers.
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "180", "181", "182", "183", "184", "185", "186", "187", "188",
    "189", "191", "193", "195", "198", "199",
)
# Synthetic marker: digits 4-6 of every generated mobile number are 000.
MOBILE_MARKER = "000"
# fmt: on
