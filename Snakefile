"""Image-to-image translation with score-based diffusion models.

Plain `snakemake` (with profiles/default) rebuilds every result of the
configuration: datasets, training, sampling at each N, scores and figures.
"""


configfile: f"{workflow.basedir}/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/gan.smk"
include: "rules/sample.smk"
include: "rules/evaluate.smk"
include: "rules/plots.smk"
include: "rules/profile.smk"


# The report opens with the run record (code version, device, config) once the
# workflow has written it, and with a static description before that.
report: report_page()


rule all:
    default_target: True
    input:
        all_outputs(),
