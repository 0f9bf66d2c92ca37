"""Activity files written the way devices write them, for the tests: GPX (Garmin's
TrackPointExtension), TCX and FIT (bytes per the FIT protocol: header, definition and
data messages, CRC-16), from a list of samples."""

from __future__ import annotations

import datetime as dt
import math
import struct
from collections.abc import Sequence

from integrations.files.samples import Sample

FIT_EPOCH = dt.datetime(1989, 12, 31, tzinfo=dt.UTC)
START = dt.datetime(2026, 5, 10, 7, 30, tzinfo=dt.UTC)
_CRC_TABLE = (
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
)  # fmt: skip


def run_samples(
    *, start: dt.datetime = START, minutes: int = 10, every: int = 5, speed: float = 3.0
) -> list[Sample]:
    """A run heading north-east out of Berlin's Tiergarten at ``speed`` m/s."""
    samples = []
    metres_per_degree = 111_320.0
    for i in range(minutes * 60 // every + 1):
        metres = i * every * speed
        samples.append(
            Sample(
                time=start + dt.timedelta(seconds=i * every),
                lat=round(52.5145 + metres * 0.6 / metres_per_degree, 7),
                lon=round(13.3501 + metres * 0.8 / (metres_per_degree * math.cos(0.9166)), 7),
                ele=round(35.0 + 5 * math.sin(i / 10), 1),
                hr=float(130 + i % 30),
                cad=float(84 + i % 5),
                speed=speed,
            )
        )
    return samples


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def gpx_bytes(samples: Sequence[Sample], *, name: str = "Morning run") -> bytes:
    points = "".join(
        f'<trkpt lat="{s.lat}" lon="{s.lon}"><ele>{s.ele}</ele><time>{_iso(s.time)}</time>'
        "<extensions><gpxtpx:TrackPointExtension>"
        f"<gpxtpx:hr>{int(s.hr or 0)}</gpxtpx:hr><gpxtpx:cad>{int(s.cad or 0)}</gpxtpx:cad>"
        "</gpxtpx:TrackPointExtension></extensions></trkpt>\n"
        for s in samples
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="Garmin Connect" xmlns="http://www.topografix.com/GPX/1/1"'
        ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
        f"<metadata><time>{_iso(samples[0].time)}</time></metadata>\n"
        f"<trk><name>{name}</name><type>running</type><trkseg>\n{points}</trkseg></trk></gpx>\n"
    ).encode()


def tcx_bytes(samples: Sequence[Sample]) -> bytes:
    points = "".join(
        f"<Trackpoint><Time>{_iso(s.time)}</Time><Position><LatitudeDegrees>{s.lat}"
        f"</LatitudeDegrees><LongitudeDegrees>{s.lon}</LongitudeDegrees></Position>"
        f"<AltitudeMeters>{s.ele}</AltitudeMeters><HeartRateBpm><Value>{int(s.hr or 0)}</Value>"
        f"</HeartRateBpm><Extensions><ns3:TPX><ns3:Speed>{s.speed}</ns3:Speed>"
        f"<ns3:RunCadence>{int(s.cad or 0)}</ns3:RunCadence></ns3:TPX></Extensions>"
        "</Trackpoint>\n"
        for s in samples
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/'
        'TrainingCenterDatabase/v2" xmlns:ns3="http://www.garmin.com/xmlschemas/'
        'ActivityExtension/v2">\n<Activities><Activity Sport="Running">'
        f'<Id>{_iso(samples[0].time)}</Id><Lap StartTime="{_iso(samples[0].time)}">'
        f"<Track>\n{points}</Track></Lap></Activity></Activities></TrainingCenterDatabase>\n"
    ).encode()


def fit_crc(data: bytes, crc: int = 0) -> int:
    for byte in data:
        for nibble in (byte & 0xF, byte >> 4):
            tmp = _CRC_TABLE[crc & 0xF]
            crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC_TABLE[nibble]
    return crc


def _definition(local: int, global_num: int, fields: Sequence[tuple[int, int, int]]) -> bytes:
    body = struct.pack("<BBHB", 0, 0, global_num, len(fields))
    return bytes([0x40 | local]) + body + b"".join(struct.pack("<BBB", *f) for f in fields)


def _fit_time(when: dt.datetime) -> int:
    return int((when - FIT_EPOCH).total_seconds())


# record (global 20): timestamp, position_lat, position_long, altitude (scale 5, offset
# 500), heart_rate, cadence, speed (scale 1000); uint32=0x86, sint32=0x85, uint16=0x84,
# uint8=0x02, enum=0x00.
_RECORD_FIELDS = ((253, 4, 0x86), (0, 4, 0x85), (1, 4, 0x85), (2, 2, 0x84), (3, 1, 0x02),
                  (4, 1, 0x02), (6, 2, 0x84))  # fmt: skip


def fit_bytes(samples: Sequence[Sample], *, sport: int = 1) -> bytes:
    """A FIT activity file: file_id, sport (1 running) and one record per sample."""
    records = [
        _definition(0, 0, ((0, 1, 0x00), (1, 2, 0x84), (4, 4, 0x86))),
        bytes([0]) + struct.pack("<BHI", 4, 255, _fit_time(samples[0].time)),
        _definition(1, 12, ((0, 1, 0x00),)),
        bytes([1]) + struct.pack("<B", sport),
        _definition(2, 20, _RECORD_FIELDS),
    ]
    for s in samples:
        records.append(
            bytes([2])
            + struct.pack(
                "<IiiHBBH",
                _fit_time(s.time),
                round((s.lat or 0) * 2**31 / 180),
                round((s.lon or 0) * 2**31 / 180),
                round(((s.ele or 0) + 500) * 5),
                int(s.hr or 0xFF),
                int(s.cad or 0xFF),
                round((s.speed or 0) * 1000),
            )
        )
    data = b"".join(records)
    header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(data), b".FIT")
    header += struct.pack("<H", fit_crc(header))
    return header + data + struct.pack("<H", fit_crc(header + data))
