"""Demo data at discom scale: a Kanpur-like network, consumers, meters, a year of readings, bills and payments.

Set-based by design. Python writes only small lookup tables (names, localities, the calendar, the
category mix); every large table is filled by INSERT ... SELECT statements that join those lookups
to a range of account ids, so a million consumers cost a few dozen statements, not millions of
round trips. The same SQL runs on PostgreSQL and SQLite. Pseudo-random choices come from a
multiplicative hash of (account id, seed), so a given seed and as-of date always give the same data.
On PostgreSQL the big tables' foreign keys and secondary indexes are dropped during the load and
rebuilt once at the end, and chunks of accounts load on two connections at once. Each table is
analysed as soon as its load ends, so no later statement is planned on guessed sizes.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from cis import seed_data, tariffs
from cis.complaints import CATEGORIES
from cis.errors import CisError
from cis.models import (
    Account,
    AccountMobile,
    AuditLog,
    Base,
    Bill,
    Circle,
    Complaint,
    ComplaintEvent,
    Consumer,
    DistributionTransformer,
    Division,
    Feeder,
    Payment,
    Reading,
    RosterFeeder,
    RosterSchedule,
    ServiceRequest,
    ServiceRequestEvent,
    Staff,
    SubDivision,
    Substation,
    TariffSchedule,
    Zone,
)
from cis.models.base import UtcDateTime
from cis.numbers import complaint_no_for_id, request_no_for_id
from cis.service_requests import time_limits

MONTHS = 12
CONSUMERS_PER_DT = 80
CHUNK = 50_000
# Meters have 6-digit registers that roll over; big consumers' readings wrap, as real ones do.
REGISTER = 1_000_000
_PRIME = 2_147_483_647  # 2**31 - 1: hashes stay far below 2**63 on both backends
# The tables the seed loads in bulk: their foreign keys and secondary indexes are rebuilt after the load.
BULK_TABLES = ("consumer", "account", "account_mobile", "meter", "reading", "bill", "payment")
# Of those, the ones no later step of the seed writes to.
HISTORY_TABLES = ("consumer", "account_mobile", "meter", "reading", "bill", "payment")
NETWORK_TABLES = (
    "zone",
    "circle",
    "division",
    "sub_division",
    "substation",
    "feeder",
    "distribution_transformer",
    "tariff_schedule",
)
# Mobile prefixes of Indian operators (all valid for `phonenumbers`).
# fmt: off
MOBILE_PREFIXES = ("98", "99", "97", "96", "94", "93", "91", "90", "89", "88", "87", "85", "84", "83", "81", "80",
                   "79", "78", "77", "76", "75", "73", "72", "70", "63", "62")
# fmt: on
# Summer peaks and winter lows of household load in Uttar Pradesh, January first, in percent.
SEASON = (80, 78, 90, 115, 135, 140, 125, 120, 115, 100, 85, 82)
# Payment behaviour, from the hash: 0 pays within the due date, 1 pays late, 2 stopped paying.
PAYER_ON_TIME, PAYER_LATE, PAYER_DEFAULTER = 0, 1, 2


class SeedError(CisError):
    """The database cannot take the seed as asked."""


@dataclass(frozen=True)
class Mix:
    """One slice of the category mix on urban or rural DTs: share in per mille, loads and typical use."""

    rural: bool
    share: int
    category: str
    load_min_centi: int
    load_step_centi: int
    load_steps: int
    units_min: int
    units_range: int
    units_per_kw: int


CATEGORY_MIX = (
    Mix(False, 770, "LMV-1U", 100, 100, 6, 60, 220, 40),
    Mix(False, 40, "LMV-1L", 100, 0, 1, 30, 60, 0),
    Mix(False, 180, "LMV-2", 100, 100, 12, 80, 500, 60),
    Mix(False, 8, "LMV-5", 373, 187, 4, 300, 600, 40),
    Mix(False, 2, "HV-2", 10_000, 5_000, 8, 15_000, 40_000, 100),
    Mix(True, 700, "LMV-1R", 100, 100, 3, 45, 140, 30),
    Mix(True, 120, "LMV-1L", 100, 0, 1, 30, 60, 0),
    Mix(True, 120, "LMV-5", 373, 187, 5, 300, 900, 40),
    Mix(True, 60, "LMV-2", 100, 100, 5, 60, 250, 50),
)


@dataclass
class SeedReport:
    consumers: int = 0
    feeders: int = 0
    dts: int = 0
    readings: int = 0
    bills: int = 0
    payments: int = 0
    complaints: int = 0
    staff: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


Progress = Callable[[int, int], None]


def _h(expr: str, k: int, salts: list[int]) -> str:
    """SQL for a pseudo-random non-negative integer below 2**31 from `expr` (an integer expression)."""
    multiplier = (
        48_271,
        69_621,
        16_807,
        39_373,
        40_692,
        40_014,
        33_614,
        62_089,
        53_668,
        12_211,
        28_411,
        44_497,
        95_717,
        17_029,
        81_401,
        57_119,
    )[k]
    return f"(((CAST({expr} AS BIGINT) * {multiplier} + {salts[k]}) % {_PRIME}) * 31337 % {_PRIME})"


def _slab_sql(category: dict[str, Any], units: str) -> str:
    """Telescoping slabs as portable SQL: each slab charges only the units that fall inside it."""
    terms, lower = [], 0
    for upper, rate in category["slabs"]:
        if upper is None:
            terms.append(f"CASE WHEN {units} > {lower} THEN ({units} - {lower}) * {rate} ELSE 0 END")
            break
        terms.append(
            f"CASE WHEN {units} > {lower} THEN "
            f"((CASE WHEN {units} < {upper} THEN {units} ELSE {upper} END) - {lower}) * {rate} ELSE 0 END"
        )
        lower = upper
    return " + ".join(terms)


def _by_category(schedule: dict[str, Any], make: Callable[[dict[str, Any]], str]) -> str:
    whens = " ".join(f"WHEN '{code}' THEN {make(cat)}" for code, cat in schedule["categories"].items())
    return f"CASE category {whens} ELSE 0 END"


# ------------------------------------------------------------------------------------------------
# Lookup tables the big statements join to; they live only for the duration of the seed.

SEED_META = MetaData()
seed_first = Table(
    "seed_first",
    SEED_META,
    Column("i", Integer, primary_key=True),
    Column("name", String(60)),
    Column("name_hi", String(60)),
)
seed_surname = Table(
    "seed_surname",
    SEED_META,
    Column("i", Integer, primary_key=True),
    Column("name", String(60)),
    Column("name_hi", String(60)),
)
seed_locality = Table(
    "seed_locality",
    SEED_META,
    Column("i", Integer, primary_key=True),
    Column("name", String(60)),
    Column("name_hi", String(60)),
    Column("pin", String(6)),
)
seed_street = Table(
    "seed_street",
    SEED_META,
    Column("i", Integer, primary_key=True),
    Column("name", String(30)),
    Column("name_hi", String(30)),
)
seed_make = Table(
    "seed_make",
    SEED_META,
    Column("i", Integer, primary_key=True),
    Column("make", String(40)),
    Column("prefix", String(2)),
)
seed_channel = Table(
    "seed_channel",
    SEED_META,
    Column("i", Integer, primary_key=True),
    Column("channel", String(10)),
    Column("gateway", String(20)),
)
seed_prefix = Table("seed_prefix", SEED_META, Column("i", Integer, primary_key=True), Column("p", String(2)))
seed_mix = Table(
    "seed_mix",
    SEED_META,
    Column("rural", Boolean),
    Column("lo", Integer),
    Column("hi", Integer),
    Column("category", String(8)),
    Column("load_min_centi", Integer),
    Column("load_step_centi", Integer),
    Column("load_steps", Integer),
    Column("units_min", Integer),
    Column("units_range", Integer),
    Column("units_per_kw", Integer),
)
seed_dt = Table(
    "seed_dt",
    SEED_META,
    Column("i", Integer, primary_key=True),
    Column("dt_id", Integer),
    Column("locality_i", Integer),
    Column("rural", Boolean),
)
seed_date = Table("seed_date", SEED_META, Column("i", Integer, primary_key=True), Column("d", Date))
seed_day = Table(
    "seed_day",
    SEED_META,
    Column("m", Integer, primary_key=True),
    Column("d", Integer, primary_key=True),
    Column("cycle", String(7)),
    Column("read_on", Date),
    Column("prev_read_on", Date),
    Column("cum", Integer),
    Column("prev_cum", Integer),
    Column("read_at", UtcDateTime),
    Column("issued_at", UtcDateTime),
    Column("due_on", Date),
    Column("paid_on_time_at", UtcDateTime),
    Column("paid_late_at", UtcDateTime),
)
seed_acct = Table(
    "seed_acct",
    SEED_META,
    Column("id", Integer, primary_key=True),
    Column("dt_id", Integer),
    Column("locality_i", Integer),
    Column("category", String(8)),
    Column("load_centi", Integer),
    Column("base", Integer),
    Column("initial", Integer),
    Column("route_day", Integer),
    Column("payer", Integer),
    Column("default_start", Integer),
    Column("mobiles", Integer),
    Column("mobile_owner", Integer),
    Column("meter_status", String(12)),
    Column("status", String(20)),
    Column("first_i", Integer),
    Column("surname_i", Integer),
    Column("street_i", Integer),
    Column("house", Integer),
    Column("make_i", Integer),
    Column("date_i", Integer),
    Column("lang", String(2)),
    Column("email", Boolean),
)


def _numbers(dialect: str, lo: str, hi: str) -> str:
    """A FROM item yielding integers lo..hi as column n."""
    if dialect == "postgresql":
        return f"generate_series(CAST({lo} AS BIGINT), CAST({hi} AS BIGINT)) AS nums(n)"
    return (
        f"(WITH RECURSIVE nums(n) AS (SELECT {lo} UNION ALL SELECT n + 1 FROM nums WHERE n < {hi}) "
        f"SELECT n FROM nums) AS nums"
    )


# ------------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    consumers: int
    seed: int
    as_of: dt.date
    dialect: str
    salts: list[int]
    schedule: dict[str, Any]
    dt_count: int = 0


def _cycles(as_of: dt.date) -> list[dt.date]:
    """The first days of the 12 billing months that end with the month before `as_of`."""
    year, month = as_of.year, as_of.month
    firsts = []
    for _ in range(MONTHS + 1):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        firsts.append(dt.date(year, month, 1))
    return list(reversed(firsts))  # 13 months: the opening reading's month, then 12 billed ones


def _at(day: dt.date, hour: int) -> dt.datetime:
    # Hours in IST, stored as UTC: offices and spot billers work 09:00-18:00 local time.
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=dt.UTC) - dt.timedelta(hours=5, minutes=30)


def _calendar(as_of: dt.date) -> list[dict[str, Any]]:
    rows = []
    months = _cycles(as_of)
    cum = 0
    cums = [0]
    for first in months[1:]:
        cum += SEASON[first.month - 1]
        cums.append(cum)
    for m, first in enumerate(months):
        for d in range(1, 29):
            read_on = first.replace(day=d)
            issued = read_on + dt.timedelta(days=1)
            on_time = _at(issued + dt.timedelta(days=2 + (d * 5) % 12), 11)
            late = _at(issued + dt.timedelta(days=17 + (d * 7) % 25), 16)
            limit = _at(as_of, 0)
            rows.append(
                {
                    "m": m,
                    "d": d,
                    "cycle": f"{first:%Y-%m}",
                    "read_on": read_on,
                    "prev_read_on": months[m - 1].replace(day=d) if m else None,
                    "cum": cums[m],
                    "prev_cum": cums[m - 1] if m else 0,
                    "read_at": _at(read_on, 10 + d % 7),
                    "issued_at": _at(issued, 9),
                    "due_on": issued + dt.timedelta(days=15),
                    "paid_on_time_at": on_time if on_time < limit else None,
                    "paid_late_at": late if late < limit else None,
                }
            )
    return rows


def _lookups(conn: Connection, plan: _Plan) -> None:
    conn.execute(
        insert(seed_first),
        [{"i": i, "name": n, "name_hi": h} for i, (n, h, _g) in enumerate(seed_data.FIRST_NAMES)],
    )
    conn.execute(
        insert(seed_surname),
        [{"i": i, "name": n, "name_hi": h} for i, (n, h) in enumerate(seed_data.SURNAMES)],
    )
    conn.execute(
        insert(seed_locality),
        [
            {"i": i, "name": n, "name_hi": h, "pin": seed_data.PINCODES[n]}
            for i, (n, h, _k) in enumerate(seed_data.LOCALITIES)
        ],
    )
    conn.execute(
        insert(seed_street),
        [{"i": i, "name": n, "name_hi": h} for i, (n, h) in enumerate(seed_data.STREET_KINDS)],
    )
    conn.execute(
        insert(seed_make),
        [
            {"i": i, "make": m, "prefix": "".join(c for c in m if c.isalpha())[:2].upper()}
            for i, m in enumerate(seed_data.MAKES)
        ],
    )
    conn.execute(insert(seed_prefix), [{"i": i, "p": p} for i, p in enumerate(MOBILE_PREFIXES)])
    shares = (("counter", 35), ("portal", 20), ("upi", 30), ("app", 10), ("ivr", 3), ("sms", 2))
    channels = [name for name, share in shares for _ in range(share)]
    conn.execute(
        insert(seed_channel),
        [{"i": i, "channel": c, "gateway": None if c == "counter" else "sandbox"} for i, c in enumerate(channels)],
    )
    mix_rows, edges = [], {False: 0, True: 0}
    for mix in CATEGORY_MIX:
        lo = edges[mix.rural]
        edges[mix.rural] = lo + mix.share
        mix_rows.append(
            {
                "rural": mix.rural,
                "lo": lo,
                "hi": lo + mix.share,
                "category": mix.category,
                "load_min_centi": mix.load_min_centi,
                "load_step_centi": mix.load_step_centi,
                "load_steps": mix.load_steps,
                "units_min": mix.units_min,
                "units_range": mix.units_range,
                "units_per_kw": mix.units_per_kw,
            }
        )
    conn.execute(insert(seed_mix), mix_rows)
    first_day = plan.as_of - dt.timedelta(days=40 * 365)
    span = (plan.as_of - dt.timedelta(days=400) - first_day).days
    conn.execute(insert(seed_date), [{"i": i, "d": first_day + dt.timedelta(days=i)} for i in range(span)])
    conn.execute(insert(seed_day), _calendar(plan.as_of))


def _network(conn: Connection, plan: _Plan) -> int:
    """Zones down to feeders from the lookup data, then enough DTs per feeder for the consumers."""
    feeders: list[tuple[int, bool, int]] = []  # feeder id, rural, locality index
    urban_localities = [i for i, loc in enumerate(seed_data.LOCALITIES) if loc[2] == "urban"]
    rural_localities = [i for i, loc in enumerate(seed_data.LOCALITIES) if loc[2] == "rural"]
    counters = {"circle": 0, "division": 0, "sub": 0, "ss": 0, "feeder": 0}
    for z, (zone_name, circles) in enumerate(seed_data.NETWORK, start=1):
        zone_id = conn.execute(
            insert(Zone).values(code=f"Z{z:02d}", name=zone_name, name_hi=None).returning(Zone.id)
        ).scalar_one()
        for circle_name, divisions in circles:
            counters["circle"] += 1
            circle_id = conn.execute(
                insert(Circle)
                .values(
                    zone_id=zone_id,
                    code=f"C{counters['circle']:02d}",
                    name=circle_name,
                    name_hi=None,
                )
                .returning(Circle.id)
            ).scalar_one()
            for div_name, div_hi, subdivisions in divisions:
                counters["division"] += 1
                division_id = conn.execute(
                    insert(Division)
                    .values(
                        circle_id=circle_id,
                        code=f"D{counters['division']:02d}",
                        name=div_name,
                        name_hi=div_hi,
                    )
                    .returning(Division.id)
                ).scalar_one()
                for sub_name, substations in subdivisions:
                    counters["sub"] += 1
                    sub_id = conn.execute(
                        insert(SubDivision)
                        .values(
                            division_id=division_id,
                            code=f"SD{counters['sub']:02d}",
                            name=sub_name,
                            name_hi=None,
                        )
                        .returning(SubDivision.id)
                    ).scalar_one()
                    for ss_name, feeder_rows in substations:
                        counters["ss"] += 1
                        ss_id = conn.execute(
                            insert(Substation)
                            .values(
                                sub_division_id=sub_id,
                                code=f"SS{counters['ss']:03d}",
                                name=ss_name,
                            )
                            .returning(Substation.id)
                        ).scalar_one()
                        for feeder_name, kind in feeder_rows:
                            counters["feeder"] += 1
                            n = counters["feeder"]
                            feeder_id = conn.execute(
                                insert(Feeder)
                                .values(
                                    substation_id=ss_id,
                                    code=f"F{n:04d}",
                                    name=feeder_name,
                                    kind=kind,
                                )
                                .returning(Feeder.id)
                            ).scalar_one()
                            pool = rural_localities if kind == "rural" else urban_localities
                            feeders.append((feeder_id, kind == "rural", pool[(n * 7) % len(pool)]))
    dt_count = max(len(feeders), -(-plan.consumers // CONSUMERS_PER_DT))
    dts, dt_rows = [], []
    for i in range(dt_count):
        feeder_id, rural, locality = feeders[i % len(feeders)]
        dts.append(
            {
                "feeder_id": feeder_id,
                "code": f"DT{i + 1:07d}",
                "name": f"{seed_data.LOCALITIES[locality][0]} DT-{i // len(feeders) + 1}",
                "capacity_kva": (63, 100, 160, 250, 400)[(i * 3 + plan.seed) % 5]
                if not rural
                else (25, 63, 100)[(i + plan.seed) % 3],
            }
        )
    conn.execute(insert(DistributionTransformer), dts)
    ids = conn.execute(
        select(DistributionTransformer.id, DistributionTransformer.feeder_id).order_by(DistributionTransformer.id)
    ).all()
    rural_by_feeder = {f: r for f, r, _l in feeders}
    locality_by_feeder = {f: loc for f, _r, loc in feeders}
    # Consecutive accounts share a DT, as consecutive service connections share a street.
    ordered = sorted(ids, key=lambda row: (row[1], row[0]))
    for i, (dt_id, feeder_id) in enumerate(ordered):
        dt_rows.append(
            {
                "i": i,
                "dt_id": dt_id,
                "locality_i": locality_by_feeder[feeder_id],
                "rural": rural_by_feeder[feeder_id],
            }
        )
    conn.execute(insert(seed_dt), dt_rows)
    plan.dt_count = dt_count
    return len(feeders)


def _accounts_sql(plan: _Plan) -> str:
    """seed_acct: one row of decided attributes per account id, from the hash and the lookups."""
    s, n, nd = plan.salts, plan.consumers, plan.dt_count

    def h(k: int) -> str:
        return _h("nums.n", k, s)

    return f"""
    INSERT INTO seed_acct (id, dt_id, locality_i, category, load_centi, base, initial, route_day, payer,
        default_start, mobiles, mobile_owner, meter_status, status, first_i, surname_i, street_i, house,
        make_i, date_i, lang, email)
    SELECT nums.n, d.dt_id, d.locality_i, x.category,
        x.load_min_centi + ({h(2)} % x.load_steps) * x.load_step_centi,
        x.units_min + {h(3)} % x.units_range
            + x.units_per_kw * (x.load_min_centi + ({h(2)} % x.load_steps) * x.load_step_centi) / 100,
        {h(4)} % 40000,
        1 + {h(5)} % 28,
        CASE WHEN {h(6)} % 100 < 70 THEN 0 WHEN {h(6)} % 100 < 92 THEN 1 ELSE 2 END,
        3 + {h(7)} % 9,
        CASE WHEN {h(8)} % 100 < 9 THEN 2 WHEN {h(8)} % 100 < 88 THEN 1 ELSE 0 END,
        CASE WHEN {h(9)} % 100 < 3 AND nums.n > 1 THEN nums.n - 1 ELSE nums.n END,
        CASE WHEN {h(10)} % 1000 < 10 THEN 'defective' WHEN {h(10)} % 1000 < 13 THEN 'burnt' ELSE 'ok' END,
        CASE WHEN {h(10)} % 1000 >= 990 THEN 'perm_disconnected'
             WHEN {h(6)} % 100 >= 92 AND 3 + {h(7)} % 9 <= 5 THEN 'temp_disconnected' ELSE 'active' END,
        {h(11)} % {len(seed_data.FIRST_NAMES)}, {h(12)} % {len(seed_data.SURNAMES)},
        {h(13)} % {len(seed_data.STREET_KINDS)}, 1 + {h(13)} % 397,
        {h(14)} % {len(seed_data.MAKES)}, {h(15)} % (SELECT COUNT(*) FROM seed_date),
        CASE WHEN {h(14)} % 100 < 12 THEN 'en' ELSE 'hi' END,
        {h(15)} % 100 < 15
    FROM {_numbers(plan.dialect, ":lo", ":hi")}
    JOIN seed_dt d ON d.i = ((CAST(nums.n AS BIGINT) - 1) * {nd}) / {n}
    JOIN seed_mix x ON x.rural = d.rural AND {h(1)} % 1000 >= x.lo AND {h(1)} % 1000 < x.hi
    """


def _noise(plan: _Plan, month: str) -> str:
    """A meter's month-to-month wobble (0-9 kWh), the same wherever the month's reading is used."""
    return f"({_h(f'a.id * 16 + {month}', 0, plan.salts)} % 10)"


def _chunk_statements(plan: _Plan) -> list[str]:
    s = plan.salts
    concat = "||"
    account_no = (
        f"CAST(1000000000 + (CAST(a.id AS BIGINT) * 7919 + {plan.seed % 1_000_000}) % 9000000000 AS VARCHAR(10))"
    )
    schedule = plan.schedule
    energy = _by_category(schedule, lambda c: f"({_slab_sql(c, 'units')})")
    fixed = _by_category(schedule, lambda c: f"((CAST(load_centi AS BIGINT) * {c['fixed_paise_per_kw']} + 50) / 100)")
    basis_points = _by_category(schedule, lambda c: str(c["duty_basis_points"]))
    duty = f"(((energy + fixed) * {basis_points} + 5000) / 10000)"
    mobile = f"'+91' {concat} p.p {concat} CAST(10000000 + {_h('a.mobile_owner', 1, s)} % 90000000 AS VARCHAR(8))"
    second = (
        f"'+91' {concat} p.p {concat} CAST(10000000 + {_h('a.mobile_owner * 7 + 3', 2, s)} % 90000000 AS VARCHAR(8))"
    )
    # Each bill's charges, computed once per chunk; the bills and their payments are both read from it.
    charges = f"""WITH q AS MATERIALIZED (
            SELECT a.id AS account_id, sd.m, sd.cycle, sd.prev_read_on, sd.read_on, sd.issued_at, sd.due_on,
                a.category, a.load_centi,
                CASE WHEN a.meter_status <> 'ok' AND sd.m >= 11 THEN 'assessed'
                     WHEN {_h("a.id * 16 + sd.m", 5, s)} % 100 < 5 THEN 'estimated' ELSE 'actual' END AS basis,
                a.initial + (a.base * sd.prev_cum) / 100 + {_noise(plan, "sd.m - 1")} AS previous_kwh,
                a.initial + (a.base * sd.cum) / 100 + {_noise(plan, "sd.m")} AS current_kwh,
                CASE WHEN a.payer = {PAYER_ON_TIME} THEN sd.paid_on_time_at
                     WHEN a.payer = {PAYER_LATE} THEN sd.paid_late_at
                     WHEN sd.m < a.default_start THEN sd.paid_on_time_at END AS paid_at
            FROM seed_acct a JOIN seed_day sd ON sd.d = a.route_day AND sd.m >= 1
            WHERE a.id BETWEEN :lo AND :hi AND a.status <> 'perm_disconnected'
        ), c AS MATERIALIZED (
            SELECT q.*, {energy} AS energy, {fixed} AS fixed
            FROM (SELECT q.*, CAST(current_kwh - previous_kwh AS BIGINT) AS units FROM q) AS q
        )"""
    bills = f"""INSERT INTO bill (id, account_id, cycle, version, period_start, period_end, previous_kwh, current_kwh,
            units, basis, category, load_kw, energy_paise, fixed_paise, duty_paise, other_paise, arrears_paise,
            lps_paise, amount_paise, due_date, status, issued_at, tariff_schedule_id, supersedes_id,
            revision_reason)
        SELECT (account_id - 1) * 12 + m, account_id, cycle, 1, prev_read_on, read_on, previous_kwh % {REGISTER},
            current_kwh % {REGISTER}, units, basis, category, load_centi / 100.0, energy, fixed, {duty},
            (energy + fixed + {duty} + 50) / 100 * 100 - energy - fixed - {duty}, 0, 0,
            (energy + fixed + {duty} + 50) / 100 * 100, due_on,
            CASE WHEN paid_at IS NULL THEN 'issued' ELSE 'paid' END, issued_at, :schedule_id, NULL, NULL
        FROM c"""
    # Paid bills carry no arrears (only consumers who stopped paying build them up), so a payment is
    # the bill's rounded current charges, read from the same computation.
    payments = f"""INSERT INTO payment (id, account_id, bill_id, amount_paise, channel, gateway, gateway_ref,
            status, paid_at, created_at)
        SELECT (account_id - 1) * 12 + m, account_id, (account_id - 1) * 12 + m,
            (energy + fixed + {duty} + 50) / 100 * 100, ch.channel, ch.gateway,
            CASE WHEN ch.gateway IS NULL THEN NULL
                 ELSE 'SEED' {concat} CAST((account_id - 1) * 12 + m AS VARCHAR(12)) END,
            'success', paid_at, paid_at
        FROM c JOIN seed_channel ch ON ch.i = {_h("(account_id - 1) * 12 + m", 6, s)} % 100
        WHERE paid_at IS NOT NULL"""
    if plan.dialect == "postgresql":
        # One pass: a data-modifying WITH writes the bills while the payments are written from `c`.
        history = [f"{charges}, billed AS ({bills}) {payments}"]
    else:
        history = [f"{charges} {bills}", f"{charges} {payments}"]
    return [
        f"""INSERT INTO consumer (id, name, name_hi, email, preferred_language)
        SELECT a.id, f.name {concat} ' ' {concat} sn.name, f.name_hi {concat} ' ' {concat} sn.name_hi,
            CASE WHEN a.email THEN lower(f.name) {concat} '.' {concat} lower(sn.name) {concat}
                CAST(a.id AS VARCHAR(10)) {concat} '@example.in' END,
            a.lang
        FROM seed_acct a JOIN seed_first f ON f.i = a.first_i JOIN seed_surname sn ON sn.i = a.surname_i
        WHERE a.id BETWEEN :lo AND :hi""",
        f"""INSERT INTO account (id, account_no, consumer_id, dt_id, category, sanctioned_load_kw, supply_type,
            status, address, address_hi, pin_code, connected_on, sms_opt_out)
        SELECT a.id, {account_no}, a.id, a.dt_id, a.category, a.load_centi / 100.0,
            CASE WHEN a.category = 'HV-2' THEN 'HT-11KV' WHEN a.load_centi > 400 THEN 'LT-3PH' ELSE 'LT-1PH' END,
            a.status,
            'House ' {concat} CAST(a.house AS VARCHAR(4)) {concat} ', ' {concat} st.name {concat} ' '
                {concat} CAST(1 + a.house % 9 AS VARCHAR(2)) {concat} ', ' {concat} l.name {concat}
                ', Kanpur ' {concat} l.pin,
            'मकान ' {concat} CAST(a.house AS VARCHAR(4)) {concat} ', ' {concat} st.name_hi {concat} ' '
                {concat} CAST(1 + a.house % 9 AS VARCHAR(2)) {concat} ', ' {concat} l.name_hi {concat}
                ', कानपुर ' {concat} l.pin,
            l.pin, dd.d, a.id % 97 = 0
        FROM seed_acct a JOIN seed_street st ON st.i = a.street_i JOIN seed_locality l ON l.i = a.locality_i
        JOIN seed_date dd ON dd.i = a.date_i
        WHERE a.id BETWEEN :lo AND :hi""",
        f"""INSERT INTO account_mobile (id, account_id, e164, verified, added_via, added_at)
        SELECT 2 * a.id - 1, a.id, {mobile}, a.id % 3 <> 0, 'office', dd.read_at
        FROM seed_acct a JOIN seed_prefix p ON p.i = {_h("a.mobile_owner", 3, s)} % {len(MOBILE_PREFIXES)}
        JOIN seed_day dd ON dd.m = 0 AND dd.d = a.route_day
        WHERE a.id BETWEEN :lo AND :hi AND a.mobiles >= 1""",
        f"""INSERT INTO account_mobile (id, account_id, e164, verified, added_via, added_at)
        SELECT 2 * a.id, a.id, {second}, false, 'portal', dd.read_at
        FROM seed_acct a JOIN seed_prefix p ON p.i = {_h("a.mobile_owner", 4, s)} % {len(MOBILE_PREFIXES)}
        JOIN seed_day dd ON dd.m = 6 AND dd.d = a.route_day
        WHERE a.id BETWEEN :lo AND :hi AND a.mobiles >= 2""",
        f"""INSERT INTO meter (id, account_id, number, make, installed_on, removed_on, status)
        SELECT a.id, a.id, mk.prefix {concat} CAST(20000000 + a.id AS VARCHAR(9)), mk.make, dd.d, NULL,
            a.meter_status
        FROM seed_acct a JOIN seed_make mk ON mk.i = a.make_i JOIN seed_date dd ON dd.i = a.date_i
        WHERE a.id BETWEEN :lo AND :hi""",
        f"""INSERT INTO reading (id, account_id, meter_id, read_on, kwh, kind, source, created_at)
        SELECT (a.id - 1) * 13 + sd.m + 1, a.id, a.id, sd.read_on,
            (a.initial + (a.base * sd.cum) / 100 + {_noise(plan, "sd.m")}) % {REGISTER},
            CASE WHEN a.meter_status <> 'ok' AND sd.m >= 11 THEN 'assessed'
                 WHEN sd.m > 0 AND {_h("a.id * 16 + sd.m", 5, s)} % 100 < 5 THEN 'estimated' ELSE 'actual' END,
            CASE WHEN a.meter_status <> 'ok' AND sd.m >= 11 THEN 'office'
                 WHEN sd.m > 0 AND {_h("a.id * 16 + sd.m", 5, s)} % 100 < 5 THEN 'system' ELSE 'handheld' END,
            sd.read_at
        FROM seed_acct a JOIN seed_day sd ON sd.d = a.route_day
        WHERE a.id BETWEEN :lo AND :hi AND a.status <> 'perm_disconnected'""",
        *history,
        # Arrears only build up for consumers who stopped paying: carry each unpaid bill into the
        # next, with the late payment surcharge of 1.25% a month on what is overdue.
        f"""UPDATE bill SET arrears_paise = x.arrears, lps_paise = x.lps,
            amount_paise = bill.amount_paise + x.arrears + x.lps
        FROM (
            SELECT id, arrears, (arrears * 125 + 5000) / 10000 / 100 * 100 AS lps FROM (
                SELECT b.id, b.id - (b.account_id - 1) * 12 AS m, a.default_start,
                    CAST(SUM(CASE WHEN b.id - (b.account_id - 1) * 12 >= a.default_start THEN b.amount_paise ELSE 0 END)
                        OVER (PARTITION BY b.account_id ORDER BY b.id
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS BIGINT) AS arrears
                FROM bill b JOIN seed_acct a ON a.id = b.account_id
                WHERE b.id BETWEEN (:lo - 1) * 12 + 1 AND :hi * 12 AND a.payer = {PAYER_DEFAULTER}
            ) AS r WHERE m > default_start
        ) AS x
        WHERE bill.id = x.id""",
    ]


# ------------------------------------------------------------------------------------------------


def _bulk_constraints() -> Iterator[tuple[str, str, Any]]:
    """(table, name, object) for every foreign key, secondary index and unique key of the bulk tables."""
    for name in BULK_TABLES:
        table = Base.metadata.tables[name]
        for constraint in table.constraints:
            if isinstance(constraint, ForeignKeyConstraint | UniqueConstraint):
                yield name, str(constraint.name), constraint
        for index in table.indexes:
            yield name, str(index.name), index


def _drop_keys(conn: Connection) -> None:
    for _table, _name, item in _bulk_constraints():
        conn.execute(
            DropIndex(item, if_exists=True) if isinstance(item, Index) else DropConstraint(item, if_exists=True)
        )


def _restore_keys(engine: Engine, workers: int = 2) -> None:
    """Create whichever keys and indexes of the bulk tables are missing, on `workers` connections.

    Indexes and unique keys build side by side; foreign keys are added NOT VALID (instant) and then
    validated, which takes only light locks, so validations run side by side too.
    """
    with engine.connect() as conn:
        inspector = inspect(conn)
        present: set[str] = set()
        for table in BULK_TABLES:
            present |= {str(i["name"]) for i in inspector.get_indexes(table)}
            present |= {str(u["name"]) for u in inspector.get_unique_constraints(table)}
            present |= {str(f["name"]) for f in inspector.get_foreign_keys(table)}
    missing = [(table, name, item) for table, name, item in _bulk_constraints() if name not in present]
    keys = [row for row in missing if not isinstance(row[2], ForeignKeyConstraint)]
    foreign = [row for row in missing if isinstance(row[2], ForeignKeyConstraint)]

    def build(row: tuple[str, str, Any]) -> None:
        with engine.begin() as conn:
            # Sorting millions of keys in memory rather than in temporary files speeds an index build up.
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
            conn.execute(CreateIndex(row[2]) if isinstance(row[2], Index) else AddConstraint(row[2]))

    def validate(row: tuple[str, str, Any]) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
            conn.exec_driver_sql(f'ALTER TABLE {row[0]} VALIDATE CONSTRAINT "{row[1]}"')

    # Biggest first, so the two connections finish together.
    keys.sort(key=lambda row: row[0] in ("bill", "payment", "reading"), reverse=True)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(build, keys))
    with engine.begin() as conn:
        for _table, _name, fk in foreign:
            ddl = str(AddConstraint(fk).compile(dialect=engine.dialect))
            conn.exec_driver_sql(ddl + " NOT VALID")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(validate, foreign))


def _analyze(engine: Engine, tables: Iterable[str], workers: int = 2) -> None:
    """Statistics for `tables` (PostgreSQL), on `workers` connections.

    Tables filled a moment ago have none, and the planner then guesses their sizes and selectivities:
    a per-account lookup it expects to stop after 200 rows can walk a whole index instead. So each
    table is analysed as soon as its load ends, before the next step queries it.
    """

    def analyze(name: str) -> None:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(f"ANALYZE {name}")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(analyze, tables))


def _existing_accounts(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Account)) or 0)


def reset(engine: Engine) -> None:
    """Empty every CIS table (keeps the schema)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


def _chunks(total: int) -> Iterator[tuple[int, int]]:
    for lo in range(1, total + 1, CHUNK):
        yield lo, min(total, lo + CHUNK - 1)


def seed(
    engine: Engine,
    consumers: int,
    *,
    seed: int = 1,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    demo_password_hash: str | None = None,
) -> SeedReport:
    """Fill an empty CIS with a Kanpur-like discom of `consumers` consumers; deterministic per seed and date.

    Raises SeedError if accounts already exist (call `reset` first) or `consumers` is not positive.
    """
    if consumers < 1:
        raise SeedError("Give at least one consumer.")
    if _existing_accounts(engine):
        raise SeedError("The database already holds accounts: reset it first (urjamitra seed --reset).")
    as_of = as_of or dt.date.today()
    rng = random.Random(seed)
    plan = _Plan(
        consumers=consumers,
        seed=seed,
        as_of=as_of,
        dialect=engine.dialect.name,
        salts=[rng.randrange(1, _PRIME) for _ in range(16)],
        schedule=tariffs.schedule_file_data()["schedules"][-1],
    )
    report = SeedReport(consumers=consumers)
    postgres = plan.dialect == "postgresql"
    started = time.perf_counter()

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        report.seconds[name] = round(now - since, 2)
        return now

    SEED_META.drop_all(engine, checkfirst=True)
    SEED_META.create_all(engine)
    try:
        with engine.begin() as conn:
            for sched in tariffs.schedule_file_data()["schedules"]:
                schedule_id = conn.execute(
                    insert(TariffSchedule)
                    .values(
                        code=sched["code"],
                        effective_from=dt.date.fromisoformat(sched["effective_from"]),
                        source=sched["source"],
                        data=sched,
                        loaded_at=_at(as_of, 9),
                    )
                    .returning(TariffSchedule.id)
                ).scalar_one()
            _lookups(conn, plan)
            report.feeders = _network(conn, plan)
            report.dts = plan.dt_count
            conn.execute(text(_accounts_sql(plan)), {"lo": 1, "hi": consumers})
            if postgres:
                _drop_keys(conn)
        if postgres:
            _analyze(engine, [*SEED_META.tables, *NETWORK_TABLES])
        mark = lap("network and plan", started)

        statements = [text(sql) for sql in _chunk_statements(plan)]
        done = 0
        lock = threading.Lock()

        def load(bounds: tuple[int, int]) -> None:
            nonlocal done
            lo, hi = bounds
            with engine.begin() as conn:
                if postgres:
                    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                for statement in statements:
                    conn.execute(statement, {"lo": lo, "hi": hi, "schedule_id": schedule_id})
            with lock:
                done += hi - lo + 1
                if progress:
                    progress(done, consumers)

        if progress:
            progress(0, consumers)
        pool_size = workers or (2 if postgres else 1)
        with ThreadPoolExecutor(max_workers=pool_size) as pool:
            list(pool.map(load, _chunks(consumers)))
        mark = lap("consumers, readings, bills, payments", mark)

        if postgres:
            # Before anything queries them (the foreign keys' validation is a query too).
            _analyze(engine, BULK_TABLES)
            mark = lap("analyze the loaded tables", mark)
            _restore_keys(engine)
            with engine.begin() as conn:
                for table in Base.metadata.sorted_tables:
                    if "id" not in table.c:  # keyed otherwise (sms_opt_out by mobile): no sequence
                        continue
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                    )
            mark = lap("indexes and keys", mark)

        with engine.begin() as conn:
            report.staff = _staff(conn, demo_password_hash)
            report.complaints = _complaints(conn, plan)
            _requests(conn, plan)
            mark = lap("staff, complaints, requests", mark)
            _alert_reach(conn, plan)
            mark = lap("alert reach (voice, landlines, rosters)", mark)
            for name, model in (("readings", Reading), ("bills", Bill), ("payments", Payment)):
                setattr(report, name, int(conn.scalar(select(func.count()).select_from(model)) or 0))
            conn.execute(
                insert(AuditLog).values(
                    at=dt.datetime.now(dt.UTC),
                    actor="system:seed",
                    action="seed.loaded",
                    entity="cis",
                    entity_id=str(seed),
                    detail={"consumers": consumers, "as_of": as_of.isoformat()},
                )
            )
        mark = lap("row counts", mark)
        if postgres:
            # The history tables were analysed after their load and not written since.
            _analyze(engine, [t.name for t in Base.metadata.sorted_tables if t.name not in HISTORY_TABLES])
            lap("analyze", mark)
    except BaseException:
        # Leave nothing half-loaded: empty the tables and put every key back before giving up.
        if postgres:
            reset(engine)
            _restore_keys(engine)
        raise
    finally:
        SEED_META.drop_all(engine, checkfirst=True)
    report.seconds["total"] = round(time.perf_counter() - started, 2)
    return report


