"""GET /media/demo/<tenant>/<picture>-<colour>-<handle>.svg: product illustrations drawn from their name.

The demo catalog needs pictures without fetching anything from the internet
(issue 20: "every product image is a shape"). Each kind of product has a small
flat drawing here (a backpack, a teapot, a pendant lamp…) in the colour its
first variant names; the handle only nudges the background tint, so two
products of one kind differ a little. The SVG is a pure function of its path,
so browsers, the edge and Cloudflare may keep it forever. Only names the tenant's
catalog uses (the seed's image URLs) are drawn, and only on that tenant's own
hosts; anything else is a small plain 404 without a render (issue 13, item 2).
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from html import escape

from quart import Blueprint, Response, current_app, request

from origin.catalog import queries as catalog
from origin.web.asgi.host import request_host
from origin.web.context import current_services
from origin.web.storefront.site import resolver

blueprint = Blueprint("media", __name__)

NAME_PATTERN = re.compile(r"^[a-z0-9-]{1,200}$")
PALETTES = (
    ("#1f5f3f", "#e07a1f", "#f4efe6"),
    ("#22313f", "#c9a227", "#eef1f4"),
    ("#7a1e1e", "#3c6e47", "#fbf6ec"),
    ("#2d4a7a", "#e3b448", "#f3f5fa"),
    ("#5a3d5c", "#d98f6b", "#f7f0f3"),
)
# The colour words ops/demo_catalog.py puts in the name (COLOUR_WORDS), as paint.
COLOURS = {
    "moss": "#5b6b3a", "slate": "#4a5866", "rust": "#a4492a", "sand": "#c8b48a",
    "oak": "#c49a6c", "ash": "#d9c4a0", "walnut": "#6b4a32", "black": "#2a2a2a", "white": "#f1efe9",
    "brass": "#b8923a", "natural": "#ece4d4", "grey": "#9a9a98", "sage": "#9caf88",
    "celadon": "#8fb8a0", "ashglaze": "#b9b2a2", "iron": "#5a3a2a", "copper": "#b06a3b", "tin": "#a9adb0",
    "cherrybark": "#7a3b2e", "sandalwood": "#c99a6a", "agarwood": "#5c4636", "sakura": "#e8a8b8",
}
# Colour of a kind drawn without a colour option (headlamps, mugs, tea pouches…).
KIND_COLOURS = {
    "headlamp": "#d0662b", "poles": "#3d4a56", "mug": "#7d8f95", "candleholder": "#b8923a", "cup": "#e9e4d8",
    "whisk": "#d8c08c", "sencha": "#5f8a3a", "hojicha": "#8a5a32", "genmaicha": "#b08a3a", "matchatin": "#4f7a3a",
    "teapot": "#7a3b2e", "tent": "#c76b2a", "sleepingbag": "#2f5b7a", "bottle": "#3f7a8a", "boot": "#7a4a2a",
    "vase": "#8aa0a8", "rug": "#c9b79a", "shelf": "#c49a6c",
}


def _shade(colour: str, factor: float) -> str:
    """Darker (factor < 1) or lighter (> 1, towards white) version of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    if factor <= 1:
        mixed = [round(c * factor) for c in channels]
    else:
        mixed = [round(c + (255 - c) * (factor - 1)) for c in channels]
    return "#" + "".join(f"{min(255, max(0, c)):02x}" for c in mixed)


def _backpack(c: str, d: str, l: str) -> str:
    return (
        f'<path d="M330 190 q70-60 140 0" fill="none" stroke="{d}" stroke-width="22"/>'
        f'<rect x="250" y="200" width="300" height="440" rx="80" fill="{c}"/>'
        f'<path d="M250 300 q150-90 300 0 v-30 q-150-100-300 0z" fill="{d}"/>'
        f'<rect x="300" y="420" width="200" height="170" rx="40" fill="{d}"/>'
        f'<rect x="300" y="440" width="200" height="10" fill="{l}" opacity=".5"/>'
        f'<rect x="215" y="380" width="45" height="190" rx="20" fill="{d}"/><rect x="540" y="380" width="45" height="190" rx="20" fill="{d}"/>'
        f'<rect x="385" y="300" width="30" height="60" rx="8" fill="{l}"/>'
    )


