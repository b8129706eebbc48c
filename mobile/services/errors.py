"""Errors of the device services, each with a bilingual message that says what to do next.

ServiceError
├── ScanError        not an image, truncated, too large (decompression bomb)
├── SignatureError   empty or near-empty signature
├── QrError          nothing readable in the picture
├── PickError        the picked file did not arrive (dialog failed, upload broke or stalled)
└── PinError         wrong format of a PIN (a wrong PIN is not an error, see pin.py)
"""

from __future__ import annotations


class ServiceError(Exception):
    """Root of the device service errors; `str(error)` is the bilingual user message."""


class ScanError(ServiceError):
    """The picked or captured file cannot become a scan."""


class SignatureError(ServiceError):
    """The signature pad holds no real signature."""


class QrError(ServiceError):
    """No QR code could be read from the picture."""


class PickError(ServiceError):
    """A picked file could not be brought to the app; the user can simply try again."""


class PinError(ServiceError):
    """The PIN has the wrong form (6 digits are needed)."""
