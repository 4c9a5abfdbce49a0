"""Write the counterpart SSIM that oracle translations reach on the synthetic horse/zebra data.

The defaults match the synthetic_horse2zebra dataset and the 32×32 unpaired experiments of
config.yaml (seed 0, 128-pixel scenes, 16 test scenes per domain). The page shows whether a
translation that looks like the target domain can beat the identity baseline at all.
`sdetranslate.unpaired_ceiling` describes the oracles.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import shlex
import sys
from pathlib import Path

from sdetranslate.io import atomic_path
from sdetranslate.provenance import code_version
from sdetranslate.unpaired_ceiling import oracle_counterpart_ssim

REPO = Path(__file__).resolve().parents[1]
logger = logging.getLogger("benchmarks")

DESCRIPTIONS = {
    "identity": "identity baseline: the source image itself",
    "restriped": "the exact zebra, with stripe period, phase and warp drawn afresh",
    "grey_coat": "the exact animal in a plain mid-grey coat (not a zebra)",
    "recoloured": "the exact horse, with a coat colour drawn afresh",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "unpaired_ceiling.md", help="page to write")
    parser.add_argument("--n-scenes", type=int, default=16, help="test scenes per domain")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed")
    parser.add_argument("--tile-size", type=int, default=128, help="side of the generated scenes in pixels")
    parser.add_argument(
        "--image-size",
        type=int,
        default=32,
        help="side of the prepared images in pixels, at most --tile-size",
    )
    args = parser.parse_args(argv)
    # NOTE: --tile-size has no upper bound. The scenes are rendered as float arrays of
    # tile_size² pixels, so a very large value can exhaust the memory.
    for option, value, least in (
        ("--n-scenes", args.n_scenes, 1),
        ("--seed", args.seed, 0),
        ("--tile-size", args.tile_size, 16),
        ("--image-size", args.image_size, 8),
    ):
        if value < least:
            parser.error(f"{option} must be at least {least}, got {value}")
    if args.image_size > args.tile_size:
        parser.error(
            f"--image-size {args.image_size} is larger than --tile-size {args.tile_size}; lower it"
        )
    # Check the page's folder before rendering, which takes minutes for many large scenes.
    if args.out.is_dir():
        parser.error(f"--out {args.out} is a folder; give the path of the page file")
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(
            f"cannot create the folder of --out {args.out}: {error.strerror}: {error.filename}"
        )
    if not os.access(args.out.parent, os.W_OK):
        parser.error(f"the folder of --out {args.out} is not writable; choose another --out")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    table = oracle_counterpart_ssim(args.n_scenes, args.seed, args.tile_size, args.image_size)
    command = " ".join(shlex.quote(part) for part in [Path(sys.executable).name, *sys.argv])
    lines = [
        "# Counterpart SSIM of oracle translations",
        "",
        "Written by `benchmarks/unpaired_ceiling.py`.",
        "",
        f"- Command: `{command}`",
        f"- Code version: `{code_version(REPO)}`",
        f"- Date: {datetime.date.today().isoformat()}",
        f"- Data: synthetic horse/zebra test scenes 1 to {args.n_scenes} of seed {args.seed}, rendered at "
        f"{args.tile_size} px, JPEG-encoded and resized to {args.image_size} px as the pipeline prepares them.",
        "",
        "Each oracle knows the test scene exactly and draws afresh only what the source image",
        "cannot show. Its SSIM against the counterpart shows what a translation that gets",
        "everything else right can reach.",
        "",
        "| direction | translation | SSIM |",
        "|---|---|---|",
    ]
    lines += [
        f"| {row.direction} | {DESCRIPTIONS[row.translation]} | {row.ssim:.3f} |" for row in table.itertuples()
    ]
    identity = table.set_index(["direction", "translation"])["ssim"]
    restriped_gap = identity["AtoB", "restriped"] - identity["AtoB", "identity"]
    recoloured_gap = identity["BtoA", "recoloured"] - identity["BtoA", "identity"]
    lines += [
        "",
        f"Horse → zebra: a correct zebra with its own stripes scores {restriped_gap:+.3f} against the",
        "identity baseline, because SSIM compares the stripes pixel by pixel and their phase is",
        "not visible in the horse. A higher score there rewards blurred or grey coats, not zebras.",
        f"Zebra → horse: a correct horse in some palette colour scores {recoloured_gap:+.3f} against",
        "the identity baseline, so this direction can show a real gain.",
        "",
    ]
    try:
        with atomic_path(args.out) as tmp:
            tmp.write_text("\n".join(lines), encoding="utf-8")
    except OSError as error:
        parser.exit(1, f"{parser.prog}: error: cannot write --out {args.out}: {error.strerror}\n")
    logger.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