def _poles(c: str, d: str, l: str) -> str:
    return "".join(
        f'<g transform="rotate({angle} 400 400)"><rect x="390" y="120" width="20" height="600" rx="8" fill="{c}"/>'
        f'<rect x="380" y="110" width="40" height="120" rx="16" fill="#6b5240"/><rect x="396" y="700" width="8" height="60" fill="#444"/>'
        f'<path d="M380 130 q-40 40 0 80" fill="none" stroke="{d}" stroke-width="8"/><circle cx="400" cy="650" r="28" fill="none" stroke="{d}" stroke-width="8"/></g>'
        for angle in (-12, 12)
    )


def _jacket(c: str, d: str, l: str, *, hood: bool) -> str:
    head = (
        f'<path d="M330 170 q70-70 140 0 l10 80 h-160z" fill="{d}"/>' if hood
        else f'<path d="M340 175 h120 l-20 50 h-80z" fill="{d}"/>'
    )
    return (
        f'<path d="M320 190 L200 260 L140 560 L210 580 L260 380 L260 660 L540 660 L540 380 L590 580 L660 560 L600 260 L480 190 Q400 240 320 190Z" fill="{c}"/>'
        + head
        + f'<line x1="400" y1="225" x2="400" y2="660" stroke="{d}" stroke-width="8"/>'
        f'<rect x="290" y="470" width="70" height="10" rx="4" fill="{d}"/><rect x="440" y="470" width="70" height="10" rx="4" fill="{d}"/>'
        f'<rect x="260" y="630" width="280" height="30" fill="{d}"/>'
    )


def _beanie(c: str, d: str, l: str) -> str:
    ribs = "".join(f'<line x1="{x}" y1="520" x2="{x}" y2="610" stroke="{d}" stroke-width="6"/>' for x in range(250, 560, 30))
    return (
        f'<circle cx="400" cy="210" r="55" fill="{l}"/>'
        f'<path d="M220 540 Q220 250 400 250 Q580 250 580 540Z" fill="{c}"/>'
        f'<rect x="210" y="510" width="380" height="110" rx="30" fill="{d}"/>' + ribs
    )


def _tent(c: str, d: str, l: str) -> str:
    return (
        f'<path d="M120 640 Q400 120 680 640Z" fill="{c}"/>'
        f'<path d="M300 640 Q400 330 500 640Z" fill="{d}"/>'
        f'<path d="M400 380 L400 640" stroke="{l}" stroke-width="6"/>'
        f'<path d="M120 640 Q400 120 680 640" fill="none" stroke="{d}" stroke-width="10"/>'
        f'<line x1="200" y1="500" x2="90" y2="660" stroke="#777" stroke-width="3"/><line x1="600" y1="500" x2="710" y2="660" stroke="#777" stroke-width="3"/>'
    )


def _sleepingbag(c: str, d: str, l: str) -> str:
    quilts = "".join(f'<path d="M{250 + i * 60} {215 + i * 8} q-10 190 0 380" fill="none" stroke="{d}" stroke-width="5"/>' for i in range(5))
    return (
        f'<g transform="rotate(-20 400 400)"><path d="M170 300 Q170 200 290 200 L620 250 Q680 260 680 400 Q680 540 620 550 L290 600 Q170 600 170 500Z" fill="{c}"/>'
        f'<ellipse cx="250" cy="400" rx="60" ry="110" fill="{d}"/><ellipse cx="255" cy="400" rx="38" ry="80" fill="{l}" opacity=".5"/>'
        + quilts
        + "</g>"
    )


