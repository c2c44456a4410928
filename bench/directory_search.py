"""Benchmark of directory search on a directory of national size.

Builds a throw-away directory — the real administrative units and taxonomy, the shipped
seed, and 10,000 generated services over 3,000 communes (national lines, province-wide and
commune services, with phones, hours and age limits) — in a temporary SQLite file and in a
temporary PostgreSQL database, then times `search_directory` (place resolution included)
for a mix of place texts: current names with and without diacritics, former names, a
province alone, unknown text and no place. Prints p50/p95/p99 per backend.

Usage:
    .venv/bin/python bench/directory_search.py [--searches 500] [--services 10000]
        [--communes 3000] [--backend sqlite|postgresql|both]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hotline.db import make_engine, make_session_factory, upgrade_database  # noqa: E402
from knowledge.admin_units import insert_rows  # noqa: E402
from knowledge.folding import strip_diacritics  # noqa: E402
from knowledge.models import (  # noqa: E402
    Attribute,
    Commune,
    Organization,
    Phone,
    PlaceAlias,
    Province,
    Schedule,
    Service,
    ServiceArea,
    TaxonomyTerm,
)
from knowledge.places import forget_place_index  # noqa: E402
from knowledge.search import search_directory  # noqa: E402
from knowledge.seed import ensure_seeded  # noqa: E402
from knowledge.taxonomy import HELP_TOPICS  # noqa: E402

WEEKDAYS = "MO,TU,WE,TH,FR"


def generate(session_factory, services: int, communes: int, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """Insert `services` generated services spread over `communes` communes."""
    with session_factory() as session, session.begin():
        commune_rows = session.execute(select(Commune.id, Commune.province_code)).all()
        provinces = list(session.scalars(select(Province.code)))
        terms = list(session.scalars(select(TaxonomyTerm.id)))
        chosen = rng.sample(commune_rows, min(communes, len(commune_rows)))
        orgs, rows, areas, attributes, phones, schedules = [], [], [], [], [], []
        for number in range(services):
            service_id = f"bench-svc-{number}"
            org_id = f"bench-org-{number // 5}"
            if number % 5 == 0:
                orgs.append(
                    {
                        "id": org_id,
                        "name": f"Tổ chức thử {number // 5}",
                        "source": "bench",
                        "verification": "unverified",
                    }
                )
            low = rng.choice([None, None, None, 6, 16, 18])
            rows.append(
                {
                    "id": service_id,
                    "organization_id": org_id,
                    "name": f"Dịch vụ thử {number}",
                    "status": "active" if rng.random() > 0.03 else "inactive",
                    "minimum_age": low,
                    "maximum_age": rng.choice([None, None, 60]) if low is None else None,
                    "source": "bench",
                    "verification": rng.choice(["verified", "unverified"]),
                }
            )
            draw = rng.random()
            if number < 50:
                area = {"scope": "national", "province_code": None, "commune_id": None}
            elif draw < 0.25:
                area = {
                    "scope": "province",
                    "province_code": rng.choice(provinces),
                    "commune_id": None,
                }
            else:
                commune_id, code = rng.choice(chosen)
                area = {"scope": "commune", "province_code": code, "commune_id": commune_id}
            areas.append(
                {
                    "id": f"{service_id}:area",
                    "service_id": service_id,
                    "name": None,
                    "description": None,
                    **area,
                }
            )
            for term in rng.sample(terms, rng.randint(1, 3)):
                attributes.append(
                    {
                        "id": f"{service_id}:{term}",
                        "service_id": service_id,
                        "taxonomy_term_id": term,
                        "value": None,
                        "label": None,
                    }
                )
            phones.append(
                {
                    "id": f"{service_id}:phone",
                    "service_id": service_id,
                    "organization_id": None,
                    "location_id": None,
                    "number": f"0{rng.randint(200_000_000, 999_999_999)}",
                    "extension": None,
                    "type": "voice",
                    "description": None,
                    "source": "bench",
                    "verification": "unverified",
                    "last_verified": None,
                }
            )
            if rng.random() < 0.7:
                round_clock = rng.random() < 0.1
                schedules.append(
                    {
                        "id": f"{service_id}:schedule",
                        "service_id": service_id,
                        "location_id": None,
                        "service_at_location_id": None,
                        "freq": "WEEKLY",
                        "byday": "MO,TU,WE,TH,FR,SA,SU" if round_clock else WEEKDAYS,
                        "opens_at": None if round_clock else dt.time(7, 30),
                        "closes_at": None if round_clock else dt.time(17, 0),
                        "valid_from": None,
                        "valid_to": None,
                        "open_24_7": round_clock,
                        "description": None,
                    }
                )
        for model, data in (
            (Organization, orgs),
            (Service, rows),
            (ServiceArea, areas),
            (Attribute, attributes),
            (Phone, phones),
            (Schedule, schedules),
        ):
            insert_rows(session, model, data)


def place_texts(session_factory, count: int, rng: random.Random) -> list[str | None]:  # type: ignore[no-untyped-def]
    """A mix of what people type: current and former names, accents or not, noise, nothing."""
    with session_factory() as session:
        communes = session.execute(select(Commune.name, Province.short_name).join(Province)).all()
        former = session.execute(
            select(PlaceAlias.name, PlaceAlias.old_district_name).where(
                PlaceAlias.kind == "old_commune"
            )
        ).all()
        provinces = list(session.scalars(select(Province.short_name)))
    texts: list[str | None] = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.35:
            commune, province = rng.choice(communes)
            texts.append(f"{commune}, {province}")
        elif kind < 0.55:
            commune, province = rng.choice(communes)
            texts.append(strip_diacritics(f"{commune} {province}").lower())
        elif kind < 0.70:
            old_commune, old_district = rng.choice(former)
            texts.append(f"{old_commune}, {old_district}")
        elif kind < 0.85:
            texts.append(rng.choice(provinces))
        elif kind < 0.93:
            texts.append(rng.choice(["asdf qwer", "nhà em gần chợ", "'; DROP TABLE service; --"]))
        else:
            texts.append(None)
    return texts


def run(url: str, args: argparse.Namespace) -> dict[str, float]:
    rng = random.Random(7)
    started = time.perf_counter()
    upgrade_database(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        ensure_seeded(factory)
        generate(factory, args.services, args.communes, rng)
        if engine.dialect.name == "postgresql":
            # As after an import: fresh statistics, or the planner guesses on empty tables.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE"))
        build_seconds = time.perf_counter() - started
        texts = place_texts(factory, args.searches, rng)
        topics = [rng.choice(HELP_TOPICS) for _ in texts]
        ages = [rng.choice([None, None, 8, 15, 35, 70]) for _ in texts]
        now = dt.datetime(2025, 11, 24, 10, 0)
        timings = []
        with factory() as session:
            for topic, place, age in list(zip(topics, texts, ages, strict=True))[:20]:
                search_directory(
                    session, topic, place, age=age, now=now
                )  # warm-up: lookup tables, caches
            for topic, place, age in zip(topics, texts, ages, strict=True):
                begin = time.perf_counter()
                search_directory(session, topic, place, age=age, now=now)
                timings.append((time.perf_counter() - begin) * 1000)
                session.rollback()
        quantiles = statistics.quantiles(timings, n=100)
        return {
            "build_s": build_seconds,
            "p50": statistics.median(timings),
            "p95": quantiles[94],
            "p99": quantiles[98],
            "max": max(timings),
        }
    finally:
        forget_place_index(engine)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--communes", type=int, default=3_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()

    results: dict[str, dict[str, float]] = {}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            results["sqlite"] = run(f"sqlite:///{folder}/bench.db", args)
    if args.backend in ("postgresql", "both"):
        admin_url = make_url(args.postgres_url)
        name = f"hotline_bench_{int(time.time())}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            results["postgresql"] = run(
                admin_url.set(database=name).render_as_string(hide_password=False), args
            )
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    print(
        f"\ndirectory search: {args.services} generated services over {args.communes} communes, {args.searches} searches"
    )
    print(f"{'backend':<11} {'build s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for backend, figures in results.items():
        print(
            f"{backend:<11} {figures['build_s']:>8.1f} {figures['p50']:>8.2f} {figures['p95']:>8.2f}"
            f" {figures['p99']:>8.2f} {figures['max']:>8.2f}"
        )


if __name__ == "__main__":
    main()
