"""Every example template renders every sample in all six locales with its decisions taken: the
page in the recipient's language and direction with their greeting and the offer their decision
chose; the video scenes each variant of an experiment gets (resolved without pixels, then one real
encode per variant); each trigger fires on some sample and not on another."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from renderer.decisions.decide import Decision, DecisionInputs
from renderer.outputs.decided import resolve_decided
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.outputs.video.scenes import resolve_scenes
from renderer.settings import Settings
from renderer.storage import LocalStorage
from tests.conftest import SAMPLE_LOCALES

TEMPLATES = ["bill-summary", "welcome-onboarding"]
CAMPAIGN = "examples"
AT = dt.date(2026, 12, 2)  # a fixed decision date, inside every trigger's validity
RTL_LOCALES = {"fa-IR"}
WELCOME_VARIANTS = ["tour", "checklist"]


class Elements(HTMLParser):
    """Every element's attributes and text, by id and by data-testid (enough for these pages)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_key: dict[str, tuple[dict[str, str | None], list[str]]] = {}
        self.root: dict[str, str | None] = {}
        self._open: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.root = found
        key = found.get("id") or found.get("data-testid")
        if key and key not in self.by_key:
            self.by_key[key] = (found, [])
            self._open.append(self.by_key[key][1])
        elif tag not in ("img", "meta", "link", "br", "input", "source", "track"):
            self._open.append([])

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag not in ("img", "meta", "link", "br", "input", "source", "track"):
            done = self._open.pop()
            if self._open:
                self._open[-1].extend(done)

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1].append(data)

    def text(self, key: str) -> str:
        """The text inside the element with this id or data-testid (whitespace collapsed)."""
        return " ".join("".join(self.by_key[key][1]).split())

    def attrs(self, key: str) -> dict[str, str | None]:
        """The attributes of the element with this id or data-testid."""
        return self.by_key[key][0]


def parse(path: Path) -> Elements:
    parser = Elements()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def inputs(**forced: str) -> DecisionInputs:
    return DecisionInputs(campaign=CAMPAIGN, at=AT, forced=forced)


@pytest.fixture(scope="module")
def templates(settings: Settings) -> dict[str, Template]:
    """Both example templates, loaded once."""
    return {name: load_template(name, settings) for name in TEMPLATES}


@pytest.fixture(scope="module")
def pages(
    templates: dict[str, Template], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], tuple[Path, Decision]]:
    """Every sample of both templates rendered (microsite) into one local storage: (template,
    locale) -> (its index.html, the decision it was rendered with)."""
    storage = LocalStorage(tmp_path_factory.mktemp("examples"))
    rendered = {}
    for name, template in templates.items():
        for locale, raw in template.samples.items():
            result = render_recipient(
                template,
                template.validator.validate(raw),
                ["microsite"],
                storage,
                CAMPAIGN,
                decisions=inputs(),
            )
            rendered[name, locale] = (storage.path(result.file_keys()["microsite"]), result.decision)
    return rendered


def test_every_template_has_a_sample_per_locale(templates: dict[str, Template]) -> None:
    for template in templates.values():
        assert sorted(template.samples) == SAMPLE_LOCALES


@pytest.mark.parametrize("locale", SAMPLE_LOCALES)
@pytest.mark.parametrize("name", TEMPLATES)
def test_page_greets_in_the_recipients_language_and_direction(
    name: str,
    locale: str,
    templates: dict[str, Template],
    pages: dict[tuple[str, str], tuple[Path, Decision]],
) -> None:
    template = templates[name]
    path, decision = pages[name, locale]
    page = parse(path)
    assert page.root.get("lang") == locale
    assert page.root.get("dir") == ("rtl" if locale in RTL_LOCALES else "ltr")
    spec, again = resolve_decided(template, template.validator.validate(template.samples[locale]), inputs())
    assert again.trace() == decision.trace(), "a decision is a pure function of recipient and inputs"
    greeting = page.text("greeting")
    assert template.samples[locale]["first_name"] in greeting
    expected = " ".join(
        spec.context["t"](
            "greeting_warm" if spec.context["variants"].get("headline") == "warm" else "greeting"
        ).split()
    )
    assert greeting == expected, f"{name}/{locale}: the headline is the variant's copy"
    winners = decision.slots["offer"].winners
    if winners:
        offer = page.attrs("offer")
        assert offer.get("data-offer") == winners[0]
        assert " ".join(spec.context["t"](f"offer_{winners[0]}").split()) in page.text("offer")
    else:
        assert "offer" not in page.by_key, f"{name}/{locale}: no trigger won, so no offer block"


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_trigger_fires_on_some_sample_and_not_on_another(
    name: str, templates: dict[str, Template]
) -> None:
    template = templates[name]
    fired: dict[str, set[bool]] = {tid: set() for tid in template.manifest.decisions.triggers}
    winners: set[str] = set()
    for raw in template.samples.values():
        _, decision = resolve_decided(template, template.validator.validate(raw), inputs())
        for item in decision.evaluations:
            fired[item.id].add(item.fired)
        winners.update(decision.slots["offer"].winners)
    assert {tid: outcomes for tid, outcomes in fired.items() if outcomes != {True, False}} == {}
    assert winners == set(template.manifest.decisions.slots["offer"].triggers), "every offer is shown once"


