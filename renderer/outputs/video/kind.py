"""The video output kind: its manifest section's Jinja and assets, checked at load; a render per
recipient through `render.py` (imported on first render) in a scratch space of its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from renderer.outputs.kind import OutputKind, RenderContext, Rendered, RenderOptions
from renderer.outputs.template import Template
from renderer.outputs.video.animation_checks import check_animations
from renderer.outputs.video.fallback import check_fallbacks
from renderer.outputs.video.layers import Layer, layer_kind
from renderer.outputs.video.personal import personal_scenes
from renderer.outputs.video.spec import VideoOutput
from renderer.outputs.video.streaming import is_private
from renderer.template.load import Expression, JinjaSources, Loc, Snippet
from renderer.template.paths import check_asset
from renderer.template.resolve import ResolvedSpec

if TYPE_CHECKING:
    from renderer.outputs.video.plan import VideoOptions

VIDEO_LINKS = {
    "video": "video.mp4",
    "hls": "video.m3u8",
    "poster": "poster.jpg",
    "captions": "captions.vtt",
    "chapters": "chapters.vtt",
    "scenes": "scenes.vtt",
}
DRAFT_LEFT_OUT = ("hls", "poster")  # a draft is the MP4 and its tracks only
ON_PLAY_LEFT_OUT = ("video",)  # on play there is no MP4: the stream is rendered as it is watched


@dataclass(frozen=True)
class PreparedVideo:
    """The template, and the ids of its scenes that carry personal data (worked out once)."""

    template: Template
    personal_scenes: frozenset[str]


def _layers_jinja(
    key: str, snippet: str, loc: Loc, layers: list[Layer]
) -> Iterator[Expression | Snippet | tuple[str, Loc]]:
    """The line, `when` and Jinja attributes of each of `layers`: line keys ``<key>.layers.<j>``,
    snippet keys ``<snippet>.<j>.<attr>``."""
    for j, layer in enumerate(layers):
        yield f"{key}.layers.{j}", (*loc, "layers", j)
        if layer.when:
            yield Expression(f"{key}.layers.{j}.when", (*loc, "layers", j, "when"), layer.when)
        for attr in layer_kind(layer).jinja_fields:
            if (source := getattr(layer, attr)) is None:
                continue  # an optional Jinja attribute left out
            yield Snippet("_video", f"{snippet}.{j}.{attr}", (*loc, "layers", j, attr), source)


def _scene_jinja(section: VideoOutput) -> Iterator[Expression | Snippet | tuple[str, Loc]]:
    for i, scene in enumerate(section.scenes):
        loc: Loc = ("outputs", "video", "scenes", i)
        yield f"scene.{scene.id}", loc
        yield f"scene.{scene.id}.background", (*loc, "background")
        if scene.when:
            yield Expression(f"scene.{scene.id}.when", (*loc, "when"), scene.when)
        yield from _layers_jinja(f"scene.{scene.id}", scene.id, loc, scene.layers)
        for attr in ("text", "clip"):
            spoken = getattr(scene.narration, attr) if scene.narration else None
            if spoken is not None:
                yield Snippet("_video", f"{scene.id}.narration.{attr}", (*loc, "narration", attr), spoken)
        if scene.fallback is not None:
            key, fallback_loc = f"scene.{scene.id}.fallback", (*loc, "fallback")
            yield key, fallback_loc
            yield f"{key}.background", (*fallback_loc, "background")
            yield from _layers_jinja(key, f"{scene.id}.fallback", fallback_loc, scene.fallback.layers)


def _layer_assets(key: str, layers: list[Layer]) -> Iterator[tuple[str, str]]:
    for index, layer in enumerate(layers):
        for ref in layer_kind(layer).asset_refs(layer):
            yield f"{key}.layers.{index}", ref


def literal_assets(section: VideoOutput) -> Iterator[tuple[str, str]]:
    """(line key, asset reference) of every video asset written without Jinja, the scenes'
    fallbacks' included (``scene.<id>.fallback.background``, ``scene.<id>.fallback.layers.<n>``)."""
    if section.music:
        yield "outputs.video.music", section.music
    for scene in section.scenes:
        media = scene.background.image or scene.background.video
        if media:
            yield f"scene.{scene.id}.background", media
        yield from _layer_assets(f"scene.{scene.id}", scene.layers)
        if scene.fallback is None:
            continue
        if scene.fallback.background is not None:
            media = scene.fallback.background.image or scene.fallback.background.video
            if media:
                yield f"scene.{scene.id}.fallback.background", media
        yield from _layer_assets(f"scene.{scene.id}.fallback", scene.fallback.layers)


