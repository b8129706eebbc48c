"""Write the shipped XLSForm workbooks of assets/catalog/forms/ (python -m tools.forms).

The forms are data in this file so that a change is reviewed as text; the .xlsx files are
committed too, because a county's staff edit those in a spreadsheet and load them with
`onetrip admin load-form`. The workbooks are written with fixed document times, so running
this again without a change to the data rewrites identical content.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl

FORMS_DIR = Path(__file__).resolve().parents[1] / "assets" / "catalog" / "forms"
VERSION = "2026120701"
SURVEY_COLUMNS = ["type", "name", "label::zh", "label::en", "hint::zh", "hint::en", "required",
                  "required_message::zh", "required_message::en", "constraint", "constraint_message::zh",
                  "constraint_message::en", "relevant", "calculation", "default", "choice_filter"]
PHONE = "regex(., '^1[3-9][0-9]{9}$')"
ACCOUNT = "regex(., '^[0-9]{12,19}$')"

Row = dict[str, str]


def q(kind: str, name: str, zh: str = "", en: str = "", **extra: str) -> Row:
    """One survey row; `extra` keys use `_` for `::` (constraint_message_zh → constraint_message::zh)."""
    row = {"type": kind, "name": name, "label::zh": zh, "label::en": en}
    for key, value in extra.items():
        row[key.replace("_zh", "::zh").replace("_en", "::en")] = value
    return row


def rule(constraint: str, zh: str, en: str) -> dict[str, str]:
    return {"constraint": constraint, "constraint_message_zh": zh, "constraint_message_en": en}


def end(kind: str) -> Row:
    return {"type": kind}


YES_NO = [("yes", "是", "Yes"), ("no", "否", "No")]
HEALTH = [("healthy", "健康", "Healthy"), ("chronic", "患慢性病", "Chronic illness"),
          ("serious", "患重大疾病", "Serious illness"), ("disabled", "残疾", "Disabled")]
WORK = [("farming", "务农", "Farming"), ("employed", "务工或就业", "Employed"),
        ("unemployed", "失业", "Unemployed"), ("unable", "无劳动能力", "Unable to work"),
        ("student", "在校学生", "Student")]
RELATION = [("spouse", "配偶", "Spouse"), ("child", "子女", "Child"), ("parent", "父母", "Parent"),
            ("grandchild", "孙子女", "Grandchild"), ("sibling", "兄弟姐妹", "Sibling"), ("other", "其他", "Other")]
INCOME = rule(". >= 0 and . < 100000", "月收入应在 0 到 100000 元之间", "monthly income is between 0 and 100000 yuan")
NAME = rule("string-length(.) >= 2 and string-length(.) <= 30", "姓名为 2 到 30 个字", "a name has 2 to 30 characters")


def subsistence() -> dict[str, Any]:
    """JZ-001 最低生活保障: the household, the applicant's situation and each household member."""
    survey = [
        q("begin_group", "household", "家庭基本情况", "Household"),
        q("select_one residence", "residence", "户籍类型", "Household registration", required="yes"),
        q("integer", "household_size", "共同生活家庭人口数", "People living in the household", required="yes",
          **rule(". >= 1 and . <= 20 and . >= count(${members}) + 1", "人口数为 1 到 20，且不少于申请人加已登记的家庭成员",
                 "between 1 and 20, and at least the applicant plus the members entered")),
        q("select_one housing", "housing", "住房情况", "Housing", required="yes"),
        q("decimal", "land_area", "承包土地面积（亩）", "Contracted land (mu)",
          **rule(". >= 0 and . <= 1000", "面积应在 0 到 1000 亩之间", "between 0 and 1000 mu")),
        q("select_multiple hardship", "hardship_reasons", "主要困难原因（可多选）", "Main causes of hardship",
          required="yes"),
        q("text", "hardship_other", "其他困难原因说明", "Other cause, described", required="yes",
          relevant="selected(${hardship_reasons}, 'other')"),
        end("end_group"),
        q("begin_group", "applicant_situation", "申请人情况", "Applicant"),
        q("decimal", "applicant_income", "申请人月收入（元）", "Applicant's monthly income (yuan)", required="yes",
          **INCOME),
        q("select_one health", "applicant_health", "健康状况", "Health", required="yes"),
        q("select_one work", "applicant_work", "劳动就业情况", "Work", required="yes"),
        end("end_group"),
        q("begin_repeat", "members", "共同生活的家庭成员（申请人以外）", "Household members (besides the applicant)"),
        q("text", "member_name", "姓名", "Name", required="yes", **NAME),
        q("id_number", "member_id", "身份证号码", "Resident ID number", required="yes"),
        q("select_one relation", "relation", "与申请人关系", "Relation to the applicant", required="yes"),
        q("select_one health", "member_health", "健康状况", "Health", required="yes"),
        q("select_one work", "member_work", "劳动就业情况", "Work", required="yes"),
        q("decimal", "member_income", "月收入（元）", "Monthly income (yuan)", required="yes", **INCOME),
        end("end_repeat"),
        q("calculate", "total_income", calculation="${applicant_income} + sum(${member_income})"),
        q("calculate", "per_capita_income", calculation="round(${total_income} div ${household_size}, 2)"),
        q("note", "income_note", "家庭月总收入 ${total_income} 元，人均 ${per_capita_income} 元",
          "Household income ${total_income} yuan a month, ${per_capita_income} per person"),
        q("select_one yes_no", "has_account", "是否有社会保障卡或银行账户", "Has a social security card or bank account",
          required="yes"),
        q("text", "account_number", "账号", "Account number", required="yes", relevant="${has_account} = 'yes'",
          **rule(ACCOUNT, "账号为 12 到 19 位数字", "an account number has 12 to 19 digits")),
    ]
    choices = {
        "residence": [("rural", "农村户籍", "Rural"), ("urban", "城镇户籍", "Urban")],
        "housing": [("own", "自有住房", "Own house"), ("rent", "租住", "Rented"),
                    ("relative", "借住亲友", "With relatives"), ("none", "无固定住所", "No fixed home")],
        "hardship": [("illness", "因病", "Illness"), ("disability", "因残", "Disability"),
                     ("disaster", "因灾", "Disaster"), ("unemployment", "失业", "Unemployment"),
                     ("elderly", "年老无依", "Old age without support"), ("education", "因学", "School costs"),
                     ("other", "其他", "Other")],
        "health": HEALTH, "work": WORK, "relation": RELATION, "yes_no": YES_NO,
    }
    return {"item": "JZ-001", "title": ("最低生活保障申请表", "Subsistence allowance application"),
            "survey": survey, "choices": choices}


