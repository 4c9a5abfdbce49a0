"""Safe extraction of dataset archives (.tar, .tar.gz, .tgz, .zip) into a fresh folder."""

from __future__ import annotations

import gzip
import logging
import os
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from sdetranslate.io import atomic_directory

logger = logging.getLogger(__name__)

TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")
ZIP_SUFFIXES = (".zip",)

# Folder listings in error messages stop after this many entries.
MAX_LISTED_FOLDERS = 30


def is_os_debris(name: str) -> bool:
    """Return whether an archive member is macOS metadata (`__MACOSX/`, `._*`, `.DS_Store`)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if "__MACOSX" in parts:
        return True
    return any(part.startswith("._") or part == ".DS_Store" for part in parts)


def _member_parts(name: str) -> tuple[str, ...]:
    """Split a member name into path parts, dropping `.` and empty parts."""
    return tuple(part for part in name.replace("\\", "/").split("/") if part not in ("", "."))


def _choose_root(
    folders: set[tuple[str, ...]], required_splits: list[str], source: Path
) -> tuple[str, ...]:
    """Return the shallowest folder in `folders` that has every required split as a child.

    `folders` contains relative paths as tuples of parts, with () for the top. Raises
    ValueError naming `source` and listing the folders when no folder has all splits,
    or when several folders at the same depth do.
    """
    candidates = [
        folder
        for folder in folders
        if all(folder + (split,) in folders for split in required_splits)
    ]
    if not candidates:
        listed = sorted("/".join(folder) + "/" for folder in folders if folder)
        folder_list = ", ".join(listed[:MAX_LISTED_FOLDERS]) or "(none)"
        if len(listed) > MAX_LISTED_FOLDERS:
            folder_list += f", and {len(listed) - MAX_LISTED_FOLDERS} more"
        raise ValueError(
            f"{source} has no folder containing all of the splits {required_splits}; "
            f"folders found: {folder_list}. Check that it is the intended dataset"
        )
    shallowest = min(len(folder) for folder in candidates)
    best = sorted(folder for folder in candidates if len(folder) == shallowest)
    if len(best) > 1:
        names = ", ".join("/".join(folder) + "/" for folder in best)
        raise ValueError(
            f"{source} contains several dataset folders with the splits {required_splits}: "
            f"{names}. Keep only one of them"
        )
    return best[0]


def _folders_in_members(member_names: list[str]) -> set[tuple[str, ...]]:
    """Return the folders that archive member names imply, ignoring macOS metadata."""
    folders: set[tuple[str, ...]] = {()}
    for name in member_names:
        if is_os_debris(name):
            continue
        parts = _member_parts(name)
        for depth in range(len(parts)):
            folders.add(parts[:depth])
        if name.endswith("/"):
            folders.add(parts)
    return folders


def find_dataset_root(directory: str | os.PathLike, required_splits: list[str]) -> Path:
    """Return the shallowest folder under `directory` that has every required split as a child.

    macOS metadata folders (`__MACOSX`) are ignored. Raises FileNotFoundError when
    `directory` is missing and ValueError listing the folders found when no folder, or
    more than one at the same depth, has all splits.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(
            f"dataset folder {directory} not found; rerun the Snakemake rule that writes it"
        )
    folders: set[tuple[str, ...]] = {()}
    for current, subfolders, _ in os.walk(directory):
        subfolders[:] = sorted(name for name in subfolders if not is_os_debris(name))
        relative = Path(current).relative_to(directory).parts
        for name in subfolders:
            folders.add(relative + (name,))
    return directory.joinpath(*_choose_root(folders, list(required_splits), directory))


def _archive_kind(archive: Path) -> str:
    name = archive.name.lower()
    if name.endswith(TAR_SUFFIXES):
        return "tar"
    if name.endswith(ZIP_SUFFIXES):
        return "zip"
    raise ValueError(
        f"{archive} has an unsupported extension; expected one of "
        f"{', '.join(TAR_SUFFIXES + ZIP_SUFFIXES)}"
    )


def _unsafe(archive: Path, name: str, problem: str) -> ValueError:
    return ValueError(
        f"{archive} contains an unsafe member {name!r} ({problem}); extraction stopped "
        "before writing any file. Use an archive from a trusted source"
    )


