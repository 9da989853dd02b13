"""The benchmark's 100 rules written by hand as Python lambdas, the way a Python
programmer would write them for these events (bench/fleet100.rules has them in the rule
language). Each lambda must give exactly what its rule gives: dsl_bench.py checks that."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

DEPOT = re.compile("^Depot ")


def km(location: Mapping[str, float], lat: float, lon: float) -> float:
    """Haversine distance in kilometres."""
    phi1, phi2 = math.radians(location["latitude"]), math.radians(lat)
    dphi = phi2 - phi1
    dlambda = math.radians(lon - location["longitude"])
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


LAMBDAS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("speed_over_90", lambda e: e.get("type") == "location_update" and e["speed_kmh"] > 90),
    ("speed_over_100", lambda e: e.get("type") == "location_update" and e["speed_kmh"] > 100),
    ("speed_over_110", lambda e: e.get("type") == "location_update" and e["speed_kmh"] > 110),
    ("speed_over_120", lambda e: e.get("type") == "location_update" and e["speed_kmh"] > 120),
    ("speed_over_130", lambda e: e.get("type") == "location_update" and e["speed_kmh"] > 130),
    ("speed_over_140", lambda e: e.get("type") == "location_update" and e["speed_kmh"] > 140),
    ("speed_over_150", lambda e: e.get("type") == "location_update" and e["speed_kmh"] > 150),
    ("speed_over_160", lambda e: e.get("type") == "location_update" and e["speed_kmh"] > 160),
    (
        "speeding_motorway_by_10",
        lambda e: (
            e.get("type") == "location_update"
            and e["road_type"] == "motorway"
            and e["speed_kmh"] > e["speed_limit_kmh"] + 10
        ),
    ),
    (
        "speeding_motorway_by_20",
        lambda e: (
            e.get("type") == "location_update"
            and e["road_type"] == "motorway"
            and e["speed_kmh"] > e["speed_limit_kmh"] + 20
        ),
    ),
    (
        "speeding_rural_by_10",
        lambda e: (
            e.get("type") == "location_update"
            and e["road_type"] == "rural"
            and e["speed_kmh"] > e["speed_limit_kmh"] + 10
        ),
    ),
    (
        "speeding_rural_by_20",
        lambda e: (
            e.get("type") == "location_update"
            and e["road_type"] == "rural"
            and e["speed_kmh"] > e["speed_limit_kmh"] + 20
        ),
    ),
    (
        "speeding_urban_by_10",
        lambda e: (
            e.get("type") == "location_update"
            and e["road_type"] == "urban"
            and e["speed_kmh"] > e["speed_limit_kmh"] + 10
        ),
    ),
    (
        "speeding_urban_by_20",
        lambda e: (
            e.get("type") == "location_update"
            and e["road_type"] == "urban"
            and e["speed_kmh"] > e["speed_limit_kmh"] + 20
        ),
    ),
    ("fuel_below_5", lambda e: e.get("type") == "location_update" and e["fuel_level_pct"] < 5),
    ("fuel_below_10", lambda e: e.get("type") == "location_update" and e["fuel_level_pct"] < 10),
    ("fuel_below_15", lambda e: e.get("type") == "location_update" and e["fuel_level_pct"] < 15),
    ("fuel_below_20", lambda e: e.get("type") == "location_update" and e["fuel_level_pct"] < 20),
    ("engine_hot_105", lambda e: e.get("type") == "location_update" and e["engine_temp_c"] > 105),
    ("engine_hot_110", lambda e: e.get("type") == "location_update" and e["engine_temp_c"] > 110),
    ("engine_hot_115", lambda e: e.get("type") == "location_update" and e["engine_temp_c"] > 115),
    (
        "battery_low_11_8",
        lambda e: (
            e.get("type") == "location_update" and e["engine_on"] is False and e["battery_v"] < 11.8
        ),
    ),
    (
        "battery_low_12_0",
        lambda e: (
            e.get("type") == "location_update" and e["engine_on"] is False and e["battery_v"] < 12.0
        ),
    ),
    (
        "stopped_engine_off",
        lambda e: (
            e.get("type") == "location_update" and e["speed_kmh"] == 0 and e["engine_on"] is False
        ),
    ),
    (
        "in_region_1",
        lambda e: (
            e.get("type") == "location_update"
            and 47.0 < e["location"]["latitude"] < 48.0
            and 5.5 < e["location"]["longitude"] < 7.0
        ),
    ),
    (
        "in_region_2",
        lambda e: (
            e.get("type") == "location_update"
            and 50.0 < e["location"]["latitude"] < 50.5
            and 8.0 < e["location"]["longitude"] < 9.0
        ),
    ),
    (
        "in_region_3",
        lambda e: (
            e.get("type") == "location_update"
            and 52.3 < e["location"]["latitude"] < 52.7
            and 13.0 < e["location"]["longitude"] < 13.8
        ),
    ),
    (
        "in_region_4",
        lambda e: (
            e.get("type") == "location_update"
            and 53.4 < e["location"]["latitude"] < 53.7
            and 9.8 < e["location"]["longitude"] < 10.3
        ),
    ),
    (
        "near_depot_1",
        lambda e: e.get("type") == "location_update" and km(e["location"], 52.52, 13.405) < 5,
    ),
    (
        "near_depot_2",
        lambda e: e.get("type") == "location_update" and km(e["location"], 48.137, 11.575) < 5,
    ),
    (
        "near_depot_3",
        lambda e: e.get("type") == "location_update" and km(e["location"], 50.11, 8.682) < 5,
    ),
    (
        "fleet_group_1_speeding",
        lambda e: (
            e.get("type") == "location_update"
            and e["fleet_id"]
            in (
                "F-01",
                "F-02",
            )
            and e["speed_kmh"] > 110
        ),
    ),
    (
        "fleet_group_2_speeding",
        lambda e: (
            e.get("type") == "location_update"
            and e["fleet_id"]
            in (
                "F-03",
                "F-04",
                "F-05",
            )
            and e["speed_kmh"] > 110
        ),
    ),
    (
        "fleet_group_3_speeding",
        lambda e: (
            e.get("type") == "location_update"
            and e["fleet_id"] in ("F-06",)
            and e["speed_kmh"] > 110
        ),
    ),
    (
        "idling_low_fuel",
        lambda e: (
            e.get("type") == "location_update"
            and e["speed_kmh"] == 0
            and e["engine_on"] is True
            and e["fuel_level_pct"] < 30
        ),
    ),
    (
        "watchlist_vehicles_1",
        lambda e: (
            e.get("type") == "location_update"
            and e["vehicle_id"]
            in {
                "V-00001",
                "V-00017",
                "V-00256",
                "V-01024",
                "V-02048",
                "V-03000",
                "V-03500",
                "V-04001",
                "V-04500",
                "V-04999",
            }
        ),
    ),
    (
        "watchlist_vehicles_2",
        lambda e: (
            e.get("type") == "location_update"
            and e["vehicle_id"]
            in {
                "V-00005",
                "V-00050",
                "V-00500",
                "V-00555",
                "V-01555",
                "V-02555",
                "V-03555",
                "V-04555",
                "V-04995",
                "V-04996",
            }
        ),
    ),
    ("high_mileage", lambda e: e.get("type") == "location_update" and e["odometer_km"] > 590000),
    (
        "low_fuel_on_motorway",
        lambda e: (
            e.get("type") == "location_update"
            and e["fuel_level_pct"] < 10
            and e["road_type"] == "motorway"
        ),
    ),
    (
        "moving_engine_off",
        lambda e: (
            e.get("type") == "location_update" and e["speed_kmh"] > 0 and e["engine_on"] is False
        ),
    ),
    (
        "severity_critical",
        lambda e: e.get("type") == "safety_event" and e["severity"] == "critical",
    ),
    ("severity_high", lambda e: e.get("type") == "safety_event" and e["severity"] == "high"),
    ("severity_medium", lambda e: e.get("type") == "safety_event" and e["severity"] == "medium"),
    (
        "harsh_braking_serious",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] == "harsh_braking"
            and e["severity"] in ("high", "critical")
        ),
    ),
    (
        "harsh_acceleration_serious",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] == "harsh_acceleration"
            and e["severity"] in ("high", "critical")
        ),
    ),
    (
        "harsh_cornering_serious",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] == "harsh_cornering"
            and e["severity"] in ("high", "critical")
        ),
    ),
    (
        "collision_serious",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] == "collision"
            and e["severity"] in ("high", "critical")
        ),
    ),
    (
        "speeding_serious",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] == "speeding"
            and e["severity"] in ("high", "critical")
        ),
    ),
    (
        "distraction_serious",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] == "distraction"
            and e["severity"] in ("high", "critical")
        ),
    ),
    (
        "seatbelt_serious",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] == "seatbelt"
            and e["severity"] in ("high", "critical")
        ),
    ),
    (
        "fatigue_serious",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] == "fatigue"
            and e["severity"] in ("high", "critical")
        ),
    ),
    (
        "harsh_over_0_5g",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] in ("harsh_braking", "harsh_acceleration", "harsh_cornering")
            and e["g_force"] > 0.5
        ),
    ),
    (
        "harsh_over_0_8g",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] in ("harsh_braking", "harsh_acceleration", "harsh_cornering")
            and e["g_force"] > 0.8
        ),
    ),
    (
        "harsh_over_1_0g",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] in ("harsh_braking", "harsh_acceleration", "harsh_cornering")
            and e["g_force"] > 1.0
        ),
    ),
    (
        "harsh_over_1_5g",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] in ("harsh_braking", "harsh_acceleration", "harsh_cornering")
            and e["g_force"] > 1.5
        ),
    ),
    (
        "harsh_over_2_0g",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] in ("harsh_braking", "harsh_acceleration", "harsh_cornering")
            and e["g_force"] > 2.0
        ),
    ),
    ("collision", lambda e: e.get("type") == "safety_event" and e["kind"] == "collision"),
    (
        "speeding_event_over_100",
        lambda e: (
            e.get("type") == "safety_event" and e["kind"] == "speeding" and e["speed_kmh"] > 100
        ),
    ),
    (
        "speeding_event_over_120",
        lambda e: (
            e.get("type") == "safety_event" and e["kind"] == "speeding" and e["speed_kmh"] > 120
        ),
    ),
    (
        "speeding_event_over_140",
        lambda e: (
            e.get("type") == "safety_event" and e["kind"] == "speeding" and e["speed_kmh"] > 140
        ),
    ),
    (
        "watchlist_drivers_1",
        lambda e: (
            e.get("type") == "safety_event"
            and e["driver_id"] in {"D-00003", "D-00033", "D-00333", "D-03333", "D-07777"}
        ),
    ),
    (
        "watchlist_drivers_2",
        lambda e: (
            e.get("type") == "safety_event"
            and e["driver_id"] in {"D-00008", "D-00088", "D-00888", "D-04444", "D-07999"}
        ),
    ),
    (
        "critical_in_f01",
        lambda e: (
            e.get("type") == "safety_event"
            and e["fleet_id"] == "F-01"
            and e["severity"] == "critical"
        ),
    ),
    (
        "critical_in_f07",
        lambda e: (
            e.get("type") == "safety_event"
            and e["fleet_id"] == "F-07"
            and e["severity"] == "critical"
        ),
    ),
    (
        "critical_in_f11",
        lambda e: (
            e.get("type") == "safety_event"
            and e["fleet_id"] == "F-11"
            and e["severity"] == "critical"
        ),
    ),
    (
        "critical_in_f15",
        lambda e: (
            e.get("type") == "safety_event"
            and e["fleet_id"] == "F-15"
            and e["severity"] == "critical"
        ),
    ),
    (
        "critical_in_f20",
        lambda e: (
            e.get("type") == "safety_event"
            and e["fleet_id"] == "F-20"
            and e["severity"] == "critical"
        ),
    ),
    (
        "tired_or_distracted_fast",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"] in ("fatigue", "distraction")
            and e["speed_kmh"] > 80
        ),
    ),
    (
        "seatbelt_moving",
        lambda e: (
            e.get("type") == "safety_event" and e["kind"] == "seatbelt" and e["speed_kmh"] > 20
        ),
    ),
    (
        "harsh_not_low",
        lambda e: (
            e.get("type") == "safety_event"
            and e["kind"].startswith("harsh_")
            and e["severity"] != "low"
        ),
    ),
    ("trip_cancelled", lambda e: e.get("type") == "trip_update" and e["status"] == "cancelled"),
    ("trip_longer_than_300km", lambda e: e.get("type") == "trip_update" and e["distance_km"] > 300),
    ("trip_longer_than_500km", lambda e: e.get("type") == "trip_update" and e["distance_km"] > 500),
    ("trip_longer_than_800km", lambda e: e.get("type") == "trip_update" and e["distance_km"] > 800),
    ("idle_over_10m", lambda e: e.get("type") == "trip_update" and e["idle_s"] > 600),
    ("idle_over_20m", lambda e: e.get("type") == "trip_update" and e["idle_s"] > 1200),
    ("idle_over_30m", lambda e: e.get("type") == "trip_update" and e["idle_s"] > 1800),
    (
        "cargo_warmer_than_minus_15",
        lambda e: (
            e.get("type") == "trip_update"
            and e.get("cargo_temp_c") is not None
            and e["cargo_temp_c"] > -15
        ),
    ),
    (
        "cargo_warmer_than_minus_10",
        lambda e: (
            e.get("type") == "trip_update"
            and e.get("cargo_temp_c") is not None
            and e["cargo_temp_c"] > -10
        ),
    ),
    (
        "cargo_warmer_than_0",
        lambda e: (
            e.get("type") == "trip_update"
            and e.get("cargo_temp_c") is not None
            and e["cargo_temp_c"] > 0
        ),
    ),
    (
        "cargo_warmer_than_5",
        lambda e: (
            e.get("type") == "trip_update"
            and e.get("cargo_temp_c") is not None
            and e["cargo_temp_c"] > 5
        ),
    ),
    ("many_stops", lambda e: e.get("type") == "trip_update" and e["stops"] > 20),
    ("trip_over_8h", lambda e: e.get("type") == "trip_update" and e["duration_s"] > 28800),
    (
        "short_completed_trip",
        lambda e: (
            e.get("type") == "trip_update" and e["status"] == "completed" and e["distance_km"] < 1
        ),
    ),
    (
        "fast_average",
        lambda e: (
            e.get("type") == "trip_update"
            and e["status"] == "completed"
            and e["distance_km"] / (e["duration_s"] / 3600) > 100
        ),
    ),
    (
        "unauthorised_exit",
        lambda e: (
            e.get("type") == "geofence_event"
            and e["transition"] == "exit"
            and e["authorized"] is False
        ),
    ),
    (
        "restricted_enter",
        lambda e: (
            e.get("type") == "geofence_event"
            and e["transition"] == "enter"
            and e["zone_type"] == "restricted"
        ),
    ),
    (
        "unauthorised_depot_exit",
        lambda e: (
            e.get("type") == "geofence_event"
            and e["zone_type"] == "depot"
            and e["transition"] == "exit"
            and e["authorized"] is False
        ),
    ),
    (
        "unauthorised_customer_exit",
        lambda e: (
            e.get("type") == "geofence_event"
            and e["zone_type"] == "customer"
            and e["transition"] == "exit"
            and e["authorized"] is False
        ),
    ),
    (
        "unauthorised_country_exit",
        lambda e: (
            e.get("type") == "geofence_event"
            and e["zone_type"] == "country"
            and e["transition"] == "exit"
            and e["authorized"] is False
        ),
    ),
    (
        "watched_geofences_1",
        lambda e: (
            e.get("type") == "geofence_event"
            and e["geofence_id"] in {"G-001", "G-002", "G-003", "G-004", "G-005"}
        ),
    ),
    (
        "watched_geofences_2",
        lambda e: (
            e.get("type") == "geofence_event"
            and e["geofence_id"] in {"G-100", "G-101", "G-150", "G-199", "G-200"}
        ),
    ),
    (
        "depot_exit_by_name",
        lambda e: (
            e.get("type") == "geofence_event"
            and DEPOT.search(e["geofence_name"]) is not None
            and e["transition"] == "exit"
        ),
    ),
    (
        "customer_arrival",
        lambda e: (
            e.get("type") == "geofence_event"
            and e["zone_type"] == "customer"
            and e["transition"] == "enter"
        ),
    ),
    (
        "country_exit",
        lambda e: (
            e.get("type") == "geofence_event"
            and e["zone_type"] == "country"
            and e["transition"] == "exit"
        ),
    ),
    ("test_vehicles", lambda e: e.get("vehicle_id", "").startswith("V-0000")),
    ("no_driver", lambda e: e.get("driver_id") is None and e.get("vehicle_id") is not None),
    ("fleet_20_in_north", lambda e: e.get("fleet_id") == "F-20" and e["location"]["latitude"] > 54),
    ("device_error", lambda e: e.get("error_code") is not None),
    ("fleet_13_lowercase", lambda e: e.get("fleet_id", "").lower() == "f-13"),
]