def temporary_assistance() -> dict[str, Any]:
    """JZ-002 临时救助: what happened, when, what it cost and what is asked for."""
    survey = [
        q("select_one emergency", "emergency_type", "急难情形", "Kind of emergency", required="yes"),
        q("text", "emergency_other", "其他情形说明", "Other emergency, described", required="yes",
          relevant="${emergency_type} = 'other'"),
        q("date", "incident_date", "发生日期", "Date it happened", required="yes",
          **rule(". <= today()", "日期不能晚于今天", "the date cannot be after today")),
        q("text", "incident_description", "情况说明", "What happened", required="yes",
          **rule("string-length(.) >= 10", "请至少写 10 个字", "describe it in at least 10 characters")),
        q("integer", "household_size", "家庭人口数", "People in the household", required="yes",
          **rule(". >= 1 and . <= 20", "人口数为 1 到 20", "between 1 and 20")),
        q("decimal", "loss_amount", "损失或必需支出（元）", "Loss or necessary spending (yuan)", required="yes",
          **rule(". > 0 and . < 1000000", "金额应大于 0", "more than 0")),
        q("decimal", "other_aid", "已获得的其他救助或赔偿（元）", "Other aid or compensation received (yuan)",
          default="0", **rule(". >= 0 and . <= ${loss_amount}", "不能为负，也不能超过损失",
                              "not negative and not more than the loss")),
        q("select_one aid_form", "aid_form", "申请救助方式", "Form of assistance", required="yes"),
        q("decimal", "requested_amount", "申请救助金额（元）", "Amount requested (yuan)", required="yes",
          relevant="${aid_form} != 'goods'",
          **rule(". > 0 and . <= ${loss_amount} - ${other_aid}", "申请金额应大于 0，且不超过损失减去已获救助",
                 "more than 0 and at most the loss minus the aid already received")),
        q("select_one yes_no", "urgent", "是否需要先行救助（急难）", "Needs help at once (urgent)", required="yes"),
    ]
    choices = {
        "emergency": [("fire", "火灾", "Fire"), ("traffic", "交通事故", "Traffic accident"),
                      ("illness", "突发重病", "Sudden serious illness"), ("disaster", "自然灾害", "Natural disaster"),
                      ("other", "其他", "Other")],
        "aid_form": [("cash", "现金", "Cash"), ("goods", "实物", "Goods"), ("both", "现金和实物", "Cash and goods")],
        "yes_no": YES_NO,
    }
    return {"item": "JZ-002", "title": ("临时救助申请表", "Temporary assistance application"),
            "survey": survey, "choices": choices}