def _scene_ids(template: Template, raw: dict[str, Any], forced: dict[str, str]) -> tuple[list[str], Decision]:
    spec, decision = resolve_decided(template, template.validator.validate(raw), inputs(**forced))
    return [scene.id for scene in resolve_scenes(template, spec, lambda ref: "d")], decision


@pytest.mark.parametrize("variant", WELCOME_VARIANTS)
@pytest.mark.parametrize("locale", SAMPLE_LOCALES)
def test_welcome_video_scenes_per_variant(locale: str, variant: str, templates: dict[str, Template]) -> None:
    template = templates["welcome-onboarding"]
    ids, decision = _scene_ids(template, template.samples[locale], {"welcome_scene": variant})
    offer = ["offer"] if decision.slots["offer"].winners else []
    assert ids == ["intro", "greeting", "plan", f"start-{variant}", *offer, "outro"]
    assert decision.variant_key == f"welcome_scene={variant}"


def test_welcome_holdout_and_control_group_get_the_tour_and_no_offer_for_control(
    templates: dict[str, Template],
) -> None:
    template = templates["welcome-onboarding"]
    sample = template.samples["en-US"]
    seen: dict[str, list[str]] = {}
    for i in range(400):
        raw = {**sample, "customer_id": f"W-{i}"}
        ids, decision = _scene_ids(template, raw, {})
        arm = decision.arms["welcome_scene"].arm
        if arm in ("holdout", "control") and arm not in seen:
            seen[arm] = ids
            assert decision.arms["welcome_scene"].variant == "tour", "the default variant"
        if len(seen) == 2:
            break
    assert seen["holdout"] == ["intro", "greeting", "plan", "start-tour", "offer", "outro"]
    assert seen["control"] == ["intro", "greeting", "plan", "start-tour", "outro"], (
        "control: every slot empty"
    )


@pytest.mark.parametrize("locale", SAMPLE_LOCALES)
def test_bill_outro_carries_the_offer(locale: str, templates: dict[str, Template]) -> None:
    template = templates["bill-summary"]
    spec, decision = resolve_decided(
        template, template.validator.validate(template.samples[locale]), inputs()
    )
    outro = next(scene for scene in resolve_scenes(template, spec, lambda ref: "d") if scene.id == "outro")
    texts = [layer.content.get("text") for layer in outro.layers]
    winners = decision.slots["offer"].winners
    assert (spec.context["t"](f"offer_{winners[0]}") in texts) if winners else len(texts) == 2


@pytest.mark.pdf
def test_bill_pdf_shows_the_headline_variant_and_the_offer(
    templates: dict[str, Template], tmp_path: Path
) -> None:
    from pypdf import PdfReader

    template = templates["bill-summary"]
    storage = LocalStorage(tmp_path)
    recipient = template.validator.validate(template.samples["en-US"])
    for headline, greeting in (("warm", "Good to see you, Emily"), ("plain", "Hi Emily, here is your bill")):
        result = render_recipient(
            template, recipient, ["pdf"], storage, f"pdf-{headline}", decisions=inputs(headline=headline)
        )
        text = " ".join(PdfReader(storage.path(result.file_keys()["pdf"])).pages[0].extract_text().split())
        assert greeting in text and "Just for you" in text, text
        assert result.decision.slots["offer"].winners == ("usage_up",)


