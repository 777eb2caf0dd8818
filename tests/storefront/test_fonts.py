"""The page's font stack names faces this machine has for the demo stores' scripts (issue 20).

Chromium picks a face from the stack's names, and for a character the named
faces lack, whatever fontconfig offers; on a machine without a CJK or Arabic
face that is a missing-glyph box. ops/system-packages.sh installs Noto CJK and
Noto core for that; this checks the two agree: for the characters kyoto and an
Arabic shop print (the yen sign, kana, kanji; Arabic letters), some face named
in the stack is installed and covers them all.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from storefront.theme import DEFAULT_FONT, SCRIPT_FALLBACK_FONTS

SCRIPTS = {
    "Japanese and the yen sign": "¥京都茶寮おちゃ",
    "Arabic": "سلة التسوق",
}


def stack_families() -> list[str]:
    return [re.sub(r"^[\"']|[\"']$", "", name.strip()) for name in f"{DEFAULT_FONT}, {SCRIPT_FALLBACK_FONTS}".split(",")]


def installed_families_covering(text: str) -> set[str]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        pytest.fail("fc-list is missing: run ops/system-packages.sh (fontconfig comes with the Noto fonts)", pytrace=False)
    charset = " ".join(f"{ord(character):x}" for character in sorted(set(text)) if not character.isspace())
    listed = subprocess.run([fc_list, f":charset={charset}", "family"], capture_output=True, text=True, check=True).stdout
    return {family.strip() for line in listed.splitlines() for family in line.split(",")}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_a_face_named_in_the_stack_covers_the_script(script):
    covering = installed_families_covering(SCRIPTS[script])

    assert set(stack_families()) & covering, f"no face in the stack covers {script}; installed faces that do: {sorted(covering)}"
