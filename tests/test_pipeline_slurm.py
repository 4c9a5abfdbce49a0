"""End-to-end tests of the workflow on a real one-node Slurm cluster.

The module starts Debian's Slurm daemons (see slurm_cluster.py) and runs a tiny
configuration once through `--workflow-profile`, with a copy of profiles/slurm
adapted to that cluster. During the run it cancels the training job with
`scancel` once the job has saved its state, and Snakemake resubmits it. The
tests check the jobs that the controller listed, their GPU requests, the
resumed training, and that the outputs equal those of a local run. The tests
need root, and apt-get unless slurm-wlm and munge are installed; elsewhere they
are skipped.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml

from slurm_cluster import PARTITION, SlurmCluster, unavailable_reason
from test_pipeline import (
    SNAKEFILE,
    SYNTHETIC_DATASET,
    planned_jobs,
    run_ok,
    tiny_config,
    write_config,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
SLURM_PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
GPU_RULES = ("train_paired", "train_unpaired", "sample", "reconstruct")
# Hard limit of the Snakemake run on the test cluster, which ends a run that
# hangs. The run took 4.5 min on 2 CPU cores shared with other work (load
# average 5 to 9), much of it waiting for job status checks.
SLURM_RUN_TIMEOUT_S = 600
JOB_ID_PATTERN = re.compile(
    r"running in Slurm job (\d+) on node (\S+) \(CUDA_VISIBLE_DEVICES=(\S*)\)"
)
SAVED_PATTERN = re.compile(r"saved training state at step (\d+) to")
# The Slurm plugin (2.8.0) sets each job's comment to rule_<rule>[_wildcards_<values>].
COMMENT_PATTERN = re.compile(r"rule_(?P<rule>.+?)(?:_wildcards_.*)?")
EXPERIMENT = "tiny_slurm"
# Enough steps that the training job is still running when the test cancels it
# after the first saved state (every 10 steps).
TRAIN_STEPS = 200
# Results that differ between runs by design: job timings, and the sampling
# time that each samples file stores.
NONDETERMINISTIC_RESULTS = ("benchmarks",)
NONDETERMINISTIC_KEYS = ("seconds",)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """Start the one-node Slurm cluster for this module and stop it afterwards, also on failure."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def write_test_profile(path: Path) -> Path:
    """Write a copy of profiles/slurm for the test cluster to `path` and return its folder.

    The copy fills in the partition and drops the account, because there is no
    accounting database. It shrinks memory and CPUs to fit the node and reads
    job states with squeue instead of sacct, first 2 s after a submission
    instead of 40 s. It also keeps the Slurm logs of successful jobs.
    """
    profile = yaml.safe_load(SLURM_PROFILE.read_text(encoding="utf-8"))
    profile["default-resources"]["slurm_partition"] = PARTITION
    del profile["default-resources"]["slurm_account"]
    profile["default-resources"]["mem_mb"] = 500
    for rule in GPU_RULES:
        profile["set-resources"][rule].update(cpus_per_gpu=1, mem_mb="1000 * attempt")
    profile["slurm-status-command"] = "squeue"
    profile["slurm-init-seconds-before-status-checks"] = 2
    profile["slurm-keep-successful-logs"] = True
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    return path


def slurm_command(workdir: Path, configfile: Path, profile: Path, *targets: str) -> list[str]:
    # No --cores or --resources: in cluster mode `--resources gpu=1` would allow
    # only one GPU job at a time in the whole workflow.
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(SNAKEFILE),
        "-d",
        str(workdir),
        "--workflow-profile",
        str(profile),
        *targets,
        "--configfile",
        str(configfile),
    ]


def slurm_jobs_in_log(path: Path) -> list[tuple[str, str, str]]:
    """Return (job id, node, CUDA_VISIBLE_DEVICES) of each Slurm job that wrote to a rule log."""
    return JOB_ID_PATTERN.findall(path.read_text(encoding="utf-8"))


