"""A one-node Slurm cluster of Debian's slurm-wlm daemons, for tests.

`SlurmCluster.start()` installs slurm-wlm and munge with apt-get when they are
missing, writes /etc/slurm/slurm.conf and gres.conf, and starts munged,
slurmctld and slurmd in the foreground as child processes. `stop()` ends each
of them by its PID and removes the configuration again. The set-up works
without systemd and without cgroups, as in a Debian 12 container run as root.

The node is `localhost` at 127.0.0.1 with one fake GPU: its gres.conf device
file is /dev/null, so a job that requests `--gpus=1` is scheduled and gets
CUDA_VISIBLE_DEVICES=0, though there is no device. There is no accounting
daemon, so `sacct` fails and job states come from `squeue`, which lists a
finished job for MinJobAge seconds (300 by default).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

logger = logging.getLogger(__name__)

# The Slurm plugin (2.8.0) deletes every SLURM_* environment variable, SLURM_CONF
# included, when Snakemake starts inside a job, so Slurm commands there read the
# configuration from the compiled-in default path.
SLURM_CONF_DIR = Path("/etc/slurm")
CONFIG_FILES = ("slurm.conf", "gres.conf")
MUNGE_SOCKET_DIR = Path("/run/munge")
PACKAGES = ("slurm-wlm", "munge")
REQUIRED_PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel")
CLUSTER_NAME = "sdetranslate-test"
PARTITION = "test"
NODE = "localhost"
# Memory per allocated CPU for a job submitted without --mem. Without a default,
# such a job is given all of the node's memory and blocks every other job.
DEF_MEM_PER_CPU_MB = 1000
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15


def unavailable_reason() -> str | None:
    """Return why this machine cannot run the test cluster, or None when it can."""
    if os.geteuid() != 0:
        return "starting Slurm daemons and installing slurm-wlm needs root"
    if shutil.which("apt-get") is None and not all(map(shutil.which, REQUIRED_PROGRAMS)):
        return "slurm-wlm and munge are not installed and there is no apt-get to install them"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def node_memory_mb() -> int:
    """Return the memory to give the node: half of MemTotal, so slurmd never finds less."""
    for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 // 2
    raise RuntimeError("MemTotal not found in /proc/meminfo")


class SlurmCluster:
    """A running one-node Slurm cluster whose state and logs live under `root`."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.cpus = os.cpu_count() or 1
        self.memory_mb = node_memory_mb()
        self.processes: dict[str, subprocess.Popen] = {}
        self.backups: dict[Path, Path] = {}
        self.config_written = False

    # Start-up

    def start(self) -> None:
        self.install()
        self.root.mkdir(parents=True, exist_ok=True)
        self.write_config()
        self.start_munged()
        self.spawn("slurmctld", ["slurmctld", "-D", "-i"])
        self.spawn("slurmd", ["slurmd", "-D", "-N", NODE])
        self.wait_until_idle()

    def install(self) -> None:
        if all(map(shutil.which, REQUIRED_PROGRAMS)):
            return
        logger.info("installing %s with apt-get", " ".join(PACKAGES))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for command in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES],
        ):
            result = subprocess.run(
                command,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=600,
            )
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}")

    def write_config(self) -> None:
        SLURM_CONF_DIR.mkdir(parents=True, exist_ok=True)
        for name in CONFIG_FILES:
            path = SLURM_CONF_DIR / name
            if path.exists():
                backup = self.root / f"{name}.orig"
                shutil.copy2(path, backup)
                self.backups[path] = backup
        for folder in ("state", "spool"):
            (self.root / folder).mkdir(exist_ok=True)
        root = self.root
        slurm_conf = f"""\
ClusterName={CLUSTER_NAME}
SlurmctldHost={NODE}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU={DEF_MEM_PER_CPU_MB}
SlurmdParameters=config_overrides
GresTypes=gpu
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
KillWait=5
NodeName={NODE} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} Gres=gpu:1 State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""
        gres_conf = f"NodeName={NODE} Name=gpu File=/dev/null\n"
        self.config_written = True
        (SLURM_CONF_DIR / "slurm.conf").write_text(slurm_conf, encoding="ascii")
        (SLURM_CONF_DIR / "gres.conf").write_text(gres_conf, encoding="ascii")

    def start_munged(self) -> None:
        """Start munged as the munge user unless a running munged already responds."""
        if self.munge_works():
            logger.info("using the munged that is already running")
            return
        MUNGE_SOCKET_DIR.mkdir(parents=True, exist_ok=True)
        shutil.chown(MUNGE_SOCKET_DIR, user="munge", group="munge")
        MUNGE_SOCKET_DIR.chmod(0o755)
        self.spawn("munged", ["munged", "--foreground", "--force"], user="munge", group="munge")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.munge_works():
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"munged did not answer within {START_TIMEOUT_S} s")
            time.sleep(0.2)

    @staticmethod
    def munge_works() -> bool:
        try:
            credential = subprocess.run(
                ["munge", "-n"], capture_output=True, timeout=10, check=True
            ).stdout
            subprocess.run(
                ["unmunge"], input=credential, capture_output=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return False
        return True

    def spawn(self, name: str, command: list[str], **kwargs) -> None:
        output = open(self.root / f"{name}.out", "wb")
        try:
            self.processes[name] = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, **kwargs
            )
        finally:
            output.close()
        logger.info("started %s with PID %d", name, self.processes[name].pid)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with status {process.returncode}:\n{self.daemon_logs()}"
                )

    def wait_until_idle(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        state = ""
        while time.monotonic() < deadline:
            self.check_alive()
            result = subprocess.run(
                ["sinfo", "-h", "-N", "-n", NODE, "-o", "%T"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            state = result.stdout.strip()
            if result.returncode == 0 and state == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError(
            f"node {NODE} is {state or 'unknown'!r}, not idle, after {START_TIMEOUT_S} s:\n"
            f"{self.daemon_logs()}"
        )

    def daemon_logs(self, lines: int = 30) -> str:
        parts = []
        for path in sorted(self.root.glob("*.log")) + sorted(self.root.glob("*.out")):
            tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    # Shut-down

    def stop(self) -> None:
        """Stop every daemon this object started, by PID, and remove the configuration."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            self.cancel_all_jobs()
        # slurmd first, so that it does not keep calling a stopped controller.
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.warning("%s (PID %d) ignored SIGTERM; killing it", name, process.pid)
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)
        self.kill_job_processes()
        if self.config_written:
            # While slurm.conf names a controller that is not running, each Slurm
            # client call (the plugin makes some whenever Snakemake starts) waits
            # about 9 s for it (sinfo of Slurm 22.05).
            for name in CONFIG_FILES:
                (SLURM_CONF_DIR / name).unlink(missing_ok=True)
            for path, backup in self.backups.items():
                shutil.copy2(backup, path)
            self.config_written = False

    def cancel_all_jobs(self) -> None:
        """Cancel the jobs left in the partition, for example by a timed-out Snakemake run."""
        subprocess.run(["scancel", "--partition", PARTITION], capture_output=True, timeout=30)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            active = subprocess.run(
                ["squeue", "-h", "-t", "pending,running,completing", "-o", "%i"],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.split()
            if not active:
                return
            time.sleep(0.5)
        logger.warning("Slurm jobs %s still active after scancel", " ".join(active))

    @staticmethod
    def kill_job_processes() -> None:
        """Kill the processes of this cluster's jobs that outlived their job.

        proctrack/linuxproc finds a job's processes through their parents, so
        it misses a child that was orphaned when its parent died. The Snakemake
        job step of a cancelled job can be left like that, ignoring SIGTERM.
        Such processes still carry the cluster name in SLURM_CLUSTER_NAME.
        """
        marker = f"SLURM_CLUSTER_NAME={CLUSTER_NAME}".encode()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                environment = (proc / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker in environment:
                logger.warning("killing PID %s, left over from a Slurm job", proc.name)
                try:
                    os.kill(int(proc.name), signal.SIGKILL)
                except ProcessLookupError:
                    pass

    # Queries

    def job_record(self, job_id: str) -> dict[str, str]:
        """Return `scontrol show job` of a job, which the controller keeps for MinJobAge s."""
        result = subprocess.run(
            ["scontrol", "show", "job", "--oneliner", job_id],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise AssertionError(f"scontrol show job {job_id} failed: {result.stderr}")
        record = {}
        for field in result.stdout.split():
            key, _, value = field.partition("=")
            record[key] = value
        return record

    def jobs(self) -> list[dict[str, str]]:
        """Return id, name, state and comment of every job the controller still lists."""
        result = subprocess.run(
            ["squeue", "-h", "-t", "all", "-o", "%i|%j|%T|%k"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise AssertionError(f"squeue failed: {result.stderr}")
        jobs = []
        for line in result.stdout.splitlines():
            job_id, name, state, comment = line.split("|", 3)
            jobs.append({"id": job_id, "name": name, "state": state, "comment": comment})
        return jobs
