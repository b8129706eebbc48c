"""Answers for the demo's cases of items that have a form (表单答案样本).

Valid against the shipped forms (assets/catalog/forms/, written by `tools/forms.py`): the demo's
cases carry them, and the tests use them as the valid filling of each form. Dates are counted
back from `today`, so they stay valid whenever the demo is seeded. Names end in （样本）.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shared.idnumber import make_id_number

FORM_VERSION = "2026120701"
_COUNTY = "330212"


def _member(name: str, birth: date, sequence: int, relation: str, health: str, work: str,
            income: float) -> dict[str, Any]:
    return {"member_name": f"{name}（样本）", "member_id": make_id_number(_COUNTY, birth, sequence),
            "relation": relation, "member_health": health, "member_work": work, "member_income": income}


def sample_answers(item_code: str, today: date) -> dict[str, Any] | None:
    """A valid filling of the item's shipped form, or None when the item has no form."""
    def days_ago(n: int) -> str:
        return (today - timedelta(days=n)).isoformat()

    samples: dict[str, dict[str, Any]] = {
        "JZ-001": {
            "residence": "rural", "household_size": 3, "housing": "own", "land_area": 2.5,
            "hardship_reasons": ["illness", "other"], "hardship_other": "主要劳动力长期卧床（样本）",
            "applicant_income": 300, "applicant_health": "chronic", "applicant_work": "farming",
            "members": [_member("李桂兰", date(1968, 3, 9), 102, "spouse", "serious", "unable", 0),
                        _member("王晓东", date(2009, 8, 21), 111, "child", "healthy", "student", 0)],
            "total_income": 300, "per_capita_income": 100, "has_account": "yes",
            "account_number": "6217001234567890123",
        },
        "JZ-002": {
            "emergency_type": "fire", "incident_date": days_ago(5),
            "incident_description": "夜间厨房起火，烧毁两间住房和存粮（样本）", "household_size": 4,
            "loss_amount": 30000, "other_aid": 5000, "aid_form": "both", "requested_amount": 10000,
            "urgent": "yes",
        },
        "CL-001": {
            "disability_type": "physical", "cause": "injury", "onset_date": "2019-06-01",
            "assessment_hospital": "county_hospital", "has_guardian": "no",
            "home_address": "上林村三组 12 号（样本）",
        },
        "SB-001": {
            "insured_status": "ordinary", "contribution_grade": "g500", "payment_method": "bank",
            "account_number": "6217009876543210", "other_pension": "no", "phone": "13800000000",
            "registered_address": "下湾村一组 5 号（样本）",
        },
        "ZR-002": {
            "household_kind": ["low_income"], "household_size": 2, "house_structure": "earth",
            "house_area": 48.0, "build_year": 1978, "danger_grade": "d", "repair_type": "rebuild",
            "planned_area": 55, "builder": "self", "living_now": "暂住邻居家（样本）",
        },
        "JZ-004": {
            "assistance_category": "low_income", "visit_type": "inpatient", "hospital_name": "县人民医院",
            "diagnosis": "股骨颈骨折（样本）", "admission_date": days_ago(30), "discharge_date": days_ago(12),
            "total_cost": 42000, "insurance_paid": 25200, "other_paid": 6000, "out_of_pocket": 10800,
            "account_number": "6217001111222233334",
        },
    }
    return samples.get(item_code)


FORM_ITEMS = ("JZ-001", "JZ-002", "CL-001", "SB-001", "ZR-002", "JZ-004")