def assert_same_content(actual, expected, where: str) -> None:
    """Assert that two objects loaded from .pt files are equal, tensors bit for bit."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, torch.Tensor), f"{where}: not a tensor"
        assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype} != {expected.dtype}"
        assert torch.equal(actual, expected), f"{where}: tensors differ"
    elif isinstance(expected, dict):
        assert set(actual) == set(expected), f"{where}: keys differ"
        for key in expected:
            if key in NONDETERMINISTIC_KEYS:
                continue
            assert_same_content(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: lengths differ"
        for index, (a, e) in enumerate(zip(actual, expected)):
            assert_same_content(a, e, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def compared_results(workdir: Path) -> list[Path]:
    """Return the data files (.pt and .csv) under results/, relative to `workdir`."""
    files = []
    for path in sorted((workdir / "results").rglob("*")):
        relative = path.relative_to(workdir)
        if relative.parts[1] in NONDETERMINISTIC_RESULTS:
            continue
        if path.suffix in (".pt", ".csv"):
            files.append(relative)
    return files


def slurm_test_config() -> dict:
    """Return the tiny configuration with one sampler setting and a training long enough to cancel."""
    config = tiny_config(SYNTHETIC_DATASET, EXPERIMENT)
    config["experiments"][0]["training"].update(
        steps=TRAIN_STEPS, checkpoint_every=10, log_every=10
    )
    config["sampling"]["samplers"] = [{"name": "em", "n_steps": [2]}]
    return config


class JobWatcher:
    """Records every job that the test cluster lists while a Snakemake run is polled.

    The controller drops a finished job from its list after MinJobAge (300 s), which a slow
    run can exceed, so the jobs are read during the run.
    """

    def __init__(self, cluster: SlurmCluster):
        self.cluster = cluster
        self.jobs: dict[str, dict[str, str]] = {}
        self.records: dict[str, dict[str, str]] = {}

    def poll(self) -> None:
        for job in self.cluster.jobs():
            self.jobs[job["id"]] = job
            if job["id"] not in self.records:
                self.records[job["id"]] = self.cluster.job_record(job["id"])


def wait_for_line(
    path: Path,
    pattern: re.Pattern,
    process: subprocess.Popen,
    watcher: JobWatcher,
    deadline: float,
):
    """Return the first match of `pattern` in the file at `path`, polling until `deadline`."""
    while time.monotonic() < deadline:
        watcher.poll()
        if path.is_file():
            match = pattern.search(path.read_text(encoding="utf-8"))
            if match:
                return match
        if process.poll() is not None:
            raise AssertionError(
                f"snakemake exited with status {process.returncode} before {path} "
                f"showed {pattern.pattern!r}"
            )
        time.sleep(0.2)
    raise AssertionError(f"{path} did not show {pattern.pattern!r} in time")


@dataclass
class SlurmRun:
    """A finished pipeline run on the test cluster, with the controller's view of its jobs."""

    workdir: Path
    output: str
    # Working directory of the same configuration run locally, during the Slurm run.
    local_workdir: Path
    # `squeue` and `scontrol show job` output of every job, read during the run.
    controller_jobs: dict[str, dict[str, str]]
    job_records: dict[str, dict[str, str]]
    cancelled_job: str
    saved_step: int