def _staff(conn: Connection, password_hash: str | None) -> int:
    """The officers of the escalation matrix for every part of the network, plus agents and desks."""
    now = dt.datetime.now(dt.UTC)
    hashed = password_hash or "!"  # "!" matches no password: the account exists but cannot log in
    rows: list[dict[str, Any]] = [
        {
            "username": "admin",
            "name": "System Administrator",
            "role": "admin",
            "scope_level": None,
            "scope_id": None,
        },
    ]
    rows += [
        {
            "username": f"agent{i}",
            "name": f"1912 Agent {i}",
            "role": "agent",
            "scope_level": None,
            "scope_id": None,
        }
        for i in range(1, 6)
    ]
    for cid, code, name in conn.execute(select(Circle.id, Circle.code, Circle.name)):
        rows.append(
            {
                "username": f"se.{code.lower()}",
                "name": f"SE, {name}",
                "role": "se",
                "scope_level": "circle",
                "scope_id": cid,
            }
        )
    for did, code, name in conn.execute(select(Division.id, Division.code, Division.name)):
        rows.append(
            {
                "username": f"ee.{code.lower()}",
                "name": f"EE, {name}",
                "role": "ee",
                "scope_level": "division",
                "scope_id": did,
            }
        )
        rows.append(
            {
                "username": f"desk.{code.lower()}",
                "name": f"Outage desk, {name}",
                "role": "outage_desk",
                "scope_level": "division",
                "scope_id": did,
            }
        )
    for sid, code, name in conn.execute(select(SubDivision.id, SubDivision.code, SubDivision.name)):
        rows.append(
            {
                "username": f"sdo.{code.lower()}",
                "name": f"SDO, {name}",
                "role": "sdo",
                "scope_level": "sub_division",
                "scope_id": sid,
            }
        )
        rows.append(
            {
                "username": f"je.{code.lower()}",
                "name": f"JE, {name}",
                "role": "je",
                "scope_level": "sub_division",
                "scope_id": sid,
            }
        )
        rows.append(
            {
                "username": f"cashier.{code.lower()}",
                "name": f"Cash counter, {name}",
                "role": "cashier",
                "scope_level": "sub_division",
                "scope_id": sid,
            }
        )
    for n, row in enumerate(rows, start=1):
        # Officers get a demo mobile for the escalation SMS (the 70000 range: numbers no consumer of the seed has);
        # agents the extension their phone has in asterisk/queues.conf, for the screen-pop.
        officer = row["role"] in ("je", "sdo", "ee", "se")
        row.update(
            password_hash=hashed,
            active=True,
            created_at=now,
            mobile=f"+9170000{n:05d}" if officer else None,
            extension=f"pjsip/{row['username']}" if row["role"] == "agent" else None,
        )
    conn.execute(insert(Staff), rows)
    return len(rows)


