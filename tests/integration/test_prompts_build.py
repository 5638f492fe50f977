"""Rendering the prompt catalog to audio with the real espeak-ng and sox: formats, incremental builds, errors."""

from __future__ import annotations

import array
import fcntl
import socket
import stat
import time
import wave
from pathlib import Path

import pytest

from prompts.build import AudioLibrary, PromptBuildError, build
from prompts.catalog import Catalog, read_catalog

PROMPTS = {
    "bill.amount_due": (
        "आपका बकाया बिल एक हज़ार सात सौ सत्ताईस रुपये है",
        "Your bill amount due is one thousand seven hundred and twenty seven rupees.",
    ),
    "menu.welcome": ("ऊर्जा मित्र में आपका स्वागत है", "Welcome to Urja Mitra."),
    "menu.goodbye": ("धन्यवाद", "Thank you."),
}
ALL_PAIRS = 2 * len(PROMPTS)


def write_catalog(directory: Path, prompts: dict[str, tuple[str, str]]) -> Catalog:
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for key, (hi, en) in prompts.items():
        lines += [f"[{key}]", f'hi = "{hi}"', f'en = "{en}"', ""]
    (directory / "prompts.toml").write_text("\n".join(lines), encoding="utf-8")
    return read_catalog(directory)


def audio_files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.suffix in (".wav", ".mp3"))


def mtimes(out: Path) -> dict[str, int]:
    return {name: (out / name).stat().st_mtime_ns for name in audio_files(out)}


def trailing_silence_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        samples = array.array("h", w.readframes(w.getnframes()))
    loud = [i for i, sample in enumerate(samples) if abs(sample) > 100]
    return (len(samples) - 1 - loud[-1]) / 8000


def mp3_sample_rate(data: bytes) -> int:
    """The sample rate in the first MPEG audio frame header (after an ID3v2 tag, if any)."""
    offset = 0
    if data[:3] == b"ID3":
        size = data[6:10]
        offset = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
    b1, b2 = data[offset + 1], data[offset + 2]
    assert data[offset] == 0xFF, "no MPEG frame sync"
    assert b1 & 0xE0 == 0xE0, "no MPEG frame sync"
    version = (b1 >> 3) & 0b11  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    base = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}[version]
    return base[(b2 >> 2) & 0b11]


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return write_catalog(tmp_path / "catalog", PROMPTS)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "audio"


def test_every_prompt_becomes_an_8khz_mono_16bit_wav_and_a_native_rate_mp3(catalog: Catalog, out: Path) -> None:
    seen: list[tuple[int, int]] = []

    report = build(catalog, out, progress=lambda done, total: seen.append((done, total)))

    assert (report.built, report.skipped, report.removed, dict(report.failures)) == (ALL_PAIRS, 0, 0, {})
    assert seen[0] == (0, ALL_PAIRS)
    assert seen[-1] == (ALL_PAIRS, ALL_PAIRS)
    assert audio_files(out) == sorted(
        f"{lang}/{key.replace('.', '/')}.{ext}" for lang in ("hi", "en") for key in PROMPTS for ext in ("wav", "mp3")
    )
    for wav_path in out.rglob("*.wav"):
        with wave.open(str(wav_path)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getcomptype()) == (8000, 1, 2, "NONE")
            seconds = w.getnframes() / w.getframerate()
        assert 0.3 < seconds < 15, f"{wav_path}: {seconds:.2f} s"
    with wave.open(str(out / "hi/bill/amount_due.wav")) as w:
        assert 2.0 < w.getnframes() / 8000 < 10  # the long Hindi sentence is really spoken, not a blip
    # Clips are played one after another (a number, a month): espeak-ng's ~0.4 s tail is cut to ~0.1 s.
    assert trailing_silence_seconds(out / "hi/menu/goodbye.wav") < 0.15
    for mp3_path in out.rglob("*.mp3"):
        data = mp3_path.read_bytes()
        assert len(data) > 1000
        assert data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
        assert mp3_sample_rate(data) == 22050  # espeak-ng's own rate, not the 8 kHz of the WAV