def _headlamp(c: str, d: str, l: str) -> str:
    return (
        f'<path d="M320 420 L120 260 L120 340 L320 500Z" fill="#fff6c8" opacity=".7"/>'
        f'<ellipse cx="450" cy="430" rx="210" ry="150" fill="none" stroke="#2f3a44" stroke-width="34"/>'
        f'<rect x="280" y="360" width="180" height="140" rx="40" fill="{c}"/>'
        f'<circle cx="335" cy="430" r="48" fill="#fff6c8" stroke="{d}" stroke-width="10"/>'
        f'<rect x="400" y="380" width="30" height="24" rx="6" fill="{d}"/>'
    )


def _bottle(c: str, d: str, l: str) -> str:
    return (
        f'<rect x="320" y="230" width="160" height="430" rx="60" fill="{c}"/>'
        f'<rect x="345" y="160" width="110" height="90" rx="20" fill="{d}"/>'
        f'<path d="M455 180 q60 0 60 50 q0 40 -60 40" fill="none" stroke="{d}" stroke-width="16"/>'
        f'<rect x="320" y="400" width="160" height="90" fill="{l}" opacity=".6"/>'
        f'<rect x="345" y="260" width="20" height="360" rx="10" fill="#fff" opacity=".25"/>'
    )


def _boot(c: str, d: str, l: str) -> str:
    laces = "".join(f'<line x1="{350 + i * 8}" y1="{260 + i * 60}" x2="{440 + i * 14}" y2="{270 + i * 60}" stroke="{l}" stroke-width="10"/>' for i in range(4))
    return (
        f'<path d="M300 180 L470 180 L480 440 Q560 470 640 500 Q690 520 690 590 L190 590 Q180 470 230 450 Q290 420 300 180Z" fill="{c}"/>'
        f'<rect x="180" y="585" width="520" height="55" rx="16" fill="#2d2521"/>'
        f'<path d="M300 180 L470 180 L472 230 L298 230Z" fill="{d}"/>' + laces
    )


def _chair(c: str, d: str, l: str) -> str:
    return (
        f'<line x1="300" y1="470" x2="270" y2="700" stroke="{d}" stroke-width="22" stroke-linecap="round"/>'
        f'<line x1="500" y1="470" x2="530" y2="700" stroke="{d}" stroke-width="22" stroke-linecap="round"/>'
        f'<line x1="340" y1="480" x2="350" y2="650" stroke="{d}" stroke-width="16" stroke-linecap="round"/>'
        f'<line x1="460" y1="480" x2="450" y2="650" stroke="{d}" stroke-width="16" stroke-linecap="round"/>'
        f'<path d="M250 440 L550 440 L530 490 L270 490Z" fill="{c}"/>'
        f'<path d="M280 220 Q400 180 520 220 L510 300 Q400 270 290 300Z" fill="{c}"/>'
        f'<line x1="300" y1="290" x2="290" y2="450" stroke="{c}" stroke-width="18"/><line x1="500" y1="290" x2="510" y2="450" stroke="{c}" stroke-width="18"/>'
    )


def _sidetable(c: str, d: str, l: str) -> str:
    return (
        f'<line x1="330" y1="360" x2="290" y2="680" stroke="{d}" stroke-width="20" stroke-linecap="round"/>'
        f'<line x1="470" y1="360" x2="510" y2="680" stroke="{d}" stroke-width="20" stroke-linecap="round"/>'
        f'<line x1="400" y1="370" x2="400" y2="660" stroke="{d}" stroke-width="20" stroke-linecap="round"/>'
        f'<ellipse cx="400" cy="350" rx="220" ry="60" fill="{d}"/><ellipse cx="400" cy="335" rx="220" ry="60" fill="{c}"/>'
        f'<ellipse cx="400" cy="560" rx="120" ry="24" fill="{c}"/>'
        f'<rect x="360" y="250" width="40" height="70" rx="12" fill="#8aa0a8"/>'
    )