# The first mobile registered on one account in ten on a rostered feeder subscribes to its schedule SMS.
# Joins on keys only, the first mobile taken by one GROUP BY over the table: the work grows with the rows
# whatever plan is chosen. (A correlated `m.id = (SELECT MIN(id) ... WHERE x.account_id = a.id)` looked
# each account's first mobile up on its own; on tables loaded a moment before, without statistics,
# PostgreSQL answered each MIN by walking the primary key from its start: 100 s of a 100,000-consumer seed.)
ROSTER_SUBSCRIPTIONS = """
    INSERT INTO roster_subscription (account_id, e164, created_at)
    SELECT m.account_id, m.e164, :now
    FROM (SELECT account_id, MIN(id) AS id FROM account_mobile WHERE account_id % 10 = 3 GROUP BY account_id) AS f
    JOIN account_mobile m ON m.id = f.id
    JOIN account a ON a.id = f.account_id
    JOIN distribution_transformer t ON t.id = a.dt_id
    JOIN roster_feeder r ON r.feeder_id = t.feeder_id
    ORDER BY m.account_id
"""


def _alert_reach(conn: Connection, plan: _Plan) -> None:
    """How outage alerts reach people: one account in 40 prefers a Hindi call; a third of those without a
    mobile have a Kanpur landline; a daily roster on each division's rural feeders, and one in ten of their
    accounts with a mobile subscribed to its schedule SMS (SMS ROSTER)."""
    conn.execute(text("UPDATE account SET alert_channel = 'voice' WHERE id % 40 = 7"))
    conn.execute(
        text(
            "UPDATE account SET landline = '+91512' || CAST(2000000 + id % 7000000 AS TEXT) "
            "WHERE id % 3 = 0 AND NOT EXISTS (SELECT 1 FROM account_mobile m WHERE m.account_id = account.id)"
        )
    )
    now = dt.datetime.now(dt.UTC)
    feeders = conn.execute(
        select(SubDivision.division_id, Feeder.id)
        .join(Substation, Substation.sub_division_id == SubDivision.id)
        .join(Feeder, Feeder.substation_id == Substation.id)
        .where(Feeder.kind == "rural")
        .order_by(SubDivision.division_id, Feeder.id)
    ).all()
    by_division: dict[int, list[int]] = {}
    for division_id, feeder_id in feeders:
        by_division.setdefault(division_id, []).append(feeder_id)
    for division_id, feeder_ids in by_division.items():
        roster_id = conn.execute(
            insert(RosterSchedule)
            .values(
                name="Rural feeders, daily",
                division_id=division_id,
                off_slots="01:00-04:00,13:00-15:00",
                valid_from=plan.as_of - dt.timedelta(days=30),
                valid_to=None,
                active=True,
                created_by="system:seed",
                created_at=now,
            )
            .returning(RosterSchedule.id)
        ).scalar_one()
        conn.execute(insert(RosterFeeder), [{"roster_id": roster_id, "feeder_id": f} for f in feeder_ids])
    conn.execute(text(ROSTER_SUBSCRIPTIONS), {"now": now})