def disability_certificate() -> dict[str, Any]:
    """CL-001 残疾人证: the disability, its cause, the assessing hospital and a guardian when one acts."""
    survey = [
        q("select_one disability", "disability_type", "残疾类别", "Kind of disability", required="yes"),
        q("select_multiple single_kind", "multiple_kinds", "多重残疾包含的类别", "Kinds combined", required="yes",
          relevant="${disability_type} = 'multiple'",
          **rule("count-selected(.) >= 2", "多重残疾至少选两类", "choose at least two kinds")),
        q("select_one cause", "cause", "致残原因", "Cause", required="yes"),
        q("date", "onset_date", "致残时间", "Since when", required="yes",
          **rule(". <= today()", "日期不能晚于今天", "the date cannot be after today")),
        q("select_one hospital", "assessment_hospital", "残疾评定机构", "Assessing hospital", required="yes",
          choice_filter="mental = if(${disability_type} = 'mental' or ${disability_type} = 'intellectual', "
                        "'yes', 'no')"),
        q("select_one yes_no", "has_guardian", "是否由监护人或代理人办理", "Through a guardian or agent", required="yes"),
        q("begin_group", "guardian", "监护人或代理人", "Guardian or agent", relevant="${has_guardian} = 'yes'"),
        q("text", "guardian_name", "姓名", "Name", required="yes", **NAME),
        q("id_number", "guardian_id", "身份证号码", "Resident ID number", required="yes"),
        q("select_one relation", "guardian_relation", "与申请人关系", "Relation to the applicant", required="yes"),
        q("text", "guardian_phone", "联系电话", "Phone", required="yes",
          **rule(PHONE, "请填写 11 位手机号码", "an 11-digit mobile number")),
        end("end_group"),
        q("text", "home_address", "现居住地址", "Home address", required="yes",
          **rule("string-length(.) >= 6", "请写到村组门牌", "give the village, group and house number")),
    ]
    single = [("visual", "视力残疾", "Visual"), ("hearing", "听力残疾", "Hearing"), ("speech", "言语残疾", "Speech"),
              ("physical", "肢体残疾", "Physical"), ("intellectual", "智力残疾", "Intellectual"),
              ("mental", "精神残疾", "Mental")]
    choices = {
        "disability": [*single, ("multiple", "多重残疾", "Multiple")],
        "single_kind": single,
        "cause": [("congenital", "先天", "Congenital"), ("illness", "疾病", "Illness"), ("injury", "伤害", "Injury"),
                  ("other", "其他", "Other")],
        "hospital": [("county_hospital", "县人民医院", "County People's Hospital", {"mental": "no"}),
                     ("county_tcm", "县中医院", "County TCM Hospital", {"mental": "no"}),
                     ("mental_centre", "县精神卫生中心", "County Mental Health Centre", {"mental": "yes"})],
        "relation": [*RELATION[:5], ("guardian", "其他监护人", "Other guardian")], "yes_no": YES_NO,
    }
    return {"item": "CL-001", "title": ("残疾人证申请表", "Disability certificate application"),
            "survey": survey, "choices": choices}


