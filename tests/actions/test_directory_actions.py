"""Directory actions against the real database with the shipped seed data."""

from __future__ import annotations

import pytest

from actions.conversation import ActionHandleMisunderstanding
from actions.directory import ActionFindServices, ValidateLocationForm
from tests.actions.conftest import responses

pytestmark = pytest.mark.anyio
DOMAIN: dict = {}


async def test_an_old_place_name_resolves_to_the_current_units(seeded, tracker, dispatcher):
    result = await ValidateLocationForm().validate_location(
        "xa My Hiep, huyen Cao Lanh, Dong Thap", dispatcher, tracker("inform_location"), DOMAIN
    )
    assert result["province"] == "Tỉnh Đồng Tháp"
    assert result["commune"] == "Xã Mỹ Hiệp"
    assert responses(dispatcher) == ["utter_location_noted"]


async def test_a_place_known_only_to_its_province_is_not_guessed_further(
    seeded, tracker, dispatcher
):
    result = await ValidateLocationForm().validate_location(
        "Cao Lãnh", dispatcher, tracker("inform_location"), DOMAIN
    )
    assert (result["province"], result["commune"]) == ("Tỉnh Đồng Tháp", None)


async def test_a_place_in_several_provinces_offers_the_candidates(seeded, tracker, dispatcher):
    result = await ValidateLocationForm().validate_location(
        "Châu Thành", dispatcher, tracker("inform_location"), DOMAIN
    )
    assert result["location"] is None
    assert responses(dispatcher) == ["utter_location_choose"]
    assert len(dispatcher.messages[0]["buttons"]) >= 2


async def test_an_unknown_place_is_asked_again(seeded, tracker, dispatcher):
    result = await ValidateLocationForm().validate_location(
        "xyz abc", dispatcher, tracker("inform_location"), DOMAIN
    )
    assert result["location"] is None
    assert responses(dispatcher) == ["utter_location_not_found"]


@pytest.mark.parametrize("answer", ["bỏ qua", "bo qua", "không muốn nói"])
async def test_the_place_can_be_skipped(seeded, tracker, dispatcher, answer):
    result = await ValidateLocationForm().validate_location(
        answer, dispatcher, tracker("inform_location"), DOMAIN
    )
    assert result["location"] == "không rõ" and result["province"] is None
    assert responses(dispatcher) == ["utter_location_skipped"]


async def test_services_for_a_topic_and_place_then_the_offer_of_a_person(
    seeded, tracker, dispatcher
):
    slots = {
        "topic": "child_protection",
        "location": "Cao Lãnh, Đồng Tháp",
        "province": "Tỉnh Đồng Tháp",
    }
    events = await ActionFindServices().run(
        dispatcher, tracker("inform_location", slots=slots), DOMAIN
    )
    said = responses(dispatcher)
    assert said[0] == "utter_services_intro" and said[-1] == "utter_offer_human"
    items = [m for m in dispatcher.messages if m.get("response") == "utter_service_item"]
    assert 1 <= len(items) <= 4
    assert any("111" in item["phones"] for item in items)
    assert {"event": "slot", "name": "pending_question", "value": "human"}.items() <= events[
        0
    ].items()


async def test_a_skipped_place_still_gets_the_national_line(seeded, tracker, dispatcher):
    slots = {"topic": "child_protection", "location": "không rõ"}
    await ActionFindServices().run(dispatcher, tracker("deny", slots=slots), DOMAIN)
    items = [m for m in dispatcher.messages if m.get("response") == "utter_service_item"]
    assert any("111" in item["phones"] for item in items)


async def test_two_misunderstandings_in_a_row_offer_a_person(tracker, dispatcher):
    fallback = {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    out = {"event": "user", "parse_data": {"intent": {"name": "out_of_scope"}}}
    events = await ActionHandleMisunderstanding().run(
        dispatcher, tracker("out_of_scope", events=[fallback, out]), DOMAIN
    )
    assert responses(dispatcher) == ["utter_still_not_understood"]
    assert events[0]["value"] == "human"


async def test_one_misunderstanding_gets_the_list_of_topics(tracker, dispatcher):
    await ActionHandleMisunderstanding().run(dispatcher, tracker("out_of_scope"), DOMAIN)
    assert responses(dispatcher) == ["utter_out_of_scope"]