def _name_problem(name: str) -> str | None:
    """Return why a member name is unsafe (absolute or climbing out with `..`), or None."""
    normalised = name.replace("\\", "/")
    drive = len(normalised) >= 2 and normalised[1] == ":"
    if normalised.startswith("/") or drive:
        return "absolute path"
    if ".." in normalised.split("/"):
        return "path contains '..'"
    return None


def _tar_member_problem(member: tarfile.TarInfo) -> str | None:
    """Return why a tar member may not be extracted, or None for a safe file or folder."""
    if problem := _name_problem(member.name):
        return problem
    if member.issym():
        return f"symbolic link to {member.linkname!r}"
    if member.islnk():
        return f"hard link to {member.linkname!r}"
    if member.ischr() or member.isblk():
        return "device file"
    if member.isfifo():
        return "FIFO"
    if not (member.isfile() or member.isdir()):
        return f"unsupported member type {member.type!r}"
    return None


def _extract_tar(archive: Path, destination: Path) -> list[str]:
    """Extract a tar archive with the "data" filter and return the member names.

    Every member is checked before the first one is written: absolute names, names
    with `..`, links and device files are rejected, even where the "data" filter
    would allow them, such as a link that stays inside the folder.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                if problem := _tar_member_problem(member):
                    raise _unsafe(archive, member.name, problem)
            extracted_members = [member for member in members if not is_os_debris(member.name)]
            tar.extractall(destination, members=extracted_members, filter="data")
    except tarfile.FilterError as error:
        raise _unsafe(archive, error.tarinfo.name, str(error)) from error
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise ValueError(
            f"{archive} is truncated or corrupt ({error}); delete it and download it again"
        ) from error
    return [member.name + ("/" if member.isdir() else "") for member in members]


def _zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    """Return why a zip member may not be extracted, or None for a safe file or folder.

    The file type comes from the Unix mode in the high 16 bits of `external_attr`,
    where zip tools on Unix store symbolic links, devices and FIFOs.
    """
    if problem := _name_problem(info.filename):
        return problem
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if file_type == stat.S_IFLNK:
        return "symbolic link"
    if file_type in (stat.S_IFCHR, stat.S_IFBLK):
        return "device file"
    if file_type == stat.S_IFIFO:
        return "FIFO"
    if file_type == stat.S_IFSOCK:
        return "socket"
    return None


def _extract_zip(archive: Path, destination: Path) -> list[str]:
    """Extract a zip archive after checking every member, and return the member names.

    Absolute names, names with `..`, links and device files are rejected before the
    first member is written.
    """
    try:
        with zipfile.ZipFile(archive) as bundle:
            infos = bundle.infolist()
            for info in infos:
                if problem := _zip_member_problem(info):
                    raise _unsafe(archive, info.filename, problem)
            for info in infos:
                if not is_os_debris(info.filename):
                    bundle.extract(info, destination)
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise ValueError(
            f"{archive} is truncated or corrupt ({error}); delete it and download it again"
        ) from error
    return [info.filename for info in infos]


def extract_archive(
    archive: str | os.PathLike, out_dir: str | os.PathLike, required_splits: list[str]
) -> Path:
    """Extract `archive` into `out_dir` and return the dataset root folder inside it.

    The dataset root is the shallowest folder in the archive that has every name in
    `required_splits` as a subfolder, found from the member names and ignoring macOS
    metadata, which is not extracted. The archive is extracted into a temporary folder
    beside `out_dir` and renamed into place, replacing an existing `out_dir`. When
    extraction fails, the temporary folder is removed and an existing `out_dir` is kept.
    """
    archive = Path(archive)
    out_dir = Path(out_dir)
    if not required_splits:
        raise ValueError("required_splits is empty; name the split folders, e.g. ['train', 'val']")
    if not archive.is_file():
        raise FileNotFoundError(f"archive {archive} not found; download it or fix the path")
    kind = _archive_kind(archive)
    if archive.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(
            f"archive {archive} is inside the output folder {out_dir}, which extraction replaces; "
            "move the archive or choose another output folder"
        )

    logger.info("Extracting %s to %s", archive, out_dir)
    with atomic_directory(out_dir) as staging:
        if kind == "tar":
            names = _extract_tar(archive, staging)
        else:
            names = _extract_zip(archive, staging)
        if not any(not is_os_debris(name) for name in names):
            raise ValueError(f"{archive} contains no files; delete it and download it again")
        relative_root = _choose_root(_folders_in_members(names), list(required_splits), archive)
    root = out_dir.joinpath(*relative_root)
    logger.info("Dataset root is %s", root)
    return root
