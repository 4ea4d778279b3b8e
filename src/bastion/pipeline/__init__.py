"""Pipeline files: schema, safe loading with located errors, the job DAG, triggers, defaults.

>>> from bastion.pipeline import parse_pipeline, plan_pipeline
>>> loaded = parse_pipeline("jobs: {a: {steps: [{run: 'true'}]}}", source="p.yml")
>>> plan_pipeline(loaded.pipeline).order
('a',)
"""

from bastion.pipeline.cache_key import HashFiles, parse_key_template
from bastion.pipeline.defaults import (
    DEFAULT_PIPELINE_SOURCE,
    default_pipeline,
    detect_project_types,
)
from bastion.pipeline.loader import (
    LoadedPipeline,
    PipelineValidationError,
    load_pipeline,
    parse_pipeline,
)
from bastion.pipeline.matrix import MAX_MATRIX_JOBS
from bastion.pipeline.naming import job_file_name
from bastion.pipeline.plan import Plan, plan_pipeline
from bastion.pipeline.schema import (
    IdToken,
    Job,
    JobLimits,
    Pipeline,
    Step,
    SyscallRelaxation,
    pipeline_json_schema,
)
from bastion.pipeline.triggers import matches_trigger
from bastion.pipeline.units import parse_duration, parse_size

__all__ = [
    "DEFAULT_PIPELINE_SOURCE",
    "MAX_MATRIX_JOBS",
    "HashFiles",
    "IdToken",
    "Job",
    "JobLimits",
    "LoadedPipeline",
    "Pipeline",
    "PipelineValidationError",
    "Plan",
    "Step",
    "SyscallRelaxation",
    "default_pipeline",
    "detect_project_types",
    "job_file_name",
    "load_pipeline",
    "matches_trigger",
    "parse_duration",
    "parse_key_template",
    "parse_pipeline",
    "parse_size",
    "pipeline_json_schema",
    "plan_pipeline",
]