def pension_enrolment() -> dict[str, Any]:
    """SB-001 城乡居民基本养老保险参保登记: status, contribution grade, payment and contact."""
    survey = [
        q("select_one insured_status", "insured_status", "参保人员类别", "Kind of enrolee", required="yes"),
        q("select_one grade", "contribution_grade", "年缴费档次（元）", "Yearly contribution grade (yuan)",
          required="yes", choice_filter="assisted = 'no' or ${insured_status} != 'ordinary'",
          hint_zh="困难群体可选政府代缴的最低档", hint_en="people in hardship may choose the lowest, government-paid grade"),
        q("select_one payment", "payment_method", "缴费方式", "How to pay", required="yes"),
        q("text", "account_number", "代扣账号（社会保障卡或银行卡）", "Account for deduction", required="yes",
          relevant="${payment_method} = 'bank'",
          **rule(ACCOUNT, "账号为 12 到 19 位数字", "an account number has 12 to 19 digits")),
        q("select_one yes_no", "other_pension", "是否已参加职工养老保险或领取其他养老待遇",
          "Already in the employees' pension or drawing another pension", required="yes",
          **rule(". = 'no'", "已参加其他基本养老保险的，不能重复参保", "someone already insured elsewhere cannot enrol twice")),
        q("text", "phone", "联系电话", "Phone", required="yes",
          **rule(PHONE, "请填写 11 位手机号码", "an 11-digit mobile number")),
        q("text", "registered_address", "户籍地址", "Registered address", required="yes",
          **rule("string-length(.) >= 6", "请写到村组门牌", "give the village, group and house number")),
    ]
    grades = [("g100", "100 元（代缴）", "100 yuan (paid by the government)", {"assisted": "yes"})]
    grades += [(f"g{n}", f"{n} 元", f"{n} yuan", {"assisted": "no"})
               for n in (200, 300, 500, 800, 1000, 1500, 2000, 3000, 4000, 5000)]
    choices = {
        "insured_status": [("ordinary", "一般参保人员", "Ordinary"), ("low_income", "低保对象", "Subsistence allowance"),
                           ("special_hardship", "特困人员", "Extreme hardship"),
                           ("severe_disability", "重度残疾人", "Severe disability")],
        "grade": grades,
        "payment": [("bank", "银行代扣", "Bank deduction"), ("cash", "现金缴纳", "Cash"),
                    ("online", "手机缴费", "By phone")],
        "yes_no": YES_NO,
    }
    return {"item": "SB-001", "title": ("城乡居民基本养老保险参保登记表", "Rural and urban residents' pension enrolment"),
            "survey": survey, "choices": choices}


def housing_repair() -> dict[str, Any]:
    """ZR-002 农村危房改造: the house (structure, area, age, danger grade) and the work planned."""
    survey = [
        q("select_multiple household_kind", "household_kind", "家庭类别", "Kind of household", required="yes"),
        q("integer", "household_size", "家庭人口数", "People in the household", required="yes",
          **rule(". >= 1 and . <= 20", "人口数为 1 到 20", "between 1 and 20")),
        q("begin_group", "house", "现住房情况", "The house now"),
        q("select_one structure", "house_structure", "房屋结构", "Structure", required="yes"),
        q("decimal", "house_area", "建筑面积（平方米）", "Floor area (m²)", required="yes",
          **rule(". > 0 and . <= 500", "面积应在 0 到 500 平方米之间", "between 0 and 500 m²")),
        q("integer", "build_year", "建造年份", "Year built", required="yes",
          **rule(". >= 1900 and . <= 2100", "请填写四位年份", "a four-digit year")),
        q("select_one danger", "danger_grade", "危险性鉴定等级", "Danger grade (assessed)", required="yes"),
        end("end_group"),
        q("begin_group", "plan", "改造计划", "The work planned"),
        q("select_one repair_type", "repair_type", "改造方式", "Kind of work", required="yes",
          choice_filter="for_d = 'yes' or ${danger_grade} != 'd'",
          hint_zh="D 级整栋危房只能拆除重建", hint_en="a grade D house can only be rebuilt"),
        q("decimal", "planned_area", "重建面积（平方米）", "Rebuilt floor area (m²)", required="yes",
          relevant="${repair_type} = 'rebuild'",
          **rule(". >= 20 and . <= if(${household_size} <= 3, 60, 60 + 18 * (${household_size} - 3))",
                 "重建面积不少于 20 平方米，3 人及以下不超过 60 平方米，每多 1 人可增加 18 平方米",
                 "at least 20 m²; at most 60 m² for up to 3 people, 18 m² more per extra person")),
        q("select_one builder", "builder", "建设方式", "Who builds", required="yes"),
        end("end_group"),
        q("text", "living_now", "改造期间住处", "Where the family lives during the work",
          **rule("string-length(.) <= 100", "不超过 100 个字", "at most 100 characters")),
    ]
    choices = {
        "household_kind": [("low_income", "低保户", "Subsistence allowance"),
                           ("special_hardship", "分散供养特困人员", "Extreme hardship"),
                           ("edge", "低保边缘家庭", "Near the allowance line"),
                           ("poverty_risk", "防止返贫监测对象", "At risk of poverty"),
                           ("disabled", "贫困残疾人家庭", "Poor household with a disabled member")],
        "structure": [("earth", "土木或土坯", "Earth and timber"), ("brick_wood", "砖木", "Brick and timber"),
                      ("brick_concrete", "砖混", "Brick and concrete"), ("stone", "石木", "Stone and timber"),
                      ("wood", "木结构", "Timber"), ("other", "其他", "Other")],
        "danger": [("c", "C 级（局部危险）", "C (partly dangerous)"), ("d", "D 级（整栋危险）", "D (wholly dangerous)")],
        "repair_type": [("repair", "维修加固", "Repair and reinforce", {"for_d": "no"}),
                        ("rebuild", "拆除重建", "Demolish and rebuild", {"for_d": "yes"})],
        "builder": [("self", "农户自建", "The household builds"), ("unified", "统建", "Built by the township"),
                    ("helped", "帮建（投工投劳）", "Built with help")],
    }
    return {"item": "ZR-002", "title": ("农村危房改造申请表", "Rural dangerous house renovation application"),
            "survey": survey, "choices": choices}


