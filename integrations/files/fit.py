"""FIT activity files (Garmin, Wahoo, Coros, Suunto) decoded by fitdecode."""

from __future__ import annotations

import io
from struct import error as struct_error
from typing import Any

import fitdecode

from integrations.files.samples import (
    CADENCE_RANGE,
    ELEVATION_RANGE_M,
    HEART_RATE_RANGE,
    MAX_SAMPLES,
    SPEED_MAX,
    ActivityFileError,
    ParsedActivity,
    Sample,
    in_range,
    valid_position,
)

SEMICIRCLE_DEGREES = 180.0 / 2**31


def is_fit(raw: bytes) -> bool:
    """A FIT file says ``.FIT`` at bytes 8 to 11 of its header."""
    return len(raw) >= 12 and raw[8:12] == b".FIT"


def _value(message: Any, *names: str) -> Any:
    for name in names:
        value = message.get_value(name, fallback=None)
        if value is not None:
            return value
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, (tuple, list)):
        value = value[0] if value else None
    return float(value) if isinstance(value, (int, float)) else None


def _degrees(value: Any) -> float | None:
    number = _float(value)
    return None if number is None else number * SEMICIRCLE_DEGREES


def _sample(message: Any) -> Sample | None:
    time = _value(message, "timestamp")
    if not hasattr(time, "tzinfo") or time.tzinfo is None:
        return None
    lat, lon = valid_position(
        _degrees(_value(message, "position_lat")), _degrees(_value(message, "position_long"))
    )
    return Sample(
        time=time,
        lat=lat,
        lon=lon,
        ele=in_range(_float(_value(message, "enhanced_altitude", "altitude")), ELEVATION_RANGE_M),
        hr=in_range(_float(_value(message, "heart_rate")), HEART_RATE_RANGE),
        cad=in_range(_float(_value(message, "cadence")), CADENCE_RANGE),
        speed=in_range(_float(_value(message, "enhanced_speed", "speed")), (0.0, SPEED_MAX)),
    )


def _take(parsed: ParsedActivity, message: Any) -> None:
    if message.name == "record":
        sample = _sample(message)
        if sample is not None:
            parsed.samples.append(sample)
        if len(parsed.samples) > MAX_SAMPLES:
            raise ActivityFileError(f"The file has more than {MAX_SAMPLES:,} points")
    elif message.name in ("sport", "session") and not parsed.sport:
        sport = _value(message, "sport")
        parsed.sport = str(sport)[:30] if sport is not None else ""


def read_fit(raw: bytes) -> ParsedActivity:
    """The record messages of a FIT file; raises ``ActivityFileError`` with a reason."""
    parsed = ParsedActivity(format="fit")
    reader = fitdecode.FitReader(
        io.BytesIO(raw),
        check_crc=fitdecode.CrcCheck.RAISE,
        error_handling=fitdecode.ErrorHandling.RAISE,
    )
    try:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                _take(parsed, frame)
    except ActivityFileError:
        raise
    except fitdecode.FitCRCError:
        raise ActivityFileError("The FIT file is damaged: its checksum does not match") from None
    except fitdecode.FitEOFError:
        raise ActivityFileError("The FIT file is cut short: upload the whole file") from None
    except fitdecode.FitError as exc:
        raise ActivityFileError(f"Not a valid FIT file: {str(exc)[:120]}") from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, struct_error) as exc:
        # fitdecode reads hostile bytes with struct and its profile tables; what it raises
        # past its own errors on a crafted file still means one thing: not a FIT we can read.
        raise ActivityFileError(f"Not a valid FIT file ({type(exc).__name__})") from None
    finally:
        reader.close()
    return parsed