def test_a_pause_is_built_as_silence_of_its_length(tmp_path: Path, out: Path) -> None:
    directory = tmp_path / "catalog"
    directory.mkdir()
    (directory / "prompts.toml").write_text('[common.pause]\nhi = "…"\nen = "…"\npause_ms = 800\n', encoding="utf-8")

    report = build(read_catalog(directory), out)

    assert report.ok
    for lang in ("hi", "en"):
        with wave.open(str(out / f"{lang}/common/pause.wav")) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            samples = array.array("h", w.readframes(w.getnframes()))
        assert len(samples) == 6400  # 0.8 s at 8 kHz
        assert max(abs(sample) for sample in samples) == 0
        mp3 = (out / f"{lang}/common/pause.mp3").read_bytes()
        assert mp3_sample_rate(mp3) == 22050


def test_second_build_skips_everything_and_touches_no_file(catalog: Catalog, out: Path) -> None:
    build(catalog, out)
    before = mtimes(out)

    report = build(catalog, out)

    assert (report.built, report.skipped, report.removed) == (0, ALL_PAIRS, 0)
    assert mtimes(out) == before


def test_changing_one_text_rebuilds_only_that_prompt(catalog: Catalog, out: Path, tmp_path: Path) -> None:
    build(catalog, out)
    before = mtimes(out)
    changed = write_catalog(tmp_path / "catalog", {**PROMPTS, "menu.goodbye": ("फिर मिलेंगे", "Thank you.")})

    report = build(changed, out)

    assert (report.built, report.skipped) == (1, ALL_PAIRS - 1)
    after = mtimes(out)
    assert {name for name in after if after[name] != before[name]} == {"hi/menu/goodbye.wav", "hi/menu/goodbye.mp3"}


def test_force_rebuilds_everything(catalog: Catalog, out: Path) -> None:
    build(catalog, out)

    report = build(catalog, out, force=True)

    assert (report.built, report.skipped) == (ALL_PAIRS, 0)


def test_a_deleted_file_is_rebuilt_even_though_the_manifest_has_it(catalog: Catalog, out: Path) -> None:
    build(catalog, out)
    (out / "en/menu/welcome.mp3").unlink()

    report = build(catalog, out)

    assert report.built == 1
    assert (out / "en/menu/welcome.mp3").stat().st_size > 0


def test_a_key_that_left_the_catalog_has_its_files_removed(catalog: Catalog, out: Path, tmp_path: Path) -> None:
    build(catalog, out)
    smaller = write_catalog(tmp_path / "catalog", {k: v for k, v in PROMPTS.items() if k != "bill.amount_due"})

    report = build(smaller, out)

    assert (report.built, report.skipped, report.removed) == (0, ALL_PAIRS - 2, 2)
    assert not [name for name in audio_files(out) if "amount_due" in name]
    assert not (out / "hi/bill").exists()  # the emptied folder goes too
    assert "bill.amount_due" not in (out / "manifest.json").read_text(encoding="utf-8")


def test_keys_and_langs_limit_what_is_built(catalog: Catalog, out: Path) -> None:
    report = build(catalog, out, keys=["menu.welcome"], langs=["hi"])

    assert report.built == 1
    assert audio_files(out) == ["hi/menu/welcome.mp3", "hi/menu/welcome.wav"]


def test_an_unknown_key_is_refused_before_anything_is_built(catalog: Catalog, out: Path) -> None:
    with pytest.raises(PromptBuildError, match=r"menu\.nowhere"):
        build(catalog, out, keys=["menu.welcome", "menu.nowhere"])
    assert audio_files(out) == []


def test_audio_library_reports_exactly_what_is_missing(catalog: Catalog, out: Path) -> None:
    build(catalog, out, keys=["bill.amount_due", "menu.welcome"])
    (out / "en/menu/welcome.mp3").unlink()
    library = AudioLibrary(out)

    missing = library.missing([*PROMPTS, "menu.not_in_catalog"], catalog)

    assert missing == [
        "en:menu.welcome",
        "hi:menu.goodbye",
        "en:menu.goodbye",
        "hi:menu.not_in_catalog",
        "en:menu.not_in_catalog",
    ]
    assert library.missing(["menu.welcome"], catalog, exts=["wav"]) == []
    assert library.missing(["menu.welcome"], catalog, langs=["hi"]) == []
    assert library.has("hi", "bill/amount_due", "mp3")
    assert library.has("en", "menu/welcome", "wav")
    assert not library.has("en", "menu/welcome", "mp3")
    assert library.path("hi", "bill/amount_due", "wav") == out / "hi/bill/amount_due.wav"


