import dataclasses
import re
from pathlib import Path

from origin.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`(ZELLY_[A-Z0-9_]+)`", DOC.read_text()))
    variables = {f"ZELLY_{spec.name.upper()}" for spec in dataclasses.fields(Settings)}

    assert variables - documented == set()
