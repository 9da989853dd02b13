"""A seeded generator of fleet telematics events, for benchmarks (and soak tests).

The mix follows a real fleet's stream: location updates ~70%, safety events ~15%, trip
updates ~10%, geofence events ~5%, from thousands of vehicles and drivers, in time order.
The same seed gives the same events on every machine.

    python bench/fleet_events.py 200000 > events.ndjson     # NDJSON on stdout
    from bench.fleet_events import generate_events          # a list of dicts
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

VEHICLES = 5_000
DRIVERS = 8_000
FLEETS = 20
GEOFENCES = 200
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

EVENT_TYPES = ("location_update", "safety_event", "trip_update", "geofence_event")
TYPE_WEIGHTS = (70, 15, 10, 5)
SAFETY_KINDS = (
    "harsh_braking",
    "harsh_acceleration",
    "harsh_cornering",
    "collision",
    "speeding",
    "distraction",
    "seatbelt",
    "fatigue",
)
SAFETY_KIND_WEIGHTS = (30, 20, 20, 2, 12, 6, 5, 5)
SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_WEIGHTS = (50, 30, 15, 5)
ROAD_TYPES = ("motorway", "rural", "urban")
SPEED_LIMITS = {"motorway": 130, "rural": 100, "urban": 50}
TRIP_STATUSES = ("started", "in_progress", "completed", "cancelled")
ZONE_TYPES = ("depot", "customer", "restricted", "country")


def generate_events(count: int, seed: int = 42) -> list[dict[str, Any]]:
    """`count` events, the same ones for the same seed."""
    return list(iter_events(count, seed))


def iter_events(count: int, seed: int = 42) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    # Each vehicle has a home driver and fleet, and wanders around its home position.
    homes = [(rng.uniform(47.0, 55.0), rng.uniform(5.5, 15.0)) for _ in range(VEHICLES)]
    now = START
    for index in range(count):
        now += timedelta(milliseconds=rng.randint(1, 40))
        vehicle = rng.randrange(VEHICLES)
        kind = rng.choices(EVENT_TYPES, TYPE_WEIGHTS)[0]
        lat, lon = homes[vehicle]
        event: dict[str, Any] = {
            "event_id": f"E-{seed}-{index:09d}",
            "type": kind,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "vehicle_id": f"V-{vehicle + 1:05d}",
            "driver_id": f"D-{(vehicle * 7 + rng.randrange(3)) % DRIVERS + 1:05d}",
            "fleet_id": f"F-{vehicle % FLEETS + 1:02d}",
            "location": {
                "latitude": round(lat + rng.gauss(0, 0.05), 6),
                "longitude": round(lon + rng.gauss(0, 0.05), 6),
            },
        }
        _DETAILS[kind](event, rng)
        if rng.random() < 0.01:
            event["error_code"] = f"E{rng.randrange(100, 999)}"
        yield event


def _location_update(event: dict[str, Any], rng: random.Random) -> None:
    road = rng.choice(ROAD_TYPES)
    limit = SPEED_LIMITS[road]
    moving = rng.random() < 0.85
    engine_on = moving or rng.random() < 0.6
    event.update(
        speed_kmh=round(max(0.0, rng.gauss(limit * 0.9, limit * 0.2)), 1) if moving else 0.0,
        heading=rng.randrange(360),
        engine_on=engine_on,
        road_type=road,
        speed_limit_kmh=limit,
        fuel_level_pct=round(rng.uniform(0, 100), 1),
        engine_temp_c=round(rng.gauss(92, 7), 1),
        battery_v=round(rng.gauss(13.6 if engine_on else 12.4, 0.3), 2),
        odometer_km=rng.randrange(1_000, 600_000),
    )
    if rng.random() < 0.03:
        event["driver_id"] = None


def _safety_event(event: dict[str, Any], rng: random.Random) -> None:
    event.update(
        kind=rng.choices(SAFETY_KINDS, SAFETY_KIND_WEIGHTS)[0],
        severity=rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0],
        g_force=round(rng.uniform(0.2, 2.5), 2),
        speed_kmh=round(rng.uniform(0, 150), 1),
    )


def _trip_update(event: dict[str, Any], rng: random.Random) -> None:
    duration = rng.randrange(60, 12 * 3600)
    event.update(
        trip_id=f"T-{rng.randrange(10**8):08d}",
        status=rng.choices(TRIP_STATUSES, (20, 50, 25, 5))[0],
        distance_km=round(duration / 3600 * rng.uniform(20, 110), 1),
        duration_s=duration,
        idle_s=rng.randrange(0, 3600),
        stops=rng.randrange(0, 30),
    )
    if rng.random() < 0.3:  # a refrigerated trailer
        event["cargo_temp_c"] = round(rng.gauss(-18, 6), 1)


def _geofence_event(event: dict[str, Any], rng: random.Random) -> None:
    fence = rng.randrange(GEOFENCES)
    zone = ZONE_TYPES[fence % len(ZONE_TYPES)]
    event.update(
        geofence_id=f"G-{fence + 1:03d}",
        geofence_name=f"{zone.title()} {fence + 1}",
        zone_type=zone,
        transition=rng.choice(("enter", "exit")),
        authorized=rng.random() < 0.8,
    )


_DETAILS = {
    "location_update": _location_update,
    "safety_event": _safety_event,
    "trip_update": _trip_update,
    "geofence_event": _geofence_event,
}


def main(argv: list[str]) -> int:
    count = int(argv[1]) if len(argv) > 1 else 1000
    seed = int(argv[2]) if len(argv) > 2 else 42
    out = sys.stdout
    for event in iter_events(count, seed):
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