def _shelf(c: str, d: str, l: str) -> str:
    books = "".join(
        f'<rect x="{x}" y="{y - h}" width="26" height="{h}" fill="{colour}"/>'
        for x, y, h, colour in ((250, 300, 90, "#7a3b2e"), (280, 300, 110, "#2f5b7a"), (310, 300, 80, "#c9a227"),
                                (450, 460, 100, "#5b6b3a"), (480, 460, 80, "#a4492a"), (300, 620, 90, "#4a5866"))
    )
    return (
        f'<rect x="200" y="150" width="20" height="520" fill="{d}"/><rect x="580" y="150" width="20" height="520" fill="{d}"/>'
        + "".join(f'<rect x="190" y="{y}" width="420" height="22" rx="4" fill="{c}"/>' for y in (300, 460, 620))
        + books
        + '<path d="M480 300 q0-70 40-70 q40 0 40 70z" fill="#8aa0a8"/>'
    )


def _rug(c: str, d: str, l: str) -> str:
    stripes = "".join(
        f'<path d="M{230 + i * 70} 250 L{130 + i * 70 + 40} 600" stroke="{d if i % 2 else l}" stroke-width="18"/>' for i in range(0, 7)
    )
    fringe = "".join(f'<line x1="{120 + i * 28}" y1="600" x2="{116 + i * 28}" y2="630" stroke="{d}" stroke-width="4"/>' for i in range(18))
    return f'<path d="M220 250 L680 250 L620 600 L120 600Z" fill="{c}"/>' + stripes + fringe


def _mug(c: str, d: str, l: str) -> str:
    return (
        f'<path d="M510 340 q110 0 110 110 q0 110 -110 110" fill="none" stroke="{c}" stroke-width="40"/>'
        f'<path d="M250 270 L550 270 L540 620 Q540 660 500 660 L300 660 Q260 660 260 620Z" fill="{c}"/>'
        f'<ellipse cx="400" cy="270" rx="150" ry="36" fill="{d}"/><ellipse cx="400" cy="276" rx="130" ry="26" fill="#5a3a22"/>'
        f'<path d="M255 330 L545 330" stroke="{l}" stroke-width="14" opacity=".6"/>'
    )


def _vase(c: str, d: str, l: str) -> str:
    return (
        f'<path d="M400 250 q-30 -120 -90 -160 M400 250 q20 -130 90 -170 M400 250 q0 -110 10 -180" fill="none" stroke="#6b5240" stroke-width="6"/>'
        f'<circle cx="310" cy="95" r="14" fill="#9caf88"/><circle cx="490" cy="85" r="14" fill="#9caf88"/><circle cx="410" cy="72" r="12" fill="#9caf88"/>'
        f'<path d="M360 240 L440 240 Q440 320 520 420 Q580 520 520 620 Q490 670 400 670 Q310 670 280 620 Q220 520 280 420 Q360 320 360 240Z" fill="{c}"/>'
        f'<ellipse cx="400" cy="240" rx="40" ry="10" fill="{d}"/>'
        f'<path d="M300 450 q-30 80 10 160" fill="none" stroke="#fff" stroke-width="12" opacity=".3"/>'
    )


def _candleholder(c: str, d: str, l: str) -> str:
    return "".join(
        f'<ellipse cx="{x}" cy="660" rx="70" ry="18" fill="{c}"/><rect x="{x - 12}" y="{top + 120}" width="24" height="{540 - top}" fill="{c}"/>'
        f'<ellipse cx="{x}" cy="{top + 120}" rx="40" ry="12" fill="{c}"/>'
        f'<rect x="{x - 14}" y="{top - 40}" width="28" height="160" fill="#f4efe6"/>'
        f'<path d="M{x} {top - 90} q18 25 0 45 q-18 -20 0 -45z" fill="#f2a93b"/>'
        for x, top in ((280, 300), (400, 220), (520, 340))
    )


def _pendant(c: str, d: str, l: str) -> str:
    return (
        '<line x1="400" y1="0" x2="400" y2="300" stroke="#2a2a2a" stroke-width="6"/>'
        '<path d="M250 620 L550 620 L640 760 L160 760Z" fill="#fff6c8" opacity=".5"/>'
        f'<path d="M180 560 Q190 300 400 290 Q610 300 620 560Z" fill="{c}"/>'
        f'<rect x="375" y="270" width="50" height="40" rx="8" fill="{d}"/>'
        '<ellipse cx="400" cy="560" rx="220" ry="30" fill="#fff3c0"/><circle cx="400" cy="570" r="50" fill="#fffbe6"/>'
    )


