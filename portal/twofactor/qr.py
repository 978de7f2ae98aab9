"""The enrolment QR code as inline SVG: no image request and nothing the CSP must allow
(the drawing uses presentation attributes, not inline styles)."""

from __future__ import annotations

import qrcode
from django.utils.safestring import SafeString, mark_safe
from qrcode.image.svg import SvgPathFillImage


class _InlineSvg(SvgPathFillImage):
    """Black on white whatever the admin's theme; sized by the stylesheet."""

    def _svg(self, **kwargs):
        svg = super()._svg(**kwargs)
        del svg.attrib["width"], svg.attrib["height"]
        svg.set("class", "twofactor-qr")
        svg.set("role", "img")
        svg.set("aria-label", "QR code to scan with your authenticator app")
        return svg


def qr_svg(data: str) -> SafeString:
    image = qrcode.make(data, image_factory=_InlineSvg, border=2)
    # Built by qrcode from `data` alone: numbers and fixed markup, no text of ours.
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308
