"""The hand-off record: applicant with masked and full ID, files as links, process records from events."""

from __future__ import annotations

from datetime import date

from onetrip_demo.answers import sample_answers
from shared.idnumber import mask_id_number
from sync_server.county.record import SCHEMA, build_record, record_problems
from tests.unit.shared.forms.test_shipped_forms import shipped
from tests.unit.sync_server.county.factories import ID_NUMBER, VILLAGE, make_case, make_event


def link(db: str, doc_id: str, name: str) -> str:
    return f"https://ot.example/files/{db}/{doc_id}/{name}"


def stub(length: int = 1000, content_type: str = "image/jpeg") -> dict[str, object]:
    return {"stub": True, "content_type": content_type, "length": length, "digest": "md5-abc=="}


def test_record_carries_case_applicant_materials_and_process() -> None:
    case = make_case(
        materials=[{"requirement": "hukou", "attachment": "hukou-1.jpg", "source": "captured"},
                   {"requirement": "hukou", "attachment": "hukou-2.jpg", "source": "captured"},
                   {"requirement": "idcard", "material_id": "material:M1", "source": "reused"}],
        _attachments={"hukou-1.jpg": stub(), "hukou-2.jpg": stub(2000),
                      "signature.png": stub(50, "image/png")})
    material = {"_id": "material:M1", "type": "material",
                "_attachments": {"front.jpg": stub(), "back.jpg": stub()}}
    events = [
        make_event(case, "accepted", at="2026-11-21T02:00:00Z", opinion="同意受理"),
        make_event(case, "created", by="agent1", role="village_agent", at="2026-11-20T01:00:00Z"),
        make_event(case, "field_edited", at="2026-11-20T01:10:00Z"),
        make_event(case, "forwarded", at="2026-11-21T03:00:00Z"),
    ]
    events.insert(0, make_event(case, "submitted", by="agent1", role="village_agent",
                                at="2026-11-20T01:30:00Z"))
    events.sort(key=lambda e: e["server_time"])
    for e in events:  # ids sort like time, as ULIDs made at those times would
        e["_id"] = f"event:X:{e['server_time']}"
    record = build_record(case, list(reversed(events)), {"material:M1": material}, db=f"ot-v-{VILLAGE}",
                          item_name="最低生活保障", link=link, now="2026-11-21T04:00:00Z")

    assert record["schema"] == SCHEMA and record["case_id"] == case["_id"]
    assert record["case_no"] == case["_id"].removeprefix("case:")
    assert record["item"] == {"code": "330212-LB-001", "name": "最低生活保障", "situation": "first"}
    assert record["applicant"]["id_number"] == ID_NUMBER
    assert record["applicant"]["id_number_masked"] == "330212********1234"
    assert [m["requirement"] for m in record["materials"]] == ["hukou", "idcard"]
    assert [f["name"] for f in record["materials"][0]["files"]] == ["hukou-1.jpg", "hukou-2.jpg"]
    assert [f["name"] for f in record["materials"][1]["files"]] == ["back.jpg", "front.jpg"]
    assert record["materials"][1]["files"][0]["url"] == link(f"ot-v-{VILLAGE}", "material:M1", "back.jpg")
    assert record["materials"][0]["files"][1]["length"] == 2000
    assert record["signature"] is not None and record["signature"]["content_type"] == "image/png"
    assert [(p["step"], p["step_code"]) for p in record["process"]] == [
        ("申报", "apply"), ("受理", "accept"), ("承办", "undertake")]
    accept = record["process"][1]
    assert accept["opinion"] == "同意受理" and accept["office"] == f"乡镇便民服务中心 {VILLAGE[:9]}"
    assert record["process"][0]["office"] == f"村便民服务站 {VILLAGE}"
    assert record_problems(record) == []


def test_missing_materials_are_listed_in_the_supplement_step() -> None:
    case = make_case()
    events = [make_event(case, "submitted"),
              make_event(case, "materials_requested", missing=["hukou", "photo"])]
    events[0]["_id"], events[1]["_id"] = "event:X:1", "event:X:2"
    record = build_record(case, events, {}, db="ot-v-x", item_name="x", link=link, now="2026-11-21T04:00:00Z")
    assert record["process"][1]["opinion"] == "一次性告知补正材料：hukou、photo"
    assert record["materials"][0]["files"] == []  # the case has no such attachment: no dangling link


def test_masking_keeps_six_and_four() -> None:
    assert mask_id_number(ID_NUMBER) == "330212********1234"
    assert mask_id_number("123") == "***"


def test_record_problems_name_what_is_wrong() -> None:
    assert record_problems([]) == ["the record must be a JSON object"]
    problems = record_problems({"schema": "other", "case_id": "x",
                                "applicant": {"name": "", "id_number": "1"},
                                "materials": [{"files": [{}]}], "process": []})
    text = "; ".join(problems)
    for word in ("schema", "case_id", "item.code", "id_number", "accepted_at", "materials[0]", "process"):
        assert word in text


def test_record_carries_the_form_and_the_answers_typed() -> None:
    answers = sample_answers("JZ-001", date(2026, 12, 7))
    case = make_case(item_code="JZ-001", answers=answers, form={"id": "JZ-001", "version": "2026120701"})
    record = build_record(case, [], {}, db=f"ot-v-{VILLAGE}", item_name="最低生活保障", link=link,
                          now="2026-12-07T04:00:00Z", form=shipped("JZ-001"))
    form = record["form"]
    assert form is not None and (form["id"], form["version"]) == ("JZ-001", "2026120701")
    assert form["title"] == "最低生活保障申请表"
    fields = {f["name"]: f for f in form["fields"]}
    assert fields["household_size"] == {"name": "household_size", "type": "integer",
                                        "label": "共同生活家庭人口数",
                                        "label_en": "People living in the household", "value": 3}
    assert fields["hardship_reasons"]["value"] == ["illness", "other"]
    assert fields["hardship_reasons"]["value_label"] == "因病、其他"
    members = fields["members"]["instances"]
    assert [m[2]["value_label"] for m in members] == ["配偶", "子女"]  # relation, labelled
    assert members[0][1]["type"] == "id_number" and members[0][5]["value"] == 0
    assert "income_note" not in fields  # notes carry no answer
    assert record["answers"] == answers  # the raw answers stay, as before
    assert build_record(make_case(), [], {}, db="x", item_name="x", link=link, now="t")["form"] is None