def _throw(c: str, d: str, l: str) -> str:
    zigzag = "".join(f'<path d="M{200 + i * 40} 360 l20 30 l20 -30" fill="none" stroke="{d}" stroke-width="5"/>' for i in range(10))
    fringe = "".join(f'<line x1="{205 + i * 26}" y1="600" x2="{205 + i * 26}" y2="640" stroke="{d}" stroke-width="5"/>' for i in range(16))
    return (
        f'<rect x="190" y="480" width="420" height="120" rx="20" fill="{d}"/>'
        f'<rect x="190" y="390" width="420" height="110" rx="20" fill="{c}"/>'
        f'<rect x="190" y="300" width="420" height="110" rx="20" fill="{l}"/>'
        + zigzag
        + f'<path d="M190 450 h420" stroke="{d}" stroke-width="6"/>'
        + fringe
    )


def _cushion(c: str, d: str, l: str) -> str:
    return (
        f'<path d="M200 230 Q400 270 600 230 Q570 400 600 570 Q400 530 200 570 Q230 400 200 230Z" fill="{c}"/>'
        f'<path d="M230 260 Q400 290 570 260 Q545 400 570 540 Q400 510 230 540 Q255 400 230 260Z" fill="none" stroke="{d}" stroke-width="6" stroke-dasharray="14 10"/>'
        f'<path d="M330 320 q70 40 140 0" fill="none" stroke="{l}" stroke-width="10" opacity=".6"/>'
    )


def _pouch(c: str, d: str, l: str) -> str:
    return (
        f'<path d="M260 200 L540 200 L570 660 L230 660Z" fill="{c}"/>'
        f'<rect x="255" y="190" width="290" height="40" fill="{d}"/>'
        f'<rect x="300" y="330" width="200" height="220" rx="10" fill="#f7f2e6"/>'
        f'<path d="M400 380 q-60 50 0 130 q60 -80 0 -130z" fill="{c}"/><line x1="400" y1="390" x2="400" y2="505" stroke="#f7f2e6" stroke-width="4"/>'
        f'<rect x="330" y="520" width="140" height="10" fill="{d}"/>'
    )


def _tin(c: str, d: str, l: str) -> str:
    return (
        f'<rect x="280" y="300" width="240" height="330" rx="14" fill="{c}"/>'
        f'<rect x="270" y="250" width="260" height="80" rx="14" fill="{d}"/>'
        f'<ellipse cx="400" cy="250" rx="130" ry="22" fill="{l}"/>'
        f'<rect x="310" y="400" width="180" height="150" fill="#f7f2e6"/>'
        f'<circle cx="400" cy="475" r="46" fill="{c}"/>'
    )


def _teapot(c: str, d: str, l: str) -> str:
    return (
        f'<rect x="520" y="420" width="210" height="46" rx="20" fill="{d}" transform="rotate(-12 520 440)"/>'
        f'<path d="M270 430 Q170 380 150 300 L175 290 Q210 360 290 390Z" fill="{c}"/>'
        f'<ellipse cx="400" cy="460" rx="180" ry="170" fill="{c}"/>'
        f'<ellipse cx="400" cy="310" rx="120" ry="26" fill="{d}"/><ellipse cx="400" cy="300" rx="100" ry="22" fill="{c}"/>'
        f'<circle cx="400" cy="275" r="20" fill="{d}"/>'
        f'<path d="M280 500 q40 90 120 110" fill="none" stroke="#fff" stroke-width="12" opacity=".25"/>'
    )


