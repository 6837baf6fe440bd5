"""Engagement metrics: pure functions from one campaign's stored events to an `EngagementReport`.

`measure_engagement` takes the pages delivered (D), the events (`EventRecord`, in any order)
and the template's `Layout` (scene order, call-to-action, form and chapter ids) and returns
every published metric (README, "Engagement metrics") overall and per variant (events grouped by
`EventRecord.variant`; None: no experiment). Every count is the size of a set of distinct
recipients or distinct views (a view is one page load: the pair recipient id, `view`), or a
maximum over a recipient's events, so the result never depends on the order events arrive in.
Each rate carries its numerator and denominator; a zero (or unknown) denominator gives a null
value, never a division error. Nothing here reads a store or a clock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from renderer.jobs.schema import EventRecord

QUARTILES = (25, 50, 75, 100)
View = tuple[str, str]  # (recipient id, view id): one page load


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Ratio(_Frozen):
    """numerator / denominator; `value` is None when the denominator is zero or unknown."""

    numerator: int
    denominator: int | None
    value: float | None


def ratio(numerator: int, denominator: int | None) -> Ratio:
    """The ratio, with a null value (never an error) for a zero or unknown denominator."""
    value = numerator / denominator if denominator else None
    return Ratio(numerator=numerator, denominator=denominator, value=value)


class Layout(_Frozen):
    """What of the template the metrics follow: scene ids in video order, declared ids."""

    scenes: tuple[str, ...] = ()
    ctas: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    chapters: tuple[str, ...] = ()


class SceneDropOff(_Frozen):
    """Players whose furthest event is in `scene` (share of players), and the players still
    watching at its start (furthest event in it or a later scene, share of players)."""

    scene: str
    stopped_in: Ratio
    still_watching: Ratio


class ChapterJumps(_Frozen):
    """chapter_jump events to one chapter and the recipients who made them."""

    chapter: str
    jumps: int
    recipients: int


class ChapterSummary(_Frozen):
    """Every chapter_jump event, the recipients who jumped, and the same per chapter."""

    jumps: int
    recipients: int
    chapters: list[ChapterJumps]


class CtaMetrics(_Frozen):
    """One call to action: views it was shown in / page views, views clicked among those, and
    views with a click where it was never shown (not part of the click rate)."""

    cta: str
    view_rate: Ratio
    click_rate: Ratio
    clicks_not_shown: int


class FormMetrics(_Frozen):
    """One form: submit rate by view, by recipient, and recipients who submitted without a view
    id (a post without JavaScript)."""

    form: str
    submit_rate: Ratio
    recipient_submit_rate: Ratio
    submits_without_view: int


class Funnel(_Frozen):
    """Recipients at each step: delivered, viewed, played, completed, clicked a CTA, submitted."""

    delivered: int | None
    viewed: int
    played: int
    completed: int
    cta_clicked: int
    form_submitted: int


class EngagementMetrics(_Frozen):
    """Every metric of one group of events (all of them, or one variant's)."""

    variant: str | None
    delivered: int | None
    page_views: int
    page_view_rate: Ratio
    video_play_rate: Ratio
    average_percentage_viewed: Ratio
    completion_rate: Ratio
    drop_off: list[SceneDropOff]
    players_unplaced: int
    chapter_jumps: ChapterSummary
    ctas: list[CtaMetrics]
    forms: list[FormMetrics]
    chat_open_rate: Ratio
    pdf_download_rate: Ratio
    funnel: Funnel


class EngagementReport(_Frozen):
    """A campaign's metrics: over every event, and per variant (None first, then by name)."""

    template: str
    campaign: str
    overall: EngagementMetrics
    variants: list[EngagementMetrics]


@dataclass
class _Tally:
    """Distinct recipients and views per event kind and (kind, target), built in one pass."""

    recipients: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    views: defaultdict[str, set[View]] = field(default_factory=lambda: defaultdict(set))
    target_recipients: defaultdict[tuple[str, str], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    target_views: defaultdict[tuple[str, str], set[View]] = field(default_factory=lambda: defaultdict(set))
    no_view: defaultdict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    events: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    quartile: dict[str, int] = field(default_factory=dict)
    furthest: dict[str, tuple[float, int]] = field(default_factory=dict)

    def add(self, event: EventRecord, scene_index: Mapping[str, int]) -> None:
        """Count one event (a stored event is unique, so each is counted once)."""
        kind, who, target = event.kind, event.recipient_id, event.target
        self.events[kind, target] += 1
        self.recipients[kind].add(who)
        if event.view is not None:
            self.views[kind].add((who, event.view))
        if target is not None:
            self.target_recipients[kind, target].add(who)
            if event.view is not None:
                self.target_views[kind, target].add((who, event.view))
            else:
                self.no_view[kind, target].add(who)
        if kind == "video_progress" and event.value in QUARTILES:
            self.quartile[who] = max(self.quartile.get(who, 0), int(event.value))
        scene = event.scene
        if event.position is not None and scene is not None and scene in scene_index:
            mark = (event.position, scene_index[scene])
            self.furthest[who] = max(self.furthest.get(who, mark), mark)

    def seen(self, *kinds: str) -> set[str]:
        """Every target an event of one of `kinds` named."""
        return {target for kind, target in self.events if kind in kinds and target is not None}


def _ids(declared: Sequence[str], seen: set[str]) -> list[str]:
    """Declared ids in template order, then ids only events named, sorted."""
    return [*declared, *sorted(seen - set(declared))]


def _drop_off(tally: _Tally, scenes: Sequence[str]) -> tuple[list[SceneDropOff], int]:
    """Per scene: players who stopped in it and players still watching at its start; and the
    players with no event placed in a known scene at a known position."""
    players = tally.recipients["video_play"]
    stops = Counter(tally.furthest[who][1] for who in players if who in tally.furthest)
    unplaced = len(players) - sum(stops.values())
    rows, remaining = [], sum(stops.values())
    for index, scene in enumerate(scenes):
        still = ratio(remaining, len(players))
        rows.append(
            SceneDropOff(scene=scene, stopped_in=ratio(stops[index], len(players)), still_watching=still)
        )
        remaining -= stops[index]
    return rows, unplaced


def _chapters(tally: _Tally, chapters: Sequence[str]) -> ChapterSummary:
    per = [
        ChapterJumps(
            chapter=chapter,
            jumps=tally.events["chapter_jump", chapter],
            recipients=len(tally.target_recipients["chapter_jump", chapter]),
        )
        for chapter in chapters
    ]
    total = sum(count for (kind, _), count in tally.events.items() if kind == "chapter_jump")
    return ChapterSummary(jumps=total, recipients=len(tally.recipients["chapter_jump"]), chapters=per)


def _cta(tally: _Tally, cta: str) -> CtaMetrics:
    shown, clicked = tally.target_views["cta_shown", cta], tally.target_views["cta_click", cta]
    return CtaMetrics(
        cta=cta,
        view_rate=ratio(len(shown), len(tally.views["page_view"])),
        click_rate=ratio(len(shown & clicked), len(shown)),
        clicks_not_shown=len(clicked - shown),
    )


def _form(tally: _Tally, form: str) -> FormMetrics:
    viewed, submitted = tally.target_views["form_view", form], tally.target_views["form_submit", form]
    return FormMetrics(
        form=form,
        submit_rate=ratio(len(viewed & submitted), len(viewed)),
        recipient_submit_rate=ratio(
            len(tally.target_recipients["form_submit", form]),
            len(tally.target_recipients["form_view", form]),
        ),
        submits_without_view=len(tally.no_view["form_submit", form]),
    )


def _viewed(tally: _Tally, players: set[str]) -> Ratio:
    """The average share of the video viewed, 0..1 like every rate: the percent points of each
    player's highest quartile reached (0 when none) over 100 per player."""
    return ratio(sum(tally.quartile.get(who, 0) for who in players), 100 * len(players))


def _metrics(tally: _Tally, variant: str | None, delivered: int | None, ids: Layout) -> EngagementMetrics:
    """Every metric of one group's tally; `ids` holds the scene order and the targets reported
    (the same in every group)."""
    viewers, players = tally.recipients["page_view"], tally.recipients["video_play"]
    completed = {who for who, quartile in tally.quartile.items() if quartile == 100}
    page_views = len(tally.views["page_view"])
    drop_off, unplaced = _drop_off(tally, ids.scenes)
    funnel = Funnel(
        delivered=delivered, viewed=len(viewers), played=len(players), completed=len(completed),
        cta_clicked=len(tally.recipients["cta_click"]), form_submitted=len(tally.recipients["form_submit"]),
    )  # fmt: skip
    return EngagementMetrics(
        variant=variant,
        delivered=delivered,
        page_views=page_views,
        page_view_rate=ratio(len(viewers), delivered),
        video_play_rate=ratio(len(players), len(viewers)),
        average_percentage_viewed=_viewed(tally, players),
        completion_rate=ratio(len(completed), len(players)),
        drop_off=drop_off,
        players_unplaced=unplaced,
        chapter_jumps=_chapters(tally, ids.chapters),
        ctas=[_cta(tally, cta) for cta in ids.ctas],
        forms=[_form(tally, form) for form in ids.forms],
        chat_open_rate=ratio(len(tally.views["chat_open"]), page_views),
        pdf_download_rate=ratio(len(tally.views["pdf_download"]), page_views),
        funnel=funnel,
    )


def measure_engagement(
    events: Iterable[EventRecord],
    layout: Layout,
    delivered: int,
    delivered_by_variant: Mapping[str | None, int] | None = None,
    *,
    template: str = "",
    campaign: str = "",
) -> EngagementReport:
    """Every metric over `events` (read once, in any order: the result is the same) overall,
    with `delivered` pages, and per variant, with that variant's pages from
    `delivered_by_variant` (unknown, so a null page view rate, for a variant it lacks). Targets
    are the layout's ids in template order, then ids only events name, sorted; drop-off follows
    the layout's scene order (events in other scenes place no one)."""
    scene_index = {scene: index for index, scene in enumerate(layout.scenes)}
    overall, groups = _Tally(), defaultdict[str | None, _Tally](_Tally)
    for event in events:
        overall.add(event, scene_index)
        groups[event.variant].add(event, scene_index)
    by_variant = dict(delivered_by_variant or {})
    ids = Layout(
        scenes=layout.scenes,
        ctas=tuple(_ids(layout.ctas, overall.seen("cta_shown", "cta_click"))),
        forms=tuple(_ids(layout.forms, overall.seen("form_view", "form_submit"))),
        chapters=tuple(_ids(layout.chapters, overall.seen("chapter_jump"))),
    )
    names = sorted(set(groups) | set(by_variant), key=lambda name: (name is not None, name or ""))
    return EngagementReport(
        template=template,
        campaign=campaign,
        overall=_metrics(overall, None, delivered, ids),
        variants=[_metrics(groups[name], name, by_variant.get(name), ids) for name in names],
    )