@pytest.mark.video
@pytest.mark.slow
def test_welcome_video_encodes_each_variants_scene(templates: dict[str, Template], tmp_path: Path) -> None:
    template = templates["welcome-onboarding"]
    storage = LocalStorage(tmp_path)
    recipient = template.validator.validate(template.samples["tr-TR"])
    for variant in WELCOME_VARIANTS:
        result = render_recipient(
            template,
            recipient,
            ["video"],
            storage,
            f"video-{variant}",
            decisions=inputs(welcome_scene=variant),
        )
        folder = storage.path(result.file_keys()["video"]).parent
        cues = (folder / "scenes.vtt").read_text(encoding="utf-8").split("\n\n")[1:]
        assert [cue.split("\n")[0] for cue in cues if cue.strip()] == [
            "intro",
            "greeting",
            "plan",
            f"start-{variant}",
            "offer",
            "outro",
        ]
        chapters = (folder / "chapters.vtt").read_text(encoding="utf-8")
        assert f"start-{variant}" in chapters and "İlk adımlar" in chapters, (
            "the variant's scene is a chapter"
        )


@pytest.fixture(scope="module")
def chromium() -> Any:
    """One headless system Chromium for the module's browser test."""
    from tests.conftest import launch_chromium

    with launch_chromium() as browser:
        yield browser


@pytest.mark.browser
@pytest.mark.parametrize("locale", SAMPLE_LOCALES)
def test_welcome_page_in_chromium(
    locale: str, chromium: Any, pages: dict[tuple[str, str], tuple[Path, Decision]], artifacts: Path
) -> None:
    """The welcome page loads with its CSP enforced and no error, fits a phone's width and passes
    axe-core (no serious or critical violation); its screenshot goes to test-artifacts/."""
    from tests.outputs.test_microsite_browser import AXE_JS, MOBILE

    url = pages["welcome-onboarding", locale][0].as_uri()
    context = chromium.new_context(viewport=MOBILE, reduced_motion="reduce")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(req.url))
    page.goto(url, wait_until="load")
    page.screenshot(path=str(artifacts / f"welcome-{locale}-mobile.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    context.close()
    assert width <= MOBILE["width"] + 1, f"{locale}: {width}px wide on a phone"
    assert errors == [], f"{locale}: {errors}"
    context = chromium.new_context(bypass_csp=True)  # only to inject axe-core
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    context.close()
    bad = [v["id"] for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{locale}: serious axe violations {bad}"


def _video_texts(template: Template) -> set[tuple[str, str, bool]]:
    """(locale, text, bold) of every text layer each sample's video draws under each variant of
    each experiment, plus every offer a slot can show in that layer (bold as drawn)."""
    from itertools import product

    from renderer.outputs.video.layers.text import TextLayer

    section = template.manifest.decisions
    arms = [[(exp, v) for v in spec.variants] for exp, spec in section.experiments.items()]
    offers = [tid for slot in section.slots.values() for tid in slot.triggers]
    texts = set()
    for locale, raw in template.samples.items():
        recipient = template.validator.validate(raw)
        for forced in product(*arms):
            spec, _ = resolve_decided(template, recipient, inputs(**dict(forced)))
            for scene in resolve_scenes(template, spec, lambda ref: "d"):
                for layer in scene.layers:
                    if isinstance(layer.spec, TextLayer):
                        texts.add((locale, layer.content["text"], layer.spec.weight == "bold"))
        texts |= {
            (locale, spec.context["t"](f"offer_{tid}"), bold) for tid in offers for bold in (False, True)
        }
    return texts


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_video_text_has_glyphs_in_the_font_of_its_script(
    name: str, templates: dict[str, Template]
) -> None:
    """Each text a video draws, in every language, variant and offer, is covered by the font the
    text layer picks for its script: no tofu in any scene."""
    from fontTools.ttLib import TTFont

    from renderer.outputs.video.text import font_file, script_family

    cmaps: dict[str, set[int]] = {}
    missing = set()
    for locale, text, bold in _video_texts(templates[name]):
        path = font_file(script_family(text, "Noto Sans"), bold)
        if path not in cmaps:
            with TTFont(path, lazy=True) as font:
                cmaps[path] = set(font.getBestCmap())
        missing |= {(locale, char) for char in text if not char.isspace() and ord(char) not in cmaps[path]}
    assert missing == set()