def video_options(options: RenderOptions) -> VideoOptions:
    """The `VideoOptions` the video output renders with for `options`: its TTS engine opened
    (RenderError for an unknown one), its timeout, preset, draft flag and encoder threads."""
    from renderer.outputs.video.plan import VideoOptions
    from renderer.outputs.video.tts import open_tts

    return VideoOptions(
        open_tts(options.tts_engine),
        options.video_timeout_s,
        options.video_preset,
        options.draft,
        options.encoder_threads,
    )


def renders_on_play(options: RenderOptions) -> bool:
    """Whether the video output renders on play for `options` (never for a draft)."""
    return options.video_on_play and not options.draft


class VideoKind(OutputKind[VideoOutput, PreparedVideo]):
    """The recipient's MP4, HLS stream, captions, poster and thumbnail."""

    name = "video"
    section = VideoOutput
    background = True
    chunk_rows = 1  # seconds each: one recipient per chunk spreads them over every worker
    link_names = tuple(VIDEO_LINKS)

    def links(self, template: Template, section: VideoOutput, options: RenderOptions) -> dict[str, str]:
        """The page links the MP4 (not on play), its HLS stream and poster (not in a draft), its
        captions, its scenes track and (when the template declares chapters) its chapters track."""
        links = dict(VIDEO_LINKS)
        if not template.manifest.interactions.chapters:
            del links["chapters"]
        for name in DRAFT_LEFT_OUT if options.draft else ():
            del links[name]
        for name in ON_PLAY_LEFT_OUT if renders_on_play(options) else ():
            del links[name]
        return links

    def is_private(self, file_name: str) -> bool:
        """The stream's plan (on play it holds the recipient's data) and its segments."""
        return is_private(file_name)

    def anchors(self, section: VideoOutput) -> list[str]:
        """The scene ids: chapters and calls to action name them."""
        return [scene.id for scene in section.scenes]

    def jinja(self, section: VideoOutput) -> JinjaSources:
        """Every scene's and layer's `when`, the layers' Jinja attributes, the narrations, the
        fallbacks' layers (``<scene>.fallback.<n>.<attr>``); and the line of the music, each scene,
        background and layer (``scene.<id>.layers.<n>``, ``scene.<id>.fallback.layers.<n>``)."""
        items = list(_scene_jinja(section))
        places: tuple[tuple[str, Loc], ...] = (("outputs.video.music", ("outputs", "video", "music")),)
        places += tuple(item for item in items if isinstance(item, tuple))
        return JinjaSources(tuple(item for item in items if not isinstance(item, tuple)), places)

    def check(self, template: Template, section: VideoOutput) -> None:
        """Every literal video asset exists inside the template or ``assets/``; AssetError naming
        ``template.yaml`` and the line of the music key, scene background or layer otherwise.
        Then every scene's fallback (`check_fallbacks`) and every layer's animations
        (`check_animations`) are checked: TemplateError with its line."""
        for key, ref in literal_assets(section):
            line = template.lines.get(key)
            check_asset(
                ref, template.root, template.assets_dir, file=template.manifest_path, line=line, key=key
            )
        check_fallbacks(template, section)
        check_animations(template, section)

    def prepare(self, template: Template, section: VideoOutput) -> PreparedVideo:
        """The personal-scene analysis of the template."""
        return PreparedVideo(template, personal_scenes(template.manifest))

    def render(self, prepared: PreparedVideo, spec: ResolvedSpec, ctx: RenderContext) -> Rendered:
        """The recipient's video files (the MP4 first) and its personal cache objects."""
        from renderer.outputs.video.render import render_video
        from renderer.outputs.video.scratch import scratch_space

        video = video_options(ctx.options)
        with scratch_space():  # a full TMPDIR: one clear error naming it
            result = render_video(
                prepared.template,
                spec,
                ctx.storage,
                video,
                prepared.personal_scenes,
                on_play=renders_on_play(ctx.options),
            )
        return Rendered(tuple(result.files), result.personal_cache)


VIDEO = VideoKind()
