"""``rnnaccel data``: make the synthetic TIMIT-layout corpus, inspect a corpus."""

from __future__ import annotations

import time

import click


@click.group()
def data() -> None:
    """Speech corpora (TIMIT layout)."""


@data.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--utterances", "-n", default=2000, show_default=True, help="Number of sentences.")
@click.option("--seed", default=0, show_default=True)
@click.option("--snr-db", type=float, default=None, help="Add white noise at this SNR (dB).")
@click.option("--test-fraction", default=0.2, show_default=True, help="Share of speakers in TEST.")
@click.option("--format", "audio_format", type=click.Choice(["sphere", "riff"]), default="sphere",
              show_default=True)
@click.option("--lowercase", is_flag=True, help="Lower-case directory and file names.")
@click.option("--jobs", "-j", default=2, show_default=True, help="Parallel flite processes.")
@click.option("--overwrite", is_flag=True, help="Allow a non-empty OUT directory.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def synth(out: str, utterances: int, seed: int, snr_db: float | None, test_fraction: float,
          audio_format: str, lowercase: bool, jobs: int, overwrite: bool, no_progress: bool) -> None:
    """Synthesize a TIMIT-layout corpus with flite into OUT."""
    from rnnaccel.data.synth import synthesize_corpus

    t0 = time.perf_counter()
    try:
        r = synthesize_corpus(out, utterances, seed=seed, snr_db=snr_db, test_fraction=test_fraction,
                              audio_format=audio_format, lowercase=lowercase, jobs=jobs, overwrite=overwrite,
                              progress=not no_progress)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    dt = time.perf_counter() - t0
    click.echo(f"wrote {r.utterances} utterances ({r.seconds_of_audio / 3600:.2f} h) to {r.root} in "
               f"{dt:.1f} s ({r.utterances / dt:.1f} utt/s); speakers: {r.train_speakers} TRAIN, "
               f"{r.test_speakers} TEST (dev {len(r.dev_speakers)}, core_test {len(r.core_test_speakers)})")


@data.command()
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--skip-bad", is_flag=True, help="Skip bad utterances and report how many.")
def check(root: str, skip_bad: bool) -> None:
    """Read every split of a TIMIT-layout corpus and report counts (errors name file and line)."""
    from rnnaccel.data.timit import SPLITS, load_split

    for split in SPLITS:
        try:
            s = load_split(root, split, skip_bad=skip_bad)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        speakers = len({u.speaker for u in s})
        click.echo(f"{split:10s} {len(s):5d} utterances {speakers:4d} speakers, skipped {len(s.skipped)}")
        for reason in s.skipped:
            click.echo(f"  skipped: {reason}", err=True)
