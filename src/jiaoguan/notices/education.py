"""Safety education (交通安全教育, N4): short pages the safety warnings link to.

The texts restate rules the platform applies elsewhere (RULES.md sources S1, S2, S4, S8), so a
warning never says something the rest of the platform contradicts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    slug: str
    title_zh: str
    title_en: str
    points_zh: tuple[str, ...]
    points_en: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        "points",
        "记分与满分教育",
        "Points and the full-score course",
        (
            "记分周期为12个月，自初次领证日期起计算，满分为12分。",
            "一个记分周期内记满12分的，驾驶证被扣留，须参加满分学习（7日，大中型客货车驾驶人30日）并考试科目一。",
            "记分达到9分后请谨慎驾驶：再有一次闯红灯（6分）或违法占用应急车道（6分）就可能满分。",
            "记分未满12分的，可参加学法减分，每个周期最多减6分。",
        ),
        (
            "Points count over 12-month cycles from the first issue date; the limit is 12.",
            "Reaching 12 points in a cycle means the licence is held, a 7-day course (30 days for large-vehicle"
            " drivers) and the subject-1 exam.",
            "From 9 points drive with care: one more red light (6) or emergency-lane offence (6) may reach 12.",
            "Below 12 points, the study-to-reduce-points course takes off up to 6 points per cycle.",
        ),
    ),
    Topic(
        "probation",
        "实习期驾驶人须知",
        "Drivers on probation",
        (
            "初次申领驾驶证的，有12个月的实习期。",
            "实习期内驾驶机动车应当在车身后部粘贴或者悬挂统一式样的实习标志。",
            "实习期内记满12分的，实习的准驾车型驾驶资格被注销。",
            "实习期内不得单独驾驶机动车上高速公路，应当由持相应或更高准驾车型驾驶证三年以上的驾驶人陪同。",
        ),
        (
            "A first licence has a 12-month probation.",
            "On probation, show the standard probation sign at the rear of the vehicle.",
            "Reaching 12 points on probation cancels the class on probation.",
            "On expressways a driver on probation must be accompanied by a driver with 3+ years of the class.",
        ),
    ),
    Topic(
        "scrapping",
        "机动车检验与报废",
        "Inspection and scrapping",
        (
            "机动车应当在检验有效期满前按规定申请检验，逾期未检验的不得上道路行驶。",
            "连续3个检验周期未取得检验合格标志的机动车，将被强制注销。",
            "达到强制报废标准的机动车不得上道路行驶，应当交售报废机动车回收企业并办理注销登记。",
            "强制报废期满前一年内不予办理注册登记和转移登记。",
        ),
        (
            "Have the vehicle inspected before its inspection validity ends; an overdue vehicle may not be"
            " driven.",
            "A vehicle without a mark for 3 inspection cycles in a row is compulsorily deregistered.",
            "A vehicle that reached its scrapping age may not be driven; hand it to a recycler and deregister it.",
            "Within a year of the scrapping date no registration or transfer is accepted.",
        ),
    ),
    Topic(
        "drink-driving",
        "严禁酒后驾驶",
        "Never drink and drive",
        (
            "饮酒后驾驶机动车的，记12分，暂扣驾驶证六个月，并处罚款。",
            "醉酒驾驶机动车的，吊销驾驶证，依法追究刑事责任，五年内不得重新取得驾驶证。",
            "喝酒不开车，开车不喝酒；可选择代驾或公共交通。",
        ),
        (
            "Driving after drinking: 12 points, the licence suspended for six months and a fine.",
            "Drunk driving: the licence is revoked, criminal liability, no new licence for five years.",
            "If you drink, don't drive: take a designated driver or public transport.",
        ),
    ),
    Topic(
        "seat-belts-and-phones",
        "系好安全带，开车不看手机",
        "Seat belts on, phone away",
        (
            "驾驶人和乘车人都应当按规定使用安全带。",
            "驾驶时拨打接听手持电话、观看手机的，记3分。",
            "摩托车驾驶人和乘坐人员应当佩戴安全头盔。",
        ),
        (
            "Driver and passengers wear seat belts.",
            "Using a handheld phone while driving costs 3 points.",
            "Motorcycle riders and passengers wear helmets.",
        ),
    ),
)


def topics(*, english: bool) -> list[dict[str, str]]:
    return [{"slug": t.slug, "title": t.title_en if english else t.title_zh} for t in TOPICS]


def topic(slug: str, *, english: bool) -> dict[str, object] | None:
    for t in TOPICS:
        if t.slug == slug:
            return {
                "slug": t.slug,
                "title": t.title_en if english else t.title_zh,
                "points": t.points_en if english else t.points_zh,
            }
    return None
