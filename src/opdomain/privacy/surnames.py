"""Chinese surnames (姓氏) used to recognise and to mask person names (rules 一.(一), R1.1b).

Data only. ``COMMON_SURNAMES`` holds the hundred most frequent single-character surnames
(together they cover most of the population of the mainland); ``COMPOUND_SURNAMES`` holds the compound
surnames (复姓) still in use, so that ``欧阳娜娜`` masks to ``欧阳**`` and not ``欧***``.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


COMMON_SURNAMES: frozenset[str] = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈"
    "钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤"
)

COMPOUND_SURNAMES: tuple[str, ...] = _words(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 "
    "令狐 独孤 南宫 西门 澹台 公冶 宗政 濮阳 太叔 申屠 闻人 赫连 钟离 端木 "
    "鲜于 呼延 万俟 百里 东郭 拓跋 司空 左丘 淳于 "
)

#: Short words that start with a common surname character but are not names (detection only).
NOT_NAMES: frozenset[str] = frozenset(
    _words(
        "周一 周二 周三 周四 周五 周六 周末 周期 周年 周边 金融 黄金 "
        "金属 金额 高新 高速 高级 高度 高中 高温 方案 方式 方面 方向 "
        "方法 程序 程度 程式 马路 马上 马车 石油 江南 江湖 白天 白色 "
        "于是 任务 任何 曾经 常用 常规 常见 常务 段落 向量 向前 向导 "
        "龙头 龙虾 毛利 严重 严格 严肃 夏季 夏天 叶片 林业 孔径 孔雀 "
        "钱包 钱财 汤圆 汤匙 万一 田地 董事 董事会 范围 史料 余额 许可 "
        "许可证 陆地 陆续 武装 武术 韩国 宋体 唐朝 朱红 胡同 罗盘 郑重 "
        "谢谢 孙子 杨树 黄色 李子 王国 王者 张开 刘海 陈列 陈述 杜绝 "
        "苏醒 丁香 钟表 姜汁 汪洋 付款 付费 熊猫 雷达 黎明 陶瓷 贺卡 "
        "顾客 顾问 莫非 于此 何时 何处 何况 高铁 黄河 长江 白银 石材 "
        "方便 程控 田园 金牌 金卡 高管 "
    )
)

#: Last characters that make a short CJK word a place, an organisation or an amount, not a name.
NOT_NAME_ENDINGS: frozenset[str] = frozenset(
    "省市县区镇乡村路街道巷号局厂店司部院校所站处科室队委园馆场州厅办元年月日额率费税"
)
