"""Activity files (GPX, TCX, FIT) read into timed samples, whatever their format."""

from __future__ import annotations

from integrations.files.fit import is_fit, read_fit
from integrations.files.samples import ActivityFileError, ParsedActivity, Sample, finish
from integrations.files.xmlfiles import read_xml_activity

__all__ = ["ActivityFileError", "ParsedActivity", "Sample", "read_activity_file"]


def read_activity_file(raw: bytes) -> ParsedActivity:
    """A GPX, TCX or FIT file's samples in time order; the format is read from the bytes."""
    if not raw.strip():
        raise ActivityFileError("The file is empty")
    if is_fit(raw):
        return finish(read_fit(raw))
    head = raw[:4096].lstrip()
    if head[:1] != b"<" and not head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        raise ActivityFileError("Not a GPX, TCX or FIT file")
    return finish(read_xml_activity(raw))
