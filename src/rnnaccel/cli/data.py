"""``rnnaccel data``: make the synthetic TIMIT-layout corpus, import labelled WAVs, inspect a corpus."""

from __future__ import annotations

import time
from pathlib import Path

import click

from rnnaccel.cli.options import POSITIVE_INT, finite_float


@click.group()
def data() -> None:
    """Speech corpora (TIMIT layout)."""


def _names(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(n.strip() for n in text.split(",") if n.strip())


@data.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--utterances", "-n", type=POSITIVE_INT, default=2000, show_default=True,
              help="Number of sentences.")
@click.option("--seed", default=0, show_default=True)
@click.option("--voices", default=None, help="Comma-separated voices (default: all; see `data voices`).")
@click.option("--heldout", default=None, help="Comma-separated held-out (TEST) voices [rms,ked_diphone].")
@click.option("--clean", is_flag=True, help="No acoustic variation (no warp, reverb, band limit, noise).")
@click.option("--snr-db", type=finite_float(), default=None,
              help="White noise at this SNR (dB) on every utterance.")
@click.option("--test-fraction", type=finite_float(0.0, 1.0), default=0.2, show_default=True,
              help="Share of speakers on held-out voices.")
@click.option("--seen-test-fraction", type=finite_float(0.0, 1.0), default=0.1, show_default=True,
              help="Share of speakers in TEST on training voices (split test_seen).")
@click.option("--format", "audio_format", type=click.Choice(["sphere", "riff"]), default="sphere",
              show_default=True)
@click.option("--lowercase", is_flag=True, help="Lower-case directory and file names.")
@click.option("--jobs", "-j", type=POSITIVE_INT, default=2, show_default=True,
              help="Parallel synthesizer processes.")
@click.option("--overwrite", is_flag=True, help="Replace an existing corpus at OUT (as a whole).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def synth(out: str, utterances: int, seed: int, voices: str | None, heldout: str | None, clean: bool,
          snr_db: float | None, test_fraction: float, seen_test_fraction: float, audio_format: str,
          lowercase: bool, jobs: int, overwrite: bool, no_progress: bool) -> None:
    """Synthesize a TIMIT-layout corpus with flite and festival into OUT."""
    from rnnaccel.data.synth import HELDOUT_VOICES, Variation, synthesize_corpus
    from rnnaccel.data.voices import VOICES

    if jobs < 1:
        raise click.BadParameter(f"must be >= 1, got {jobs}", param_hint="--jobs")
    t0 = time.perf_counter()
    try:
        r = synthesize_corpus(out, utterances, seed=seed, snr_db=snr_db, test_fraction=test_fraction,
                              seen_test_fraction=seen_test_fraction, voices=_names(voices) or tuple(VOICES),
                              heldout=_names(heldout) or HELDOUT_VOICES,
                              variation=Variation.none() if clean else None, audio_format=audio_format,
                              lowercase=lowercase, jobs=jobs, overwrite=overwrite, progress=not no_progress)
    except (ValueError, RuntimeError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    dt = time.perf_counter() - t0
    for path in r.removed_partial:
        click.echo(f"removed the partial corpus of an interrupted run: {path}", err=True)
    click.echo(f"wrote {r.utterances} utterances ({r.seconds_of_audio / 3600:.2f} h) to {r.root} in "
               f"{dt:.1f} s ({r.utterances / dt:.1f} utt/s); speakers: {r.train_speakers} TRAIN, "
               f"{r.test_speakers} TEST: held-out voices {', '.join(r.heldout_voices)} "
               f"(dev {len(r.dev_speakers)}, core_test {len(r.core_test_speakers)}), "
               f"{len(r.test_seen_speakers)} test_seen on training voices")


@data.command()
def voices() -> None:
    """List the synthesizer voices, their engine and Debian package, and whether each is installed."""
    from rnnaccel.data.voices import BACKENDS, VOICES

    for v in VOICES.values():
        missing = BACKENDS[v.engine].missing(v)
        click.echo(f"{v.name:24s} {v.engine:9s} {v.person:4s} {v.sex} {v.package:20s} "
                   f"{'ok' if missing is None else 'MISSING: ' + missing}")


@data.command(name="import")
@click.argument("src", type=click.Path(file_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--test-speakers", required=True, help="Comma-separated speaker folders that go to TEST.")
@click.option("--skip-bad", is_flag=True, help="Leave bad files out (listed) instead of failing.")
@click.option("--overwrite", is_flag=True, help="Replace an existing corpus at OUT.")
def import_(src: str, out: str, test_speakers: str, skip_bad: bool, overwrite: bool) -> None:
    """Convert SRC/<speaker>/<utt>.wav + .lab (HTK) or .TextGrid (Praat) into the TIMIT layout at OUT."""
    from rnnaccel.data.importer import import_corpus

    try:
        r = import_corpus(src, out, list(_names(test_speakers) or ()), skip_bad=skip_bad, overwrite=overwrite)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    for reason in r.skipped:
        click.echo(f"  skipped: {reason}", err=True)
    click.echo(f"wrote {r.utterances} utterances to {r.root}: TRAIN {', '.join(r.train_speakers)}; "
               f"TEST {', '.join(r.test_speakers)}; skipped {len(r.skipped)}")


@data.command()
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--skip-bad", is_flag=True, help="Skip bad utterances and report how many.")
def check(root: str, skip_bad: bool) -> None:
    """Read every split of a TIMIT-layout corpus and report counts (errors name file and line)."""
    from rnnaccel.data.timit import corpus_splits, load_split

    _check_content(Path(root))
    for split in corpus_splits(root):
        try:
            s = load_split(root, split, skip_bad=skip_bad)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        speakers = len({u.speaker for u in s})
        click.echo(f"{split:10s} {len(s):5d} utterances {speakers:4d} speakers, skipped {len(s.skipped)}")
        for reason in s.skipped:
            click.echo(f"  skipped: {reason}", err=True)


def _check_content(root: Path) -> None:
    """A corpus whose manifest records a content hash (synthesized or imported here) must still match it."""
    import json

    from rnnaccel.data.synth import corpus_digest
    from rnnaccel.data.timit import MANIFEST_NAME

    try:
        recorded = json.loads((root / MANIFEST_NAME).read_text()).get("content_sha256")
    except (OSError, ValueError, AttributeError):
        return  # no (readable) manifest: a corpus not made here, read as it is
    if recorded is not None and corpus_digest(root) != recorded:
        raise click.ClickException(f"{root}: corpus files were modified or damaged (content hash differs "
                                   f"from {root / MANIFEST_NAME})")
