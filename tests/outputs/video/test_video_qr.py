"""The ``qr`` layer, added through the layer registry alone: validated as part of the manifest,
its Jinja compiled and checked at load, drawn module-exact, and readable in a rendered frame."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from PIL import Image

from renderer.errors import RenderError, TemplateError
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.outputs.video.layers import LAYER_KINDS
from renderer.outputs.video.layers.base import ResolvedLayer
from renderer.outputs.video.layers.qr import QrLayer, qr_matrix
from renderer.outputs.video.personal import personal_scenes
from renderer.settings import Settings
from renderer.storage.local import LocalStorage

PAY_URL = "https://pay.example.com/bill/DE-2002?amount=84.20"
BOX = {"x": 40, "y": 40, "w": 400, "h": 400}


def _template(root: Path, settings: Settings, layer: dict[str, object]) -> Template:
    folder = root / "qr-card"
    folder.mkdir(parents=True)
    manifest = {
        "name": "qr-card",
        "title": "Pay by phone",
        "version": "1",
        "contract": {
            "recipient_id": "customer_id",
            "fields": {
                "customer_id": {"type": "string", "required": True},
                "pay_url": {"type": "url", "required": True, "personal": True},
            },
        },
        "outputs": {
            "video": {
                "size": [480, 480],
                "fps": 10,
                "scenes": [
                    {"id": "intro", "duration": 1, "background": {"colour": "#204060"}},
                    {"id": "pay", "duration": 2, "background": {"colour": "#204060"}, "layers": [layer]},
                ],
            }
        },
    }
    (folder / "template.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return load_template(folder, settings)


def _modules(image: Image.Image, origin: tuple[int, int], scale: int, count: int) -> list[tuple[bool, ...]]:
    """Read the code back: each module's centre pixel, dark below mid-grey."""
    grey = image.convert("L")
    x0, y0 = origin
    return [
        tuple(
            grey.getpixel((x0 + col * scale + scale // 2, y0 + row * scale + scale // 2)) < 128
            for col in range(count)
        )
        for row in range(count)
    ]


def test_the_sprite_holds_exactly_the_modules_segno_encodes() -> None:
    layer = QrLayer.model_validate({"type": "qr", "data": "{{ pay_url }}", "box": BOX})
    sprite = LAYER_KINDS["qr"].draw(ResolvedLayer(layer, {"data": PAY_URL}), lambda ref: Path(ref))
    matrix = qr_matrix(PAY_URL, "M", 4)
    scale = 400 // len(matrix)
    offset = (400 - scale * len(matrix)) // 2
    assert sprite.size == (400, 400)
    assert _modules(sprite, (offset, offset), scale, len(matrix)) == matrix
    assert sprite.getpixel((0, 0))[3] == 0  # outside the code: transparent, the scene shows through


def test_a_qr_scene_reads_a_personal_field_so_it_is_personal(tmp_path: Path, settings: Settings) -> None:
    template = _template(tmp_path, settings, {"type": "qr", "data": "{{ pay_url }}", "box": BOX})
    assert personal_scenes(template.manifest) == {"pay"}
    assert template.lines["outputs.video.scenes.1.layers.0.data"] > 1  # compiled as a snippet


def test_broken_qr_jinja_and_unknown_names_fail_at_load_naming_the_line(
    tmp_path: Path, settings: Settings
) -> None:
    with pytest.raises(TemplateError) as broken:
        _template(tmp_path, settings, {"type": "qr", "data": "{{ pay_url ", "box": BOX})
    assert "layers.0.data: broken Jinja" in str(broken.value) and broken.value.line
    with pytest.raises(TemplateError) as unknown:
        _template(tmp_path / "b", settings, {"type": "qr", "data": "{{ invoice_link }}", "box": BOX})
    assert "invoice_link" in str(unknown.value)


def test_a_box_too_small_for_the_code_fails_the_render_naming_the_layer(
    tmp_path: Path, settings: Settings
) -> None:
    small = {"type": "qr", "data": "{{ pay_url }}", "box": {"x": 0, "y": 0, "w": 60, "h": 60}}
    template = _template(tmp_path, settings, small)
    recipient = template.validator.validate({"customer_id": "C-1", "pay_url": PAY_URL})
    with pytest.raises(RenderError) as caught:
        render_recipient(template, recipient, ["video"], LocalStorage(tmp_path / "out"), "qr")
    assert "scene pay layer 0: the box is too small for this QR code" in str(caught.value)
    assert PAY_URL not in str(caught.value)


@pytest.mark.video
def test_the_code_in_a_rendered_frame_decodes_to_the_recipients_link(
    tmp_path: Path, settings: Settings
) -> None:
    template = _template(tmp_path, settings, {"type": "qr", "data": "{{ pay_url }}", "box": BOX})
    storage = LocalStorage(tmp_path / "out")
    recipient = template.validator.validate({"customer_id": "C-1", "pay_url": PAY_URL})
    stored = render_recipient(template, recipient, ["video"], storage, "qr", RenderOptions())
    assert set(stored.cache) == {"segment:pay"}  # the personal scene's segment, for erasure
    frame = tmp_path / "frame.png"
    video = storage.path(stored.outputs["video"].main)
    command = ["ffmpeg", "-v", "error", "-ss", "2.0", "-i", str(video), "-frames:v", "1", str(frame)]
    subprocess.run(command, check=True, timeout=60)
    matrix = qr_matrix(PAY_URL, "M", 4)
    scale = 400 // len(matrix)
    origin = 40 + (400 - scale * len(matrix)) // 2
    with Image.open(frame) as image:
        assert _modules(image, (origin, origin), scale, len(matrix)) == matrix