def _complaints(conn: Connection, plan: _Plan) -> int:
    """About one complaint a year for every 50 consumers, the last 90 days of them: most resolved."""
    rng = random.Random(plan.seed * 7 + 1)
    count = max(5, plan.consumers // 200)
    je_by_sub = dict(conn.execute(select(Staff.scope_id, Staff.id).where(Staff.role == "je")).all())
    picks = sorted(rng.sample(range(1, plan.consumers + 1), min(count, plan.consumers)))
    info = conn.execute(
        select(Account.id, Account.status, Feeder.id, Feeder.kind, Substation.sub_division_id)
        .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
        .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
        .join(Substation, Substation.id == Feeder.substation_id)
        .where(Account.id.in_(picks))
        .order_by(Account.id)
    ).all()
    mobile_of = dict(
        conn.execute(
            select(AccountMobile.account_id, AccountMobile.e164)
            .where(AccountMobile.account_id.in_(picks))
            .order_by(AccountMobile.id.desc())  # the first mobile registered wins
        ).all()
    )
    weights = {"no_supply": 40, "voltage": 15, "meter": 12, "billing": 25, "dangerous_line": 5, "theft": 3}
    channels = ("ivr", "ivr", "ivr", "console", "console", "sms", "portal", "app", "ussd")
    now = _at(plan.as_of, 12)
    rows = []
    for n, (account_id, status, feeder_id, kind, sub_id) in enumerate(info, start=1):
        category = rng.choices(list(weights), weights=list(weights.values()))[0]
        if status == "perm_disconnected":
            category = "billing"
        spec = CATEGORIES[category]
        created = now - dt.timedelta(minutes=rng.randrange(10, 90 * 24 * 60))
        due = created + dt.timedelta(hours=spec.rural_sla_hours if kind == "rural" else spec.urban_sla_hours)
        resolved = created + dt.timedelta(minutes=rng.randrange(20, int((due - created).total_seconds() // 60 * 1.6)))
        is_resolved = resolved < now and rng.random() < 0.92
        overdue_hours = max(0.0, ((resolved if is_resolved else now) - due).total_seconds() / 3600)
        rows.append(
            {
                "id": n,
                "number": complaint_no_for_id(n),
                "account_id": account_id,
                "mobile": mobile_of.get(account_id),
                "category": category,
                "channel": rng.choice(channels),
                "channel_request_id": f"seed-{n}",
                "text": rng.choice(seed_data.COMPLAINT_TEXTS[category]),
                "status": ("closed" if rng.random() < 0.6 else "resolved") if is_resolved else "open",
                "escalation_level": min(3, int(overdue_hours // max(1, spec.urban_sla_hours)) + (overdue_hours > 0)),
                "assignee_id": je_by_sub.get(sub_id),
                "sub_division_id": sub_id,
                "feeder_id": feeder_id,
                "sla_due_at": due,
                "created_at": created,
                "resolved_at": resolved if is_resolved else None,
                "resolution": "Attended by lineman; supply restored."
                if is_resolved and category == "no_supply"
                else ("Resolved at site." if is_resolved else None),
            }
        )
    conn.execute(insert(Complaint), rows)
    conn.execute(insert(ComplaintEvent), [e for row in rows for e in _complaint_history(row, now)])
    if plan.dialect == "postgresql":
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('complaint', 'id'), (SELECT MAX(id) FROM complaint) + 1, false)"
        )
    return len(rows)


def _complaint_history(row: dict[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
    """The status history a seeded complaint went through: registered and assigned, escalated one level for
    each SLA it overran, resolved, and (closed ones) confirmed by the consumer a few hours later."""
    cid, created, due = row["id"], row["created_at"], row["sla_due_at"]
    step = dt.timedelta(hours=max(1, CATEGORIES[row["category"]].urban_sla_hours))  # as the level was computed
    history = [{"complaint_id": cid, "step": "registered", "actor": f"channel:{row['channel']}", "at": created}]
    if row["assignee_id"] is not None:
        history.append({"complaint_id": cid, "step": "assigned", "level": 0, "actor": "system", "at": created})
    for level in range(1, row["escalation_level"] + 1):
        at = due + step * (level - 1)
        history.append({"complaint_id": cid, "step": "escalated", "level": level, "actor": "system", "at": at})
    resolved = row["resolved_at"]
    if resolved is not None:
        history.append(
            {"complaint_id": cid, "step": "resolved", "actor": "system", "note": row["resolution"], "at": resolved}
        )
    if row["status"] == "closed":
        confirmed = min(now, resolved + dt.timedelta(hours=6))
        history.append(
            {"complaint_id": cid, "step": "resolution_confirmed", "actor": f"channel:{row['channel']}", "at": confirmed}
        )
    return [{"level": None, "note": None} | event for event in history]


def _requests(conn: Connection, plan: _Plan) -> None:
    """A few service requests of every kind with their status history, as a sub-division's desk has."""
    rng = random.Random(plan.seed * 11 + 3)
    count = max(6, plan.consumers // 1000)
    picks = rng.sample(range(1, plan.consumers + 1), min(count, plan.consumers))
    rows = conn.execute(
        select(Account.id, Consumer.name, Substation.sub_division_id, Feeder.kind)
        .join(Consumer, Consumer.id == Account.consumer_id)
        .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
        .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
        .join(Substation, Substation.id == Feeder.substation_id)
        .where(Account.id.in_(picks))
        .order_by(Account.id)
    ).all()
    kinds = ("bill_revision", "load_change", "name_change", "perm_disconnection", "new_connection")
    paths = {
        "submitted": ["submitted"],
        "under_review": ["submitted", "under_review"],
        "approved": ["submitted", "under_review", "approved"],
        "completed": ["submitted", "under_review", "approved", "completed"],
        "rejected": ["submitted", "under_review", "rejected"],
    }
    now = _at(plan.as_of, 12)
    requests, events = [], []
    limits = time_limits()
    for n, (account_id, name, sub_id, feeder_kind) in enumerate(rows, start=1):
        kind = kinds[n % len(kinds)]
        final = rng.choice(list(paths))
        created = now - dt.timedelta(days=rng.randrange(1, 60))
        area = "rural" if feeder_kind == "rural" else limits.urban_feeder_area
        requests.append(
            {
                "id": n,
                "number": request_no_for_id(n),
                "area_class": area,
                "due_at": limits.due(kind, area, created),
                "disputed_bill_id": None,
                "revised_bill_id": None,
                "reason": "other" if kind == "bill_revision" else None,
                "kind": kind,
                "account_id": None if kind == "new_connection" else account_id,
                "sub_division_id": sub_id,
                "applicant_name": name,
                "mobile": None,
                "status": final,
                "payload": {"seed": True},
                "assignee_id": None,
                "created_at": created,
                "updated_at": created + dt.timedelta(days=len(paths[final]) - 1),
            }
        )
        for step, status in enumerate(paths[final]):
            events.append(
                {
                    "request_id": n,
                    "status": status,
                    "actor": "system:seed" if step == 0 else "staff",
                    "note": None,
                    "at": created + dt.timedelta(days=step),
                }
            )
    if requests:
        conn.execute(insert(ServiceRequest), requests)
        conn.execute(insert(ServiceRequestEvent), events)
        if plan.dialect == "postgresql":
            for table in ("service_request", "service_request_event"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}) + 1, false)"
                )