def _teabowl(c: str, d: str, l: str) -> str:
    return (
        f'<path d="M160 340 Q170 640 400 650 Q630 640 640 340Z" fill="{c}"/>'
        f'<ellipse cx="400" cy="340" rx="240" ry="50" fill="{d}"/><ellipse cx="400" cy="345" rx="215" ry="38" fill="#6e9a45"/>'
        f'<rect x="330" y="640" width="140" height="40" rx="10" fill="{d}"/>'
        f'<path d="M200 400 q20 120 60 150 M600 400 q-10 90 -50 140" fill="none" stroke="{l}" stroke-width="10" opacity=".6"/>'
    )


def _cup(c: str, d: str, l: str) -> str:
    return (
        f'<path d="M290 260 L510 260 L490 640 Q490 670 460 670 L340 670 Q310 670 310 640Z" fill="{c}"/>'
        f'<ellipse cx="400" cy="260" rx="110" ry="24" fill="{_shade(c, 0.85)}"/><ellipse cx="400" cy="266" rx="94" ry="16" fill="#9bb55a"/>'
        f'<path d="M320 360 h160" stroke="#3c6e47" stroke-width="10"/><path d="M322 390 h156" stroke="#3c6e47" stroke-width="4"/>'
    )


def _whisk(c: str, d: str, l: str) -> str:
    tines = "".join(
        f'<path d="M400 330 Q{400 + offset * 3.2} {420 + abs(offset) * 0.4} {400 + offset * 1.2} 560" fill="none" stroke="{c}" stroke-width="5"/>'
        for offset in range(-60, 61, 8)
    )
    return (
        f'<rect x="365" y="120" width="70" height="230" rx="12" fill="{c}"/>'
        f'<rect x="365" y="300" width="70" height="14" fill="{d}"/>'
        + tines
        + f'<ellipse cx="400" cy="565" rx="70" ry="20" fill="{d}"/>'
    )


def _caddy(c: str, d: str, l: str) -> str:
    return (
        f'<rect x="290" y="230" width="220" height="430" rx="18" fill="{c}"/>'
        f'<rect x="285" y="200" width="230" height="130" rx="18" fill="{d}"/>'
        f'<ellipse cx="400" cy="200" rx="115" ry="20" fill="{l}"/>'
        f'<rect x="320" y="240" width="22" height="400" fill="#fff" opacity=".25"/>'
    )


def _incense(c: str, d: str, l: str) -> str:
    sticks = "".join(
        f'<line x1="{x}" y1="560" x2="{x + tilt}" y2="{top}" stroke="{c}" stroke-width="8"/><circle cx="{x + tilt}" cy="{top}" r="6" fill="#e0542a"/>'
        f'<path d="M{x + tilt} {top - 10} q-30 -40 0 -80 q30 -40 0 -80" fill="none" stroke="#b9b2a2" stroke-width="4" opacity=".8"/>'
        for x, tilt, top in ((360, -40, 260), (400, 0, 230), (440, 40, 270))
    )
    return sticks + f'<ellipse cx="400" cy="600" rx="170" ry="40" fill="{_shade(c, 0.6)}"/><ellipse cx="400" cy="585" rx="150" ry="28" fill="#d8cfbf"/>'


DRAWINGS = {
    "backpack": _backpack, "poles": _poles, "jacket": lambda c, d, l: _jacket(c, d, l, hood=True),
    "fleece": lambda c, d, l: _jacket(c, d, l, hood=False), "beanie": _beanie, "tent": _tent,
    "sleepingbag": _sleepingbag, "headlamp": _headlamp, "bottle": _bottle, "boot": _boot,
    "chair": _chair, "sidetable": _sidetable, "shelf": _shelf, "rug": _rug, "mug": _mug, "vase": _vase,
    "candleholder": _candleholder, "pendant": _pendant, "throw": _throw, "cushion": _cushion,
    "sencha": _pouch, "hojicha": _pouch, "genmaicha": _pouch, "matchatin": _tin, "teapot": _teapot,
    "teabowl": _teabowl, "cup": _cup, "whisk": _whisk, "caddy": _caddy, "incense": _incense,
}


