"""Long work (training, generation, sending) behind one job-runner interface with recorded progress."""

from service.jobs.runner import InlineJobRunner, JobRunner, Progress, ThreadJobRunner

__all__ = ["InlineJobRunner", "JobRunner", "Progress", "ThreadJobRunner"]
