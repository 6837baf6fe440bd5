"""The words of the page's video player (buttons, the seek bar, the chapter list) in the
languages the sample templates speak; English for any other. A template overrides any of them
with a text key ``player_<name>`` (``player_play``), so a new language needs no code."""

from __future__ import annotations

from collections.abc import Callable, Mapping

PLAYER_TEXT: Mapping[str, Mapping[str, str]] = {
    "en": {
        "play": "Play",
        "pause": "Pause",
        "seek": "Seek",
        "mute": "Mute",
        "captions": "Captions",
        "fullscreen": "Full screen",
        "chapters": "Chapters",
        "of": "of",
        "resumed": "Continuing where you left off",
        "start_over": "Start over",
        "available": "Available now:",
        "unavailable": "The video cannot be played right now. Please try again later.",
    },
    "de": {
        "play": "Abspielen",
        "pause": "Pause",
        "seek": "Spulen",
        "mute": "Stumm",
        "captions": "Untertitel",
        "fullscreen": "Vollbild",
        "chapters": "Kapitel",
        "of": "von",
        "resumed": "Weiter an der Stelle, an der Sie aufgehört haben",
        "start_over": "Von vorn",
        "available": "Jetzt verfügbar:",
        "unavailable": "Das Video kann gerade nicht abgespielt werden. "
        "Bitte versuchen Sie es später noch einmal.",
    },
    "it": {
        "play": "Riproduci",
        "pause": "Pausa",
        "seek": "Posizione",
        "mute": "Muto",
        "captions": "Sottotitoli",
        "fullscreen": "Schermo intero",
        "chapters": "Capitoli",
        "of": "di",
        "resumed": "Riprendi da dove eri rimasto",
        "start_over": "Ricomincia",
        "available": "Disponibile ora:",
        "unavailable": "Il video non può essere riprodotto ora. Riprova più tardi.",
    },
    "tr": {
        "play": "Oynat",
        "pause": "Duraklat",
        "seek": "Konum",
        "mute": "Sessiz",
        "captions": "Altyazılar",
        "fullscreen": "Tam ekran",
        "chapters": "Bölümler",
        "of": "/",
        "resumed": "Kaldığınız yerden devam ediliyor",
        "start_over": "Baştan başla",
        "available": "Şimdi kullanılabilir:",
        "unavailable": "Video şu anda oynatılamıyor. Lütfen daha sonra tekrar deneyin.",
    },
    "id": {
        "play": "Putar",
        "pause": "Jeda",
        "seek": "Posisi",
        "mute": "Bisukan",
        "captions": "Teks",
        "fullscreen": "Layar penuh",
        "chapters": "Bab",
        "of": "dari",
        "resumed": "Melanjutkan dari terakhir Anda menonton",
        "start_over": "Mulai dari awal",
        "available": "Tersedia sekarang:",
        "unavailable": "Video tidak dapat diputar saat ini. Silakan coba lagi nanti.",
    },
    "fa": {
        "play": "پخش",
        "pause": "توقف",
        "seek": "جابه‌جایی",
        "mute": "بی‌صدا",
        "captions": "زیرنویس",
        "fullscreen": "تمام‌صفحه",
        "chapters": "فصل‌ها",
        "of": "از",
        "resumed": "ادامه از جایی که متوقف شدید",
        "start_over": "شروع دوباره",
        "available": "اکنون در دسترس:",
        "unavailable": "ویدیو اکنون پخش نمی‌شود. لطفاً بعداً دوباره امتحان کنید.",
    },
}


def player_text(language: str, template_text: Callable[[str], str | None]) -> dict[str, str]:
    """Every player word for `language`: the template's ``player_<name>`` text when it defines
    one (`template_text` returns None otherwise), else the built-in word (English fallback)."""
    words = {**PLAYER_TEXT["en"], **PLAYER_TEXT.get(language, {})}
    return {name: template_text(f"player_{name}") or word for name, word in words.items()}