def draw_svg(tenant: str, name: str) -> str:
    digest = hashlib.sha256(f"{tenant}/{name}".encode()).digest()
    picture, _, rest = name.partition("-")
    colour_word = rest.partition("-")[0]
    label = escape(name.replace("-", " ")[:60])
    head = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 800" width="800" height="800" role="img" aria-label="{label}">'
    drawing = DRAWINGS.get(picture)
    if drawing is not None:
        colour = COLOURS.get(colour_word)
        if colour is None:  # no colour option: the kind's colour, a little lighter or darker per product
            colour = _shade(KIND_COLOURS.get(picture, PALETTES[digest[0] % len(PALETTES)][0]), (0.8, 0.9, 1.0, 1.15, 1.3)[digest[2] % 5])
        # A pale studio backdrop, a little different per product, and a soft floor shadow.
        backdrop = ("#f4efe6", "#eef1f4", "#f6f1ea", "#eef2ec", "#f5eff0")[digest[1] % 5]
        return (
            head + f'<rect width="800" height="800" fill="{backdrop}"/>'
            '<ellipse cx="400" cy="690" rx="280" ry="34" fill="#000" opacity=".08"/>'
            + drawing(colour, _shade(colour, 0.72), _shade(colour, 1.45))
            + "</svg>"
        )
    dark, accent, light = PALETTES[digest[0] % len(PALETTES)]
    shape = digest[1] % 3
    x, y, size = 250 + digest[2] % 300, 250 + digest[3] % 300, 180 + digest[4] % 160
    if shape == 0:
        figure = f'<circle cx="{x}" cy="{y}" r="{size}" fill="{accent}"/>'
    elif shape == 1:
        figure = f'<rect x="{x - size}" y="{y - size}" width="{size * 2}" height="{size * 2}" rx="36" fill="{accent}"/>'
    else:
        figure = f'<polygon points="{x},{y - size} {x + size},{y + size} {x - size},{y + size}" fill="{accent}"/>'
    return head + f'<rect width="800" height="800" fill="{light}"/>{figure}<rect y="680" width="800" height="120" fill="{dark}"/></svg>'


MEDIA_KEY = "zelly.demo_media"
REMEMBERED_CATALOGS = 256  # (tenant, catalog version) -> its demo image URLs, per process


class DemoMedia:
    """The demo image URLs each tenant's catalog names, one query per tenant and catalog version."""

    def __init__(self) -> None:
        self._urls: OrderedDict[tuple[int, int], frozenset[str]] = OrderedDict()

    async def urls(self, services, tenant_id: int, version: int, prefix: str) -> frozenset[str]:
        key = (tenant_id, version)
        found = self._urls.get(key)
        if found is None:
            async with services.db.connect() as conn:
                found = await catalog.select_image_urls_under(conn, tenant_id, prefix)
            self._urls[key] = found
            while len(self._urls) > REMEMBERED_CATALOGS:
                self._urls.popitem(last=False)
        self._urls.move_to_end(key)
        return found


def not_found() -> Response:
    # Plain and small: a stranger's random names cost no render (issue 13, item 2). The
    # edge keeps it in memory a few seconds at most, never in Redis.
    return Response("Not found.", status=404, content_type="text/plain; charset=utf-8", headers={"Cache-Control": "public, max-age=60"})


@blueprint.get("/media/demo/<tenant>/<name>.svg")
async def demo_image(tenant: str, name: str) -> Response:
    """Only the pictures the store's catalog names (the seed's), only on that store's own hosts."""
    if not NAME_PATTERN.match(tenant) or not NAME_PATTERN.match(name):
        return not_found()
    _, site = await resolver().resolve(request_host(request.scope))
    if site is None or not site.tenant.is_active or site.tenant.slug != tenant:
        return not_found()
    services = current_services()
    version = await services.catalog_versions.get(site.tenant.id)
    media = current_app.extensions.setdefault(MEDIA_KEY, DemoMedia())
    if request.path not in await media.urls(services, site.tenant.id, version, f"/media/demo/{tenant}/"):
        return not_found()
    response = Response(draw_svg(tenant, name), content_type="image/svg+xml; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