def medical_assistance() -> dict[str, Any]:
    """JZ-004 医疗救助: the treatment, its cost, what insurance paid, and the account for the payment."""
    survey = [
        q("select_one category", "assistance_category", "救助对象类别", "Kind of recipient", required="yes"),
        q("select_one visit", "visit_type", "就医类型", "Kind of treatment", required="yes"),
        q("text", "hospital_name", "就诊医院", "Hospital", required="yes", **NAME),
        q("text", "diagnosis", "诊断", "Diagnosis", required="yes"),
        q("date", "admission_date", "入院日期", "Admitted on", required="yes", relevant="${visit_type} = 'inpatient'",
          **rule(". <= today()", "日期不能晚于今天", "the date cannot be after today")),
        q("date", "discharge_date", "出院日期", "Discharged on", required="yes", relevant="${visit_type} = 'inpatient'",
          **rule(". >= ${admission_date} and . <= today()", "出院日期应在入院日期之后、今天之前",
                 "between the admission date and today")),
        q("decimal", "total_cost", "医疗总费用（元）", "Total cost (yuan)", required="yes",
          **rule(". > 0 and . < 10000000", "金额应大于 0", "more than 0")),
        q("decimal", "insurance_paid", "基本医保报销（元）", "Paid by basic medical insurance (yuan)", required="yes",
          **rule(". >= 0 and . <= ${total_cost}", "报销金额不能超过总费用", "not more than the total cost")),
        q("decimal", "other_paid", "大病保险及其他报销（元）", "Paid by serious-illness insurance and others (yuan)",
          default="0", **rule(". >= 0 and . + ${insurance_paid} <= ${total_cost}", "各项报销合计不能超过总费用",
                              "all reimbursements together cannot exceed the total cost")),
        q("calculate", "out_of_pocket", calculation="${total_cost} - ${insurance_paid} - ${other_paid}"),
        q("note", "out_of_pocket_note", "个人自付 ${out_of_pocket} 元", "Paid by the patient: ${out_of_pocket} yuan"),
        q("text", "account_number", "救助金发放账号", "Account for the payment", required="yes",
          **rule(ACCOUNT, "账号为 12 到 19 位数字", "an account number has 12 to 19 digits")),
    ]
    choices = {
        "category": [("special_hardship", "特困人员", "Extreme hardship"), ("low_income", "低保对象", "Subsistence allowance"),
                     ("edge", "低保边缘家庭成员", "Near the allowance line"),
                     ("catastrophic", "因病致贫重病患者", "Impoverished by serious illness")],
        "visit": [("inpatient", "住院", "In-patient"), ("outpatient_chronic", "门诊慢特病", "Out-patient, chronic")],
    }
    return {"item": "JZ-004", "title": ("医疗救助申请表", "Medical assistance application"),
            "survey": survey, "choices": choices}


FORMS = (subsistence, temporary_assistance, disability_certificate, pension_enrolment, housing_repair,
         medical_assistance)
_FIXED_TIME = datetime(2026, 12, 7)


def workbook(form: dict[str, Any]) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = _FIXED_TIME
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(SURVEY_COLUMNS)
    for row in form["survey"]:
        survey.append([row.get(c, "") or None for c in SURVEY_COLUMNS])
    choices = book.create_sheet("choices")
    extra = sorted({k for items in form["choices"].values() for c in items if len(c) > 3 for k in c[3]})
    choices.append(["list_name", "name", "label::zh", "label::en", *extra])
    for list_name, items in form["choices"].items():
        for choice in items:
            columns = choice[3] if len(choice) > 3 else {}
            choices.append([list_name, choice[0], choice[1], choice[2], *(columns.get(k) for k in extra)])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "version", "form_title", "form_title::zh", "form_title::en", "default_language"])
    zh, en = form["title"]
    settings.append([form["item"], VERSION, zh, zh, en, "zh"])
    return book


def main(out: Path = FORMS_DIR) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for make in FORMS:
        form = make()
        path = out / f"{form['item']}.xlsx"
        workbook(form).save(path)
        print(path.relative_to(out.parents[2]) if out == FORMS_DIR else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
