"""``DELETE /recipients/{recipient_id}``: erase everything stored for one recipient.

The job store forgets the recipient's campaign rows, render jobs and page links (so every link
stops working at once) and names the storage keys they referenced; each key's recipient folder
(``{template}/{campaign}/{recipient}/``) is then emptied in storage, companions such as posters
and captions included, as is the recipient's API-render folder of every template. Keys outside a
recipient folder are deleted one by one: these are the shared video cache objects that hold the
recipient's personal content, recorded by the render as ``cache:`` entries, i.e. the encoded
segments (``cache/segments/<sha256>.mp4``) and narrations (``cache/narration/<sha256>.wav``) of
every scene that reads the recipient id or a personal field. Segments of scenes that read no
personal field (intro, outro, a plan's tips) are never deleted; a personal segment another
recipient shares (the same first name) is, and is encoded again on that recipient's next render.
Only the calling key's campaigns and renders are touched. Erasing is idempotent: an unknown id
answers ``200`` with zero counts.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from renderer.api.deps import ApiKey, State, require_api_key
from renderer.api.links import recipient_folder
from renderer.api.models import ErasureOut, ErrorOut
from renderer.errors import StorageError
from renderer.jobs.render_jobs import api_campaign
from renderer.jobs.store import JobStore
from renderer.storage.base import Storage

router = APIRouter(
    prefix="/recipients",
    tags=["recipients"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut}},
)


def folder_of(key: str) -> str | None:
    """The recipient folder of an output key (``t/c/r/file`` -> ``t/c/r/``); None for other keys."""
    parts = key.split("/")
    return "/".join(parts[:3]) + "/" if len(parts) >= 4 else None


def erase(
    store: JobStore, storage: Storage, templates: list[str], recipient_id: str, api_key_id: str
) -> ErasureOut:
    """Forget the recipient in the caller's campaigns and renders, then delete those folders and
    the personal cache objects their renders recorded."""
    own = api_campaign(api_key_id)
    keys = store.erasure.erase_recipient(recipient_id, api_key_id=api_key_id, api_campaign=own)
    folders = {folder for folder in map(folder_of, keys) if folder}
    with contextlib.suppress(StorageError):  # an id that cannot be a key segment has nothing stored
        folders.update(recipient_folder(name, own, recipient_id) for name in templates)
    deleted = sum(storage.delete_prefix(folder) for folder in sorted(folders))
    for key in keys:
        if folder_of(key) is None:
            storage.delete(key)
            deleted += 1
    return ErasureOut(
        recipient_id=recipient_id, stored_keys=len(keys), folders=len(folders), objects_deleted=deleted
    )


@router.delete("/{recipient_id:path}", response_model=ErasureOut)
def erase_recipient(
    recipient_id: Annotated[str, Path(min_length=1, max_length=200)], state: State, key: ApiKey
) -> ErasureOut:
    """Erase the recipient's rows, render jobs, page links, stored outputs and the cached video
    segments and narrations holding their personal content, in the campaigns and renders of the
    calling API key (another key's data about the same id is theirs to erase)."""
    return erase(state.store(), state.storage(), state.template_names(), recipient_id, key.id)
