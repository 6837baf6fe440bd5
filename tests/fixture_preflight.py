"""A small template built to fail each pre-flight check once: text cut at its min_size, a
character no font covers, pale and grey text on white, a narration longer than its 1 s scene, a
``javascript:`` link from a field; with one sample (en-US) whose personal values must never show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from renderer.outputs.load import load_template
from renderer.outputs.template import Template
from renderer.settings import Settings

CUNEIFORM = "\U00012000"  # CUNEIFORM SIGN A: in no Noto Sans face fontconfig picks for Latin text
SAMPLE = {
    "customer_id": "C-1",
    "first_name": "Zebulon",
    "email": "zebulon@example.com",
    "link": "javascript:alert('Zebulon')",
}
PERSONAL = ("Zebulon", "zebulon@example.com", "alert(")


def _text(text: str, y: int, colour: str, **extra: Any) -> dict[str, Any]:
    box = extra.pop("box", {"x": 20, "y": y, "w": 400, "h": 40})
    return {"type": "text", "text": text, "box": box, "size": 20, "min_size": 12, "colour": colour, **extra}


SCENES = [
    {
        "id": "crowded",
        "duration": 2,
        "background": {"colour": "#ffffff"},
        "layers": [
            _text(
                "Dear {{ first_name }}, " + "this sentence is far too long for its box " * 4,
                20,
                "#000000",
                box={"x": 20, "y": 20, "w": 200, "h": 40},
                size=24,
                min_size=20,
            ),
            _text("Hi {{ first_name }} " + CUNEIFORM, 80, "#000000"),
            _text("Pale {{ first_name }}", 130, "#dddddd", enter={"kind": "fade", "duration": 0.5}),
            _text("Grey {{ first_name }}", 180, "#888888"),
            {"type": "shape", "colour": "#202020", "box": {"x": 10, "y": 240, "w": 600, "h": 80}},
            _text("White on the dark panel, {{ first_name }}", 260, "#ffffff"),
        ],
    },
    {
        "id": "talk",
        "duration": 1,
        "background": {"colour": "#000000"},
        "narration": {"text": "Hello {{ first_name }}, " + "here is a long story about your bill " * 3},
    },
]
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Card</title></head><body>
<p>Hello {{ first_name }}</p>
<a href="#details">details</a>
<a href="mailto:{{ email }}">mail</a>
<a href="{{ link }}">go</a>
<form action="#answer"></form>
</body></html>
"""


def write_card(root: Path, settings: Settings) -> Template:
    """The test template: microsite (page.html) and a 640x360 video, one sample (en-US)."""
    folder = root / "preflight-card"
    (folder / "samples").mkdir(parents=True)
    fields = {
        "customer_id": {"type": "string", "required": True},
        "first_name": {"type": "string", "required": True, "personal": True},
        "email": {"type": "email", "required": True, "personal": True},
        "link": {"type": "string", "required": True, "personal": True},
    }
    manifest = {
        "name": "preflight-card",
        "title": "Pre-flight",
        "version": "1",
        "contract": {"recipient_id": "customer_id", "fields": fields},
        "outputs": {
            "microsite": {"entry": "page.html"},
            "video": {"size": [640, 360], "fps": 10, "scenes": SCENES},
        },
    }
    text = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True)
    (folder / "template.yaml").write_text(text, encoding="utf-8")
    (folder / "page.html").write_text(PAGE, encoding="utf-8")
    (folder / "samples" / "en-US.json").write_text(json.dumps(SAMPLE), encoding="utf-8")
    return load_template(folder, settings)