@pytest.fixture(scope="module")
def slurm_run(slurm, tmp_path_factory) -> SlurmRun:
    """Run the pipeline on the test cluster and cancel the training job once it has saved state.

    The profile's `retries` make Snakemake resubmit the cancelled job, which
    then resumes from the saved step. A local run of the same configuration
    goes on at the same time, because the Slurm run mostly waits for status
    checks.
    """
    local_workdir = tmp_path_factory.mktemp("local_run")
    local_config = write_config(local_workdir / "config.yaml", slurm_test_config())
    workdir = tmp_path_factory.mktemp("slurm_run")
    configfile = write_config(workdir / "config.yaml", slurm_test_config())
    profile = write_test_profile(workdir / "profile")
    train_log = workdir / "logs" / "train" / f"{EXPERIMENT}.log"
    output_path = workdir / "snakemake.out"

    deadline = time.monotonic() + SLURM_RUN_TIMEOUT_S
    with open(output_path, "w", encoding="utf-8") as output:
        process = subprocess.Popen(
            slurm_command(workdir, configfile, profile),
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    watcher = JobWatcher(slurm)
    local_pool = ThreadPoolExecutor(max_workers=1)
    local_run = local_pool.submit(run_ok, local_workdir, local_config)
    try:
        job = wait_for_line(train_log, JOB_ID_PATTERN, process, watcher, deadline)
        saved = wait_for_line(train_log, SAVED_PATTERN, process, watcher, deadline)
        subprocess.run(["scancel", job.group(1)], check=True, timeout=30)
        while process.poll() is None and time.monotonic() < deadline:
            watcher.poll()
            time.sleep(1)
        if process.poll() is None:
            raise AssertionError(f"snakemake on Slurm did not finish in {SLURM_RUN_TIMEOUT_S} s")
        watcher.poll()
        returncode = process.returncode
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        # run_ok has its own timeout, so this returns.
        local_pool.shutdown(wait=True)
    local_run.result()
    output_text = output_path.read_text(encoding="utf-8")
    assert returncode == 0, f"snakemake on Slurm failed:\n{output_text[-5000:]}"

    return SlurmRun(
        workdir=workdir,
        output=output_text,
        local_workdir=local_workdir,
        controller_jobs=watcher.jobs,
        job_records=watcher.records,
        cancelled_job=job.group(1),
        saved_step=int(saved.group(1)),
    )


def rule_logs(workdir: Path) -> list[Path]:
    """Return the rule logs of a run: every log under logs/ except Slurm's own."""
    return [
        path
        for path in sorted((workdir / "logs").rglob("*.log"))
        if path.relative_to(workdir / "logs").parts[0] != "slurm"
    ]


def rule_of_job(job: dict[str, str]) -> str:
    """Return the rule name that the Slurm plugin put in a job's comment."""
    match = COMMENT_PATTERN.fullmatch(job["comment"])
    assert match, f"job {job['id']} has the comment {job['comment']!r}, not the plugin's"
    return match.group("rule")


def test_slurm_runs_every_rule_as_job(slurm_run):
    jobs = slurm_run.controller_jobs
    train_log = slurm_run.workdir / "logs" / "train" / f"{EXPERIMENT}.log"
    logged_jobs = set()

    for log in rule_logs(slurm_run.workdir):
        job_ids = [job_id for job_id, _, _ in slurm_jobs_in_log(log)]
        if log == train_log:
            assert job_ids, f"{log} names no Slurm job"
        else:
            assert len(job_ids) == 1, f"{log} names the Slurm jobs {job_ids}, expected one"
        for job_id in job_ids:
            assert job_id in jobs, f"{log}: job {job_id} is unknown to slurmctld: {jobs}"
            logged_jobs.add(job_id)
    logged_jobs.add(slurm_run.cancelled_job)
    assert logged_jobs == set(jobs), "slurmctld lists jobs that wrote no rule log"

    planned = planned_jobs(slurm_run.output)
    planned.pop("all")
    submitted = Counter(rule_of_job(job) for job in jobs.values())
    planned["train_paired"] += 1  # the cancelled attempt
    assert submitted == Counter(planned), f"Slurm jobs per rule {submitted} != planned {planned}"
    for job_id, job in jobs.items():
        expected = "CANCELLED" if job_id == slurm_run.cancelled_job else "COMPLETED"
        assert job["state"] == expected, f"job {job_id}: {job}"


def test_slurm_gpu_rules_request_gpu(slurm_run):
    gpu_jobs = 0
    for job_id, job in slurm_run.controller_jobs.items():
        request = slurm_run.job_records[job_id].get("TresPerJob", "")
        if rule_of_job(job) in GPU_RULES:
            gpu_jobs += 1
            assert request == "gres:gpu:1", f"GPU job {job_id} requested {request!r}: {job}"
        else:
            assert "gpu" not in request, f"CPU job {job_id} requested {request!r}: {job}"
    # One training job, its resubmission and two sampling jobs.
    assert gpu_jobs == 4

    for log in rule_logs(slurm_run.workdir):
        for job_id, _, visible_devices in slurm_jobs_in_log(log):
            gpu_rule = rule_of_job(slurm_run.controller_jobs[job_id]) in GPU_RULES
            expected = "0" if gpu_rule else "unset"
            assert visible_devices == expected, f"{log}: CUDA_VISIBLE_DEVICES={visible_devices}"


def test_slurm_outputs_equal_local_run(slurm_run):
    local_run = slurm_run.local_workdir
    expected_files = compared_results(local_run)
    assert len(expected_files) > 10, expected_files
    assert compared_results(slurm_run.workdir) == expected_files

    for relative in expected_files:
        actual = slurm_run.workdir / relative
        expected = local_run / relative
        if relative.suffix == ".csv":
            assert actual.read_bytes() == expected.read_bytes(), f"{relative} differs"
        else:
            assert_same_content(
                torch.load(actual, weights_only=False),
                torch.load(expected, weights_only=False),
                str(relative),
            )


def test_slurm_cancelled_training_resumes(slurm_run):
    assert slurm_run.controller_jobs[slurm_run.cancelled_job]["state"] == "CANCELLED"
    log = (slurm_run.workdir / "logs" / "train" / f"{EXPERIMENT}.log").read_text(encoding="utf-8")
    job_ids = [job_id for job_id, _, _ in JOB_ID_PATTERN.findall(log)]
    assert job_ids[-1] != slurm_run.cancelled_job, f"the log names no second training job:\n{log}"

    resumed = re.search(rf"resuming training from saved step (\d+) of {TRAIN_STEPS}", log)
    assert resumed, f"training did not resume:\n{log}"
    assert int(resumed.group(1)) >= slurm_run.saved_step
    assert int(resumed.group(1)) < TRAIN_STEPS
    state_dir = slurm_run.workdir / "results" / "experiments" / EXPERIMENT / "train_state"
    assert not state_dir.exists(), "train_state/ was left after training"
