"""Render the prompt catalog to audio: 8 kHz WAV for Asterisk and MP3 for Twilio `<Play>`, incrementally.

Layout: `out_dir/<lang>/<stem>.wav` (8000 Hz, mono, 16-bit signed PCM: Asterisk's `wav` format, so
`STREAM FILE urjamitra/hi/bill/amount_due` finds it when `out_dir` is `sounds/urjamitra`) and
`out_dir/<lang>/<stem>.mp3`, encoded from the engine's own sample rate (an MP3 made from the 8 kHz WAV
would be 8 kHz MPEG-2.5). `out_dir/manifest.json` records a hash of (engine, voice, recipe, text) per
language and key, so a second build renders only what changed and removes the audio of keys that left
the catalog. Files are written to a temporary name and renamed, so a crash never leaves a half file
under a real name; the manifest is written last, so a prompt is only ever recorded once both its files
are in place. One build at a time per `out_dir` (a lock file says so).

Engines: espeak-ng (offline; `apt-get install espeak-ng sox libsox-fmt-mp3`) or gTTS (Google's voices,
needs the internet; its MP3 is kept as is and converted to the WAV with sox). A pause (a prompt with
`pause_ms`) is made by sox as that much silence, whatever the engine.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from prompts.catalog import LANGS, Lang, Prompt

Engine = Literal["espeak", "gtts"]
ENGINES: tuple[Engine, ...] = ("espeak", "gtts")
EXTS: tuple[str, ...] = ("wav", "mp3")
MANIFEST_NAME = "manifest.json"
APT_PACKAGES = "espeak-ng sox libsox-fmt-mp3"

# Part of every prompt's hash: changing a voice or the output recipe rebuilds what it affects.
ESPEAK_VOICES: Mapping[Lang, Mapping[str, Any]] = {
    "hi": {"voice": "hi", "speed": 140},
    # Debian's espeak-ng 1.51 has no en-in voice: `-v en-in` silently falls back to `en` (same samples).
    "en": {"voice": "en", "speed": 150},
}
GTTS_VOICES: Mapping[Lang, Mapping[str, Any]] = {
    "hi": {"lang": "hi", "tld": "co.in"},
    "en": {"lang": "en", "tld": "co.in"},
}
WAV_ARGS: tuple[str, ...] = ("-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer")
MP3_KBPS = 64
MP3_RATE = 22050  # espeak-ng's own rate: a pause's MP3 matches the speech around it
# espeak-ng ends each clip with ~0.4 s of silence: too much between the clips of a spoken number or date
# ("num.21", "month.3"). Cut the tail (the audio reversed, leading silence removed) and keep 0.1 s.
TRIM_EFFECTS: tuple[str, ...] = ("reverse", "silence", "1", "0.01", "0.1%", "reverse", "pad", "0", "0.1")
RECIPE = {"format": 1, "wav": list(WAV_ARGS), "mp3_kbps": MP3_KBPS, "trim": list(TRIM_EFFECTS)}
SUBPROCESS_TIMEOUT = 120.0
GTTS_TIMEOUT = (10.0, 60.0)  # connect, read

Progress = Callable[[int, int], object]


class PromptBuildError(RuntimeError):
    """The audio cannot be built here: a tool is missing, Google is unreachable, or another build runs."""


@dataclass(frozen=True)
class BuildReport:
    """What one build did. `built` and `skipped` count (language, prompt) pairs, each a WAV plus an MP3."""

    engine: Engine
    out_dir: Path
    built: int = 0
    skipped: int = 0
    removed: int = 0
    seconds: float = 0.0
    failures: Mapping[str, str] = field(default_factory=dict)  # "lang:key" > reason

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        per = f", {1000 * self.seconds / self.built:.0f} ms/prompt" if self.built else ""
        return (
            f"prompts ({self.engine}) in {self.out_dir}: {self.built} built, {self.skipped} unchanged, "
            f"{self.removed} removed, {len(self.failures)} failed; {self.seconds:.1f} s{per}"
        )


@dataclass(frozen=True)
class _Tools:
    sox: str
    espeak: str | None


@dataclass(frozen=True)
class _Job:
    lang: Lang
    prompt: Prompt
    digest: str

    @property
    def name(self) -> str:
        return f"{self.lang}:{self.prompt.key}"


class _Renderer(Protocol):
    def __call__(self, lang: Lang, text: str, wav: Path, mp3: Path) -> None: ...


class _SilenceRenderer(Protocol):
    def __call__(self, milliseconds: int, wav: Path, mp3: Path) -> None: ...


def build(
    catalog: Mapping[str, Prompt],
    out_dir: Path,
    *,
    engine: Engine = "espeak",
    langs: Iterable[Lang] = LANGS,
    keys: Iterable[str] | None = None,
    jobs: int = 2,
    force: bool = False,
    progress: Progress | None = None,
    tools_path: str | None = None,
) -> BuildReport:
    """Render every (language, prompt) whose audio is missing or out of date; remove audio of keys gone.

    `keys` limits the rendering to those keys (removal still covers every key that left the catalog).
    `progress(done, total)` is called as renders finish, total being the renders needed (not the skips).
    `tools_path` is a PATH-style search path for espeak-ng and sox (default: $PATH).
    A prompt that fails to render is reported in `failures` and the build goes on; a missing tool, an
    unreachable Google, or another build on `out_dir` raises `PromptBuildError` (what was built so far
    is kept and recorded).
    """
    started = time.perf_counter()
    if engine not in ENGINES:
        raise PromptBuildError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    langs = tuple(langs)
    unknown_langs = [lang for lang in langs if lang not in LANGS]
    if unknown_langs:
        raise PromptBuildError(f"unknown languages {unknown_langs}: the catalog has {', '.join(LANGS)}")
    # Membership through the key set: Catalog's lookup raises CatalogError, which `in` does not catch.
    known = set(catalog)
    selected = list(catalog) if keys is None else list(dict.fromkeys(keys))
    unknown_keys = [key for key in selected if key not in known]
    if unknown_keys:
        raise PromptBuildError(f"no such prompt keys in the catalog: {', '.join(unknown_keys)}")
    if jobs < 1:
        raise PromptBuildError("jobs must be at least 1")
    tools = _find_tools(engine, tools_path)
    render = _espeak_renderer(tools) if engine == "espeak" else _gtts_renderer(tools)
    silence = _silence_renderer(tools)
    voices = ESPEAK_VOICES if engine == "espeak" else GTTS_VOICES

    out_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(out_dir):
        _remove_temp_files(out_dir)
        entries = _load_manifest(out_dir)
        removed = _remove_gone(out_dir, entries, known)
        todo: list[_Job] = []
        skipped = 0
        for lang in langs:
            recorded = entries.get(lang, {})
            for key in selected:
                prompt = catalog[key]
                text = prompt.text(lang)
                if prompt.pause_ms is not None:
                    digest = _digest(engine, {"pause_ms": prompt.pause_ms}, text)
                else:
                    digest = _digest(engine, voices[voice_lang(text, lang)], text)
                built = all(_target(out_dir, lang, prompt.stem, ext).is_file() for ext in EXTS)
                if not force and built and recorded.get(key) == digest:
                    skipped += 1
                else:
                    todo.append(_Job(lang, prompt, digest))
        try:
            failures = _run(todo, out_dir, render, silence, entries, jobs, progress)
        finally:
            _save_manifest(out_dir, engine, entries)
    return BuildReport(
        engine=engine,
        out_dir=out_dir,
        built=len(todo) - len(failures),
        skipped=skipped,
        removed=removed,
        seconds=round(time.perf_counter() - started, 3),
        failures=failures,
    )


def _run(
    todo: Sequence[_Job],
    out_dir: Path,
    render: _Renderer,
    silence: _SilenceRenderer,
    entries: dict[str, dict[str, str]],
    jobs: int,
    progress: Progress | None,
) -> dict[str, str]:
    failures: dict[str, str] = {}
    if progress:
        progress(0, len(todo))
    if not todo:
        return failures
    fatal: PromptBuildError | None = None
    done = 0
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="prompt-build")
    owner = {pool.submit(_render_one, job, out_dir, render, silence): job for job in todo}
    pending: set[Future[None]] = set(owner)
    try:
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                job = owner[future]
                if future.cancelled():
                    continue
                error = future.exception()
                if error is None:
                    entries.setdefault(job.lang, {})[job.prompt.key] = job.digest
                elif isinstance(error, PromptBuildError):
                    fatal = fatal or error
                else:
                    failures[job.name] = _describe(error)
                done += 1
                if progress:
                    progress(done, len(todo))
            if fatal is not None:
                for future in pending:
                    future.cancel()  # the running ones finish and are recorded
    finally:
        # On Ctrl+C (or a raising progress callback) stop at once: queued renders never start.
        pool.shutdown(wait=True, cancel_futures=True)
    if fatal is not None:
        raise fatal
    return failures


def voice_lang(text: str, lang: Lang) -> Lang:
    """The voice that can read `text`: the script decides, not the catalog column. The Hindi menu's
    "For English, press 9." is English words and wants the English voice; the English menu's offer of
    Hindi is Devanagari and wants the Hindi voice."""
    devanagari = sum(1 for c in text if "\u0900" <= c <= "\u097f")
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    if devanagari > latin:
        return "hi"
    if latin > devanagari:
        return "en"
    return lang


def _render_one(job: _Job, out_dir: Path, render: _Renderer, silence: _SilenceRenderer) -> None:
    wav = _target(out_dir, job.lang, job.prompt.stem, "wav")
    mp3 = _target(out_dir, job.lang, job.prompt.stem, "mp3")
    wav.parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{threading.get_ident()}"
    wav_tmp, mp3_tmp = (p.with_name(f".{p.name}.{token}.tmp") for p in (wav, mp3))
    try:
        text = job.prompt.text(job.lang)
        if job.prompt.pause_ms is not None:
            silence(job.prompt.pause_ms, wav_tmp, mp3_tmp)
        else:
            render(voice_lang(text, job.lang), text, wav_tmp, mp3_tmp)
        for tmp in (wav_tmp, mp3_tmp):
            if not tmp.is_file() or tmp.stat().st_size == 0:
                raise RuntimeError(f"the engine wrote no audio to {tmp.name}")
            _fsync(tmp)
        os.replace(mp3_tmp, mp3)
        os.replace(wav_tmp, wav)
    finally:
        wav_tmp.unlink(missing_ok=True)
        mp3_tmp.unlink(missing_ok=True)


# -- engines -----------------------------------------------------------------------------------------


def _find_tools(engine: Engine, tools_path: str | None) -> _Tools:
    needed = ("espeak-ng", "sox") if engine == "espeak" else ("sox",)
    found = {name: shutil.which(name, path=tools_path) for name in needed}
    missing = [name for name, where in found.items() if not where]
    if missing:
        raise PromptBuildError(
            f"{' and '.join(missing)} not found on the PATH: install them with "
            f"`apt-get install -y {APT_PACKAGES}` (Debian/Ubuntu packages espeak-ng, sox, libsox-fmt-mp3)"
        )
    sox = str(found["sox"])
    if "mp3" not in _sox_formats(sox):
        raise PromptBuildError(
            f"sox ({sox}) cannot read or write MP3: install libsox-fmt-mp3 (`apt-get install -y {APT_PACKAGES}`)"
        )
    return _Tools(sox=sox, espeak=found.get("espeak-ng"))


def _sox_formats(sox: str) -> set[str]:
    result = _call([sox, "-h"], check=False)
    for line in result.stdout.decode(errors="replace").splitlines():
        if line.startswith("AUDIO FILE FORMATS:"):
            return set(line.split(":", 1)[1].split())
    return set()


def _espeak_renderer(tools: _Tools) -> _Renderer:
    assert tools.espeak is not None
    espeak, sox = tools.espeak, tools.sox

    def render(lang: Lang, text: str, wav: Path, mp3: Path) -> None:
        voice = ESPEAK_VOICES[lang]
        # Text on stdin (-b 1: UTF-8), never argv: a prompt may start with "-".
        native = _call([espeak, "-v", voice["voice"], "-s", str(voice["speed"]), "-b", "1", "--stdout"], text.encode())
        if len(native.stdout) <= 44:
            raise RuntimeError(f"espeak-ng produced no audio for voice {voice['voice']!r}")
        _call([sox, "-t", "wav", "-", *WAV_ARGS, "-t", "wav", str(wav), *TRIM_EFFECTS], native.stdout)
        _call([sox, "-t", "wav", "-", "-C", str(MP3_KBPS), "-t", "mp3", str(mp3), *TRIM_EFFECTS], native.stdout)

    return render


def _silence_renderer(tools: _Tools) -> _SilenceRenderer:
    sox = tools.sox

    def render(milliseconds: int, wav: Path, mp3: Path) -> None:
        length = f"{milliseconds / 1000:.3f}"
        # -D: no dither, so the silence is all zero samples.
        _call([sox, "-D", "-n", *WAV_ARGS, "-t", "wav", str(wav), "trim", "0", length])
        mp3_args = ["-r", str(MP3_RATE), "-c", "1", "-C", str(MP3_KBPS)]
        _call([sox, "-D", "-n", *mp3_args, "-t", "mp3", str(mp3), "trim", "0", length])

    return render


def _gtts_renderer(tools: _Tools) -> _Renderer:
    try:
        from gtts import gTTS, gTTSError
    except ImportError as exc:  # pragma: no cover - gTTS is a dependency of the project
        raise PromptBuildError("gTTS is not installed: pip install gTTS (or use --engine espeak)") from exc
    sox = tools.sox

    def render(lang: Lang, text: str, wav: Path, mp3: Path) -> None:
        voice = GTTS_VOICES[lang]
        buffer = io.BytesIO()
        try:
            # Into memory first: gTTS.save() leaves a 0-byte file behind when the request fails.
            gTTS(text, lang=voice["lang"], tld=voice["tld"], timeout=GTTS_TIMEOUT).write_to_fp(buffer)
        except gTTSError as exc:
            if exc.rsp is None:
                raise PromptBuildError(f"gTTS needs the internet; use --engine espeak offline ({exc})") from exc
            if exc.rsp.status_code == 429:
                raise PromptBuildError(
                    "Google is rate-limiting gTTS (HTTP 429): run the build again later (what was built is kept)"
                ) from exc
            raise
        if not buffer.getvalue():
            raise RuntimeError("gTTS returned no audio")
        mp3.write_bytes(buffer.getvalue())  # kept as Google made it: re-encoding would only lose quality
        _call([sox, "-t", "mp3", str(mp3), *WAV_ARGS, "-t", "wav", str(wav), *TRIM_EFFECTS])

    return render


def _call(argv: list[str], stdin: bytes | None = None, *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(argv, input=stdin, capture_output=True, timeout=SUBPROCESS_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise PromptBuildError(f"{argv[0]} vanished: install {APT_PACKAGES}") from exc
    if check and result.returncode != 0:
        stderr = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"{Path(argv[0]).name} exited {result.returncode}: {stderr[-300:] or 'no message'}")
    return result


def _describe(error: BaseException) -> str:
    if isinstance(error, subprocess.TimeoutExpired):
        return f"{Path(str(error.cmd[0])).name} took longer than {error.timeout:.0f} s"
    return str(error) or type(error).__name__


# -- files and manifest --------------------------------------------------------------------------------


def _target(out_dir: Path, lang: str, stem: str, ext: str) -> Path:
    return out_dir / lang / f"{stem}.{ext}"


def _digest(engine: Engine, voice: Mapping[str, Any], text: str) -> str:
    material = json.dumps([engine, dict(voice), RECIPE, text], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


def _load_manifest(out_dir: Path) -> dict[str, dict[str, str]]:
    """Hashes by language and key; an unreadable manifest means nothing is known to be built."""
    try:
        data = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        prompts = data["prompts"]
        return {str(lang): {str(k): str(v) for k, v in keys.items()} for lang, keys in prompts.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _save_manifest(out_dir: Path, engine: Engine, entries: Mapping[str, Mapping[str, str]]) -> None:
    data = {
        "engine": engine,
        "recipe": RECIPE,
        "prompts": {lang: dict(sorted(keys.items())) for lang, keys in sorted(entries.items())},
    }
    path = out_dir / MANIFEST_NAME
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _remove_gone(out_dir: Path, entries: dict[str, dict[str, str]], known: set[str]) -> int:
    removed = 0
    for lang, keys in entries.items():
        for key in [k for k in keys if k not in known]:
            stem = key.replace(".", "/")
            for ext in EXTS:
                path = _target(out_dir, lang, stem, ext)
                path.unlink(missing_ok=True)
                _prune_empty_dirs(path.parent, out_dir / lang)
            del keys[key]
            removed += 1
    return removed


def _prune_empty_dirs(directory: Path, stop: Path) -> None:
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:  # not empty (or already gone): stop climbing
            return
        directory = directory.parent


def _remove_temp_files(out_dir: Path) -> None:
    """Temporary files of a build that crashed (the lock says no other build is running)."""
    for path in out_dir.rglob(".*.tmp"):
        with contextlib.suppress(OSError):
            path.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    with (out_dir / ".build.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PromptBuildError(f"another prompt build is running into {out_dir}") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- reading the built audio ---------------------------------------------------------------------------


class AudioLibrary:
    """The built audio under `out_dir`, listed once and re-listed when the manifest changes.

    `has()` is cheap enough to call per request: a set lookup, plus one stat of the manifest at most
    every `recheck_seconds`. Call `refresh()` after copying files in by hand.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        recheck_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.recheck_seconds = recheck_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._index: frozenset[tuple[str, str, str]] | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked_at = 0.0

    def has(self, lang: str, stem: str, ext: str) -> bool:
        return (lang, stem, ext.lstrip(".")) in self._current()

    def path(self, lang: str, stem: str, ext: str) -> Path:
        return _target(self.out_dir, lang, stem, ext.lstrip("."))

    def missing(
        self,
        keys: Iterable[str],
        catalog: Mapping[str, Prompt],
        langs: Iterable[str] = LANGS,
        exts: Iterable[str] = EXTS,
    ) -> list[str]:
        """`lang:key` for every key lacking any of `exts` in a language (a key not in the catalog too)."""
        langs, exts = tuple(langs), tuple(exts)
        known = set(catalog)  # Catalog's lookup raises CatalogError, not KeyError, so no .get()
        out: list[str] = []
        for key in dict.fromkeys(keys):
            prompt = catalog[key] if key in known else None
            stem = prompt.stem if prompt is not None else key.replace(".", "/")
            for lang in langs:
                if prompt is None or not all(self.has(lang, stem, ext) for ext in exts):
                    out.append(f"{lang}:{key}")
        return out

    def refresh(self) -> None:
        with self._lock:
            self._index = None

    def _current(self) -> frozenset[tuple[str, str, str]]:
        index = self._index
        now = self._clock()
        if index is not None and now - self._checked_at < self.recheck_seconds:
            return index
        with self._lock:
            stamp = self._manifest_stamp()
            if self._index is None or stamp != self._stamp:
                self._index, self._stamp = self._scan(), stamp
            self._checked_at = now
            return self._index

    def _manifest_stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.out_dir / MANIFEST_NAME).stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _scan(self) -> frozenset[tuple[str, str, str]]:
        found: set[tuple[str, str, str]] = set()
        if not self.out_dir.is_dir():
            return frozenset()
        for lang_dir in self.out_dir.iterdir():
            if not lang_dir.is_dir() or lang_dir.name.startswith("."):
                continue
            for root, dirs, files in os.walk(lang_dir):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in files:
                    stem, dot, ext = name.rpartition(".")
                    if not dot or name.startswith(".") or os.path.getsize(os.path.join(root, name)) == 0:
                        continue  # temporary and empty files are not audio
                    relative = Path(root, stem).relative_to(lang_dir).as_posix()
                    found.add((lang_dir.name, relative, ext))
        return frozenset(found)
