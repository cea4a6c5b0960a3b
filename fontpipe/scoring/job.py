"""The score job: the one orchestrator that the CLI and the Prefect flow both run.

`prepare_job` locks the output (one job per output at a time), checks everything that can be
checked before work starts and plans (or recovers) the parts; `run_job` scores the parts not yet finished (here, or through a caller's part runner
such as Prefect tasks on Dask) while a second thread appends finished parts to the output, then
assembles. Clean-up on error is the same on every path: bad input removes the parts (rerunning
would fail the same way), any other failure keeps finished parts for the next run to reuse.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fontpipe import storage
from fontpipe.atomic import atomic_file, is_disk_full
from fontpipe.color.css import parse_backdrop
from fontpipe.errors import FontpipeError
from fontpipe.palettes.formats import read_sample
from fontpipe.palettes.parse import detect_color_spec
from fontpipe.registry.elsewhere import version_bundle
from fontpipe.registry.versions import open_version
from fontpipe.scoring import remote
from fontpipe.scoring.assemble import OutputAssembler, write_rejects_file
from fontpipe.scoring.audit import check_report_target, write_audit_page
from fontpipe.scoring.columns import job_scorer
from fontpipe.scoring.design import write_design_output
from fontpipe.scoring.files import (
    InputFile,
    OutputLock,
    check_output,
    common_columns,
    expand_inputs,
    names_a_directory,
    output_format,
    running_job,
)
from fontpipe.scoring.part import PartResult, part_finished, run_part
from fontpipe.scoring.plan import (
    PARTS_FORMAT,
    Part,
    ScoreConfig,
    ScoreJob,
    parts_dir_for,
    plan_parts,
)
from fontpipe.scoring.view import read_view_files

# Scores the given parts and yields their results in the same order.
PartRunner = Callable[[ScoreJob, Sequence[Part]], Iterator[PartResult]]


@dataclass
class ScoreSummary:
    output: str
    rejects: str | None
    read: int
    scored: int
    rejected: int
    black_share: float
    aa_share: float
    seconds: float
    parts: int
    parts_reused: int
    model_version: str
    other_passes_aa: int = 0  # rows whose chosen text fails AA though the other colour passes
    gamut_mapped: int = 0  # CSS colours outside sRGB that were mapped into it
    translucent: int = 0  # CSS colours with alpha, composited over the backdrop
    backdrop: str = "#ffffff"
    skipped: int = 0  # stylesheet or token entries that are not colours (custom properties)
    # Rows whose text differs from the browser's contrast-color() (the WCAG choice): under the
    # readable rule, exactly the rows where both pass AA and white reads stronger by APCA.
    differs_from_wcag: int = 0
    no_lc_60: int = 0  # rows where neither black nor white text reaches APCA |Lc| 60
    rule: str = ""  # the rule (or human:<family>) of the model that answered
    report: str | None = None  # the audit page, when one was asked for

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0


def job_fingerprint(files: list[InputFile], out: str, version: str, config: ScoreConfig) -> str:
    stats = [storage.file_identity(f) for f in files]
    blob = json.dumps([stats, out, version, config.model_dump(mode="json"), PARTS_FORMAT])
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def prepare_job(
    inputs: list[str],
    out: Path | str,
    version_path: Path,
    config: ScoreConfig,
    *,
    held: contextlib.ExitStack | None = None,
) -> ScoreJob:
    """Check everything that can be checked before work starts, and plan (or recover) the parts.

    `out` is a local path or the URL of an output on a store (fontpipe.scoring.remote). The
    output's staging directory is locked before anything in it is touched, so a second job on
    the same output stops here, naming the first. The lock goes on `held`, to last as long as the
    caller's job; without one it is released on return. Nothing is left behind when a check
    fails: a directory created for the output is removed, and the lock with its files.
    """
    files = expand_inputs(inputs)
    backdrop = parse_backdrop(config.backdrop)
    out_url: str | None = None
    local_out = storage.local_path(out)
    if config.report is not None:
        if local_out is None and config.partitioned:
            raise FontpipeError(
                f"{out}: --report needs the rows here, and a partitioned output on a store is "
                "scored where its parts run; write the output locally, or drop --report"
            )
        check_report_target(Path(config.report), local_out, files)
    if local_out is None:
        out_url = str(out)
        _check_remote_output(files, out_url, config.partitioned)
        local_out = remote.work_dir_for(out_url) / (storage.name_of(out_url).name or "output")
        _refuse_symlink(local_out.parent, "working directory")
    created_dir = check_output(files, local_out, config.partitioned)
    lock = OutputLock(parts_dir_for(local_out))
    try:
        lock.acquire(out, {**running_job(), "inputs": [str(f) for f in files]})
        try:
            _refuse_symlink(parts_dir_for(local_out), "staging directory")
            job = _plan_job(files, local_out, out_url, version_path, config, backdrop)
        except BaseException:
            lock.release()
            raise
    except FontpipeError:
        if created_dir is not None:
            shutil.rmtree(created_dir, ignore_errors=True)
        raise
    if held is None:
        lock.release()
    else:
        held.callback(lock.release)
    return dataclasses.replace(job, created_dir=created_dir)


def _refuse_symlink(path: Path, what: str) -> None:
    """A job writes and removes files in its staging and working directories: never through a
    link that could point anywhere."""
    if path.is_symlink():
        raise FontpipeError(
            f"{path}: the output's {what} is a symbolic link, which a score job does not "
            "write through; remove it, or choose another --out"
        )


def _plan_job(
    files: list[InputFile],
    local_out: Path,
    out_url: str | None,
    version_path: Path,
    config: ScoreConfig,
    backdrop: tuple[int, int, int],
) -> ScoreJob:
    """The plan, under the output's lock; for a partitioned output on a store, the prefix claimed
    for it; the staging directory taken over (another job's leftovers removed) or resumed."""
    out_format = output_format(local_out, config.partitioned)
    model = version_bundle(open_version(version_path))
    version = model.name
    names = common_columns(files, out_format, config.delimiter)
    try:
        spec = detect_color_spec(
            names,
            config.color_column,
            config.rgb_columns,
            sample=lambda: read_sample(files[0], names, config.delimiter),
        )
    except FontpipeError as exc:
        raise FontpipeError(f"{files[0]}: {exc}") from None
    parts = plan_parts(files, config)
    fingerprint = job_fingerprint(files, out_url or str(local_out.resolve()), version, config)
    identity = {
        "format": PARTS_FORMAT,
        "fingerprint": fingerprint,
        "parts": len(parts),
        "inputs": [str(f) for f in files],
        "model": version,
        "options": config.model_dump(mode="json"),
        **running_job(),
    }
    if out_url is not None and config.partitioned:
        remote.claim_prefix(out_url, identity)
    job = ScoreJob(
        files,
        local_out,
        version_path,
        version,
        names,
        spec,
        parts,
        parts_dir_for(local_out),
        out_format,
        config,
        None,
        backdrop,
        out_url,
        fingerprint,
        model,
    )
    _remove_stale_staging(local_out)
    if job.parts_dir.exists():
        try:
            previous = json.loads(job.job_file.read_text())["fingerprint"]
        except (OSError, ValueError, KeyError, TypeError):
            previous = None
        if previous != fingerprint:
            # Another job's leftovers (inputs, model or options differ): it is not running, or
            # it would hold the lock.
            shutil.rmtree(job.parts_dir)
    job.parts_dir.mkdir(parents=True, exist_ok=True)
    if not job.job_file.exists():
        with atomic_file(job.job_file) as staging:
            staging.write_text(json.dumps(identity))
    return job


def _check_remote_output(files: list[InputFile], out_url: str, partitioned: bool) -> None:
    output_format(out_url, partitioned)
    storage.check_container(out_url)
    prefix = storage.join(out_url, "")
    for file in files:
        if isinstance(file, str) and (file == out_url or (partitioned and file.startswith(prefix))):
            raise FontpipeError(f"{out_url}: the output is also an input; choose another --out")


def _remove_stale_staging(out: Path) -> None:
    """Staging files a killed run of this job left beside the output or among its parts; the
    parts themselves (and their markers) are kept for resuming."""
    stale = list(out.parent.glob(f".{out.name}.tmp-*"))
    stale += list(parts_dir_for(out).glob(".*.tmp-*"))
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def finished_parts(job: ScoreJob) -> set[int]:
    if job.publish_url is not None:
        return remote.committed_parts(job.publish_url) & {p.index for p in job.parts}
    return {p.index for p in job.parts if part_finished(job, p)}


def run_parts_here(
    job: ScoreJob,
    parts: Sequence[Part],
    progress: Callable[[int], None] | None = None,
) -> Iterator[PartResult]:
    """The local part runner: parts on a thread per core, yielded in part order.

    Threads, not processes: reading, parsing, the cube-table gather and formatting are Arrow and
    numpy work that releases the GIL, and the scorer (its verified model and mapped table) is
    shared. Results come back in part order, so a bad-input error is the earliest part's, as in
    a sequential run.
    """
    if not parts:
        return
    # Verify the model and map its cube table here, once, before the threads would each do it.
    job_scorer(job.version_path, job.model)
    workers = min(len(parts), os.cpu_count() or 1)
    if workers == 1:
        for part in parts:
            yield run_part(job, part, progress)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fontpipe-part")
    try:
        futures = [pool.submit(run_part, job, part, progress) for part in parts]
        for future in futures:
            yield future.result()
    finally:
        # On an error, parts not started are dropped; running ones finish (each commits
        # atomically, so a rerun reuses them).
        pool.shutdown(wait=True, cancel_futures=True)


def run_job(
    job: ScoreJob,
    *,
    run_parts: PartRunner | None = None,
    progress: Callable[[int], None] | None = None,
    started: float | None = None,
) -> ScoreSummary:
    """Score every part not yet finished, then assemble. `progress` (local runs) is called with
    the rows of each chunk scored."""
    # The clock starts where the caller started the job (planning included), if it says.
    started = time.perf_counter() if started is None else started
    reused = len(finished_parts(job))
    runner = run_parts or (lambda j, parts: run_parts_here(j, parts, progress))
    assembler = OutputAssembler(job)
    results: list[PartResult] = []
    finished: set[int] = set()
    try:
        # Appending overlaps with scoring the next part, instead of following it.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fontpipe-assemble") as pool:
            appending = None
            for result in runner(job, job.parts):
                results.append(result)
                finished.add(result.index)
                if appending is not None:
                    appending.result()
                appending = pool.submit(assembler.append_ready, set(finished))
            if appending is not None:
                appending.result()
            return _assemble(job, results, time.perf_counter() - started, reused, assembler)
    except FontpipeError:
        assembler.abandon()
        shutil.rmtree(job.parts_dir, ignore_errors=True)  # bad data: a rerun would fail the same
        if job.created_dir is not None:
            shutil.rmtree(job.created_dir, ignore_errors=True)
        if job.publish_url is not None:
            remote.abandon(job.publish_url, job.fingerprint)
        if job.out_url is not None:
            remote.remove_work_dir(job.out_url)
        raise
    except BaseException as exc:
        assembler.abandon()  # finished parts stay for the next run to reuse
        if is_disk_full(exc):
            raise FontpipeError(
                f"no space left on device while writing {job.out}; the output was not written "
                "(parts already scored are kept, and a rerun after freeing space reuses them)"
            ) from None
        raise


def _assemble(
    job: ScoreJob,
    results: list[PartResult],
    seconds: float,
    reused: int,
    assembler: OutputAssembler,
) -> ScoreSummary:
    """Finish the output (appending any parts not yet appended), write the rejects file, clean up."""
    results = sorted(results, key=lambda r: r.index)
    rejected = sum(r.rejected for r in results)
    # The rejects first: on a store they are gathered from the parts' files, which the
    # output's commit then removes.
    _write_rejects(job, rejected)
    view = read_view_files(
        [(part.file, job.part_paths(part.index).view) for part in job.parts]
        if job.wants_view
        else []
    )
    rule = job.model.rule if job.model is not None else ""
    if job.publish_url is not None:
        remote.commit_dataset(job, job.publish_url, [(r.index, r.scored) for r in results])
    elif job.design:
        write_design_output(
            job.out, job.out_format, view, job.config.value_style, job.version, rule
        )
        if job.out_url is not None:
            storage.put_file(job.out, job.out_url)
    else:
        assembler.append_ready({p.index for p in job.parts})
        assembler.finish()
        if job.out_url is not None:
            storage.put_file(job.out, job.out_url)  # one object: it appears whole or not at all
    if job.config.report is not None:
        write_audit_page(Path(job.config.report), view, model_version=job.version, rule=rule)
    shutil.rmtree(job.parts_dir, ignore_errors=True)
    if job.out_url is not None:
        remote.remove_work_dir(job.out_url)
    read = sum(r.read for r in results)
    scored = sum(r.scored for r in results)
    return ScoreSummary(
        output=job.output_location,
        rejects=job.rejects_location if rejected else None,
        read=read,
        scored=scored,
        rejected=rejected,
        black_share=sum(r.black for r in results) / scored if scored else 0.0,
        aa_share=sum(r.aa for r in results) / scored if scored else 0.0,
        seconds=seconds,
        parts=len(job.parts),
        parts_reused=reused,
        model_version=job.version,
        rule=rule,
        report=job.config.report,
        other_passes_aa=sum(r.other_passes_aa for r in results),
        gamut_mapped=sum(r.gamut_mapped for r in results),
        translucent=sum(r.translucent for r in results),
        skipped=sum(r.skipped for r in results),
        differs_from_wcag=sum(r.differs_from_wcag for r in results),
        no_lc_60=sum(r.no_lc_60 for r in results),
        backdrop="#{:02x}{:02x}{:02x}".format(*job.backdrop),
    )


def _write_rejects(job: ScoreJob, rejected: int) -> None:
    """The rejects file beside the output, or on its store; a stale one from an earlier run of
    the same output is removed, since it would mislead."""
    if rejected:
        write_rejects_file(job)
        if job.out_url is not None:
            storage.put_file(job.rejects_path, job.rejects_location)
            job.rejects_path.unlink()
    elif job.out_url is None:
        job.rejects_path.unlink(missing_ok=True)
    elif storage.exists(job.rejects_location):
        storage.delete_files([job.rejects_location])


def score_files(
    inputs: list[str],
    out: Path | str,
    version_path: Path,
    config: ScoreConfig,
    *,
    run_parts: PartRunner | None = None,
    progress: Callable[[int], None] | None = None,
    on_plan: Callable[[ScoreJob, set[int]], None] | None = None,
) -> ScoreSummary:
    """Prepare a job and run it: its parts on a thread per core here, or through `run_parts`
    (Prefect tasks, a Dask cluster). `on_plan` sees the plan and the parts already done."""
    started = time.perf_counter()
    if names_a_directory(out):  # a directory dataset, as the command line says it
        config = config.model_copy(update={"partitioned": True})
    # The output stays locked for the whole job, clean-up after a failure included.
    with contextlib.ExitStack() as held:
        job = prepare_job(inputs, out, version_path, config, held=held)
        if on_plan is not None:
            on_plan(job, finished_parts(job))
        return run_job(job, run_parts=run_parts, progress=progress, started=started)