def test_audio_library_sees_a_new_build_once_the_manifest_changes(catalog: Catalog, out: Path) -> None:
    now = [0.0]
    library = AudioLibrary(out, recheck_seconds=5, clock=lambda: now[0])
    assert not library.has("hi", "menu/welcome", "wav")

    build(catalog, out)

    assert not library.has("hi", "menu/welcome", "wav")  # listed at most every recheck_seconds
    now[0] = 6.0
    assert library.has("hi", "menu/welcome", "wav")


def test_leftovers_of_a_crashed_build_are_not_audio_and_are_cleaned_up(catalog: Catalog, out: Path) -> None:
    build(catalog, out)
    leftover = out / "hi/menu/.welcome.wav.1234-5678.tmp"
    leftover.write_bytes(b"RIFF half a file")
    empty = out / "hi/menu/half.wav"
    empty.write_bytes(b"")

    assert not AudioLibrary(out).has("hi", "menu/half", "wav")
    build(catalog, out)
    assert not leftover.exists()


def test_a_prompt_that_fails_to_render_is_reported_and_leaves_no_file(
    catalog: Catalog, out: Path, tmp_path: Path
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "sox").symlink_to("/usr/bin/sox")
    fake = tools / "espeak-ng"
    # An espeak-ng that writes half a WAV and fails on the Hindi welcome, and is the real one otherwise.
    fake.write_text(
        "#!/bin/sh\n"
        'text=$(cat); if [ "$text" = "ऊर्जा मित्र में आपका स्वागत है" ]; then\n'
        "  printf 'RIFF....WAVEfmt '; echo 'voice crashed' >&2; exit 3; fi\n"
        'printf %s "$text" | exec /usr/bin/espeak-ng "$@"\n',
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)

    report = build(catalog, out, tools_path=str(tools))

    assert report.built == ALL_PAIRS - 1
    assert set(report.failures) == {"hi:menu.welcome"}
    assert "voice crashed" in report.failures["hi:menu.welcome"]
    assert "hi/menu/welcome.wav" not in audio_files(out)
    assert not list(out.rglob("*.tmp"))
    assert build(catalog, out).built == 1  # the real espeak-ng: only the failed prompt is retried


def test_missing_espeak_ng_names_the_packages_to_install(catalog: Catalog, out: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()

    with pytest.raises(PromptBuildError, match="espeak-ng and sox not found") as error:
        build(catalog, out, tools_path=str(empty))

    assert "apt-get install -y espeak-ng sox libsox-fmt-mp3" in str(error.value)
    assert audio_files(out) == []


def test_gtts_needs_only_sox_and_says_so(catalog: Catalog, out: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()

    with pytest.raises(PromptBuildError, match=r"^sox not found .*libsox-fmt-mp3"):
        build(catalog, out, engine="gtts", tools_path=str(empty))


def test_gtts_without_internet_fails_fast_and_leaves_no_file(
    catalog: Catalog, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy on a closed local port makes Google unreachable even on a machine that has the internet.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, closed)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    started = time.monotonic()

    with pytest.raises(PromptBuildError, match="gTTS needs the internet; use --engine espeak offline"):
        build(catalog, out, engine="gtts")

    assert time.monotonic() - started < 10
    assert audio_files(out) == []
    assert not [p for p in out.rglob("*") if p.is_file() and p.suffix not in (".json", ".lock")]


def test_a_second_build_into_the_same_folder_is_refused_while_one_runs(catalog: Catalog, out: Path) -> None:
    out.mkdir()
    with (out / ".build.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(PromptBuildError, match="another prompt build is running"):
            build(catalog, out)
    assert build(catalog, out).built == ALL_PAIRS


def test_an_interrupted_build_keeps_what_it_finished_and_the_next_one_does_the_rest(
    catalog: Catalog, out: Path
) -> None:
    def interrupt_after_two(done: int, _total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(catalog, out, jobs=1, progress=interrupt_after_two)

    assert not list(out.rglob("*.tmp"))
    report = build(catalog, out)
    assert report.skipped >= 2
    assert report.built + report.skipped == ALL_PAIRS
