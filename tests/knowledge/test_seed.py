"""The directory shipped with the project: complete, honest, and loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.db import make_engine, make_session_factory, upgrade_database
from knowledge.models import (
    Commune,
    Organization,
    Phone,
    Province,
    Service,
    ServiceArea,
    TaxonomyTerm,
)
from knowledge.search import search_services
from knowledge.seed import SEED_DIR, SeedFileError, ensure_seeded, load_seed
from knowledge.taxonomy import HELP_TOPICS, TaxonomyFileError, parse_taxonomy, read_taxonomy

NATIONAL_NUMBERS = {"111", "112", "113", "114", "115", "1900 969 680", "1800 1233"}


def test_first_start_loads_the_directory_and_the_second_start_loads_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'first-start.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        first = ensure_seeded(factory)
        assert first.loaded["provinces"] == 34
        assert first.loaded["communes"] == 3321
        assert first.loaded["services"] > 100
        assert ensure_seeded(factory).loaded == {}
        with factory() as session:
            assert (
                session.scalar(select(func.count()).select_from(Service))
                == first.loaded["services"]
            )
    finally:
        engine.dispose()


def test_the_national_lines_are_there_for_the_whole_country(session: Session) -> None:
    national = set(
        session.scalars(
            select(Phone.number)
            .join(Service, Phone.service_id == Service.id)
            .join(ServiceArea, ServiceArea.service_id == Service.id)
            .where(ServiceArea.scope == "national")
        )
    )
    assert national >= NATIONAL_NUMBERS


def test_every_record_carries_its_source_and_verification(session: Session) -> None:
    for model in (Organization, Service, Phone):
        for record in session.scalars(select(model)):
            assert record.source.strip(), f"{model.__name__} {record.id} has no source"
            assert record.verification in ("verified", "unverified")
            if record.verification == "verified":
                assert record.source.startswith("http"), (
                    f"{record.id}: verified without a public source"
                )


def test_unconfirmed_contacts_are_marked_unverified(session: Session) -> None:
    hospital_phone = session.scalar(select(Phone).where(Phone.number == "0277 3851 130"))
    assert hospital_phone.verification == "unverified"
    # The generated commune offices have no contacts yet and say so.
    office = session.scalar(select(Service).where(Service.id.like("svc-ubnd-%")).limit(1))
    assert office.verification == "unverified"
    assert "chưa được thu thập" in office.verification_note


@pytest.mark.parametrize("topic", HELP_TOPICS)
@pytest.mark.parametrize("province", ["Đồng Tháp", "Đồng Nai"])
def test_every_topic_finds_something_in_both_programme_provinces(
    session: Session, topic: str, province: str
) -> None:
    assert search_services(session, topic, province), f"nothing for {topic} in {province}"


def test_both_provinces_have_a_commune_office_for_every_commune(session: Session) -> None:
    offices = session.scalar(
        select(func.count()).select_from(Service).where(Service.id.like("svc-ubnd-%"))
    )
    communes = session.scalar(
        select(func.count())
        .select_from(Commune)
        .join(Province)
        .where(Province.name.in_(["Tỉnh Đồng Tháp", "Tỉnh Đồng Nai"]))
    )
    assert offices == communes == 102 + 95


def test_seed_files_name_only_existing_terms_and_current_provinces(session: Session) -> None:
    terms = set(session.scalars(select(TaxonomyTerm.code)))
    for path in sorted(SEED_DIR.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for org in document.get("organizations") or []:
            for service in org.get("services") or []:
                assert set(service["terms"]) <= terms, f"{path.name}: {service['id']}"


def _write_seed(directory: Path, service: dict) -> Path:
    document = {
        "version": 1,
        "kind": "directory",
        "organizations": [
            {
                "id": "org-x",
                "name": "X",
                "source": "https://example.org",
                "verification": "verified",
                "services": [service],
            }
        ],
    }
    (directory / "x.yml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return directory


def test_a_verified_record_without_a_public_source_is_refused(
    session: Session, tmp_path: Path
) -> None:
    service = {
        "id": "svc-x",
        "name": "X",
        "verification": "verified",
        "source": "hỏi miệng",
        "terms": ["tham-van-tam-ly"],
        "area": "national",
    }
    with pytest.raises(SeedFileError, match="cần nguồn công khai"):
        load_seed(session, _write_seed(tmp_path, service))


def test_a_seed_record_with_an_unknown_term_or_province_is_refused(
    session: Session, tmp_path: Path
) -> None:
    service = {
        "id": "svc-x",
        "name": "X",
        "verification": "unverified",
        "terms": ["khong-co"],
        "area": "national",
    }
    with pytest.raises(SeedFileError, match="không có trong taxonomy"):
        load_seed(session, _write_seed(tmp_path, service))
    service = {
        "id": "svc-x",
        "name": "X",
        "verification": "unverified",
        "terms": ["hiv"],
        "area": {"province": "Tỉnh Tiền Giang"},
    }
    with pytest.raises(SeedFileError, match="'area' phải là"):
        load_seed(session, _write_seed(tmp_path, service))


def test_the_taxonomy_maps_every_help_topic_to_terms() -> None:
    taxonomy = read_taxonomy()
    assert set(taxonomy.topic_labels) == set(HELP_TOPICS)
    for topic in HELP_TOPICS:
        assert taxonomy.terms_for(topic), topic
    # One topic may map to several terms.
    assert len(taxonomy.terms_for("domestic_violence")) > 1


def test_a_taxonomy_file_with_a_foreign_topic_is_refused() -> None:
    document = yaml.safe_load((SEED_DIR.parent / "taxonomy.yml").read_text(encoding="utf-8"))
    document["terms"][0]["topics"] = ["weather"]
    with pytest.raises(TaxonomyFileError, match="chủ đề lạ: weather"):
        parse_taxonomy(document)
    del document["topics"]["hiv_support"]
    with pytest.raises(TaxonomyFileError, match="thiếu chủ đề: hiv_support"):
        parse_taxonomy(document)
